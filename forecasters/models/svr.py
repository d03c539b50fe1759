"""Support-vector regression on lag and calendar features (scikit-learn ``SVR``), global, recursive."""

from __future__ import annotations

import numpy as np

from forecasters.base import Forecaster
from forecasters.distribution import Distribution, normal
from forecasters.neural.windows import WindowData
from forecasters.panel import Panel


class SVRForecaster(Forecaster):
    """One ``SVR`` (RBF kernel) trained across all series on one-step-ahead windows.

    Features of the step to forecast: the last ``n_lags`` values and the value one season earlier,
    all divided by the mean absolute value of the lags (per-window scaling), the calendar features
    and exogenous values of that step. Multi-step forecasts are recursive (the prediction is fed back).
    Uncertainty: normal with the residual spread on a held-out 20% of the windows, widened by
    ``sqrt(k)`` at step ``k``.

    Args:
        n_lags: number of most recent values used (steps).
        C, epsilon, gamma: ``sklearn.svm.SVR`` hyperparameters (on scaled data).
        max_samples: at most this many training windows (kernel SVR is quadratic in samples).
    """

    name = "svr"

    def __init__(self, n_lags: int = 8, C: float = 1.0, epsilon: float = 0.05, gamma: str | float = "scale",
                 max_samples: int = 4000, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n_lags, int) or n_lags < 1:
            raise ValueError(f"n_lags must be a positive integer, got {n_lags!r}.")
        if C <= 0 or epsilon < 0 or max_samples < 10:
            raise ValueError("need C > 0, epsilon >= 0 and max_samples >= 10.")
        self.n_lags, self.C, self.epsilon, self.gamma, self.max_samples = n_lags, C, epsilon, gamma, max_samples

    def _features(self, data: WindowData, series, t):
        b = data.batch(series, t)
        x, f = b["x"].numpy(), b["f"].numpy()
        feats = np.concatenate([x[:, :, 0], x[:, :, 1], f[:, 0, :]], axis=1)
        return feats, b["target"].numpy()[:, 0], b["scale"].numpy()

    def _fit(self, panel: Panel) -> None:
        from sklearn.svm import SVR

        data = WindowData(panel, self.n_lags, 1, self.season_length_)
        (si, st), _ = data.windows(min_context=1)
        rng = np.random.default_rng(self.seed)
        pick = rng.permutation(len(si))[: self.max_samples]
        X, y, _ = self._features(data, si[pick], st[pick])
        n_val = max(1, len(y) // 5)
        self.model_ = SVR(C=self.C, epsilon=self.epsilon, gamma=self.gamma).fit(X[n_val:], y[n_val:])
        self.sd_scaled_ = float(np.sqrt(np.mean((self.model_.predict(X[:n_val]) - y[:n_val]) ** 2))) + 1e-9

    def _distribution(self, panel: Panel, h: int, future_exog: np.ndarray) -> Distribution:
        ys = [y.copy() for y in panel.y]
        ex = list(panel.exog)
        mean = np.empty((panel.n, h))
        scales = None
        for k in range(h):
            cur = Panel(panel.ids, ys, panel.start, panel.freq, ex, panel.exog_names)
            data = WindowData(cur, self.n_lags, 1, self.season_length_, future_exog[:, k : k + 1])
            X, _, scale = self._features(data, np.arange(panel.n), data.lengths.copy())
            scales = scale if scales is None else scales
            mean[:, k] = self.model_.predict(X) * scale
            ys = [np.append(y, m) for y, m in zip(ys, mean[:, k], strict=True)]
            ex = [np.concatenate([e, fx[k : k + 1]]) for e, fx in zip(ex, future_exog, strict=True)]
        sd = self.sd_scaled_ * scales[:, None] * np.sqrt(np.arange(1, h + 1))[None]
        return normal(mean, sd)
