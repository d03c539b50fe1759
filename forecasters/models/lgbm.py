"""``lgbm``: one LightGBM model across all series (the M5 winners' recipe), recursive multi-step.

LightGBM is an optional extra (``pip install 'shopgym[lgbm]'``), imported only when a model is fitted
or loaded. The booster is saved as its text model string (``Booster.model_to_string``), never as a
pickled object, so a saved model loads through ``forecasters.safe_load``'s allowlist.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasters.base import Forecaster
from forecasters.distribution import GRID, Distribution
from forecasters.panel import Panel
from shopgym.errors import DataError

LAGS = (1, 2, 3, 4, 5, 6, 7, 14, 21, 28)
WINDOWS = (7, 28)


def _import_lightgbm():
    try:
        import lightgbm
    except ImportError as exc:
        raise ImportError("the lgbm forecaster needs LightGBM: pip install 'shopgym[lgbm]' (lightgbm>=4).") from exc
    return lightgbm


def _right_aligned(panel: Panel, extra: int, future_exog: np.ndarray | None):
    """``Y (n, T + extra)`` (NaN before each series' start and in the ``extra`` future columns) and
    ``X (n, T + extra, k)`` exogenous values (future ones from ``future_exog``)."""
    lengths = np.array([len(y) for y in panel.y])
    T, k = int(lengths.max()), len(panel.exog_names)
    Y = np.full((panel.n, T + extra), np.nan)
    X = np.full((panel.n, T + extra, k), np.nan)
    for i, y in enumerate(panel.y):
        Y[i, T - len(y) : T] = y
        X[i, T - len(y) : T] = panel.exog[i]
    if k and extra and future_exog is not None:
        X[:, T:] = future_exog[:, :extra]
    return Y, X, lengths


def _calendar(panel: Panel, T: int, width: int) -> np.ndarray:
    """Day of week, day of month, month and day of year of every column, ``(n, width, 4)``; series are
    right-aligned so that column ``T - 1`` is each series' last date."""
    ends = np.array([panel.end(i).value for i in range(panel.n)], dtype=np.int64)
    step = pd.Timedelta(panel.freq).value
    out = np.empty((panel.n, width, 4), dtype=np.float32)
    for end in np.unique(ends):  # usually one end date for all series
        rows = ends == end
        d = pd.DatetimeIndex(end + (np.arange(width) - (T - 1)) * step)
        cal = np.stack([d.day_of_week, d.day, d.month, d.day_of_year], axis=-1).astype(np.float32)
        out[rows] = cal[None]
    return out


def features(Y: np.ndarray, X: np.ndarray, cal: np.ndarray, stats: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Feature rows for targets in columns ``cols`` of every series: ``(n * len(cols), F)``, series-major.

    ``Y (n, W)`` holds scaled values (NaN = unknown; a target's features read only columns before it):
    lags ``LAGS``, mean and standard deviation over the last ``WINDOWS`` steps and the share of zero
    steps in the last 28, calendar (day of week, day of month, month, day of year), exogenous values of
    the target step and their difference from the series' mean, and the series statistics ``stats (n, s)``.
    """
    n = len(Y)
    ok = np.isfinite(Y)
    v = np.where(ok, Y, 0.0)
    zero = np.concatenate([np.zeros((n, 1)), np.cumsum(ok & (v == 0), 1)], 1)
    c1 = np.concatenate([np.zeros((n, 1)), np.cumsum(v, 1)], 1)
    c2 = np.concatenate([np.zeros((n, 1)), np.cumsum(v**2, 1)], 1)
    cn = np.concatenate([np.zeros((n, 1)), np.cumsum(ok, 1)], 1)
    parts = []
    for lag in LAGS:
        j = cols - lag
        parts.append(np.where(j >= 0, Y[:, np.maximum(j, 0)], np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        for w in WINDOWS:
            lo = np.maximum(cols - w, 0)
            cnt = cn[:, cols] - cn[:, lo]
            mean = (c1[:, cols] - c1[:, lo]) / cnt
            var = (c2[:, cols] - c2[:, lo]) / cnt - mean**2
            parts += [np.where(cnt > 0, mean, np.nan), np.where(cnt > 1, np.sqrt(np.maximum(var, 0.0)), np.nan)]
        lo = np.maximum(cols - 28, 0)
        cnt = cn[:, cols] - cn[:, lo]
        parts.append(np.where(cnt > 0, (zero[:, cols] - zero[:, lo]) / cnt, np.nan))
        xmean = np.nanmean(np.where(np.isfinite(X), X, np.nan), axis=1) if X.shape[-1] else np.zeros((n, 0))
    cal_t = cal[:, cols]
    parts += [cal_t[..., j] for j in range(cal.shape[-1])]
    for j in range(X.shape[-1]):
        parts += [X[:, cols, j], X[:, cols, j] - xmean[:, j : j + 1]]
    parts += [np.broadcast_to(stats[:, j : j + 1], (n, len(cols))) for j in range(stats.shape[1])]
    return np.stack(parts, axis=-1).reshape(n * len(cols), -1).astype(np.float32)


class LGBMForecaster(Forecaster):
    """A global LightGBM regressor on lag, rolling-window, calendar, exogenous and series-level features.

    Targets are scaled per series by its mean (``scale``, the mean of ``y`` over the history; 1 where that
    is 0), so one model serves series of any level. Series statistics fed to every row: ``log1p(scale)``,
    the share of zero steps and the coefficient of variation. Objective: Tweedie (``variance_power``
    1.1 .. 1.9 suits zero-inflated counts) by default, or any LightGBM regression objective.

    Multi-step: **recursive**. One model forecasts one step ahead; the mean is fed back as if observed
    for the next step (lags and rolling windows then read it).

    Training rows: every step with at least ``min_history`` earlier observations, except each series' last
    ``valid_days`` steps, which are held out: boosting stops early on them (at most ``n_estimators`` trees,
    ``patience`` rounds without improvement), and recursive forecasts over them give the residuals from
    which uncertainty comes. The model is not refitted with the held-out steps (their values still feed
    the lags and windows of every forecast).

    Quantiles: **residual bootstrap**. Pooled held-out residuals of the recursive forecasts, divided by each
    series' scale, give quantiles at every ``GRID`` level; a series' forecast quantiles are its mean plus
    its scale times those (the same at every horizon step). With no held-out steps (series too short),
    in-sample residuals are used instead (narrower than the truth).

    Deterministic under ``seed`` (``deterministic=True``, fixed ``num_threads``, row-wise histograms).
    ``update(new_df)`` conditions on the longer history without new trees.

    Args:
        objective: LightGBM objective (``"tweedie"``, ``"poisson"``, ``"regression"``, ...).
        variance_power: ``tweedie_variance_power`` (in [1, 2)).
        n_estimators: most boosting rounds.
        learning_rate: shrinkage per round.
        num_leaves: leaves per tree.
        min_data_in_leaf: fewest training rows per leaf.
        feature_fraction: share of features tried per tree (sampled with ``seed``).
        valid_days: steps held out at the end of every series (early stopping and residuals); 0 = none.
        patience: early-stopping rounds.
        min_history: fewest earlier observations a training row needs.
        max_rows: at most this many training rows (a random subset drawn with ``seed``; CPU and memory).
        num_threads: LightGBM threads (fixed: results may depend on it). 1 by default: on a shared or loaded
            machine more OpenMP threads can be several times slower (30 rounds on 520,000 rows: 8 s on one
            thread, 33 s on two, with 6 processes competing for 2 cores); raise it on a dedicated machine.
        **kwargs: see ``Forecaster``.
    """

    name = "lgbm"

    def __init__(self, objective: str = "tweedie", variance_power: float = 1.2, n_estimators: int = 400,
                 learning_rate: float = 0.05, num_leaves: int = 63, min_data_in_leaf: int = 50,
                 feature_fraction: float = 0.8, valid_days: int = 28, patience: int = 30, min_history: int = 7,
                 max_rows: int = 2_000_000, num_threads: int = 1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(objective, str) or not objective:
            raise ValueError(f"objective must be a LightGBM objective name such as 'tweedie', got {objective!r}.")
        if not 1.0 <= variance_power < 2.0:
            raise ValueError(f"variance_power must be in [1, 2) (Tweedie between Poisson and gamma), got {variance_power}.")
        for name, v, lo in [("n_estimators", n_estimators, 1), ("num_leaves", num_leaves, 2),
                            ("min_data_in_leaf", min_data_in_leaf, 1), ("valid_days", valid_days, 0),
                            ("patience", patience, 1), ("min_history", min_history, 1), ("max_rows", max_rows, 10),
                            ("num_threads", num_threads, 1)]:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}.")
        if not 0 < learning_rate <= 1 or not 0 < feature_fraction <= 1:
            raise ValueError(f"learning_rate and feature_fraction must be in (0, 1], got {learning_rate}, {feature_fraction}.")
        self.objective, self.variance_power, self.n_estimators = objective, variance_power, n_estimators
        self.learning_rate, self.num_leaves, self.min_data_in_leaf = learning_rate, num_leaves, min_data_in_leaf
        self.feature_fraction, self.valid_days, self.patience = feature_fraction, valid_days, patience
        self.min_history, self.max_rows, self.num_threads = min_history, max_rows, num_threads

    def _params(self) -> dict:
        return {"objective": self.objective, "tweedie_variance_power": self.variance_power,
                "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                "min_data_in_leaf": self.min_data_in_leaf, "feature_fraction": self.feature_fraction,
                "seed": self.seed, "deterministic": True, "force_row_wise": True, "num_threads": self.num_threads,
                "verbosity": -1}

    @staticmethod
    def _stats(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-series scale ``(n,)`` and statistics ``(n, 3)`` from raw values ``Y`` (NaN = missing)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nanmean(Y, axis=1)
            scale = np.where(mean > 0, mean, 1.0)
            zeros = np.nanmean(np.where(np.isfinite(Y), Y == 0, np.nan), axis=1)
            cv = np.nanstd(Y, axis=1) / scale
        return scale, np.stack([np.log1p(scale), zeros, cv], axis=1)

    def _fit(self, panel: Panel) -> None:
        lgb = _import_lightgbm()
        Y, X, lengths = _right_aligned(panel, 0, None)
        T = Y.shape[1]
        scale, stats = self._stats(Y)
        Ys = Y / scale[:, None]
        cal = _calendar(panel, T, T)
        cols = np.arange(T)
        F = features(Ys, X, cal, stats, cols).reshape(panel.n, T, -1)
        first = T - lengths  # column of each series' first observation
        seen = cols[None] - first[:, None]  # earlier observations of each target
        target_ok = np.isfinite(Ys) & (seen >= self.min_history)
        v = self.valid_days
        valid = target_ok & (cols[None] >= T - v) & (lengths[:, None] > v + self.min_history)
        train = target_ok & ~valid
        if not train.any():
            raise DataError(f"lgbm has no training rows: every series has at most min_history + valid_days = "
                            f"{self.min_history} + {v} steps. Give longer series or lower min_history/valid_days.")
        rng = np.random.default_rng(self.seed)
        tr = np.flatnonzero(train.ravel())
        if len(tr) > self.max_rows:
            tr = np.sort(rng.choice(tr, self.max_rows, replace=False))
        F2, y2 = F.reshape(panel.n * T, -1), Ys.ravel()
        dtrain = lgb.Dataset(F2[tr], y2[tr], params={"verbosity": -1})
        params = self._params()
        callbacks = []
        dsets = []
        if valid.any():
            va = np.flatnonzero(valid.ravel())
            dsets = [lgb.Dataset(F2[va], y2[va], reference=dtrain)]
            callbacks = [lgb.early_stopping(self.patience, verbose=False)]
        booster = lgb.train(params, dtrain, num_boost_round=self.n_estimators, valid_sets=dsets, callbacks=callbacks)
        if dsets:
            booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
        self.booster_ = booster
        self.n_features_ = F2.shape[1]
        self.resid_q_ = self._residual_quantiles(panel, Y, X, lengths, valid, F2[tr], y2[tr])

    def _residual_quantiles(self, panel, Y, X, lengths, valid, F_train, y_train) -> np.ndarray:
        """Quantiles at ``GRID`` of scaled residuals: of recursive forecasts over the held-out steps, or
        (no held-out steps) of in-sample one-step predictions."""
        rows = valid.any(1)
        if rows.any():
            v = self.valid_days
            sub = panel.subset(np.flatnonzero(rows))
            cut = Panel(sub.ids, [y[:-v] for y in sub.y], sub.start, sub.freq, [e[:-v] for e in sub.exog],
                        sub.exog_names)
            fx = np.stack([e[-v:] for e in sub.exog]) if sub.exog_names else np.zeros((sub.n, v, 0))
            mean, scale = self._recursive(cut, v, fx)
            r = (Y[rows][:, -v:] - mean) / scale[:, None]
        else:
            r = self.booster_.predict(F_train) - y_train
        r = r[np.isfinite(r)]
        return np.quantile(r, GRID) if len(r) else np.zeros(len(GRID))

    def _recursive(self, panel: Panel, h: int, future_exog: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean forecasts ``(n, h)`` (units of ``y``) and the series' scales ``(n,)``."""
        Y, X, _ = _right_aligned(panel, h, future_exog)
        T = Y.shape[1] - h
        scale, stats = self._stats(Y[:, :T])
        Ys = Y / scale[:, None]
        cal = _calendar(panel, T, T + h)
        for k in range(h):
            F = features(Ys, X, cal, stats, np.array([T + k]))
            Ys[:, T + k] = np.maximum(self.booster_.predict(F), 0.0) if self.nonnegative else self.booster_.predict(F)
        return Ys[:, T:] * scale[:, None], scale

    def _distribution(self, panel: Panel, h: int, future_exog: np.ndarray) -> Distribution:
        mean, scale = self._recursive(panel, h, future_exog)
        grid = mean[..., None] + scale[:, None, None] * self.resid_q_[None, None, :]
        return Distribution(mean, grid)

    # ------------------------------------------------------------------ persistence: the model as text
    def _state(self) -> dict:
        state = {k: v for k, v in super()._state().items() if k != "booster_"}
        state["booster_text_"] = self.booster_.model_to_string()
        return state

    def _set_state(self, state: dict) -> None:
        state = dict(state)
        text = state.pop("booster_text_")
        super()._set_state(state)
        self.booster_ = _import_lightgbm().Booster(model_str=text)
