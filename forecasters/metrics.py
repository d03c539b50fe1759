"""Point and probabilistic forecast metrics.

All functions take arrays of actuals ``y`` and forecasts of the same shape. Scaled metrics divide by
``scale``: the mean absolute error of the seasonal naive forecast inside the training data
(``insample_scale``), per series, as in the M4/M5 competitions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasters.data import DS, ID, Y
from forecasters.distribution import QUANTILES, qcol


def mae(y, f) -> float:
    """Mean absolute error (units of y)."""
    return float(np.mean(np.abs(np.asarray(y) - np.asarray(f))))


def rmse(y, f) -> float:
    """Root mean squared error (units of y)."""
    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(f)) ** 2)))


def mase(y, f, scale) -> float:
    """Mean absolute scaled error: ``mean(|y - f| / scale)`` (``scale`` broadcast per point; 1 = seasonal naive in-sample)."""
    return float(np.mean(np.abs(np.asarray(y) - np.asarray(f)) / np.asarray(scale)))


def smape(y, f) -> float:
    """Symmetric MAPE in percent, 0..200: ``200 |y - f| / (|y| + |f|)`` (0 where both are 0)."""
    y, f = np.asarray(y, float), np.asarray(f, float)
    den = np.abs(y) + np.abs(f)
    return float(np.mean(np.where(den > 0, 200 * np.abs(y - f) / np.where(den > 0, den, 1), 0.0)))


def pinball(y, q, level: float, scale=1.0) -> float:
    """Pinball (quantile) loss of quantile forecast ``q`` at ``level``, divided by ``scale``."""
    d = np.asarray(y) - np.asarray(q)
    return float(np.mean(np.maximum(level * d, (level - 1) * d) / np.asarray(scale)))


def coverage(y, lo, hi) -> float:
    """Share of actuals inside ``[lo, hi]`` (0..1); an 80% interval should cover about 0.8."""
    y = np.asarray(y)
    return float(np.mean((y >= np.asarray(lo)) & (y <= np.asarray(hi))))


def insample_scale(df: pd.DataFrame, season_length: int) -> pd.Series:
    """Per-series MAE of the seasonal naive forecast on ``df`` (falls back to lag 1, then to mean|y|)."""
    def one(y: np.ndarray) -> float:
        for m in (season_length, 1):
            if len(y) > m:
                s = np.mean(np.abs(y[m:] - y[:-m]))
                if s > 0:
                    return float(s)
        return float(np.mean(np.abs(y))) or 1.0

    return df.groupby(ID, sort=False)[Y].apply(lambda s: one(s.to_numpy(float)))


def score(fc: pd.DataFrame, scale: pd.Series, point: str = "mean") -> dict:
    """All metrics for forecasts ``fc`` (columns ``unique_id, y, mean, q0.1, q0.5, q0.9``).

    ``point`` names the column used as the point forecast by MAE, RMSE, MASE and sMAPE (``"mean"``,
    or ``"q0.5"``: the median, the point forecast that minimises absolute error). MASE and pinball
    are averaged over points after dividing by the series' ``scale``; pinball is the mean over the
    levels 0.1, 0.5 and 0.9.
    """
    s = fc[ID].map(scale).to_numpy(float)
    y = fc[Y].to_numpy(float)
    f = fc[point]
    return {
        "MAE": mae(y, f),
        "RMSE": rmse(y, f),
        "MASE": mase(y, f, s),
        "sMAPE": smape(y, f),
        "pinball": float(np.mean([pinball(y, fc[qcol(q)], q, s) for q in QUANTILES])),
        "coverage80": coverage(y, fc[qcol(0.1)], fc[qcol(0.9)]),
    }


__all__ = ["mae", "rmse", "mase", "smape", "pinball", "coverage", "insample_scale", "score", "DS"]
