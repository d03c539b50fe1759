"""The world's session phase: shoppers shown slates buy from the shared stock; memory; Restock unchanged."""

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopgym.config import load_scenario
from shopgym.errors import ActionError, ScenarioError
from shopgym.world.sessions import Decisions
from shopgym.world.world import World

#: Episode profit (currency), unit fill rate and a hash of every day's quantity ledger (``DayOutcome.q``) of the
#: order-up-to rule in ``_reference_run``, recorded on main before the session phase existed.
REFERENCE = {
    ("quickstart", 0): (2609.8, 0.991144414169, "26acdaaaa1f17aa1"),
    ("quickstart", 1): (2371.7, 0.997869318182, "e0830637b4e9d41d"),
    ("quickstart", 2): (2563.9, 0.997931034483, "9a1a7a4ee998a343"),
    ("seasonal", 0): (53621.26, 0.986820754344, "f8b21095427d9637"),
    ("seasonal", 1): (51387.79, 0.990195682873, "3922a08ba88f8d86"),
    ("seasonal", 2): (52342.144, 0.987104525431, "f78f95a68bdd01ca"),
    ("perishable", 0): (40793.89, 0.997838142683, "825823841aff1515"),
    ("perishable", 1): (39920.84, 0.998898572934, "53f3cac88651708d"),
    ("perishable", 2): (40266.27, 0.999761734572, "aa12d48379767227"),
}


def _reference_run(name, seed, engine, wrap):
    scenario = load_scenario(name)
    world = World(scenario, 1, engine=engine)
    world.reset([seed])
    digest = hashlib.sha256()
    lead = int(world.catalog.lead_time.max())
    for _ in range(world.horizon):
        target = np.ceil(world.forecast(lead + 3).sum(-1))
        orders = np.clip(target - world.on_hand - world.pipeline.sum(-1), 0, scenario.env.max_order).astype(np.int64)
        out = world.step(Decisions(orders=orders) if wrap else orders)
        digest.update(out.q.tobytes())
    kpis = world.kpis.summary()
    return float(kpis["profit"][0]), float(kpis["unit_fill_rate"][0]), digest.hexdigest()[:16]


@pytest.mark.parametrize("engine", ["numpy", "compiled"])
@pytest.mark.parametrize("name,seed", list(REFERENCE))
def test_sessions_off_leaves_restock_unchanged(name, seed, engine):
    profit, fill, digest = REFERENCE[(name, seed)]
    for wrap in (False, True):  # plain orders (Restock) and a Decisions record with orders only
        got = _reference_run(name, seed, engine, wrap)
        assert got[0] == pytest.approx(profit, rel=1e-12, abs=1e-6)
        assert got[1] == pytest.approx(fill, abs=1e-11)
        assert got[2] == digest


def _scenario(**keys):
    base = dict(n_skus=6, n_categories=2, horizon=15, simulate_sessions=True, sessions_per_day=30.0,
                n_shoppers=200, initial_stock=3, lead_time=1, lead_time_spread=0)
    base.update(keys)
    return load_scenario("steady", **base)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31), n_worlds=st.integers(1, 3), slots=st.integers(0, 4),
       memory=st.booleans(), shelf_life=st.sampled_from([0, 3]), backorders=st.booleans(),
       per_session=st.booleans())
