"""Auction mechanics (shopgym.world.auctions) and the ads phase of the world (shopgym.world.ads)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopgym.config import load_scenario
from shopgym.errors import ActionError, ScenarioError
from shopgym.world import auctions
from shopgym.world.ads import campaign_table
from shopgym.world.outcome import DayOutcome
from shopgym.world.world import World

TINY = dict(horizon=2, ticks_per_day=6, opportunities_per_day=600.0)


def ads_world(n_worlds=1, scenario="ads-steady", **keys):
    world = World(load_scenario(scenario, **{**TINY, **keys}), n_worlds=n_worlds)
    world.reset(list(range(n_worlds)))
    return world


# ---------------------------------------------------------------- mechanics
def test_traffic_profiles_have_mean_one_and_the_diurnal_curve_peaks_in_the_evening():
    for ticks in (1, 4, 24, 48):
        assert traffic_mean(ticks) == pytest.approx(1.0)
    day = auctions.traffic_profile(24)
    assert day.argmax() == 20 and day.argmin() in (3, 4) and day.max() / day.min() > 5
    np.testing.assert_array_equal(auctions.traffic_profile(3, "flat"), np.ones(3))
    np.testing.assert_allclose(auctions.traffic_profile(2, multipliers=[1.0, 3.0]), [0.5, 1.5])
    with pytest.raises(ValueError, match="multipliers"):
        auctions.traffic_profile(2, multipliers=[1.0, -1.0])


def traffic_mean(ticks):
    return float(auctions.traffic_profile(ticks).mean())


bids = st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(bid=bids, seed=st.integers(0, 2**16), reserve=st.sampled_from([0.0, 0.5, 2.0]))
def test_price_paid_never_exceeds_the_bid_and_second_price_pays_the_price_to_win(bid, seed, reserve):
    bid = np.array(bid)
    competing = np.random.default_rng(seed).exponential(2.0, len(bid)) * (np.arange(len(bid)) % 3 > 0)
    won, price, to_win = auctions.resolve(bid, competing, reserve, "second")
    np.testing.assert_array_equal(won, (bid > competing) & (bid >= reserve) & (bid > 0))
    np.testing.assert_array_equal(to_win, np.maximum(competing, reserve))
    assert (price[won] <= bid[won]).all() and (price[~won] == 0).all()
    np.testing.assert_array_equal(price[won], to_win[won])
    won1, price1, _ = auctions.resolve(bid, competing, reserve, "first")
    np.testing.assert_array_equal(won1, won)
    np.testing.assert_array_equal(price1[won1], bid[won1])
    with pytest.raises(ValueError, match="auction"):
        auctions.resolve(bid, competing, reserve, "third")


@settings(max_examples=60, deadline=None)
@given(price=st.lists(st.floats(0, 3, allow_nan=False), min_size=1, max_size=50), seed=st.integers(0, 2**16))
def test_the_budget_rule_keeps_a_prefix_per_group_within_budget_whatever_else_is_in_the_batch(price, seed):
    rng = np.random.default_rng(seed)
    price = np.array(price)
    n = len(price)
    group = rng.integers(0, 3, n)
    won = rng.random(n) < 0.8
    price = np.where(won, price, 0.0)
    spend, budget = rng.uniform(0, 2, 3), rng.uniform(0, 6, 3)
    spend = np.minimum(spend, budget)
    kept = auctions.within_budget(group, price, won, spend, budget)
    assert not (kept & ~won).any()
    for g in range(3):
        mine = group == g
        assert spend[g] + price[kept & mine].sum() <= budget[g]
        wins = np.flatnonzero(won & mine)
        k = kept[wins]
        assert (np.diff(k.astype(int)) <= 0).all()  # a prefix: once dropped, dropped for the rest of the tick
        alone = auctions.within_budget(np.zeros(mine.sum(), np.int64), price[mine], won[mine], spend[g:g + 1],
                                       budget[g:g + 1])
        np.testing.assert_array_equal(alone, kept[mine])


def test_campaign_tables_cover_every_sku_once():
    category = np.array([0, 1, 2, 0, 1, 0])
    table = campaign_table(category, "category")
    assert table.shape == (3, 3)
    assert sorted(table[table >= 0].tolist()) == list(range(6))
    assert (category[table[0][table[0] >= 0]] == 0).all()
    assert campaign_table(category, "sku").shape == (6, 1) and campaign_table(category, "catalog").shape == (1, 6)


# ---------------------------------------------------------------- the world's ads phase
def test_spend_stays_within_budget_at_every_tick_and_the_funnel_is_nested():
    world = ads_world(2, daily_budget=0.3, reserve_price=0.001)
    rng = np.random.default_rng(0)
    c = world.ads_setup.n_campaigns
    for _ in range(world.horizon):
        while world.ads_state.ticks_left:
            tick = world.ads_tick(rng.uniform(0, 50, (2, c)))  # absurd bids: the budget must hold
            state = world.ads_state
            assert (state.spend <= state.budget).all() and (state.budget_left >= 0).all()
            assert (tick.price[tick.won] <= tick.bid[tick.won]).all() and (tick.price[~tick.won] == 0).all()
            assert (tick.purchase <= tick.cart).all() and (tick.cart <= tick.click).all()
            assert (tick.click <= tick.won).all()
            assert (tick.value <= tick.estimate + 1e-15).all()
        world.step(np.zeros((2, world.catalog.n_skus), np.int64))
    k = world.ads_kpis()
    assert (k["purchases"] <= k["carts"]).all() and (k["carts"] <= k["clicks"]).all() and (k["clicks"] <= k["wins"]).all()
    assert (k["ad_spend"] <= 0.3 * world.horizon * c + 1e-9).all() and (k["wins"] > 0).all()


@settings(max_examples=12, deadline=None)
@given(budget=st.floats(0.0, 2.0), auction=st.sampled_from(["second", "first"]), reserve=st.sampled_from([0.0, 0.02]),
       competitors=st.integers(0, 5), campaigns=st.sampled_from(["category", "sku", "catalog"]),
       lam=st.floats(0.0, 20.0), seed=st.integers(0, 1000))
def test_world_invariants_hold_for_any_ads_settings(budget, auction, reserve, competitors, campaigns, lam, seed):
    world = World(load_scenario("ads-stockout", horizon=2, ticks_per_day=3, opportunities_per_day=300.0,
                                daily_budget=budget, auction=auction, reserve_price=reserve, competitors=competitors,
                                campaigns=campaigns), n_worlds=2)
    world.reset([seed, seed + 1])
    c = world.ads_setup.n_campaigns
    for _ in range(world.horizon):
        start = world.on_hand.copy()
        while world.ads_state.ticks_left:
            tick = world.ads_tick(np.full((2, c), lam))
            assert (world.ads_state.spend <= budget).all()
            assert (tick.price[tick.won] <= tick.bid[tick.won]).all()
            if auction == "second":
                np.testing.assert_array_equal(tick.price[tick.won], np.maximum(tick.competing, reserve)[tick.won])
            assert (tick.purchase <= tick.cart).all() and (tick.cart <= tick.click).all()
            assert (tick.click <= tick.won).all() and not (tick.purchase & ~tick.in_stock).any()
        out = world.step(np.ones((2, world.catalog.n_skus), np.int64))
        np.testing.assert_array_equal(out.start_stock, start)
        np.testing.assert_array_equal(out.start_stock + out.received - out.sold - out.expired, out.end_stock)
        assert (out.end_stock >= 0).all()
        np.testing.assert_allclose(out.profit, out.revenue - sum(getattr(out, f) for f in DayOutcome.COST_FIELDS),
                                   atol=1e-9)


def test_second_price_pays_the_highest_competing_bid_or_the_reserve():
    world = ads_world(1, reserve_price=0.02)
    tick = world.ads_tick(np.full(world.ads_setup.n_campaigns, 3.0))
    assert tick.won.any()
    np.testing.assert_array_equal(tick.price[tick.won], np.maximum(tick.competing, 0.02)[tick.won])


def test_stock_is_conserved_and_profit_is_revenue_minus_costs_with_ad_sales():
    world = ads_world(2, scenario="ads-stockout", horizon=3)
    c = world.ads_setup.n_campaigns
    sold_by_ads = 0
    for _ in range(world.horizon):
        start = world.on_hand.copy()
        while world.ads_state.ticks_left:
            sold_by_ads += world.ads_tick(np.full((2, c), 2.0)).sold.sum()
        out = world.step(np.full((2, world.catalog.n_skus), 3, np.int64))
        np.testing.assert_array_equal(out.start_stock, start)
        np.testing.assert_array_equal(out.start_stock + out.received - out.sold - out.expired, out.end_stock)
        np.testing.assert_array_equal(out.end_stock, world.on_hand)
        costs = sum(getattr(out, f) for f in DayOutcome.COST_FIELDS)
        np.testing.assert_allclose(out.profit, out.revenue - costs, atol=1e-9)
        assert (world.on_hand >= 0).all()
    assert sold_by_ads > 0
    summary, ads = world.kpis.summary(), world.ads_kpis()
    assert (ads["ad_spend"] > 0).all()
    np.testing.assert_allclose(summary["costs"], summary["revenue"] - summary["profit"])


def test_batched_worlds_equal_single_worlds():
    batch = ads_world(3)
    singles = [World(batch.scenario, 1) for _ in range(3)]
    for w, s in enumerate(singles):
        s.reset([w])
    rng = np.random.default_rng(1)
    c = batch.ads_setup.n_campaigns
    for _ in range(batch.scenario.ads.ticks_per_day):
        lam = rng.uniform(0, 2, (3, c))
        tb = batch.ads_tick(lam)
        for w, s in enumerate(singles):
            ts = s.ads_tick(lam[w])
            mine = tb.world == w
            np.testing.assert_array_equal(ts.price, tb.price[mine])
            np.testing.assert_array_equal(ts.purchase, tb.purchase[mine])
            np.testing.assert_array_equal(s.ads_state.spend[0], batch.ads_state.spend[w])
    np.testing.assert_array_equal(batch.stock[1], singles[1].stock[0])


@pytest.mark.parametrize("keys", [{}, {"auction": "first", "reserve_price": 0.01, "daily_budget": 0.5},
                                  {"competitors": 0}, {"scenario": "ads-stockout"}])
@pytest.mark.parametrize("tabled", [True, False])
def test_compiled_and_numpy_ticks_take_the_same_decisions(keys, tabled, monkeypatch):
    from shopgym.world import ads, kernel

    if not kernel.COMPILED:
        pytest.skip("numba is not available")
    if not tabled:
        monkeypatch.setattr(ads, "TABLE_MAX_ROWS", 0)  # the response model is asked every tick
    keys = {"scenario": "ads-steady", **keys}
    scenario = load_scenario(keys.pop("scenario"), **{**TINY, **keys})
    a, b = World(scenario, 2, engine="compiled"), World(scenario, 2, engine="numpy")
    a.reset([1, 2])
    b.reset([1, 2])
    rng = np.random.default_rng(0)
    c = a.ads_setup.n_campaigns
    for _ in range(scenario.env.horizon):
        for _ in range(scenario.ads.ticks_per_day):
            lam = rng.uniform(0, 3, (2, c))
            x, y = a.ads_tick(lam), b.ads_tick(lam)
            for f in ("won", "click", "cart", "purchase", "in_stock", "item", "sold", "opportunities", "wins"):
                np.testing.assert_array_equal(getattr(x, f), getattr(y, f), err_msg=f)
            for f in ("estimate", "value", "bid", "competing", "price_to_win", "price", "margin", "spend"):
                np.testing.assert_allclose(getattr(x, f), getattr(y, f), rtol=1e-12, atol=1e-15, err_msg=f)
        out_a, out_b = (w.step(np.ones((2, w.catalog.n_skus), np.int64)) for w in (a, b))
        np.testing.assert_array_equal(out_a.q, out_b.q)
        np.testing.assert_allclose(out_a.m, out_b.m, rtol=1e-12, atol=1e-12)
    assert a.ads_kpis()["opportunities"].sum() > 0


def test_bidding_nothing_leaves_the_shop_as_if_ads_were_off():
    on, off = ads_world(1), World(load_scenario("ads-steady", **TINY, simulate_ads=False), 1)
    off.reset([0])
    orders = np.full((1, on.catalog.n_skus), 2, np.int64)
    for _ in range(on.horizon):
        a, b = on.step(orders), off.step(orders)  # the step runs the day's ticks with no bids
        np.testing.assert_array_equal(a.q, b.q)
        np.testing.assert_array_equal(a.m, b.m)
    assert on.ads_kpis()["opportunities"][0] > 0 and on.ads_kpis()["wins"][0] == 0


def test_ads_off_draws_nothing_and_keeps_restock_and_recommend_unchanged():
    for name, keys in (("quickstart", {}), ("recommend", {"horizon": 3})):
        scenario = load_scenario(name, **keys)
        assert not scenario.ads.simulate_ads
        other = scenario.replace(daily_budget=7.0, competitors=9, ticks_per_day=5)  # ads settings, ads still off
        worlds = [World(s, 1) for s in (scenario, other)]
        for w in worlds:
            w.reset([3])
        state0 = worlds[0].rngs["auctions"][0].bit_generator.state
        for _ in range(3):
            a, b = (w.step(np.ones((1, w.catalog.n_skus), np.int64)) for w in worlds)
            np.testing.assert_array_equal(a.q, b.q)
            np.testing.assert_array_equal(a.m, b.m)
            assert (a.ad_cost == 0).all()
        assert worlds[0].rngs["auctions"][0].bit_generator.state == state0
        with pytest.raises(ScenarioError, match="simulate_ads"):
            worlds[0].ads_tick(np.ones(1))


@pytest.mark.parametrize("bad, match", [
    (np.array([[-1.0, 1, 1, 1]]), ">= 0"), (np.array([[np.nan, 1, 1, 1]]), "finite"),
    (np.ones((1, 3)), "shape"), (np.array([["a", "b", "c", "d"]]), "real numbers"),
])
def test_bad_bid_multipliers_are_refused_with_the_fix(bad, match):
    world = ads_world(1)
    with pytest.raises(ActionError, match=match):
        world.ads_tick(bad)
    assert world.ads_state.tick == 0


def test_bad_ads_settings_name_the_key():
    with pytest.raises(ScenarioError, match="traffic_multipliers"):
        load_scenario("ads-steady", traffic_multipliers=[1.0, 2.0])
    with pytest.raises(ScenarioError, match="auction"):
        load_scenario("ads-steady", auction="vickrey")
    with pytest.raises(ScenarioError, match="daily_budget"):
        load_scenario("ads-steady", daily_budget=-1.0)


@pytest.mark.parametrize("engine", ["compiled", "numpy"])
def test_orders_of_the_wrong_shape_are_refused_before_the_day_changes_anything(engine):
    world = World(load_scenario("ads-steady", **TINY), n_worlds=1, engine=engine)
    ticks, stock = world.ads_state.ticks_left, world.stock.copy()
    with pytest.raises(ActionError, match=r"orders must have shape \(n_worlds, n_skus\)"):
        world.step(np.zeros(world.catalog.n_skus + 1, dtype=np.int64))
    assert world.ads_state.ticks_left == ticks and world.day == 0  # no tick was run, the day did not close
    assert np.array_equal(world.stock, stock)
    world.step(np.zeros(world.catalog.n_skus, dtype=np.int64))  # the right shape still steps
    assert world.day == 1
