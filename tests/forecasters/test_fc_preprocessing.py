"""Preprocessing steps: missing dates, gaps, outliers, scaling, calendar features, windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasters.preprocessing import (
    SeriesScaler,
    calendar_features,
    clip_outliers,
    fill_missing_dates,
    interpolate_gaps,
    sliding_windows,
)
from shopgym.errors import DataError


def test_missing_dates_become_zero_sales(daily):
    holed = daily.drop(index=[5, 6])
    full = fill_missing_dates(holed)
    assert len(full) == len(daily)
    assert full.loc[(full["unique_id"] == "s0"), "y"].iloc[5:7].tolist() == [0.0, 0.0]


def test_off_grid_date_is_an_error(daily):
    bad = daily.copy()
    bad.loc[3, "ds"] = bad.loc[3, "ds"] + pd.Timedelta(hours=5)
    with pytest.raises(DataError, match="off its"):
        fill_missing_dates(bad, freq=pd.Timedelta(days=1))


def test_gaps_are_interpolated(daily):
    d = daily.copy()
    d.loc[10, "y"] = np.nan
    out = interpolate_gaps(d)
    assert out.loc[10, "y"] == pytest.approx((d.loc[9, "y"] + d.loc[11, "y"]) / 2)


def test_outliers_are_clipped(daily):
    d = daily.copy()
    d.loc[20, "y"] = 1e6
    out = clip_outliers(d, k=6)
    assert out.loc[20, "y"] < 100
    assert (out.drop(index=20)["y"] == d.drop(index=20)["y"]).mean() > 0.95


def test_scaler_round_trip(daily):
    sc = SeriesScaler().fit(daily)
    z = sc.transform(daily)
    assert z.groupby("unique_id")["y"].apply(lambda s: s.abs().mean()).to_numpy() == pytest.approx(1.0)
    pd.testing.assert_frame_equal(sc.inverse_transform(z), daily)


def test_calendar_features_daily_and_weekly():
    d = pd.date_range("2024-01-01", periods=14)
    f = calendar_features(d, pd.Timedelta(days=1))
    assert f.shape == (14, 4) and np.abs(f).max() <= 1
    assert np.allclose(f[0, :2], f[7, :2])
    w = calendar_features(pd.date_range("2024-01-05", periods=5, freq="7D"), pd.Timedelta(days=7))
    assert (w[:, :2] == 0).all()


def test_sliding_windows():
    assert sliding_windows(10, 4, 3).tolist() == [4, 5, 6, 7]
    assert sliding_windows(5, 4, 3).tolist() == []
    assert sliding_windows(10, 4, 3, min_context=2).tolist()[0] == 2
