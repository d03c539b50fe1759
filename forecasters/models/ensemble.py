"""Ensemble: the mean or median of several forecasters' means and quantiles."""

from __future__ import annotations

import numpy as np

from forecasters.base import Forecaster
from forecasters.distribution import Distribution, combine
from forecasters.panel import Panel


class Ensemble(Forecaster):
    """Combines members by averaging (``how="mean"``) or taking the median of their forecasts.

    Quantiles are combined level by level (quantile averaging), which keeps them ordered.

    Args:
        members: model names for ``forecasters.make`` (with default settings) or a list of
            ``(name, params)`` pairs, e.g. ``[("ets", {}), ("lstm", {"epochs": 5})]``.
        how: ``"mean"`` or ``"median"``.
    """

    name = "ensemble"

    def __init__(self, members=("seasonal_naive", "ets", "cnn"), how: str = "mean", **kwargs):
        super().__init__(**kwargs)
        if how not in ("mean", "median"):
            raise ValueError(f"how must be 'mean' or 'median', got {how!r}.")
        if len(members) < 1:
            raise ValueError("an ensemble needs at least one member.")
        self.members = tuple(tuple(m) if isinstance(m, (list, tuple)) else (m, {}) for m in members)
        self.how = how

    def _build(self):
        from forecasters.registry import make

        common = {"season_length": self.season_length, "nonnegative": self.nonnegative, "exog": self.exog,
                  "seed": self.seed, "clip_k": self.clip_k}
        return [make(name, **{**common, **dict(params)}) for name, params in self.members]

    def fit(self, df):
        super().fit(df)
        self.models_ = [m.fit(df) for m in self._build()]
        return self

    def _distribution(self, panel: Panel, h: int, future_exog: np.ndarray) -> Distribution:
        return combine([m._distribution(panel, h, future_exog) for m in self.models_], self.how)

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
