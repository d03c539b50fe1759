"""META-SVM for forecasting: support-vector regression that learns across series-as-tasks.

After Denevi, Ciliberto, Stamos & Pontil, "Learning To Learn Around A Common Mean" (NeurIPS 2018), with
the epsilon-insensitive (SVR) loss and random Fourier features in place of a kernel: every series is a
task with its own linear SVR in the feature space, regularised not towards 0 but towards a **common mean**
``w0`` that is meta-learned over the training series:

    w_t(w0) = argmin_w  C sum_i |y_i - <w, z(x_i)>|_eps + 1/2 ||w - w0||^2            (one task)

so ``w_t = w0 + v_t`` with ``v_t`` an ordinary linear SVR fitted to the residual targets
``y_i - <w0, z(x_i)>`` (scikit-learn's ``LinearSVR``, no intercept: the features carry a constant 1).
The meta-gradient of the within-task optimum with respect to ``w0`` is ``-(w_t - w0) / C``-proportional
(Denevi et al. 2019, ICML), so meta-training is the fixed-point iteration ``w0 <- w0 + lr_k * mean_t v_t``
over random batches of tasks (``lr_k`` annealed linearly to 0): ``w0`` settles where the tasks' average
correction is zero. A new series is forecast with ``w0 + v`` adapted on its own short history (cold start);
``adapt=False`` forecasts with ``w0`` alone (the zero-shot common mean).

How far a new series may move from ``w0`` is learned too: with 200 features a short history is fitted
exactly at any ``C``, so adapting with the training ``C`` overfits its noise. ``fit`` therefore simulates
cold starts on up to ``n_val_tasks`` training series (adapt on ``support`` consecutive windows, score the
next ``query`` windows) and keeps the adaptation weight ``adapt_C_`` among ``C x ADAPT_SCALES`` (0 = no
adaptation) with the lowest mean absolute error there.

Features are ``SVRForecaster``'s (scaled lags, the seasonal lag, calendar, exogenous), mapped by
``z(x) = sqrt(2 / D) cos(x @ Omega + b)`` with ``Omega ~ N(0, 2 gamma)`` and ``b ~ U(0, 2 pi)`` drawn from
the seed: an approximation of the RBF kernel ``exp(-gamma ||x - x'||^2)``. Pure numpy plus ``LinearSVR``;
everything saved is numpy arrays (``forecasters.safe_load`` reads it).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from forecasters.models.svr import SVRForecaster, _spread
from forecasters.neural.windows import WindowData
from forecasters.panel import Panel

#: Candidate adaptation weights, as multiples of ``C`` (0: forecast with the common mean only).
ADAPT_SCALES = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0)


class MetaSVR(SVRForecaster):
    """META-SVM (biased-regularisation SVR around a meta-learned common mean); see the module docstring.

    Args:
        n_lags: most recent values used as features (steps).
        n_features: random Fourier features ``D`` (the size of ``w0``, plus one constant).
        C: weight of the epsilon-insensitive loss against ``1/2 ||w - w0||^2`` within a task (larger: a new
            series' own data pull its model further from the common mean).
        epsilon: width of the insensitive tube (scaled units: values divided by the window's mean level).
        gamma: RBF bandwidth (``"scale"``: ``1 / (n_inputs * var(X))`` as in scikit-learn).
        meta_iters: meta-iterations (each adapts ``meta_batch`` tasks).
        meta_batch: tasks (series) per meta-iteration.
        meta_lr: step towards the tasks' mean correction at the start (annealed linearly to 0), in (0, 1].
        max_samples: at most this many (most recent) windows per series.
        adapt: forecast each series with its own adapted weights (``False``: the common mean only).
        n_val_tasks, support, query: the simulated cold starts that choose ``adapt_C_`` (series, windows
            adapted on, windows scored).
    """

    name = "meta_svr"

    def __init__(self, n_lags: int = 8, n_features: int = 200, C: float = 1.0, epsilon: float = 0.05,
                 gamma: str | float = "scale", meta_iters: int = 20, meta_batch: int = 32, meta_lr: float = 1.0,
                 max_samples: int = 200, adapt: bool = True, n_val_tasks: int = 32, support: int = 8, query: int = 4,
                 **kwargs):
        super().__init__(n_lags=n_lags, C=C, epsilon=epsilon, gamma=gamma, max_samples=max_samples, **kwargs)
        for label, v in (("n_features", n_features), ("meta_iters", meta_iters), ("meta_batch", meta_batch),
                         ("n_val_tasks", n_val_tasks), ("support", support), ("query", query)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{label} must be a positive integer, got {v!r}.")
        if not 0 < meta_lr <= 1:
            raise ValueError(f"meta_lr must be in (0, 1], got {meta_lr!r}.")
        self.n_features, self.meta_iters, self.meta_batch, self.meta_lr = n_features, meta_iters, meta_batch, meta_lr
        self.adapt = bool(adapt)
        self.n_val_tasks, self.support, self.query = n_val_tasks, support, query

    # ------------------------------------------------------------------ features and the task solver
    def _z(self, X: np.ndarray) -> np.ndarray:
        """Random Fourier features of feature rows ``X`` and a constant 1: ``(n, D + 1)``."""
        z = np.sqrt(2.0 / self.n_features) * np.cos(X @ self.omega_ + self.phase_)
        return np.concatenate([z, np.ones((len(X), 1))], axis=1)

    def _correction(self, Z: np.ndarray, y: np.ndarray, C: float | None = None) -> np.ndarray:
        """``v`` of one task: the linear SVR (weight ``C``, default ``self.C``) fitted to the residuals
        ``y - Z @ w0`` (zero without data or with ``C = 0``)."""
        from sklearn.svm import LinearSVR

        C = self.C if C is None else C
        if len(y) == 0 or C <= 0:
            return np.zeros(Z.shape[1])
        with warnings.catch_warnings():  # tiny tasks may stop at max_iter; the solution is still usable
            warnings.simplefilter("ignore")
            svr = LinearSVR(C=C, epsilon=self.epsilon, fit_intercept=False, dual=True, max_iter=2000,
                            random_state=self.seed).fit(Z, y - Z @ self.w0_)
        return svr.coef_

    def _task_windows(self, panel: Panel) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
        """Per series the row indices of its (most recent ``max_samples``) windows, and features, targets, scales."""
        data = WindowData(panel, self.n_lags, 1, self.season_length_)
        (si, st), _ = data.windows(min_context=1)
        X, y, scale = self._features(data, si, st) if len(si) else (np.zeros((0, 0)), np.zeros(0), np.zeros(0))
        rows = [np.flatnonzero(si == i)[-self.max_samples :] for i in range(panel.n)]
        return rows, X, y, scale

    # ------------------------------------------------------------------ fit and predict
    def _fit(self, panel: Panel) -> None:
        rows, X, y, scale = self._task_windows(panel)
        if len(y) == 0:
            raise ValueError(f"no training windows: every series is shorter than n_lags + 1 = {self.n_lags + 1} steps.")
        rng = np.random.default_rng(self.seed)
        gamma = 1.0 / (X.shape[1] * max(X.var(), 1e-12)) if self.gamma == "scale" else float(self.gamma)
        self.omega_ = rng.normal(0.0, np.sqrt(2.0 * gamma), (X.shape[1], self.n_features))
        self.phase_ = rng.uniform(0.0, 2 * np.pi, self.n_features)
        Z = self._z(X)
        # hold out a random 20% of every task's windows for the forecast spread
        held = [r[rng.permutation(len(r))[: len(r) // 5]] for r in rows]
        train = [np.setdiff1d(r, hd) for r, hd in zip(rows, held, strict=True)]
        tasks = [i for i, r in enumerate(train) if len(r)]
        self.w0_ = np.zeros(Z.shape[1])
        for it in range(self.meta_iters):
            batch = rng.choice(tasks, size=min(self.meta_batch, len(tasks)), replace=False)
            v = np.mean([self._correction(Z[train[t]], y[train[t]]) for t in batch], axis=0)
            self.w0_ = self.w0_ + self.meta_lr * (1 - it / self.meta_iters) * v
        self.adapt_C_ = self._choose_adapt_C(Z, y, train, rng)
        r, sc, ser = [], [], []
        for i, (tr, hd) in enumerate(zip(train, held, strict=True)):
            if len(hd):
                w = self.w0_ + (self._correction(Z[tr], y[tr], self.adapt_C_) if self.adapt else 0.0)
                r.append(Z[hd] @ w - y[hd])
                sc.append(scale[hd])
                ser.append(np.full(len(hd), i))
        if r:
            self.sd_scaled_, self.sd_series_ = _spread(np.concatenate(r), np.concatenate(sc), np.concatenate(ser),
                                                       panel.ids)
        else:  # every series too short to hold windows out: the in-sample spread of the common mean
            self.sd_scaled_, self.sd_series_ = float(max(np.std(Z @ self.w0_ - y), 1e-9)), {}

    def _choose_adapt_C(self, Z, y, train, rng) -> float:
        """The adaptation weight (``C x`` one of ``ADAPT_SCALES``) with the lowest error on simulated cold starts."""
        span = self.support + self.query
        ok = [t for t, r in enumerate(train) if len(r) >= span]
        if not ok:
            return self.C
        err = np.zeros(len(ADAPT_SCALES))
        for t in rng.choice(ok, size=min(self.n_val_tasks, len(ok)), replace=False):
            r = train[t]
            o = int(rng.integers(len(r) - span + 1))
            sup, qry = r[o : o + self.support], r[o + self.support : o + span]
            for k, m in enumerate(ADAPT_SCALES):
                err[k] += np.mean(np.abs(Z[qry] @ (self.w0_ + self._correction(Z[sup], y[sup], m * self.C)) - y[qry]))
        return float(self.C * ADAPT_SCALES[int(np.argmin(err))])

    def _prediction_state(self, panel: Panel) -> np.ndarray:
        """Weights per series of ``panel``, ``(n, D + 1)``: ``w0`` plus the correction fitted on its own windows."""
        W = np.broadcast_to(self.w0_, (panel.n, len(self.w0_))).copy()
        if self.adapt and self.adapt_C_ > 0:
            rows, X, y, _ = self._task_windows(panel)
            if len(y):
                Z = self._z(X)
                for i, r in enumerate(rows):  # one small SVR per series: cold-start adaptation, not a hot path
                    W[i] += self._correction(Z[r], y[r], self.adapt_C_)
        return W

    def _predict_scaled(self, X: np.ndarray, state: np.ndarray) -> np.ndarray:
        return np.einsum("nd,nd->n", self._z(X), state)

    def adapt_predict(self, df: pd.DataFrame, h: int, adapt: bool = True) -> pd.DataFrame:
        """Forecast the series of ``df`` (new ones included) ``h`` steps ahead, adapting to each series' own
        history (``adapt=False``: with the common mean ``w0`` only, the zero-shot forecast)."""
        before, self.adapt = self.adapt, bool(adapt)
        try:
            return self.predict(h, df=df)
        finally:
            self.adapt = before