def test_session_invariants(seed, n_worlds, slots, memory, shelf_life, backorders, per_session):
    scenario = _scenario(memory_fatigue=memory, memory_satisfaction=memory, memory_drift=memory,
                         shelf_life=shelf_life, backorders=backorders, base_ctr=0.5, base_cart_rate=0.6,
                         base_purchase_rate=0.7)
    world = World(scenario, n_worlds)
    world.reset([seed + w for w in range(n_worlds)])
    rng = np.random.default_rng(seed)
    n = world.catalog.n_skus
    for _ in range(scenario.env.horizon):
        today = world.sessions_today()
        opening = world.on_hand.copy()
        slates = rng.integers(-1, n, (len(today), slots))
        rec_sold = np.zeros((n_worlds, n), dtype=np.int64)
        if per_session:  # one session at a time, as the Recommend env serves them
            for k in range(len(today)):
                s = world.serve(slates[k : k + 1], sessions=[k])
                rec_sold += s.sold
                _check_funnel(s)
            out = world.step(Decisions(orders=rng.integers(0, 6, (n_worlds, n))))
        else:
            stock_before = world.on_hand.copy()
            s = world.serve(slates)
            _check_funnel(s)
            rec_sold += s.sold
            np.testing.assert_array_equal(world.on_hand, stock_before - s.sold)
            out = world.step(rng.integers(0, 6, (n_worlds, n)))
        # recommendation sales never exceed the stock at opening; everything stays non-negative and conserved
        assert (rec_sold <= opening).all() and (world.stock >= 0).all()
        np.testing.assert_array_equal(out.start_stock, opening)
        np.testing.assert_array_equal(out.start_stock + out.received - out.sold - out.expired, out.end_stock)
        np.testing.assert_array_equal(out.demand + out.substitute_in + out.backlog_before,
                                      out.sold + out.lost + out.substitute_out + out.backlog)
        assert (out.sold >= rec_sold).all()
        np.testing.assert_allclose(out.profit.sum(), out.revenue.sum() - sum(getattr(out, c).sum()
                                                                              for c in out.COST_FIELDS))
    k = world.kpis.sessions()
    assert (k["purchases"] <= k["carts"]).all() and (k["carts"] <= k["clicks"]).all()
    assert (k["clicks"] <= k["impressions"]).all()


def _check_funnel(s):
    assert (s.purchase <= s.cart).all() and (s.cart <= s.click).all()
    assert not (s.purchase & ~s.in_stock).any()  # an item out of stock cannot be bought
    np.testing.assert_allclose(s.session_margin.sum(), s.margin.sum())
    np.testing.assert_array_equal(s.sold.sum(), s.purchase.sum())


def _run(scenario, n_worlds, seeds, slate_fn, days=None):
    world = World(scenario, n_worlds)
    world.reset(seeds)
    for _ in range(days or scenario.env.horizon):
        today = world.sessions_today()
        world.step(Decisions(orders=np.full((n_worlds, world.catalog.n_skus), 4), slates=slate_fn(world, today)))
    return world


def _fixed_slate(world, today):
    return np.tile(np.arange(3), (len(today), 1))


def test_batch_of_worlds_equals_worlds_one_at_a_time():
    scenario = _scenario(memory_fatigue=True, memory_satisfaction=True, memory_drift=True)
    both = _run(scenario, 2, [5, 9], _fixed_slate)
    for w, seed in enumerate([5, 9]):
        one = _run(scenario, 1, [seed], _fixed_slate)
        for key, value in one.kpis.sessions().items():
            assert value[0] == both.kpis.sessions()[key][w], key
        np.testing.assert_array_equal(one.stock[0], both.stock[w])


def test_same_seed_same_sessions_and_responses():
    scenario = _scenario(memory_satisfaction=True)
    a, b = (_run(scenario, 1, [3], _fixed_slate) for _ in range(2))
    for key, value in a.kpis.sessions().items():
        np.testing.assert_array_equal(value, b.kpis.sessions()[key])
    c = _run(scenario, 1, [4], _fixed_slate)
    assert c.kpis.sessions()["clicks"][0] != a.kpis.sessions()["clicks"][0]


def test_out_of_stock_items_are_never_bought():
    scenario = _scenario(initial_stock=0, base_ctr=0.9, base_cart_rate=0.9, base_purchase_rate=0.9)
    world = World(scenario, 1)
    world.reset([0])
    s = world.serve(np.tile(np.arange(3), (len(world.sessions_today()), 1)))
    assert s.click.sum() > 0 and s.purchase.sum() == 0 and s.stockout_hit.sum() > 0


def test_scarce_stock_goes_to_the_earliest_sessions():
    scenario = _scenario(initial_stock=2, base_ctr=0.999, base_cart_rate=0.999, base_purchase_rate=0.999,
                         position_decay=0.0, affinity_weight=0.0, price_sensitivity=0.0, sessions_per_day=40.0)
    world = World(scenario, 1)
    world.reset([0])
    s = world.serve(np.zeros((len(world.sessions_today()), 1), np.int64))
    assert s.purchase.sum() == 2 and s.purchase[:2].all() and world.on_hand[0, 0] == 0


# ---------------------------------------------------------------- memory, in the documented direction
def _kpis(scenario, slate_fn=_fixed_slate, seeds=(0, 1, 2)):
    world = _run(scenario, len(seeds), list(seeds), slate_fn)
    return {k: v.sum() for k, v in world.kpis.sessions().items()}


