"""The compiled session path (``shopgym.world.session_kernel``) against the numpy reference (``SessionPhase.serve``)."""

import numpy as np
import pytest

from shopgym.config import load_scenario
from shopgym.world import session_kernel
from shopgym.world.sessions import Decisions
from shopgym.world.world import World

pytestmark = pytest.mark.skipif(not session_kernel.COMPILED, reason="numba is not installed (or SHOPGYM_ENGINE=numpy)")

#: The outcome fields compared exactly (probabilities are not part of the outcome).
FIELDS = ("session", "world", "shopper", "position", "item", "discount", "click", "cart", "purchase", "in_stock",
          "stockout_hit", "revenue", "margin", "sessions", "session_revenue", "session_margin", "sold", "coupon",
          "coupon_spend")
MEMORY = ("visits", "clicks", "purchases", "last_visit", "last_category", "satisfaction", "churned", "interest",
          "seen", "taste_sum")

CASES = {
    "recommend": {},
    "recommend-memory": {},
    "offers": {"coupons": True, "coupon_budget": 30.0, "complements": True, "complement_lift": 1.5,
               "memory_satisfaction": True},
}


def _worlds(name, keys, n_worlds):
    scenario = load_scenario("recommend" if name == "offers" else name, horizon=12, sessions_per_day=25.0,
                             n_shoppers=40, initial_stock=3, base_ctr=0.4, base_cart_rate=0.4, base_purchase_rate=0.6,
                             **keys)  # high rates: many purchases, so stock runs out and allocation is exercised
    return {e: World(scenario, n_worlds, engine=e) for e in ("compiled", "numpy")}


def _same_state(a: World, b: World):
    np.testing.assert_array_equal(a.stock, b.stock)
    np.testing.assert_array_equal(a.coupon_left, b.coupon_left)
    sa, sb = a.shopper_state, b.shopper_state
    for name in MEMORY:
        x, y = getattr(sa, name), getattr(sb, name)
        if x is None or y is None:
            assert x is None and y is None
        else:
            np.testing.assert_array_equal(x, y, err_msg=name)
    np.testing.assert_array_equal(a._phase.last_purchase, b._phase.last_purchase)
    np.testing.assert_array_equal(a._phase.day_sums, b._phase.day_sums)
    np.testing.assert_array_equal(a._phase.day_revenue, b._phase.day_revenue)


@pytest.mark.parametrize("n_worlds,per_session", [(1, True), (3, False), (2, True)])
@pytest.mark.parametrize("name", list(CASES))
def test_compiled_sessions_equal_the_numpy_reference(name, n_worlds, per_session):
    worlds = _worlds(name, CASES[name], n_worlds)
    assert worlds["compiled"]._phase.compiled and not worlds["numpy"]._phase.compiled
    for w in worlds.values():
        w.reset([7 + i for i in range(n_worlds)])
    n = worlds["numpy"].catalog.n_skus
    rng = np.random.default_rng(n_worlds)
    served = purchases = stockouts = 0
    for _ in range(worlds["numpy"].horizon):
        today = worlds["numpy"].sessions_today()
        np.testing.assert_array_equal(today.shopper, worlds["compiled"].sessions_today().shopper)
        slates = rng.integers(-1, n, size=(len(today), 3))  # -1: an empty slot
        discounts = rng.choice([0.0, 0.1, 0.3], size=slates.shape)
        groups = [[k] for k in range(len(today))] if per_session else [list(range(len(today)))]
        for rows in groups:  # one session per call (the env), or the whole day in one batch
            outs = {e: w.serve(slates[rows], discounts[rows], rows) for e, w in worlds.items()}
            for field in FIELDS:
                x, y = getattr(outs["compiled"], field), getattr(outs["numpy"], field)
                if y is None:
                    assert x is None, field
                else:
                    np.testing.assert_array_equal(x, y, err_msg=field)
            served += len(outs["numpy"].item)
            purchases += int(outs["numpy"].purchase.sum())
            stockouts += int(outs["numpy"].stockout_hit.sum())
            _same_state(worlds["compiled"], worlds["numpy"])
        orders = rng.integers(0, 4, size=(n_worlds, n))
        a, b = (worlds[e].step(Decisions(orders=orders)) for e in ("compiled", "numpy"))
        np.testing.assert_array_equal(a.q, b.q)
        np.testing.assert_array_equal(a.m, b.m)
    assert served > 100 and purchases > 5 and stockouts > 0  # the comparison covered traffic, sales and stock-outs
    np.testing.assert_array_equal(worlds["compiled"].kpis.session_acc, worlds["numpy"].kpis.session_acc)


def test_bundles_fall_back_to_the_numpy_path_with_the_same_outcomes():
    worlds = _worlds("offers", {"bundles": True}, 1)
    for w in worlds.values():
        w.reset([3])
    today = worlds["numpy"].sessions_today()
    worlds["compiled"].sessions_today()
    slates = np.tile(np.arange(3), (len(today), 1))
    bundles = np.zeros(slates.shape, dtype=bool)
    bundles[:, 0] = True
    outs = {e: w.serve(slates, None, None, bundles) for e, w in worlds.items()}
    assert outs["compiled"].complement is not None and outs["compiled"].complement.any()
    for field in FIELDS:
        x, y = getattr(outs["compiled"], field), getattr(outs["numpy"], field)
        assert (x is None and y is None) or np.array_equal(x, y), field
