"""Loading and checking interaction logs (simulated or the user's own, in the same columns)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from forecasters.data import require_numeric
from shopgym.errors import DataError

#: Columns a model never uses as features: bookkeeping, and the funnel labels (a model of one stage
#: must not see another stage's outcome, e.g. a purchase model trained on clicked rows sees no ``cart``).
IGNORED_COLUMNS = frozenset({"day", "session_id", "click", "cart", "purchase"})
#: Columns of the log layout (``shopgym.world.response.impression_features``) that hold numbers; with the
#: preference ``u_0..``, embedding ``e_0..`` and ``true_*`` columns. A text value there is an error, never a
#: category (``TabularEncoder`` one-hot encodes text columns, which would silently change the model).
NUMERIC_COLUMNS = ("day", "weekday", "position", "seen", "segment", "price_sensitivity", "category", "price",
                   "discount", "price_paid", "in_stock")
#: What every log must carry for a conversion model that plugs into the world: the list price, and the item
#: embedding ``e_0 .. e_{d-1}`` (``catalog.embedding_dim`` columns) that ``LearnedConversion`` feeds it.
REQUIRED_COLUMNS = ("price",)
_NUMBERED = re.compile(r"^(u|e)_(\d+)$")


def is_feature_column(name: str, tasks: Sequence[str]) -> bool:
    """Whether ``name`` is a model input: not a task label, not ``true_*``, not ``*_id``, not in ``IGNORED_COLUMNS``."""
    return name not in tasks and not name.startswith("true_") and not name.endswith("_id") and name not in IGNORED_COLUMNS


def validate_labels(df: pd.DataFrame, tasks: Sequence[str], what: str = "logs") -> np.ndarray:
    """The label columns ``tasks`` of ``df`` as a float32 array ``(n, len(tasks))`` of 0/1.

    Raises ``DataError`` when ``df`` is not a frame, is empty, lacks a label column, or a label is
    missing (NaN) or outside {0, 1}.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame, got {type(df).__name__}.")
    if len(df) == 0:
        raise DataError(f"{what} is empty.")
    missing = [t for t in tasks if t not in df.columns]
    if missing:
        raise DataError(
            f"{what} lacks label column(s) {missing}; expected one 0/1 column per task {list(tasks)}. "
            f"Got columns {list(df.columns)}; rename your label columns or pass tasks=[...]."
        )
    out = np.empty((len(df), len(tasks)), dtype=np.float32)
    for j, t in enumerate(tasks):
        col = pd.to_numeric(df[t], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isin(col, (0.0, 1.0))
        if bad.any():
            first = df[t].to_numpy()[bad][:3]
            raise DataError(
                f"{what}[{t!r}] must hold only 0 or 1; {int(bad.sum())} row(s) do not, e.g. {list(first)!r}. "
                "Binarise the label (e.g. (col > 0).astype(int)) and drop rows with missing labels."
            )
        out[:, j] = col
    return out


def check_log_columns(df: pd.DataFrame, what: str = "logs") -> None:
    """Raise ``DataError`` if ``df`` lacks ``price`` or the embedding ``e_0..``, skips an ``e_``/``u_`` index, or
    holds a non-number in a numeric column of the log layout (``NUMERIC_COLUMNS``, ``u_*``, ``e_*``, ``true_*``)."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    emb = sorted(int(m.group(2)) for c in df.columns if (m := _NUMBERED.match(str(c))) and m.group(1) == "e")
    if not emb:
        missing.append("e_0 .. e_{d-1}")
    if missing:
        raise DataError(
            f"{what} lacks column(s) {missing}: logs carry each impression's list price and item embedding "
            "(the columns `shopgym conversion generate` writes; see shopgym.world.response.impression_features). "
            f"Got columns {list(df.columns)}."
        )
    for prefix in ("e", "u"):
        idx = sorted(int(m.group(2)) for c in df.columns if (m := _NUMBERED.match(str(c))) and m.group(1) == prefix)
        if idx and idx != list(range(len(idx))):
            gap = next(i for i in range(len(idx) + 1) if i not in idx)
            raise DataError(f"{what} has {prefix}_ columns {[f'{prefix}_{i}' for i in idx]} but no {prefix}_{gap}; "
                            f"number them {prefix}_0 .. {prefix}_{len(idx) - 1} without gaps.")
    numeric = [c for c in df.columns if c in NUMERIC_COLUMNS or _NUMBERED.match(str(c)) or str(c).startswith("true_")]
    require_numeric(df, numeric, what)


def check_nested(labels: np.ndarray, tasks: Sequence[str], what: str = "logs") -> None:
    """Raise ``DataError`` if a funnel label exceeds the one before it (e.g. purchase without cart)."""
    for j in range(1, labels.shape[1]):
        bad = labels[:, j] > labels[:, j - 1]
        if bad.any():
            raise DataError(
                f"{what}: {int(bad.sum())} row(s) have {tasks[j]} = 1 but {tasks[j - 1]} = 0; funnel labels "
                "must be nested (purchase <= cart <= click)."
            )


def load_logs(path: str | Path, tasks: Sequence[str] = ("click", "cart", "purchase"), nested: bool = True) -> pd.DataFrame:
    """Read logs from CSV or Parquet and check their labels (and nesting when ``nested``).

    The columns are those written by ``forecasters.conversion.logs``: ``price`` and the embedding ``e_0..`` are
    required and the layout's numeric columns must hold numbers (``check_log_columns``); other features may be
    any numeric or categorical columns (see ``is_feature_column``).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"log file {str(path)!r} does not exist.")
    if path.suffix == ".parquet":
        try:
            df = pd.read_parquet(path)
        except ImportError as exc:
            raise ImportError("Reading Parquet needs pyarrow: pip install 'shopgym[parquet]'.") from exc
    else:
        df = pd.read_csv(path)
    labels = validate_labels(df, tasks, what=path.name)
    check_log_columns(df, what=path.name)
    if nested:
        check_nested(labels, tasks, what=path.name)
    return df
