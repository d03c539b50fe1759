"""Loaders: M5 layout (synthetic files) and the Walmart file (skipped without the data)."""

from __future__ import annotations

import pandas as pd
import pytest
from fc_helpers import walmart_path

from forecasters.loaders import load_m5, load_walmart, synthetic_m5
from shopgym.errors import DataError


def test_m5_layout(tmp_path):
    sales, cal, prices = synthetic_m5(n_items=3, n_days=30)
    for name, frame in [("sales", sales), ("calendar", cal), ("prices", prices)]:
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    df = load_m5(tmp_path / "sales.csv", tmp_path / "calendar.csv", tmp_path / "prices.csv")
    assert {"unique_id", "ds", "y", "price", "event"} <= set(df.columns)
    assert len(df) == 90 and df["unique_id"].nunique() == 3
    assert df.groupby("unique_id")["ds"].is_monotonic_increasing.all()
    assert df["price"].notna().all() and df["event"].sum() == 3
    assert df.loc[df["unique_id"] == "ITEM_0_CA_1", "y"].tolist() == sales.iloc[0, 6:].astype(float).tolist()


def test_m5_missing_columns(tmp_path):
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "s.csv", index=False)
    pd.DataFrame({"d": ["d_1"], "date": ["2020-01-01"]}).to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(DataError, match="M5 layout"):
        load_m5(tmp_path / "s.csv", tmp_path / "c.csv")


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        load_walmart("/nonexistent/train.csv")


def test_walmart():
    df = load_walmart(walmart_path())
    assert df["unique_id"].nunique() > 3000
    assert (df["y"] >= 0).all()
    assert pd.Timedelta(days=7) == df.groupby("unique_id")["ds"].diff().mode().iloc[0]
    assert set(df["store_type"].dropna().unique()) == {"A", "B", "C"}
    complete = load_walmart(walmart_path(), complete_only=True)
    assert complete.groupby("unique_id").size().eq(143).all()


@pytest.mark.slow
def test_lstm_beats_seasonal_naive_on_walmart():
    """A small real-data backtest (about a minute): 60 series, 2 origins of 13 weeks."""
    import numpy as np

    from forecasters.backtest import backtest, evaluate
    from forecasters.registry import make

    df = load_walmart(walmart_path(), complete_only=True)
    keep = np.random.default_rng(1).choice(df["unique_id"].unique(), 60, replace=False)
    df = df[df["unique_id"].isin(keep)][["unique_id", "ds", "y"]]
    naive = evaluate(backtest(make("seasonal_naive"), df, 13, 2), df, point="q0.5")["MASE"]
    lstm = evaluate(backtest(make("lstm", h=13, progress=False), df, 13, 2), df, point="q0.5")["MASE"]
    assert lstm < naive
