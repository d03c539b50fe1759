"""The shared forecaster API (scikit-learn style) every model inherits.

Contract:
  * the constructor only stores and validates hyperparameters;
  * ``fit(df)`` takes a long frame (``unique_id``, ``ds``, ``y`` and optional exogenous columns),
    preprocesses it (``forecasters.preprocessing.prepare``), sets attributes ending in ``_`` and
    returns ``self``;
  * ``predict(h)`` returns a long frame ``unique_id, ds, mean, q0.1, q0.5, q0.9`` (units of ``y``);
  * ``sample(h, n_samples, rng)`` draws ``n_samples`` paths per series;
  * ``update(new_df)`` appends newly observed rows and, for trainable models, continues training;
  * ``save(path)`` / ``Forecaster.load(path)`` round-trip a fitted model. The file is a pickle, read back
    through ``forecasters.safe_load`` (an allowlist: a file that would run code is refused unrun);
    ``load(path, trust=True)`` is the plain pickle load, for files you wrote yourself.

Subclasses implement ``_fit(panel)`` and ``_distribution(panel, h, future_exog)``.
"""

from __future__ import annotations

import inspect
import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from forecasters.data import DS, ID, Y, check_horizon, infer_freq, validate_frame
from forecasters.distribution import QUANTILES, Distribution, qcol
from forecasters.panel import Panel
from forecasters.preprocessing import clip_outliers, fill_missing_dates, interpolate_gaps
from shopgym.errors import DataError

FORMAT_VERSION = 1


def season_for(freq: pd.Timedelta) -> int:
    """Default season length for a frequency: 7 for daily, 52 for weekly, 12 for monthly data, else 1."""
    days = pd.Timedelta(freq) / pd.Timedelta(days=1)
    if days == 1:
        return 7
    if days == 7:
        return 52
    if 28 <= days <= 31:
        return 12
    return 1


