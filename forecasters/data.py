"""Validation of long data frames (``unique_id``, ``ds``, ``y`` plus exogenous columns).

Every forecaster's ``fit``/``predict``/``update`` passes its input through ``validate_frame`` so that
bad input fails early with a ``shopgym.errors.DataError`` that names the problem and the fix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopgym.errors import DataError

ID, DS, Y = "unique_id", "ds", "y"


def validate_frame(df: pd.DataFrame, require_y: bool = True, what: str = "df") -> pd.DataFrame:
    """Check a long frame and return a copy sorted by ``(unique_id, ds)`` with ``ds`` as datetimes.

    Raises ``DataError`` when a required column is missing, dates do not parse, a series repeats a
    date, dates are not increasing within a series (unsorted input is an error, not silently fixed,
    because it usually means two sources were concatenated wrongly), or ``y`` holds non-numbers.
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame, got {type(df).__name__}.")
    need = [ID, DS] + ([Y] if require_y else [])
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(
            f"{what} lacks column(s) {missing}; a long frame needs {need} (one row per series and date). "
            f"Got columns {list(df.columns)}; rename your target column to 'y'."
        )
    if len(df) == 0:
        raise DataError(f"{what} is empty.")
    out = df.copy()
    try:
        out[DS] = pd.to_datetime(out[DS])
    except (ValueError, TypeError) as exc:
        raise DataError(f"{what}['ds'] does not hold dates: {exc}") from exc
    out[ID] = out[ID].astype(str)
    dup = out.duplicated([ID, DS])
    if dup.any():
        row = out.loc[dup, [ID, DS]].iloc[0]
        raise DataError(
            f"{what} has duplicate dates: series {row[ID]!r} has more than one row for {row[DS].date()}. "
            "Aggregate duplicates first (e.g. df.groupby(['unique_id', 'ds'], as_index=False).sum())."
        )
    steps = out.groupby(ID, sort=False)[DS].diff()
    if (steps < pd.Timedelta(0)).any():
        bad = out.loc[steps < pd.Timedelta(0), ID].iloc[0]
        raise DataError(
            f"{what} has unsorted dates in series {bad!r}; sort it first: df.sort_values(['unique_id', 'ds'])."
        )
    if require_y:
        if not pd.api.types.is_numeric_dtype(out[Y]):
            raise DataError(f"{what}['y'] must be numeric, got dtype {out[Y].dtype}.")
        if np.isinf(out[Y].to_numpy(dtype=float)).any():
            raise DataError(f"{what}['y'] holds infinite values.")
    return out.sort_values([ID, DS], kind="stable").reset_index(drop=True)


def infer_freq(df: pd.DataFrame) -> pd.Timedelta:
    """The most common step between consecutive dates of a series (e.g. 1 day, 7 days)."""
    steps = df.groupby(ID, sort=False)[DS].diff().dropna()
    if steps.empty:
        raise DataError("cannot infer the frequency: every series has a single row. Pass freq='D' or 'W'.")
    return pd.Timedelta(steps.mode().iloc[0])


def check_horizon(h) -> int:
    """A positive integer forecast horizon, or a ``DataError`` saying what went wrong."""
    if isinstance(h, bool) or not isinstance(h, (int, np.integer)):
        raise DataError(f"horizon h must be a positive integer (number of future steps), got {h!r}.")
    if h < 1:
        raise DataError(f"horizon h must be >= 1 (number of future steps), got {h}.")
    return int(h)