def test_fatigue_lowers_clicks_on_repeated_items():
    off, on = (_kpis(_scenario(memory_fatigue=f, n_shoppers=30, horizon=20)) for f in (False, True))
    assert on["ctr"] < 0.7 * off["ctr"]


def test_satisfaction_churns_shoppers_shown_unavailable_items():
    sc = dict(initial_stock=0, n_shoppers=50, restock_cover_days=0.0)
    empty = lambda world, today: np.tile(np.arange(3), (len(today), 1))  # noqa: E731
    off = _kpis(_scenario(memory_satisfaction=False, **sc), empty)
    world = World(_scenario(memory_satisfaction=True, **sc), 1)
    world.reset([0])
    for _ in range(15):
        today = world.sessions_today()
        world.step(Decisions(orders=np.zeros((1, 6), np.int64), slates=empty(world, today)))
    on = world.kpis.sessions()
    assert off["churned_shoppers"] == 0 and on["churned_shoppers"][0] > 10
    assert on["sessions"][0] < off["sessions"] / 3 * 0.8  # churned shoppers stop coming back


def test_satisfied_shoppers_return_more_often():
    sc = dict(initial_stock=1000, base_ctr=0.6, base_cart_rate=0.8, base_purchase_rate=0.9, satisfaction_loss=0.0,
              stockout_loss=0.0)
    off, on = (_kpis(_scenario(memory_satisfaction=f, **sc)) for f in (False, True))
    assert on["sessions"] > 1.2 * off["sessions"]


def test_interests_drift_towards_purchases():
    sc = dict(initial_stock=200, base_ctr=0.3, base_cart_rate=0.8, base_purchase_rate=0.9, n_shoppers=40,
              drift_rate=0.5)
    off, on = (_kpis(_scenario(memory_drift=f, **sc)) for f in (False, True))
    assert on["ctr"] > 1.1 * off["ctr"]


# ---------------------------------------------------------------- bad input
def test_slates_need_sessions_on():
    world = World(load_scenario("steady", horizon=5), 1)
    with pytest.raises(ScenarioError, match="simulate_sessions"):
        world.step(Decisions(orders=np.zeros((1, 10), np.int64), slates=np.zeros((0, 1), np.int64)))
    with pytest.raises(ScenarioError, match="simulate_sessions"):
        world.sessions_today()


def test_bad_slates_are_refused_with_the_fix():
    world = World(_scenario(), 1)
    world.reset([0])
    m = len(world.sessions_today())
    with pytest.raises(ActionError, match=r"item indices in \[0, 5\]"):
        world.serve(np.full((m, 2), 6))
    with pytest.raises(ActionError, match="shape"):
        world.serve(np.zeros((m + 1, 2), np.int64))
    with pytest.raises(ActionError, match="integer"):
        world.serve(np.zeros((m, 2)))
    with pytest.raises(ActionError, match=r"\[0, 1\)"):
        world.serve(np.zeros((m, 1), np.int64), discounts=np.full((m, 1), 1.0))
    world.serve(np.zeros((1, 1), np.int64), sessions=[0])
    with pytest.raises(ActionError, match="once"):
        world.serve(np.zeros((1, 1), np.int64), sessions=[0])


def test_sessions_config_keys_are_validated():
    with pytest.raises(ScenarioError, match="simulate_sessions"):
        load_scenario("steady", simulate_sessions="yes")
    with pytest.raises(ScenarioError, match="churn_threshold"):
        load_scenario("steady", churn_threshold=2.0)


@pytest.mark.parametrize("engine", ["numpy", "compiled"])
def test_negative_orders_are_refused_before_the_day_is_touched(engine):
    """A refused step leaves the world as it was: the same step with valid orders then gives the same day."""
    def fresh():
        world = World(_scenario(), 1, engine=engine)
        world.reset([3])
        return world

    world, twin = fresh(), fresh()
    n = world.catalog.n_skus
    bad = np.full((1, n), -1, np.int64)
    with pytest.raises(ValueError, match="non-negative"):
        world.step(Decisions(orders=bad))
    assert world.day == 0 and world.sessions_today().unserved().size == twin.sessions_today().unserved().size
    good = np.ones((1, n), np.int64)
    a, b = world.step(Decisions(orders=good)), twin.step(Decisions(orders=good))
    np.testing.assert_array_equal(a.sold, b.sold)
    np.testing.assert_array_equal(world.stock, twin.stock)
