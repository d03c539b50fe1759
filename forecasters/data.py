"""Validation of long data frames (``unique_id``, ``ds``, ``y`` plus exogenous columns).

Every forecaster's ``fit``/``predict``/``update`` passes its input through ``validate_frame`` so that
bad input fails early with a ``shopgym.errors.DataError`` that names the problem and the fix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopgym.errors import DataError

ID, DS, Y = "unique_id", "ds", "y"
#: Exogenous columns with a known meaning (what ``LearnedDemand`` feeds a forecaster): numbers wherever they appear.
NUMERIC_EXOG = ("price", "promo")


def require_numeric(df: pd.DataFrame, columns, what: str = "df") -> None:
    """Raise ``DataError`` unless each of ``columns`` present in ``df`` holds finite numbers (or NaN) or bools.

    One stray string makes pandas read a whole CSV column as text, which downstream code would silently
    treat as categories; the error names the column, the first offending row and its value instead.
    """
    for c in columns:
        if c not in df.columns:
            continue
        col = df[c]
        if pd.api.types.is_bool_dtype(col):
            continue
        if pd.api.types.is_numeric_dtype(col):
            values = col.to_numpy(dtype=float)
            if np.isinf(values).any():
                row = col.index[np.isinf(values)][0]
                raise DataError(f"{what}[{c!r}] holds an infinite value at row {row!r}; fix or drop that row.")
            continue
        numbers = pd.to_numeric(col, errors="coerce")
        bad = numbers.isna() & col.notna()
        if not bad.any():  # numbers stored as text or objects
            raise DataError(
                f"{what}[{c!r}] holds numbers stored as {col.dtype}; convert it first: "
                f"df[{c!r}] = pd.to_numeric(df[{c!r}])."
            )
        row = col.index[bad.to_numpy()][0]
        raise DataError(
            f"{what}[{c!r}] must be numeric, but row {row!r} holds {col[row]!r} ({int(bad.sum())} such row(s)); "
            "fix or drop those rows (one text value makes the whole column text)."
        )


def validate_frame(df: pd.DataFrame, require_y: bool = True, what: str = "df",
                   allow_negative: bool = False) -> pd.DataFrame:
    """Check a long frame and return a copy sorted by ``(unique_id, ds)`` with ``ds`` as datetimes.

    Raises ``DataError`` when a required column is missing, dates do not parse, a series repeats a
    date, dates are not increasing within a series (unsorted input is an error, not silently fixed,
    because it usually means two sources were concatenated wrongly), ``y`` holds non-numbers,
    infinities or (unless ``allow_negative``) negative values (sales are never negative: net returns
    must be clipped or removed by the caller, never silently here), or a known exogenous column
    (``NUMERIC_EXOG``: ``price``, ``promo``) holds non-numbers. ``NaN`` in ``y`` is allowed: it marks a gap.
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
        require_numeric(out, [Y], what)  # names the first non-number and its row
        y = out[Y].to_numpy(dtype=float)
        if not allow_negative and (y < 0).any():
            row = out.loc[y < 0].iloc[0]
            raise DataError(
                f"{what}['y'] holds {int((y < 0).sum())} negative value(s), e.g. {float(row[Y])!r} in series {row[ID]!r} on "
                f"{row[DS].date()}; sales cannot be negative. Net returns: clip them (df['y'] = df['y'].clip(lower=0)) "
                "or drop those rows."
            )
    require_numeric(out, NUMERIC_EXOG, what)
    return out.sort_values([ID, DS], kind="stable").reset_index(drop=True)


def infer_freq(df: pd.DataFrame) -> pd.Timedelta:
    """The most common step between consecutive dates of a series (e.g. 1 day, 7 days)."""
    steps = df.groupby(ID, sort=False)[DS].diff().dropna()
    if steps.empty:
        raise DataError(
            "cannot infer the frequency: every series has a single row, so the step between dates is unknown. "
            "Give at least one series two or more dates; fill_missing_dates and prepare also take it as an "
            "argument (freq=pd.Timedelta(days=1))."
        )
    return pd.Timedelta(steps.mode().iloc[0])


def check_horizon(h) -> int:
    """A positive integer forecast horizon, or a ``DataError`` saying what went wrong."""
    if isinstance(h, bool) or not isinstance(h, (int, np.integer)):
        raise DataError(f"horizon h must be a positive integer (number of future steps), got {h!r}.")
    if h < 1:
        raise DataError(f"horizon h must be >= 1 (number of future steps), got {h}.")
    return int(h)
