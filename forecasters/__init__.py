"""Demand forecasters for shopgym: one scikit-learn-style API over classical and neural models.

>>> import forecasters
>>> model = forecasters.make("ets", seasonal="additive")   # doctest: +SKIP
>>> model.fit(df).predict(h=14)                             # unique_id, ds, mean, q0.1, q0.5, q0.9

See ``docs/forecasting.md``. Models: seasonal_naive, moving_average, ets (Holt-Winters), svr, cnn,
lstm, transformer, ensemble (and autoets with the optional ``stats`` extra).
"""

from forecasters.backtest import backtest, evaluate
from forecasters.base import Forecaster
from forecasters.distribution import GRID, QUANTILES, qcol
from forecasters.registry import available, make

load = Forecaster.load

__all__ = ["Forecaster", "GRID", "QUANTILES", "available", "backtest", "evaluate", "load", "make", "qcol"]
