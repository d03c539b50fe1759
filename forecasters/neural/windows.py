"""Sliding windows over a panel, scaled per window, as tensors for the global neural models.

Each series is laid out in one flat array as ``[pad | observed | future]``: ``pad`` = ``max(input_size,
season_length)`` missing steps so that every context and seasonal lag index is in bounds, and
``future`` = slots for forecasting (NaN targets, known calendar and exogenous values).

A window with target start ``t`` (index into the observed part) yields:
  * context ``x``: ``(input_size, 2 + 4 + k)`` = scaled ``y``, observed mask, 4 calendar features,
    ``k`` exogenous values of the context steps;
  * future features ``f``: ``(h, 4 + k + 2 * len(lags))`` = calendar, exogenous values of the target
    steps, and the scaled values ``m - 1``, ``m`` and ``m + 1`` steps before each target step (``m`` =
    season length; the neighbours catch holidays that move by a step from year to year), each with
    its availability mask; and last, the **baseline**: the scaled seasonal-naive value of the step
    (one season earlier; the last observed context value where that is unknown). The networks
    predict quantiles as this baseline plus a learned correction;
  * target: ``y[t : t + h] / scale``;
  * ``scale`` = mean absolute value of the observed context (1 if that is 0): per-window scaling,
    so one network serves series of any level, including series it never saw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from forecasters.panel import Panel
from forecasters.preprocessing import calendar_features


class WindowData:
    """Flat arrays of a panel for fast vectorised window extraction (see module docstring)."""

    def __init__(self, panel: Panel, input_size: int, h: int, season_length: int, future_exog: np.ndarray | None = None):
        self.L, self.h, self.m = input_size, h, season_length
        self.lags = lags_of(season_length)
        self.P = max(input_size, max(self.lags))
        k = len(panel.exog_names)
        self.lengths = np.array([len(y) for y in panel.y], dtype=np.int64)
        seg = self.P + self.lengths + h
        self.offsets = np.concatenate([[0], np.cumsum(seg)[:-1]]).astype(np.int64)
        N = int(seg.sum())
        self.y = np.full(N, np.nan, dtype=np.float32)
        self.cal = np.empty((N, 4), dtype=np.float32)
        self.exog = np.zeros((N, k), dtype=np.float32)
        cache: dict = {}
        for i in range(panel.n):
            o, T = self.offsets[i], self.lengths[i]
            self.y[o + self.P : o + self.P + T] = panel.y[i]
            key = (panel.start[i], T)
            if key not in cache:
                dates = pd.date_range(panel.start[i] - self.P * panel.freq, periods=self.P + T + h, freq=panel.freq)
                cache[key] = calendar_features(dates, panel.freq)
            self.cal[o : o + seg[i]] = cache[key]
            if k:
                self.exog[o + self.P : o + self.P + T] = panel.exog[i]
                if future_exog is not None and h:
                    self.exog[o + self.P + T : o + seg[i]] = future_exog[i, :h]

    @property
    def n_context_features(self) -> int:
        return 2 + 4 + self.exog.shape[1]

    @property
    def n_future_features(self) -> int:
        return 4 + self.exog.shape[1] + 2 * len(self.lags) + 1

    def windows(self, min_context: int, val_h: int = 0):
        """All training windows ``(series, t)`` whose target lies inside the observed data.

        With ``val_h > 0`` the last window of each long-enough series (target = its last ``val_h``
        steps) is returned separately for validation, and training targets end before it.
        """
        tr_i, tr_t, va_i, va_t = [], [], [], []
        for i, T in enumerate(self.lengths):
            end = T - self.h - (val_h if val_h else 0)
            if end >= min_context:
                ts = np.arange(min_context, end + 1)
                tr_i.append(np.full(len(ts), i))
                tr_t.append(ts)
            if val_h and T - self.h >= min_context:
                va_i.append([i])
                va_t.append([T - self.h])
        cat = lambda a: np.concatenate(a).astype(np.int64) if a else np.zeros(0, dtype=np.int64)  # noqa: E731
        return (cat(tr_i), cat(tr_t)), (cat(va_i), cat(va_t))

    def batch(self, series: np.ndarray, t: np.ndarray) -> dict[str, torch.Tensor]:
        """Tensors for windows ``(series[j], t[j])``: ``x``, ``f``, ``target`` (scaled) and ``scale``."""
        base = self.offsets[series] + self.P + t
        ctx = base[:, None] - self.L + np.arange(self.L)[None]
        fut = base[:, None] + np.arange(self.h)[None]
        lag = np.stack([self.y[fut - m] for m in self.lags], axis=-1)
        return assemble(self.y[ctx], self.cal[ctx], self.exog[ctx], lag, self.cal[fut], self.exog[fut], self.y[fut],
                        self.lags.index(self.m))


def lags_of(season_length: int) -> tuple[int, ...]:
    """The seasonal lags fed as future features (see the module docstring)."""
    return (season_length - 1, season_length, season_length + 1) if season_length > 2 else (season_length,)


def assemble(yc, cal_ctx, exog_ctx, lag, cal_fut, exog_fut, target, mid: int) -> dict[str, torch.Tensor]:
    """The window tensors from gathered raw values (float32; NaN = missing), shared by ``WindowData.batch``
    and ``dense_batch`` so both compute exactly the same numbers.

    Shapes: ``yc (B, L)``, ``cal_ctx (B or 1, L, 4)``, ``exog_ctx (B, L, k)``, ``lag (B, h, n_lags)``,
    ``cal_fut (B or 1, h, 4)``, ``exog_fut (B, h, k)``, ``target (B, h)``; ``mid`` indexes the lag of one season.
    """
    B = len(yc)
    mask = np.isfinite(yc)
    yc = np.where(mask, yc, 0.0)
    scale = np.abs(yc).sum(1) / np.maximum(mask.sum(1), 1)
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    s = scale[:, None]
    cal_ctx = np.broadcast_to(cal_ctx, (B, *cal_ctx.shape[1:]))
    x = np.concatenate([(yc / s)[..., None], mask[..., None], cal_ctx, exog_ctx], axis=-1)
    lag_ok = np.isfinite(lag)
    lag = np.where(lag_ok, lag, 0.0) / s[..., None]
    L = yc.shape[1]
    last_idx = np.where(mask, np.arange(L)[None], -1).max(1)
    last = np.where(last_idx >= 0, yc[np.arange(len(yc)), np.maximum(last_idx, 0)], 0.0) / scale
    base = np.where(lag_ok[..., mid], lag[..., mid], last[:, None])
    cal_fut = np.broadcast_to(cal_fut, (B, *cal_fut.shape[1:]))
    f = np.concatenate([cal_fut, exog_fut, lag, lag_ok, base[..., None]], axis=-1)
    return {
        "x": torch.from_numpy(x.astype(np.float32)),
        "f": torch.from_numpy(f.astype(np.float32)),
        "target": torch.from_numpy((target / s).astype(np.float32)),
        "scale": torch.from_numpy(scale),
    }


def dense_batch(y: np.ndarray, exog: np.ndarray, future_exog: np.ndarray, start: pd.Timestamp, freq: pd.Timedelta,
                input_size: int, h: int, season_length: int) -> dict[str, torch.Tensor]:
    """The forecast window (target right after the last observation) of ``n`` aligned series.

    The same tensors as ``WindowData(Panel.from_arrays(...), ...).batch(all series, their lengths)``,
    built straight from the dense arrays: ``y (n, T)``, ``exog (n, T, k)``, ``future_exog (n, >= h, k)``,
    all series starting on ``start``.
    """
    n, T = y.shape
    k = exog.shape[-1]
    lags = lags_of(season_length)
    P = max(input_size, max(lags))
    # Only the columns a window reads: context (L before T), seasonal lags (up to P before T) and future.
    W = P + h
    yp = np.full((n, W), np.nan, dtype=np.float32)
    keep = min(T, P)
    yp[:, P - keep : P] = y[:, T - keep :]
    ex = np.zeros((n, W, k), dtype=np.float32)
    if k:
        ex[:, P - keep : P] = exog[:, T - keep :]
        ex[:, P:] = future_exog[:, :h]
    cal = _calendar(start + (T - P) * freq, W, freq)[None]
    ctx = np.arange(P - input_size, P)
    fut = np.arange(P, P + h)
    lag = np.stack([yp[:, fut - m] for m in lags], axis=-1)
    return assemble(yp[:, ctx], cal[:, ctx], ex[:, ctx], lag, cal[:, fut], ex[:, fut], yp[:, fut], lags.index(season_length))


_CAL_BLOCK = 512
_cal_cache: dict = {}


def _calendar(first: pd.Timestamp, periods: int, freq: pd.Timedelta) -> np.ndarray:
    """``calendar_features`` of ``periods`` dates from ``first``, sliced from a cached block of dates (the
    features are per date, so a slice equals a fresh computation; a world asks for a window shifted by
    one day every day)."""
    key = (freq, first.tz)
    hit = _cal_cache.get(key)
    if hit is not None:
        block_start, table = hit
        i, rem = divmod(first - block_start, freq)
        if rem == pd.Timedelta(0) and 0 <= i and i + periods <= len(table):
            return table[i : i + periods]
    table = calendar_features(pd.date_range(first, periods=max(periods, _CAL_BLOCK), freq=freq), freq)
    table.setflags(write=False)  # shared by later calls
    _cal_cache[key] = (first, table)
    return table[:periods]
