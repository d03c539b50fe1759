"""Funnel ratios from interaction logs, the base-rate fit, and the calibrated defaults against the Taobao sample."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from forecasters.conversion.logs import generate_logs, log_scenario, save_logs
from shopgym.calibrate.funnel import (
    DEFAULT_CTR,
    expected_ratios,
    fit_funnel,
    funnel_ratios,
    read_interaction_logs,
    wilson,
)
from shopgym.config import ShoppersConfig, load_scenario
from shopgym.errors import DataError

REPO = Path(__file__).resolve().parents[2]
#: The funnel before the Taobao calibration: dense labels for small logs.
DENSE = {"base_ctr": 0.1, "base_cart_rate": 0.3, "base_purchase_rate": 0.5}


def taobao_file() -> Path:
    path = Path(os.environ.get("SHOPGYM_DATA", REPO.parent / "shared" / "data")) / "taobao_userbehavior" / "UserBehavior.csv"
    if not path.is_file():
        pytest.skip(f"Taobao sample not found at {path}; set SHOPGYM_DATA to the shared data directory.")
    return path


def test_wilson_interval():
    r = wilson(5, 10)
    assert r.value == 0.5 and r.lo == pytest.approx(0.2366, abs=1e-4) and r.hi == pytest.approx(0.7634, abs=1e-4)
    assert wilson(0, 20).lo == 0.0 and 0 < wilson(0, 20).hi < 0.2
    assert wilson(20, 20).hi == 1.0
    assert np.isnan(wilson(0, 0).value)


def test_taobao_counts_and_ratios():
    ratios = funnel_ratios(read_interaction_logs(taobao_file()))
    assert ratios.counts == {"impression": 0, "click": 3926, "cart": 190, "fav": 128, "purchase": 77}
    assert "click_rate" not in ratios.overall  # no impressions in the data
    cart = ratios.overall["cart_per_click"]
    assert (cart.numerator, cart.denominator) == (190, 3926) and cart.lo < 190 / 3926 < cart.hi
    assert ratios.overall["purchase_per_cart"].value == pytest.approx(77 / 190)
    pc = ratios.per_category
    assert pc["clicks"].sum() == 3926
    small = pc[pc["clicks"] < 100]
    assert (small["status"] != "fitted").all() and small["cart_per_click"].isna().all()
    assert (pc.loc[pc["clicks"] >= 100, "status"] == "fitted").all()


def test_conversion_logs_are_read_as_events(tmp_path):
    df = generate_logs(log_scenario(n_skus=12, n_categories=3, n_shoppers=50, sessions_per_day=30, slate_size=4, **DENSE),
                       n_impressions=1500, seed=3)
    path = save_logs(df, tmp_path / "logs.csv")
    ev = read_interaction_logs(path)
    assert set(ev.columns) == {"user", "item", "category", "ts", "behavior"}
    ratios = funnel_ratios(ev, min_clicks=1)
    assert ratios.counts["impression"] == 1500
    assert ratios.counts["click"] == df["click"].sum() and ratios.counts["purchase"] == df["purchase"].sum()
    assert ratios.overall["click_rate"].value == pytest.approx(df["click"].mean())
    assert ratios.per_category["impressions"].sum() == 1500


@pytest.mark.parametrize("content,match", [
    (None, "does not exist"),
    ("", "empty"),
    ("a,b,c\n1,2,3\n", "lacks column"),
    ("1,2,3,pv,100\n1,x,3,cart,101\n", "non-numeric"),
    ("1,2,3,pv,100\n1,2,3,look,101\n", "behaviour 'look'"),
    ("shopper_id,item_id,category,day,click,cart,purchase\n1,2,3,0,1,2,0\n", "0 or 1"),
])
def test_bad_files_give_one_line_errors(tmp_path, content, match):
    path = tmp_path / "logs.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=match) as err:
        read_interaction_logs(path)
    assert "\n" not in str(err.value)


def test_fit_funnel_reproduces_targets_on_a_small_world():
    scen = log_scenario(n_skus=20, n_categories=4, n_shoppers=100, sessions_per_day=40, slate_size=5)
    targets = {"cart_per_click": 0.2, "purchase_per_cart": 0.5}
    rates = fit_funnel(targets, 0.08, scenario=scen, n_impressions=4000, seed=1, rounds=2)
    assert set(rates) == {"base_ctr", "base_cart_rate", "base_purchase_rate"}
    got = expected_ratios(generate_logs(scen.replace(**rates), 4000, seed=1))
    assert got["click_rate"] == pytest.approx(0.08, rel=0.03)
    assert got["cart_per_click"] == pytest.approx(0.2, rel=0.03)
    assert got["purchase_per_cart"] == pytest.approx(0.5, rel=0.03)
    # the base rates are not the ratios: affinity, price and position shift them
    assert abs(rates["base_cart_rate"] - 0.2) > 0.01
    with pytest.raises(DataError, match="between 0 and 1"):
        fit_funnel(targets, 1.5, scenario=scen, n_impressions=500)


def test_calibrated_defaults_reproduce_the_taobao_ratios():
    """`shopgym conversion generate`'s world at the defaults: each simulated ratio lies inside the Taobao 95% CI
    widened by twice the simulation's own standard error; the noise-free ratio inside the CI itself."""
    target = funnel_ratios(read_interaction_logs(taobao_file())).overall
    df = generate_logs(log_scenario(), n_impressions=30_000, seed=11)
    c, k, p = (int(df[t].sum()) for t in ("click", "cart", "purchase"))
    sim = {"cart_per_click": (k, c), "purchase_per_click": (p, c), "purchase_per_cart": (p, k)}
    for name, (num, den) in sim.items():
        value = num / den
        se = np.sqrt(max(value * (1 - value), 1e-12) / den)
        assert target[name].contains(value, widen=2 * se), (name, value, target[name])
    exact = expected_ratios(df)
    for name in sim:
        assert target[name].contains(exact[name]), (name, exact[name], target[name])
    # the 4.0% click rate is fitted over the CLI's 100,000 impressions (50 days); these 15 days show it before the
    # shoppers' fatigue (memory_fatigue) has built up, about 12% higher
    assert 0.036 < exact["click_rate"] < 0.05


def test_old_defaults_do_not_reproduce_them():
    """The check above can fail: the funnel before the calibration is far outside the Taobao CIs."""
    target = funnel_ratios(read_interaction_logs(taobao_file())).overall
    exact = expected_ratios(generate_logs(log_scenario(**DENSE), n_impressions=5000, seed=11))
    assert not target["cart_per_click"].contains(exact["cart_per_click"], widen=0.05)


@pytest.mark.slow
def test_defaults_are_the_fit():
    ratios = funnel_ratios(read_interaction_logs(taobao_file()))
    rates = fit_funnel(ratios, DEFAULT_CTR)
    cfg = ShoppersConfig()
    for key, value in rates.items():
        assert getattr(cfg, key) == pytest.approx(value, rel=2e-3), key


def test_exact_instance_keeps_the_old_funnel_and_its_value():
    from agents.recommend_exact import solve

    s = load_scenario("recommend-exact").shoppers
    assert (s.base_ctr, s.base_cart_rate, s.base_purchase_rate) == (0.3, 0.3, 0.5)
    assert s.arrival_dispersion == 0 and s.arrival_payday_uplift == 0 and not s.arrival_holidays
    assert solve("recommend-exact").value == pytest.approx(111.31909076, rel=1e-8)  # docs/recommend.md: 111.32
