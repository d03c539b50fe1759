"""A deliberately broken forecaster for the learned-demand guard tests (importable, so it can be saved)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from forecasters.base import Forecaster
from forecasters.distribution import GRID, Distribution


class BrokenForecaster(Forecaster):
    """Predicts ``level`` units/day with quantiles ``level + spread * z``; for dates from ``bad_from`` on,
    series ``bad_id`` predicts ``bad_value`` (NaN, inf or a huge number) in every quantile.

    Args:
        level: predicted mean (units/day).
        spread: scale of the quantiles around ``level`` (units/day); huge values mimic an exploding model.
        bad_value, bad_id, bad_from: the broken prediction, its series and first date (``None``: never).
    """

    name = "broken"

    def __init__(self, level: float = 5.0, spread: float = 1.0, bad_value: float = np.nan, bad_id: str = "s1",
                 bad_from: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.level, self.spread, self.bad_value, self.bad_id, self.bad_from = level, spread, bad_value, bad_id, bad_from

    def _distribution(self, panel, h, future_exog):
        mean = np.full((panel.n, h), float(self.level))
        grid = mean[..., None] + self.spread * stats.norm.ppf(GRID)
        if self.bad_from is not None:
            for i in np.flatnonzero(np.asarray(panel.ids) == self.bad_id):
                hit = panel.future_dates(i, h) >= pd.Timestamp(self.bad_from)
                grid[i, hit] = self.bad_value
        return Distribution(mean, grid)
