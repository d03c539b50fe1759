"""Holt-Winters exponential smoothing (damped trend; additive or multiplicative seasonality).

Fitted per series by a grid search over the smoothing parameters that minimises the one-step
squared error after the first season; the filter runs vectorised over all series and all grid
points at once (numpy), so thousands of series fit in seconds.
"""

from __future__ import annotations

import itertools

import numpy as np

from forecasters.base import Forecaster
from forecasters.distribution import Distribution, normal
from forecasters.panel import Panel

ALPHAS = (0.05, 0.1, 0.2, 0.4, 0.7)
BETAS = (0.0, 0.02, 0.1)
GAMMAS = (0.05, 0.15, 0.3, 0.5)
PHIS = (0.9, 0.98)


def _left_aligned(ys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(y) for y in ys])
    out = np.full((len(ys), lengths.max()), np.nan)
    for i, y in enumerate(ys):
        out[i, : len(y)] = y
    return out, lengths


def hw_filter(Y, lengths, alpha, beta, gamma, phi, m: int, multiplicative: bool):
    """Run Holt-Winters over left-aligned series.

    Args:
        Y: ``(n, T)`` values, NaN after each series' end (``lengths``).
        alpha, beta, gamma, phi: ``(n, G)`` parameters per series and grid point.
        m: season length (steps).
        multiplicative: seasonal factors multiply (else add to) the level.

    Returns:
        ``sse (n, G)`` (one-step squared errors after the first season), the final level,
        trend ``(n, G)`` and seasonal state ``(n, G, m)`` (index ``t % m``), and the count of
        scored errors per series.
    """
    n, T = Y.shape
    G = alpha.shape[1]
    seasonal_ok = lengths >= m + 2
    level = np.empty((n, G))
    trend = np.zeros((n, G))
    season = np.zeros((n, G, m)) if not multiplicative else np.ones((n, G, m))
    for i in range(n):
        y = Y[i, : lengths[i]]
        if seasonal_ok[i] and m > 1:
            l0 = y[:m].mean()
            season[i] = (y[:m] - l0) if not multiplicative else y[:m] / max(l0, 1e-9)
            if lengths[i] >= 2 * m:
                trend[i] = (y[m : 2 * m].mean() - l0) / m
        else:
            l0 = y[: min(len(y), 4)].mean()
        level[i] = l0
    gamma = gamma * seasonal_ok[:, None]
    sse = np.zeros((n, G))
    count = np.zeros(n)
    rows = np.arange(n)
    for t in range(T):
        valid = t < lengths
        y = np.where(valid, Y[:, t], 0.0)[:, None]
        s = season[:, :, t % m]
        base = level + phi * trend
        pred = base * s if multiplicative else base + s
        err = y - pred
        scored = valid & (t >= m)
        sse += np.where(scored[:, None], err**2, 0.0)
        count += scored
        if multiplicative:
            new_level = alpha * y / np.maximum(s, 0.05) + (1 - alpha) * base
            new_s = np.clip(gamma * y / np.maximum(new_level, 1e-9) + (1 - gamma) * s, 0.05, 20.0)
        else:
            new_level = alpha * (y - s) + (1 - alpha) * base
            new_s = gamma * (y - new_level) + (1 - gamma) * s
        new_trend = beta * (new_level - level) + (1 - beta) * phi * trend
        v = valid[:, None]
        level = np.where(v, new_level, level)
        trend = np.where(v, new_trend, trend)
        season[rows, :, t % m] = np.where(v, new_s, s)
    return sse, level, trend, season, count


