"""Coupons, complements and bundles in the session phase: budget never negative, funnel nested, stock conserved."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopgym.config import load_scenario
from shopgym.errors import ActionError, ScenarioError
from shopgym.world import offers
from shopgym.world.catalog import Catalog
from shopgym.world.sessions import Decisions
from shopgym.world.world import World


def _scenario(**keys):
    base = dict(n_skus=6, n_categories=3, horizon=8, simulate_sessions=True, sessions_per_day=20.0, n_shoppers=60,
                initial_stock=3, lead_time=1, lead_time_spread=0, base_ctr=0.6, base_cart_rate=0.7,
                base_purchase_rate=0.8)
    base.update(keys)
    return load_scenario("steady", **base)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), n_worlds=st.integers(1, 3), slots=st.integers(1, 3),
       budget=st.sampled_from([0.0, 3.0, 40.0]), bundles=st.booleans(), complements=st.booleans(),
       per_session=st.booleans())
def test_offer_invariants(seed, n_worlds, slots, budget, bundles, complements, per_session):
    scenario = _scenario(coupons=True, coupon_budget=budget, bundles=bundles, complements=complements)
    world = World(scenario, n_worlds)
    world.reset([seed + w for w in range(n_worlds)])
    rng = np.random.default_rng(seed)
    n = world.catalog.n_skus
    spent = np.zeros(n_worlds)
    for _ in range(scenario.env.horizon):
        today = world.sessions_today()
        opening = world.on_hand.copy()
        shape = (len(today), slots)
        slates = rng.integers(-1, n, shape)
        discounts = rng.choice([0.0, 0.1, 0.3, 0.6], shape)
        flags = rng.random(shape) < 0.5
        outs = ([world.serve(slates[k:k + 1], discounts[k:k + 1], [k], flags[k:k + 1]) for k in range(len(today))]
                if per_session else [world.serve(slates, discounts, None, flags)])
        for s in outs:
            assert (s.purchase <= s.cart).all() and (s.cart <= s.click).all()
            assert not (s.purchase & ~s.in_stock).any()
            assert s.sold.sum() == s.purchase.sum()
            assert (world.coupon_left >= 0).all()
            spent += s.coupon_spend
            if s.complement is not None:  # a bundle is bought whole or not at all
                c = np.flatnonzero(s.complement)
                np.testing.assert_array_equal(s.purchase[c], s.purchase[c - 1])
        rec_sold = sum(s.sold for s in outs)
        assert (rec_sold <= opening).all()
        out = world.step(Decisions(orders=rng.integers(0, 5, (n_worlds, n))))
        np.testing.assert_array_equal(out.start_stock, opening)
        np.testing.assert_array_equal(out.start_stock + out.received - out.sold - out.expired, out.end_stock)
        assert (world.stock >= 0).all()
    np.testing.assert_allclose(world.coupon_left + spent, budget)
    k = world.kpis.sessions()
    np.testing.assert_allclose(k["coupon_spend"], spent)
    assert (k["coupon_spend"] <= budget + 1e-9).all()


def test_coupons_are_granted_in_order_while_the_budget_covers_them():
    world = np.array([0, 0, 0, 1, 0, 1])
    worth = np.array([4.0, 0.0, 5.0, 2.0, 1.0, 3.0])
    left = np.array([9.0, 4.0])
    granted = offers.grant_coupons(world, worth, left)
    # world 0: 4 fits, 5 makes 9 (fits), then 1 makes 10 > 9: refused; world 1: 2 fits, 2 + 3 > 4 refused
    np.testing.assert_array_equal(granted, [True, False, True, True, False, False])
    left_after = left.copy()
    spent = offers.pay_coupons(world, worth, granted & np.array([1, 1, 1, 0, 1, 0], bool), left_after)
    np.testing.assert_allclose(spent, [9.0, 0.0])
    np.testing.assert_allclose(left_after, [0.0, 4.0])


def test_an_empty_budget_shows_offers_at_full_price():
    scenario = _scenario(coupons=True, coupon_budget=0.0)
    world = World(scenario, 1)
    world.reset([0])
    today = world.sessions_today()
    s = world.serve(np.zeros((len(today), 1), np.int64), np.full((len(today), 1), 0.5))
    assert not s.coupon.any() and (s.discount == 0).all() and s.coupon_spend.sum() == 0
    assert world.session_kpis()["coupons_refused"][0] == len(today)


def test_complements_are_deterministic_and_in_the_next_category():
    scenario = _scenario()
    a = Catalog.generate(scenario.catalog, scenario.demand).complements()
    b = Catalog.generate(scenario.catalog, scenario.demand).complements()
    cat = Catalog.generate(scenario.catalog, scenario.demand).category
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(cat[a], (cat + 1) % 3)
    one = load_scenario("steady", n_skus=4, n_categories=1)
    c = Catalog.generate(one.catalog, one.demand).complements()
    assert (c != np.arange(4)).all()


def _complement_day(lift_on: bool):
    """Day 0: every session is shown item 0; day 1: its complement. Returns day 1's outcome and day 0's buyers."""
    scenario = _scenario(complements=lift_on, complement_lift=3.0, base_cart_rate=0.3, sessions_per_day=60.0, n_shoppers=10,
                         initial_stock=200, horizon=3)
    world = World(scenario, 1)
    world.reset([1])
    comp = world.catalog.complements()[0]
    orders = np.zeros((1, world.catalog.n_skus), np.int64)
    first = world.serve(np.zeros((len(world.sessions_today()), 1), np.int64))
    world.step(Decisions(orders=orders))
    second = world.serve(np.full((len(world.sessions_today()), 1), comp))
    return second, first.shopper[first.purchase]


def test_a_complement_after_a_purchase_converts_better():
    on, buyers = _complement_day(True)
    off, buyers_off = _complement_day(False)  # same seed: same sessions and uniforms, only the lift differs
    np.testing.assert_array_equal(buyers, buyers_off)
    lifted = np.isin(on.shopper, buyers)
    assert lifted.sum() >= 5
    assert (on.cart[lifted] >= off.cart[lifted]).all() and on.cart[lifted].sum() > off.cart[lifted].sum()
    np.testing.assert_array_equal(on.cart[~lifted], off.cart[~lifted])  # nobody else is affected


def test_bundles_show_the_complement_and_count_sales():
    scenario = _scenario(bundles=True, bundle_discount=0.2, initial_stock=50)
    world = World(scenario, 1)
    world.reset([2])
    today = world.sessions_today()
    s = world.serve(np.zeros((len(today), 1), np.int64), bundles=np.ones((len(today), 1), bool))
    comp = world.catalog.complements()[0]
    assert len(s.item) == 2 * len(today) and (s.item[1::2] == comp).all() and s.complement[1::2].all()
    np.testing.assert_allclose(s.discount, 0.2)
    np.testing.assert_array_equal(s.purchase[0::2], s.purchase[1::2])
    assert world.session_kpis()["bundles_sold"][0] == s.purchase[1::2].sum() > 0


def test_bad_offer_inputs_are_refused():
    world = World(_scenario(bundles=True), 1)
    world.reset([0])
    today = world.sessions_today()
    with pytest.raises(ActionError, match="bundles must have the slates' shape"):
        world.serve(np.zeros((len(today), 1), np.int64), bundles=np.ones((len(today), 2), bool))
    with pytest.raises(ActionError, match="booleans"):
        world.serve(np.zeros((len(today), 1), np.int64), bundles=np.full((len(today), 1), 7))
    with pytest.raises(ScenarioError, match="coupon_step"):
        _scenario(coupon_levels=11, coupon_step=0.1)
