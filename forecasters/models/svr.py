"""Support-vector regression on lag and calendar features (scikit-learn ``SVR``), global, recursive."""

from __future__ import annotations

import numpy as np

from forecasters.base import Forecaster
from forecasters.distribution import Distribution, normal
from forecasters.neural.windows import WindowData
from forecasters.panel import Panel

#: Pseudo-windows of the pooled spread added to each series' own held-out residuals (shrinkage).
SHRINK = 5.0


class SVRForecaster(Forecaster):
    """One ``SVR`` (RBF kernel) trained across all series on one-step-ahead windows.

    Features of the step to forecast: the last ``n_lags`` values and the value one season earlier,
    all divided by the mean absolute value of the lags (per-window scaling), the calendar features
    and exogenous values of that step. Multi-step forecasts are recursive (the prediction is fed back).
    Uncertainty: normal, widened by ``sqrt(k)`` at step ``k``, with a spread per series from its residuals
    on a held-out 20% of the windows (in scaled units, then times the series' current scale). The spread
    of series ``i`` is ``sqrt((sum_j w_j r_j^2 + K p^2) / (sum_j w_j + K))`` over its held-out residuals
    ``r_j``, with weights ``w_j`` proportional to the window's squared scale (so a window whose lags are
    near zero, whose scaled residual is huge, counts little), shrunk with ``K = SHRINK`` pseudo-windows
    toward the pooled robust spread ``p = 1.4826 * median |r|`` (also used for series not seen in fitting).

    Why not one pooled root-mean-square spread: scaled residuals of intermittent or zero-heavy series are
    orders of magnitude larger than those of regular series, and one pooled RMS let them widen every
    series' quantiles (a 90% quantile of 78 for a mean of 23; ``tests/forecasters/test_fc_svr_spread.py``).

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
        X, y, scale = self._features(data, si[pick], st[pick])
        n_val = max(1, len(y) // 5)
        self.model_ = SVR(C=self.C, epsilon=self.epsilon, gamma=self.gamma).fit(X[n_val:], y[n_val:])
        r = self.model_.predict(X[:n_val]) - y[:n_val]
        self.sd_scaled_, self.sd_series_ = _spread(r, scale[:n_val], si[pick][:n_val], panel.ids)

    def _prediction_state(self, panel: Panel):
        """Whatever ``_predict_scaled`` needs for this panel, computed once per forecast (subclasses' hook)."""
        return None

    def _predict_scaled(self, X: np.ndarray, state) -> np.ndarray:
        """One-step forecasts in scaled units for the feature rows ``X`` (one per series of the panel)."""
        return self.model_.predict(X)

    def _distribution(self, panel: Panel, h: int, future_exog: np.ndarray) -> Distribution:
        state = self._prediction_state(panel)
        ys = [y.copy() for y in panel.y]
        ex = list(panel.exog)
        mean = np.empty((panel.n, h))
        scales = None
        for k in range(h):
            cur = Panel(panel.ids, ys, panel.start, panel.freq, ex, panel.exog_names)
            data = WindowData(cur, self.n_lags, 1, self.season_length_, future_exog[:, k : k + 1])
            X, _, scale = self._features(data, np.arange(panel.n), data.lengths.copy())
            scales = scale if scales is None else scales
            mean[:, k] = self._predict_scaled(X, state) * scale
            ys = [np.append(y, m) for y, m in zip(ys, mean[:, k], strict=True)]
            ex = [np.concatenate([e, fx[k : k + 1]]) for e, fx in zip(ex, future_exog, strict=True)]
        by_series = getattr(self, "sd_series_", {})  # models saved before the per-series spread have none
        sd_i = np.array([by_series.get(u, self.sd_scaled_) for u in panel.ids])
        sd = (sd_i * scales)[:, None] * np.sqrt(np.arange(1, h + 1))[None]
        return normal(mean, sd)


def _spread(r: np.ndarray, scale: np.ndarray, series: np.ndarray, ids) -> tuple[float, dict]:
    """The pooled robust spread and the per-series shrunk spread (scaled units) of held-out residuals ``r``
    (see ``SVRForecaster``); ``series[j]`` indexes ``ids``."""
    pooled = float(1.4826 * np.median(np.abs(r)))
    if not pooled > 0:
        pooled = float(np.sqrt(np.mean(r**2)))
    pooled = max(pooled, 1e-9)
    n = len(ids)
    w = scale.astype(float) ** 2
    w = w / np.maximum(np.bincount(series, weights=w, minlength=n) / np.maximum(np.bincount(series, minlength=n), 1),
                       1e-300)[series]  # mean weight 1 within each series
    num = np.bincount(series, weights=w * r**2, minlength=n) + SHRINK * pooled**2
    den = np.bincount(series, weights=w, minlength=n) + SHRINK
    sd = np.sqrt(num / den)
    return pooled, {u: float(v) for u, v in zip(ids, sd, strict=True)}