class HoltWinters(Forecaster):
    """Damped-trend Holt-Winters exponential smoothing, per series.

    Args:
        seasonal: ``"additive"`` or ``"multiplicative"``. Multiplicative needs positive data: values
            are floored at 1% of the series' mean absolute value while fitting.
        damped: use a damped trend (``phi`` from the grid); ``False`` drops the trend altogether.

    Uncertainty: normal with the one-step residual spread ``sd``, widened over the horizon as
    ``sd * sqrt(1 + (k - 1) * alpha**2)`` (the random-walk part of the level's error; seasonal and
    trend contributions are ignored: an approximation). Multiplicative seasonal factors are kept in
    [0.05, 20] and point forecasts within 3x the series' largest absolute value, guards against the
    explosive recursions multiplicative models are prone to on erratic series.
    """

    name = "ets"

    def __init__(self, seasonal: str = "additive", damped: bool = True, **kwargs):
        super().__init__(**kwargs)
        if seasonal not in ("additive", "multiplicative"):
            raise ValueError(f"seasonal must be 'additive' or 'multiplicative', got {seasonal!r}.")
        self.seasonal = seasonal
        self.damped = damped

    def _grid(self):
        betas, phis = (BETAS, PHIS) if self.damped else ((0.0,), (0.0,))
        return np.array(list(itertools.product(ALPHAS, betas, GAMMAS, phis)))

    def _prep(self, panel: Panel):
        Y, lengths = _left_aligned(panel.y)
        if self.seasonal == "multiplicative":
            floor = 0.01 * np.nanmean(np.abs(Y), axis=1, keepdims=True) + 1e-9
            Y = np.maximum(Y, floor)
        return Y, lengths

    def _search(self, panel: Panel) -> np.ndarray:
        """Best ``(alpha, beta, gamma, phi)`` per series, ``(n, 4)``."""
        Y, lengths = self._prep(panel)
        grid = self._grid()
        best = np.empty((panel.n, 4))
        for lo in range(0, panel.n, 256):  # chunks bound the memory of the (n, G, m) seasonal state
            sl = slice(lo, lo + 256)
            k = Y[sl].shape[0]
            par = [np.broadcast_to(grid[:, j], (k, len(grid))) for j in range(4)]
            sse = hw_filter(Y[sl], lengths[sl], *par, self.season_length_, self.seasonal == "multiplicative")[0]
            best[sl] = grid[np.argmin(sse, axis=1)]
        return best

    def _fit(self, panel: Panel) -> None:
        self.params_ = dict(zip(panel.ids, self._search(panel), strict=True))

    def _distribution(self, panel: Panel, h: int, future_exog: np.ndarray) -> Distribution:
        known = [i for i, u in enumerate(panel.ids) if u in self.params_]
        params = np.empty((panel.n, 4))
        if known:
            params[known] = np.stack([self.params_[panel.ids[i]] for i in known])
        unknown = [i for i in range(panel.n) if panel.ids[i] not in self.params_]
        if unknown:  # new series: local models are fitted on the history they are given
            params[unknown] = self._search(panel.subset(unknown))
        Y, lengths = self._prep(panel)
        m = self.season_length_
        a, b, g, p = (params[:, j : j + 1] for j in range(4))
        sse, level, trend, season, count = hw_filter(Y, lengths, a, b, g, p, m, self.seasonal == "multiplicative")
        level, trend, season = level[:, 0], trend[:, 0], season[:, 0]
        k = np.arange(1, h + 1)
        phi = params[:, 3:4]
        damp = np.cumsum(phi ** k[None], axis=1) if self.damped else np.zeros((panel.n, h))
        base = level[:, None] + damp * trend[:, None]
        idx = (lengths[:, None] + k[None] - 1) % m
        s = np.take_along_axis(season, idx, axis=1)
        mean = base * s if self.seasonal == "multiplicative" else base + s
        cap = 3 * np.array([np.max(np.abs(y)) for y in panel.y])[:, None]
        mean = np.clip(mean, -cap, cap)  # guards against explosive recursions on erratic series
        sd = np.sqrt(sse[:, 0] / np.maximum(count, 1))
        fallback = np.array([np.std(y) if len(y) > 1 else abs(y[0]) for y in panel.y])
        sd = np.where(count > 1, sd, fallback) + 1e-9
        widen = np.sqrt(1 + (k[None] - 1) * params[:, 0:1] ** 2)
        return normal(mean, sd[:, None] * widen)
