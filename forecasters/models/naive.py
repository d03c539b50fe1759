"""Seasonal naive and moving average: the baselines every forecast must beat."""

from __future__ import annotations

import numpy as np

from forecasters.base import Forecaster, residual_sd
from forecasters.distribution import Distribution, normal
from forecasters.panel import Panel


class SeasonalNaive(Forecaster):
    """Forecast = the value one season earlier: ``y[T + k] = y[T + k - m * ceil(k / m)]``.

    Uncertainty: normal with the spread of the series' seasonal differences ``y[t] - y[t - m]``,
    growing with the number of seasons ahead (``sqrt(ceil(k / m))``). Series shorter than one
    season fall back to the last value. Local: fitting stores nothing but the history.
    """

    name = "seasonal_naive"

    def _distribution(self, panel: Panel, h: int, future_exog: np.ndarray) -> Distribution:
        m = self.season_length_
        k = np.arange(1, h + 1)
        mean = np.empty((panel.n, h))
        fitted = []
        for i, y in enumerate(panel.y):
            mm = m if len(y) >= m else 1
            mean[i] = y[len(y) - mm + (k - 1) % mm]
            fitted.append(np.concatenate([np.full(mm, np.nan), y[:-mm]]))
        sd = residual_sd(panel, fitted)
        seasons = np.ceil(k / m)
        return normal(mean, sd[:, None] * np.sqrt(seasons)[None])


class MovingAverage(Forecaster):
    """Forecast = the mean of the last ``window`` observations, flat over the horizon.

    Args:
        window: number of most recent steps averaged (>= 1).
    """

    name = "moving_average"

    def __init__(self, window: int = 4, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(window, (int, np.integer)) or window < 1:
            raise ValueError(f"window must be a positive integer, got {window!r}.")
        self.window = window

    def _distribution(self, panel: Panel, h: int, future_exog: np.ndarray) -> Distribution:
        w = self.window
        mean = np.empty((panel.n, h))
        fitted = []
        for i, y in enumerate(panel.y):
            mean[i] = y[-w:].mean()
            c = np.cumsum(np.concatenate([[0.0], y]))
            ma = (c[w:] - c[:-w]) / w  # ma[j] = mean(y[j : j + w])
            fitted.append(np.concatenate([np.full(w, np.nan), ma[:-1]]) if len(y) > w else np.full(len(y), np.nan))
        sd = residual_sd(panel, fitted)
        return normal(mean, np.broadcast_to(sd[:, None], mean.shape))
