"""Metrics on hand-computed cases; rolling-origin backtests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasters import metrics
from forecasters.backtest import backtest, cutoffs, evaluate
from forecasters.registry import make


def test_point_metrics():
    y, f = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 1.0])
    assert metrics.mae(y, f) == pytest.approx(1.0)
    assert metrics.rmse(y, f) == pytest.approx(np.sqrt(5 / 3))
    assert metrics.mase(y, f, 2.0) == pytest.approx(0.5)
    assert metrics.smape([0, 1], [0, 1]) == 0.0
    assert metrics.smape([1], [3]) == pytest.approx(100.0)


def test_probabilistic_metrics():
    assert metrics.pinball([10.0], [8.0], 0.9) == pytest.approx(0.9 * 2)
    assert metrics.pinball([10.0], [12.0], 0.9) == pytest.approx(0.1 * 2)
    assert metrics.coverage([1, 5, 9], [0, 0, 0], [4, 6, 8]) == pytest.approx(2 / 3)


def test_insample_scale_is_seasonal_naive_mae():
    df = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=4), "y": [1.0, 3.0, 2.0, 6.0]})
    assert metrics.insample_scale(df, 2)["a"] == pytest.approx((1 + 3) / 2)


def test_cutoffs_tile_the_holdout(daily):
    c = cutoffs(daily, h=7, n_windows=3)
    last = daily["ds"].max()
    assert c == [last - pd.Timedelta(days=d) for d in (21, 14, 7)]


@pytest.mark.parametrize("mode", ["refit", "update", "frozen"])
def test_backtest_modes(daily, mode):
    fc = backtest(make("ets"), daily, h=7, n_windows=2, mode=mode)
    assert len(fc) == 2 * 7 * 3 and fc["cutoff"].nunique() == 2
    scores = evaluate(fc, daily)
    assert set(scores) == {"MAE", "RMSE", "MASE", "sMAPE", "pinball", "coverage80"}
    assert 0 < scores["MASE"] < 2


def test_seasonal_naive_has_mase_near_one_on_a_pure_cycle():
    d = pd.date_range("2024-01-01", periods=70)
    df = pd.DataFrame({"unique_id": "a", "ds": d, "y": 10.0 + d.day_of_week})
    fc = backtest(make("seasonal_naive"), df, h=7, n_windows=2)
    assert evaluate(fc, df)["MAE"] == 0.0
