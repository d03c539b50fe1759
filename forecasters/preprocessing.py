"""Preprocessing steps practitioners apply before forecasting, one function each.

1. ``fill_missing_dates``: put every series on a regular calendar (``freq``). A date absent from sales
   data means nothing was sold, so the restored rows get ``y = 0`` (``fill_value``).
2. ``interpolate_gaps``: rows that exist but hold ``NaN`` in ``y`` are true gaps (the value is unknown,
   e.g. a broken feed); they are linearly interpolated within the series (edges: nearest value).
3. ``clip_outliers``: values further than ``k`` scaled median absolute deviations from the series
   median are clipped to that bound (robust to the outliers themselves).
4. ``SeriesScaler``: per-series mean-absolute scaling (``y / mean|y|``), invertible. The neural
   models scale each training window by its context's mean absolute value, the same idea applied
   locally so that a level shift or a new series needs no refit.
5. ``calendar_features``: cyclical encodings of the position in the week and the year.
6. ``sliding_windows``: (context, target) index pairs over one series for training global models.

Every function takes and returns a long frame (``unique_id``, ``ds``, ``y``, exogenous columns),
except the last two which work on arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasters.data import DS, ID, Y, infer_freq, require_numeric, validate_frame
from shopgym.errors import DataError


def _check_long(df: pd.DataFrame, what: str) -> None:
    """``df`` is a frame with ``unique_id`` and a numeric ``y`` (the steps below that skip ``validate_frame``)."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{what} takes a pandas DataFrame, got {type(df).__name__}.")
    missing = [c for c in (ID, Y) if c not in df.columns]
    if missing:
        raise DataError(f"{what}: the frame lacks column(s) {missing}; got {list(df.columns)}.")
    require_numeric(df, [Y], what)


def fill_missing_dates(df: pd.DataFrame, freq: pd.Timedelta | None = None, fill_value: float = 0.0) -> pd.DataFrame:
    """Restore missing dates between each series' first and last date; their ``y`` is ``fill_value``.

    Exogenous columns of restored rows are forward-filled (then back-filled) within the series.
    ``freq`` defaults to the most common step (``infer_freq``).
    """
    df = validate_frame(df)
    freq = infer_freq(df) if freq is None else _positive_freq(freq)
    if not (np.isfinite(fill_value) and fill_value >= 0):
        raise DataError(f"fill_value = {fill_value!r} must be a finite number >= 0 (the sales of a date with no row).")
    parts = []
    for uid, g in df.groupby(ID, sort=False):
        grid = pd.date_range(g[DS].iloc[0], g[DS].iloc[-1], freq=freq)
        if len(grid) == len(g) and (grid == pd.DatetimeIndex(g[DS])).all():
            parts.append(g)
            continue
        off = ~g[DS].isin(grid)
        if off.any():
            raise DataError(
                f"series {uid!r} has a date ({g.loc[off, DS].iloc[0].date()}) off its {freq} grid; "
                "resample it to one frequency first."
            )
        full = g.set_index(DS).reindex(grid)
        full.index.name = DS
        new = full[Y].isna() & ~full.index.isin(g[DS])
        full[ID] = uid
        full.loc[new, Y] = fill_value
        exog = [c for c in full.columns if c not in (ID, Y)]
        if exog:
            full[exog] = full[exog].ffill().bfill()
        parts.append(full.reset_index()[g.columns])
    return pd.concat(parts, ignore_index=True)


def _positive_freq(freq) -> pd.Timedelta:
    """``freq`` as a positive ``pd.Timedelta`` (``'D'``, ``'W'``, ``'7D'``, ``pd.Timedelta(days=1)``), else ``DataError``."""
    try:
        step = pd.Timedelta(freq)
    except (ValueError, TypeError):
        try:  # a bare unit: pandas reads 'D' or 'W' only as a unit of one
            step = pd.Timedelta(1, unit=freq)
        except (ValueError, TypeError) as exc:
            raise DataError(f"freq = {freq!r} is not a fixed time step; pass e.g. 'D', 'W', '7D' or "
                            "pd.Timedelta(days=1).") from exc
    if pd.isna(step) or step <= pd.Timedelta(0):
        raise DataError(f"freq = {freq!r} must be a positive time step, e.g. 'D' or '7D'.")
    return step


def interpolate_gaps(df: pd.DataFrame) -> pd.DataFrame:
    """Linearly interpolate ``NaN`` values of ``y`` inside each series; edge gaps take the nearest value.

    A series whose ``y`` is entirely ``NaN`` raises ``DataError``.
    """
    _check_long(df, "interpolate_gaps")
    out = df.copy()
    if out[Y].isna().groupby(out[ID]).all().any():
        raise DataError("a series has no observed y at all; drop it before fitting.")
    out[Y] = out.groupby(ID, sort=False)[Y].transform(lambda s: s.interpolate(limit_direction="both"))
    return out


