"""Ensemble: the mean, the median or a validation-weighted mean of several forecasters' means and quantiles."""

from __future__ import annotations

import numpy as np

from forecasters.base import Forecaster
from forecasters.data import ID, Y, validate_frame
from forecasters.distribution import Distribution, combine
from forecasters.panel import Panel

HOWS = ("mean", "median", "validated")


class Ensemble(Forecaster):
    """Combines members by averaging (``how="mean"``), the median, or a weighted mean (``"validated"``).

    Quantiles are combined level by level (quantile averaging), which keeps them ordered.

    ``how="validated"``: before the real fit, every member is fitted on the data without each series' last
    ``val_h`` steps and forecasts them; a member's weight is proportional to ``1 / score``, ``score`` its
    mean over series of the squared error divided by the series' mean squared step-to-step change (MSSE,
    the square of M5's RMSSE), so a member that is worse on the validation window counts less. The members
    are then fitted on all the data. Costs a second fit of every member.

    Args:
        members: model names for ``forecasters.make`` (with default settings) or a list of
            ``(name, params)`` pairs, e.g. ``[("ets", {}), ("lstm", {"epochs": 5})]``.
        how: ``"mean"``, ``"median"`` or ``"validated"``.
        val_h: steps held out per series to weight members (``how="validated"`` only).
    """

    name = "ensemble"

    def __init__(self, members=("seasonal_naive", "ets", "cnn"), how: str = "mean", val_h: int = 28, **kwargs):
        super().__init__(**kwargs)
        if how not in HOWS:
            raise ValueError(f"how must be one of {HOWS}, got {how!r}.")
        if isinstance(val_h, bool) or not isinstance(val_h, (int, np.integer)) or val_h < 1:
            raise ValueError(f"val_h must be a positive integer (steps held out to weight members), got {val_h!r}.")
        if len(members) < 1:
            raise ValueError("an ensemble needs at least one member.")
        self.members = tuple(tuple(m) if isinstance(m, (list, tuple)) else (m, {}) for m in members)
        self.how = how
        self.val_h = val_h

    def _build(self):
        from forecasters.registry import make

        common = {"season_length": self.season_length, "nonnegative": self.nonnegative, "exog": self.exog,
                  "seed": self.seed, "clip_k": self.clip_k}
        return [make(name, **{**common, **dict(params)}) for name, params in self.members]

    def fit(self, df):
        super().fit(df)
        if self.how == "validated":
            self.weights_ = self._validation_weights(df)
        self.models_ = [m.fit(df) for m in self._build()]
        return self

    def _validation_weights(self, df) -> np.ndarray:
        """Member weights (sum 1) from their MSSE on each series' last ``val_h`` steps (see the class docstring)."""
        df = validate_frame(df)
        pos = df.groupby(ID, sort=False).cumcount(ascending=False)  # 0 = a series' last row
        train, held = df[pos >= self.val_h], df[pos < self.val_h]
        keep = train[ID].value_counts()
        keep = keep[keep > 2 * self.season_length_].index  # series long enough to fit and scale on
        train, held = train[train[ID].isin(keep)], held[held[ID].isin(keep)]
        if train.empty:
            return np.full(len(self.members), 1 / len(self.members))
        ys = {u: g.to_numpy(float) for u, g in train.groupby(ID, sort=False)[Y]}
        scale = {u: max(float(np.mean(np.diff(y) ** 2)), 1e-12) for u, y in ys.items()}
        scores = []
        for model in self._build():
            fc = model.fit(train).predict(self.val_h, X_df=held if self.exog else None)
            fc = fc.merge(held.assign(**{ID: held[ID].astype(str)}), on=[ID, "ds"])
            err = (fc["y"] - fc["mean"]) ** 2 / fc[ID].map({str(k): v for k, v in scale.items()})
            scores.append(float(err.groupby(fc[ID]).mean().mean()))
        inv = 1.0 / np.maximum(np.asarray(scores), 1e-12)
        return inv / inv.sum()

    def _distribution(self, panel: Panel, h: int, future_exog: np.ndarray) -> Distribution:
        dists = [m._distribution(panel, h, future_exog) for m in self.models_]
        if self.how != "validated":
            return combine(dists, self.how)
        w = self.weights_
        return Distribution(sum(wi * d.mean for wi, d in zip(w, dists, strict=True)),
                            sum(wi * d.grid for wi, d in zip(w, dists, strict=True)))

    def _update(self, panel: Panel, n_old) -> None:
        for m in self.models_:
            m.history_ = self.history_
            m._update(panel, n_old)

    def _state(self) -> dict:
        state = {k: v for k, v in super()._state().items() if k != "models_"}
        state["members_state_"] = [m._state() for m in self.models_]
        return state

    def _set_state(self, state: dict) -> None:
        state = dict(state)
        members = state.pop("members_state_")
        super()._set_state(state)
        self.models_ = self._build()
        for m, s in zip(self.models_, members, strict=True):
            m._set_state(s)
