"""Simulated logs: nested labels, determinism, export and the loader for users' own logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasters.conversion.data import load_logs
from forecasters.conversion.logs import TRUE_COLUMNS, LogGenerator, generate_logs, log_scenario, save_logs
from shopgym.errors import DataError


def test_labels_are_nested(tiny_logs):
    assert (tiny_logs["purchase"] <= tiny_logs["cart"]).all()
    assert (tiny_logs["cart"] <= tiny_logs["click"]).all()
    assert tiny_logs["purchase"].sum() > 0
    t = tiny_logs[list(TRUE_COLUMNS)].to_numpy()
    assert ((t >= 0) & (t <= 1)).all() and (np.diff(t, axis=1) <= 0).all()


def test_columns_and_rates(tiny_logs):
    for col in ("session_id", "shopper_id", "item_id", "position", "seen", "segment", "category", "price",
                "discount", "in_stock", "u_0", "e_7", "click", "cart", "purchase", "true_click"):
        assert col in tiny_logs.columns
    assert len(tiny_logs) == 3000
    # true probabilities are unbiased: observed rates within 4 standard errors
    for task in ("click", "cart", "purchase"):
        p = tiny_logs[f"true_{task}"]
        se = np.sqrt((p * (1 - p)).sum()) / len(p)
        assert abs(tiny_logs[task].mean() - p.mean()) < 4 * se + 1e-9


def test_same_seed_same_logs(tiny_scenario, tiny_logs):
    again = generate_logs(tiny_scenario, n_impressions=3000, seed=1)
    pd.testing.assert_frame_equal(again, tiny_logs)
    other = generate_logs(tiny_scenario, n_impressions=3000, seed=2)
    assert not other["click"].equals(tiny_logs["click"])


def test_seen_counts_exposures_of_earlier_days(tiny_logs):
    # a day's sessions are served as one batch: seen counts the pair's impressions before the day opened
    key = (tiny_logs["shopper_id"] * 1000 + tiny_logs["item_id"]).to_numpy()
    day = tiny_logs["day"].to_numpy()
    assert np.all(np.diff(day) >= 0)  # one episode, days in order
    per_day = pd.Series(1, index=pd.MultiIndex.from_arrays([key, day])).groupby(level=[0, 1]).sum()
    before = per_day.groupby(level=0).cumsum() - per_day
    expected = before.reindex(pd.MultiIndex.from_arrays([key, day])).to_numpy()
    np.testing.assert_array_equal(tiny_logs["seen"].to_numpy(), expected)
    assert tiny_logs["seen"].max() > 0


def test_stockouts_come_from_the_worlds_inventory():
    gen = LogGenerator(log_scenario(n_skus=12, n_categories=3, n_shoppers=40, sessions_per_day=30, slate_size=3,
                                    initial_stock=2, restock_cover_days=0.0), seed=4)
    out_of_stock_rows = 0
    for _ in range(8):
        opening = gen.world.on_hand[0].copy()
        frame = gen.day_frame()
        item = frame["item_id"].to_numpy()
        np.testing.assert_array_equal(frame["in_stock"].to_numpy(), opening[item] > 0)  # stock-out <=> none on hand
        assert (frame.loc[frame.in_stock == 0, ["purchase", "true_purchase"]] == 0).all().all()
        bought = np.bincount(item, weights=frame["purchase"].to_numpy(), minlength=12)
        assert (bought <= opening).all()  # purchases took real units
        out_of_stock_rows += int((frame.in_stock == 0).sum())
    assert out_of_stock_rows > 0


def test_logging_policy_propensities():
    eps, n = 0.3, 30
    df = generate_logs(log_scenario(n_skus=n, n_categories=3, n_shoppers=200, sessions_per_day=50, slate_size=4),
                       n_impressions=4000, seed=2, epsilon=eps)
    values = np.unique(df["true_propensity"].round(12))
    np.testing.assert_allclose(values, [eps / n, 1 - eps + eps / n])
    greedy_share = (df["true_propensity"] > 0.5).mean()
    assert 1 - eps - 0.05 < greedy_share < 1 - eps + eps * 4 / n + 0.05  # random slates match greedy rarely
    assert (df["true_propensity"] < 0.5).any()  # random slates are logged too


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), slate=st.integers(1, 6), n=st.integers(1, 400))
def test_nested_for_any_seed(seed, slate, n):
    scen = log_scenario(n_skus=12, n_categories=2, n_shoppers=20, sessions_per_day=5, slate_size=slate)
    df = generate_logs(scen, n_impressions=n, seed=seed)
    assert len(df) == n
    assert (df["purchase"] <= df["cart"]).all() and (df["cart"] <= df["click"]).all()


def test_csv_round_trip_and_loader(tiny_logs, tmp_path):
    path = save_logs(tiny_logs, tmp_path / "logs.csv")
    back = load_logs(path)
    assert back.shape == tiny_logs.shape
    np.testing.assert_allclose(back["true_purchase"], tiny_logs["true_purchase"])


def test_parquet_is_optional(tiny_logs, tmp_path):
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="parquet"):
            save_logs(tiny_logs, tmp_path / "logs.parquet")
        return
    back = load_logs(save_logs(tiny_logs, tmp_path / "logs.parquet"))
    pd.testing.assert_frame_equal(back, tiny_logs)


def test_loader_errors(tiny_logs, tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_logs(tmp_path / "nope.csv")
    tiny_logs.drop(columns=["cart"]).to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"lacks label column\(s\) \['cart'\]"):
        load_logs(tmp_path / "a.csv")
    bad = tiny_logs.copy()
    bad.loc[bad.index[5], "click"] = 3
    bad.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match=r"\['click'\] must hold only 0 or 1"):
        load_logs(tmp_path / "b.csv")
    bad = tiny_logs.copy()
    bad.loc[bad.index[5], ["click", "cart", "purchase"]] = [0, 0, 1]
    bad.to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(DataError, match="nested"):
        load_logs(tmp_path / "c.csv")
    assert len(load_logs(tmp_path / "c.csv", nested=False)) == len(bad)


def test_generator_arguments(tiny_scenario):
    with pytest.raises(ValueError, match="discount_prob"):
        LogGenerator(tiny_scenario, discount_prob=1.5)
    with pytest.raises(ValueError, match="epsilon"):
        LogGenerator(tiny_scenario, epsilon=-0.1)
    with pytest.raises(ValueError, match="slate_size"):
        LogGenerator(log_scenario(n_skus=3, slate_size=5))
    with pytest.raises(ValueError, match="n_impressions"):
        generate_logs(tiny_scenario, n_impressions=0)
