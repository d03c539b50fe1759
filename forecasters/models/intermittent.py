"""Simple exponential smoothing and the intermittent-demand models Croston (SBA) and TSB.

Local models with fixed smoothing constants, as in the M5 benchmarks and statsforecast
(``SimpleExponentialSmoothing``, ``CrostonSBA``, ``TSB``). Each runs one filter over time that is
vectorised over all series (a Python loop over days, numpy over series), so thousands of daily
series take milliseconds. Forecasts are flat over the horizon.

Uncertainty (all three): a count distribution around the flat mean ``m`` whose variance ``v`` is the
series' in-sample mean squared one-step error (at least ``m``): negative binomial with that mean and
variance, Poisson where ``v <= m``. Its quantiles are whole units, so a series that sells on one day in
five has a median of 0, as it should.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from forecasters.base import Forecaster
from forecasters.distribution import GRID, Distribution
from forecasters.panel import Panel


def _right_aligned(ys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(n, T)`` values with NaN before each series' first observation (all series end in the last column)."""
    lengths = np.array([len(y) for y in ys])
    out = np.full((len(ys), lengths.max()), np.nan)
    for i, y in enumerate(ys):
        out[i, out.shape[1] - len(y) :] = y
    return out, lengths


def ses_filter(Y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simple exponential smoothing ``l_t = alpha * y_t + (1 - alpha) * l_{t-1}``, ``l_0 = y_0``, per row.

    ``Y (n, T)``: NaN before each row's first value (see ``_right_aligned``). Returns the last level
    (the forecast, ``(n,)``), the sum of squared one-step errors and their count (``(n,)`` each).
    """
    n, T = Y.shape
    level = np.full(n, np.nan)
    sse, cnt = np.zeros(n), np.zeros(n)
    for t in range(T):
        y = Y[:, t]
        seen = np.isfinite(level)
        err = np.where(seen & np.isfinite(y), y - level, 0.0)
        sse += err**2
        cnt += seen & np.isfinite(y)
        level = np.where(seen, level + alpha * err, y)  # the first value starts the level
    return level, sse, cnt


def croston_filter(Y: np.ndarray, alpha: float, tsb: bool = False, alpha_p: float = 0.1
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Croston's method (or TSB with ``tsb=True``) per row of ``Y (n, T)`` (NaN before the first value).

    Croston: demand sizes ``z`` and inter-demand intervals ``p`` (steps from the previous demand; the first
    interval counts from the series' start) are each smoothed with ``alpha`` at demand steps only, each
    started by its first value; forecast = ``z / p``. TSB: ``z`` as Croston; the demand probability
    ``d = alpha_p * 1[y > 0] + (1 - alpha_p) * d`` is updated every step, started by the first step's
    indicator; forecast = ``d * z``. Before the first demand the forecast is 0.

    Returns the final forecast ``(n,)`` (without the SBA factor), the sum of squared one-step errors and
    their count.
    """
    n, T = Y.shape
    z = np.full(n, np.nan)
    p = np.full(n, np.nan)
    d = np.full(n, np.nan)
    since = np.zeros(n)
    sse, cnt = np.zeros(n), np.zeros(n)
    for t in range(T):
        y = Y[:, t]
        obs = np.isfinite(y)
        started = np.isfinite(d)
        fc = np.where(np.isfinite(z), (d * z) if tsb else z / np.where(np.isfinite(p), p, 1.0), 0.0)
        err = np.where(started & obs, y - fc, 0.0)
        sse += err**2
        cnt += started & obs
        since = since + obs
        hit = obs & (y > 0)
        first = hit & ~np.isfinite(z)
        z = np.where(first, y, np.where(hit, z + alpha * (np.where(hit, y, 0.0) - z), z))
        p = np.where(first, since, np.where(hit, p + alpha * (since - p), p))
        since = np.where(hit, 0.0, since)
        ind = hit.astype(float)
        d = np.where(obs & ~started, ind, np.where(obs, d + alpha_p * (ind - d), d))
    mean = np.where(np.isfinite(z), (d * z) if tsb else z / np.where(np.isfinite(p), p, 1.0), 0.0)
    return mean, sse, cnt


def count_distribution(mean: np.ndarray, var: np.ndarray, h: int) -> Distribution:
    """Flat ``h``-step forecast: negative binomial with ``mean (n,)`` and variance ``var (n,)`` (Poisson where
    ``var <= mean``), quantiles at ``GRID`` in whole units."""
    mean = np.maximum(np.asarray(mean, dtype=float), 0.0)
    var = np.asarray(var, dtype=float)
    m = np.maximum(mean, 1e-12)[:, None]
    over = (var > mean * (1 + 1e-9))[:, None]
    r = np.where(over, m**2 / np.maximum(var[:, None] - m, 1e-12), 1.0)  # NB size
    q = np.where(over, stats.nbinom.ppf(GRID[None], r, r / (r + m)), stats.poisson.ppf(GRID[None], m))
    q = np.where(mean[:, None] > 0, q, 0.0)
    return Distribution(np.repeat(mean[:, None], h, axis=1), np.repeat(q[:, None, :], h, axis=1))


def _check_alpha(name: str, v: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not 0 < v <= 1:
        raise ValueError(f"{name} must be a number in (0, 1] (the smoothing constant), got {v!r}.")
    return float(v)


class _Intermittent(Forecaster):
    """Shared plumbing: local (fitting stores only the history), flat forecasts, count uncertainty."""

    def _filter(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _distribution(self, panel: Panel, h: int, future_exog: np.ndarray) -> Distribution:
        Y, _ = _right_aligned(panel.y)
        mean, sse, cnt = self._filter(Y)
        fallback = np.array([np.var(y) if len(y) > 1 else abs(y[-1]) for y in panel.y])
        var = np.where(cnt > 1, sse / np.maximum(cnt, 1), fallback)
        return count_distribution(mean, np.maximum(var, mean), h)


class SES(_Intermittent):
    """Simple exponential smoothing with a fixed smoothing constant (flat forecast = the last level).

    Args:
        alpha: smoothing constant in (0, 1]; 0.1 is the value that beats most models on the M5 data.
        **kwargs: see ``Forecaster``.
    """

    name = "ses"

    def __init__(self, alpha: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _check_alpha("alpha", alpha)

    def _filter(self, Y):
        return ses_filter(Y, self.alpha)


class CrostonSBA(_Intermittent):
    """Croston's method with the Syntetos-Boylan approximation: ``(1 - alpha / 2) * z / p`` (see
    ``croston_filter``), the bias-corrected mean demand per step of an intermittent series.

    Args:
        alpha: smoothing constant of demand sizes and intervals, in (0, 1].
        **kwargs: see ``Forecaster``.
    """

    name = "croston"

    def __init__(self, alpha: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _check_alpha("alpha", alpha)

    def _filter(self, Y):
        mean, sse, cnt = croston_filter(Y, self.alpha)
        return (1 - self.alpha / 2) * mean, sse, cnt


class TSB(_Intermittent):
    """Teunter-Syntetos-Babai: demand probability (updated every step, so it decays while nothing sells:
    suits obsolescence) times the smoothed demand size (see ``croston_filter``).

    Args:
        alpha_d: smoothing constant of demand sizes, in (0, 1].
        alpha_p: smoothing constant of the demand probability, in (0, 1].
        **kwargs: see ``Forecaster``.
    """

    name = "tsb"

    def __init__(self, alpha_d: float = 0.1, alpha_p: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.alpha_d = _check_alpha("alpha_d", alpha_d)
        self.alpha_p = _check_alpha("alpha_p", alpha_p)

    def _filter(self, Y):
        return croston_filter(Y, self.alpha_d, tsb=True, alpha_p=self.alpha_p)