def clip_outliers(df: pd.DataFrame, k: float = 6.0) -> pd.DataFrame:
    """Clip ``y`` to ``median +- k * 1.4826 * MAD`` per series (``k <= 0`` disables clipping).

    1.4826 x MAD estimates the standard deviation for normal data, so ``k = 6`` clips only gross
    errors; holiday peaks of retail data (3-5 sigma) survive.
    """
    if not np.isfinite(k):
        raise DataError(f"clip_outliers: k = {k!r} must be a finite number (k <= 0 disables clipping).")
    if k <= 0:
        return df
    _check_long(df, "clip_outliers")
    out = df.copy()
    grp = out.groupby(ID, sort=False)[Y]
    med = grp.transform("median")
    mad = (out[Y] - med).abs().groupby(out[ID]).transform("median") * 1.4826
    mad = mad.where(mad > 0, (out[Y] - med).abs().groupby(out[ID]).transform("mean") + 1e-9)
    out[Y] = out[Y].clip(med - k * mad, med + k * mad)
    return out


@dataclass
class SeriesScaler:
    """Per-series mean-absolute scaling: ``y_scaled = y / scale``, ``scale = mean|y|`` (or 1 if 0)."""

    scale_: dict[str, float] = field(default_factory=dict)

    def fit(self, df: pd.DataFrame) -> SeriesScaler:
        _check_long(df, "SeriesScaler.fit")
        s = df[Y].abs().groupby(df[ID]).mean()
        self.scale_ = {k: (float(v) if v > 0 else 1.0) for k, v in s.items()}
        return self

    def transform(self, df: pd.DataFrame, cols=(Y,)) -> pd.DataFrame:
        out = df.copy()
        sc = out[ID].map(self.scale_)
        if sc.isna().any():
            raise DataError(f"series {out.loc[sc.isna(), ID].iloc[0]!r} was not seen by SeriesScaler.fit.")
        for c in cols:
            out[c] = out[c] / sc
        return out

    def inverse_transform(self, df: pd.DataFrame, cols=(Y,)) -> pd.DataFrame:
        out = df.copy()
        sc = out[ID].map(self.scale_)
        for c in cols:
            out[c] = out[c] * sc
        return out


def calendar_features(dates, freq: pd.Timedelta) -> np.ndarray:
    """Cyclical calendar encodings in [-1, 1], shape ``(len(dates), 4)``.

    Columns: sin/cos of the day of the week (zero for weekly or coarser data, where it is
    constant) and sin/cos of the position in the year (day of year / 365.25).
    """
    d = pd.DatetimeIndex(dates)
    doy = (d.day_of_year.to_numpy() - 1) * (2 * np.pi / 365.25)
    if pd.Timedelta(freq) < pd.Timedelta(days=7):
        dow = d.day_of_week.to_numpy() * (2 * np.pi / 7)
        w = [np.sin(dow), np.cos(dow)]
    else:
        w = [np.zeros(len(d)), np.zeros(len(d))]
    return np.stack([*w, np.sin(doy), np.cos(doy)], axis=-1).astype(np.float32)


def sliding_windows(n: int, input_size: int, h: int, step: int = 1, min_context: int | None = None) -> np.ndarray:
    """Start indices of the targets of all (context, target) windows in a series of length ``n``.

    A window with target start ``t`` uses ``y[t - input_size : t]`` as context (left-padded when
    ``t < input_size``, but at least ``min_context`` observed points, default ``input_size``) and
    ``y[t : t + h]`` as target. Returns ``int64`` indices, ascending.
    """
    lo = input_size if min_context is None else max(1, min_context)
    hi = n - h
    if hi < lo:
        return np.zeros(0, dtype=np.int64)
    return np.arange(lo, hi + 1, step, dtype=np.int64)


def prepare(df: pd.DataFrame, clip_k: float = 0.0, freq=None) -> pd.DataFrame:
    """Validate, restore missing dates (y = 0), interpolate gaps, clip outliers (``clip_k > 0``)."""
    df = validate_frame(df)
    if infer_freq_safe(df) is None and freq is None:
        return interpolate_gaps(df)
    df = fill_missing_dates(df, freq)
    df = interpolate_gaps(df)
    return clip_outliers(df, clip_k)


def infer_freq_safe(df: pd.DataFrame):
    try:
        return infer_freq(df)
    except DataError:
        return None
