"""statsforecast's ``AutoETS`` as a reference model (optional extra: ``pip install shopgym[stats]``)."""

from __future__ import annotations

import numpy as np

from forecasters.base import Forecaster
from forecasters.distribution import Distribution, normal
from forecasters.panel import Panel


class StatsForecastAutoETS(Forecaster):
    """Nixtla statsforecast ``AutoETS`` per series (imported lazily; raises ``ImportError`` if absent).

    Uncertainty: normal fitted to statsforecast's 80% interval.
    """

    name = "autoets"

    def _distribution(self, panel: Panel, h: int, future_exog: np.ndarray) -> Distribution:
        try:
            from statsforecast.models import AutoETS
        except ImportError as exc:
            raise ImportError("autoets needs statsforecast: pip install 'shopgym[stats]'.") from exc
        m = self.season_length_
        mean, sd = np.empty((panel.n, h)), np.empty((panel.n, h))
        for i, y in enumerate(panel.y):
            fc = AutoETS(season_length=m if len(y) >= 2 * m else 1).forecast(y=y.astype(float), h=h, level=[80])
            mean[i] = fc["mean"]
            sd[i] = np.maximum((fc["hi-80"] - fc["lo-80"]) / (2 * 1.2816), 1e-9)
        return normal(mean, sd)