class Forecaster:
    """Base class. Args common to all models are keyword-only in subclasses:

    Args:
        season_length: steps per seasonal cycle (``None``: 7 for daily, 52 for weekly data).
        clip_k: outlier clipping at ``k`` scaled MADs (0 = off; see ``preprocessing.clip_outliers``).
        nonnegative: clip forecasts and samples at 0 (demand cannot be negative).
        exog: names of exogenous columns the model uses (must then be given for the future in ``X_df``).
        seed: seed of every random draw made while fitting.
    """

    name = "base"

    def __init__(self, *, season_length: int | None = None, clip_k: float = 0.0, nonnegative: bool = True,
                 exog: tuple = (), seed: int = 0):
        if season_length is not None and (not isinstance(season_length, (int, np.integer)) or season_length < 1):
            raise ValueError(f"season_length must be a positive integer or None, got {season_length!r}.")
        if clip_k < 0:
            raise ValueError(f"clip_k must be >= 0 (0 disables clipping), got {clip_k}.")
        self.season_length = season_length
        self.clip_k = clip_k
        self.nonnegative = nonnegative
        self.exog = tuple(exog)
        self.seed = seed

    # ------------------------------------------------------------------ sklearn plumbing
    def get_params(self) -> dict:
        """Constructor arguments by name (as given), e.g. for ``clone`` and for saving."""
        names = []
        for cls in type(self).__mro__:
            if cls is object:
                continue
            for p in inspect.signature(cls.__init__).parameters.values():
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name not in names:
                    names.append(p.name)
        return {n: getattr(self, n) for n in names if hasattr(self, n)}

    def clone(self, **overrides) -> Forecaster:
        """An unfitted copy with the same hyperparameters (``overrides`` replace some)."""
        return type(self)(**{**self.get_params(), **overrides})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "history_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit(df) first.")

    # ------------------------------------------------------------------ data
    def _prepare(self, df: pd.DataFrame, what: str = "df") -> pd.DataFrame:
        df = validate_frame(df, what=what)
        missing = [c for c in self.exog if c not in df.columns]
        if missing:
            raise DataError(f"{what} lacks the exogenous column(s) {missing} this model was built with.")
        df = df[[ID, DS, Y, *self.exog]]
        freq = getattr(self, "freq_", None)
        if freq is None:
            freq = infer_freq(df)
        df = interpolate_gaps(fill_missing_dates(df, freq))
        return clip_outliers(df, self.clip_k)

    def _panel(self, df: pd.DataFrame) -> Panel:
        return Panel.from_frame(df, self.freq_, self.exog)

    # ------------------------------------------------------------------ API
    def fit(self, df: pd.DataFrame) -> Forecaster:
        """Fit on a long frame; returns ``self``."""
        for attr in [a for a in vars(self) if a.endswith("_")]:
            delattr(self, attr)
        df = validate_frame(df)
        self.freq_ = infer_freq(df)
        df = self._prepare(df)
        self.season_length_ = self.season_length or season_for(self.freq_)
        self._fit(self._panel(df))
        self.history_ = df
        return self

    def distribution(self, h: int, df: pd.DataFrame | None = None, X_df: pd.DataFrame | None = None) -> tuple[Panel, Distribution]:
        """The panel forecast from and its predictive ``Distribution`` over the next ``h`` steps."""
        self._check_fitted()
        h = check_horizon(h)
        panel = self._panel(self.history_ if df is None else self._prepare(df))
        return panel, self.distribution_panel(panel, h, panel.future_exog(X_df, h))

    def distribution_panel(self, panel: Panel, h: int, future_exog: np.ndarray | None = None) -> Distribution:
        """Forecast from arrays (the fast path used by ``LearnedDemand``): ``future_exog`` is ``(n, h, k)``."""
        if future_exog is None:
            future_exog = np.zeros((panel.n, h, len(self.exog)))
        dist = self._distribution(panel, h, future_exog)
        return dist.clip(0.0) if self.nonnegative else dist

    def predict(self, h: int, df: pd.DataFrame | None = None, X_df: pd.DataFrame | None = None) -> pd.DataFrame:
        """Forecast the ``h`` steps after each series' last date.

        Args:
            h: horizon (steps of the data's frequency), >= 1.
            df: optional history to forecast from (default: the data seen by ``fit``/``update``);
                global models forecast new series from it without refitting.
            X_df: future values of the exogenous columns (only if the model uses some).

        Returns:
            Long frame ``unique_id, ds, mean, q0.1, q0.5, q0.9`` (units of ``y``), ``h`` rows per series.
        """
        panel, dist = self.distribution(h, df, X_df)
        out = {
            ID: np.repeat(np.asarray(panel.ids, dtype=object), h),
            DS: np.concatenate([panel.future_dates(i, h) for i in range(panel.n)]),
            "mean": dist.mean.ravel(),
        }
        for q in QUANTILES:
            out[qcol(q)] = dist.quantile(q).ravel()
        return pd.DataFrame(out)

    def sample(self, h: int, n_samples: int = 100, rng: np.random.Generator | int | None = None,
               df: pd.DataFrame | None = None, X_df: pd.DataFrame | None = None) -> pd.DataFrame:
        """Draw demand paths: long frame ``unique_id, ds, sample, y`` with ``n_samples`` paths per series.

        Steps are drawn independently from each step's predictive distribution. ``rng`` is a
        ``numpy.random.Generator`` or a seed (default: ``self.seed``).
        """
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(self.seed if rng is None else rng)
        panel, dist = self.distribution(h, df, X_df)
        draws = dist.sample(rng, n_samples)
        if self.nonnegative:
            draws = np.maximum(draws, 0.0)
        dates = np.stack([panel.future_dates(i, h) for i in range(panel.n)])
        return pd.DataFrame({
            ID: np.broadcast_to(np.asarray(panel.ids, dtype=object)[None, :, None], draws.shape).ravel(),
            DS: np.broadcast_to(dates[None], draws.shape).ravel(),
            "sample": np.broadcast_to(np.arange(n_samples)[:, None, None], draws.shape).ravel(),
            Y: draws.ravel(),
        })

    def update(self, new_df: pd.DataFrame) -> Forecaster:
        """Append newly observed rows (dates after each series' last date) and keep the model current.

        Classical models simply condition on the longer history; trainable models also continue
        training on windows that end in the new rows (see ``_update``). Returns ``self``.
        """
        self._check_fitted()
        new = validate_frame(new_df, what="new_df")
        last = self.history_.groupby(ID)[DS].max()
        old_last = new[ID].map(last)
        if (new[DS] <= old_last).any():
            row = new.loc[new[DS] <= old_last].iloc[0]
            raise DataError(f"new_df row ({row[ID]!r}, {row[DS].date()}) is not after that series' last date; "
                            "update() takes only newly observed days.")
        cols = [ID, DS, Y, *self.exog]
        combined = self._prepare(pd.concat([self.history_[cols], new[cols]], ignore_index=True))
        n_old = self.history_.groupby(ID).size()
        self.history_ = combined
        self._update(self._panel(combined), n_old)
        return self

    # ------------------------------------------------------------------ hooks
    def _fit(self, panel: Panel) -> None:
        """Estimate parameters from the training panel (set attributes ending in ``_``)."""

    def _update(self, panel: Panel, n_old: pd.Series) -> None:
        """Continue training after ``update``; ``n_old[id]`` = rows each series had before."""

    def _distribution(self, panel: Panel, h: int, future_exog: np.ndarray) -> Distribution:
        raise NotImplementedError

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.endswith("_")}

    def _set_state(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)

    def save(self, path: str | Path) -> Path:
        """Write hyperparameters and fitted state to ``path`` (a pickle file, written whole or not at all:
        ``shopgym.atomic``); returns the path. ``Forecaster.load`` reads it back without running code."""
        from shopgym.atomic import atomic_write_bytes

        self._check_fitted()
        blob = {"format": FORMAT_VERSION, "module": type(self).__module__, "class": type(self).__qualname__,
                "params": self.get_params(), "state": self._state()}
        return atomic_write_bytes(path, pickle.dumps(blob, protocol=pickle.HIGHEST_PROTOCOL))

    @staticmethod
    def load(path: str | Path, *, trust: bool = False) -> Forecaster:
        """Rebuild a forecaster written by ``save`` (any model class), through ``forecasters.safe_load``.

        Without ``trust`` the file may reference only what a saved forecaster needs (numpy, pandas, torch
        tensors, forecaster classes); anything else is refused with ``ModelFileError`` before it runs.
        ``trust=True`` unpickles plainly, which runs whatever code the file names: only for files you
        wrote yourself. A missing, empty or corrupt file is a ``ModelFileError`` naming it.
        """
        from forecasters.safe_load import load_forecaster

        return load_forecaster(path, trust=trust)


def residual_sd(panel: Panel, fitted: list[np.ndarray], min_sd: float = 1e-6) -> np.ndarray:
    """Per-series standard deviation of one-step (or in-sample) residuals ``y - fitted`` (NaN ignored)."""
    out = np.empty(panel.n)
    for i, (y, f) in enumerate(zip(panel.y, fitted, strict=True)):
        r = y - f
        r = r[np.isfinite(r)]
        out[i] = np.sqrt(np.mean(r**2)) if len(r) > 1 else (np.std(y) if len(y) > 1 else abs(y[-1]) * 0.5)
    return np.maximum(out, min_sd)
