"""The compiled Ads-v0 step (shopgym/envs/ads_fast.py) against the reference path: the same trajectories, logs,
world states and generator states; bad actions refused before any change; mixing with reference ticks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import shopgym  # noqa: F401  (registers the envs)
from shopgym.envs.ads import AdsEnv
from shopgym.envs.ads_fast import step_kernel
from shopgym.envs.ads_vector import AdsVectorEnv
from shopgym.errors import ActionError

pytestmark = pytest.mark.skipif(step_kernel is None, reason="the compiled step needs numba")

#: Small but not trivial: ~200 opportunities a tick, episodes of 12 steps.
SMALL = dict(horizon=2, ticks_per_day=6, opportunities_per_day=1200.0)
CASES = [
    ("ads-steady", {}),
    ("ads-competitive", {}),
    ("ads-budget-cut", {}),
    ("ads-stockout", {}),
    ("ads-steady", {"auction": "first", "reserve_price": 0.05}),
    ("ads-steady", {"continuous": True}),
    ("ads-steady", {"campaigns": "sku"}),  # 12 campaigns: numpy's 8-way partial sums in the reward and infos
    ("ads-steady", {"campaigns": "catalog"}),  # one campaign: a Discrete action
]


def make(scenario, fast, **keys):
    env = AdsEnv(scenario, **SMALL, **keys)
    if not fast:
        env.fast = None
    return env


def actions_for(env, seed, n):
    rng = np.random.default_rng(seed)
    view = env.view
    if view.continuous:
        return [rng.uniform(0, view.max_multiplier, view.n_campaigns).astype(np.float32) for _ in range(n)]
    if view.n_campaigns == 1:
        return [int(rng.integers(view.levels)) for _ in range(n)]
    return [rng.integers(0, view.levels, view.n_campaigns) for _ in range(n)]


def same(a, b) -> bool:
    """Equal, NaN equal to NaN (the shop's KPIs hold NaN where undefined), same Python types."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return type(a) is type(b) and a == b


def trajectory(env, seed, actions):
    rows = [env.reset(seed=seed)]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        rows.append((obs, reward, terminated, truncated, info))
        if terminated:
            rows.append(env.reset())
    return rows


def world_state(env) -> dict:
    w = env.world
    st = w.ads_state
    return {"stock": w.stock.copy(), "budget": st.budget, "spend": st.spend, "tick": np.array(st.tick),
            "totals": w.ads_totals(), "day": np.array(w.day), "kpi_acc": w.kpis.acc.copy(),
            **{f"log_{k}": v for k, v in w.opportunity_log().items()}}


def test_the_fast_path_is_on_by_default_and_off_with_a_renderer():
    assert make("ads-steady", True).fast is not None
    assert AdsEnv("ads-steady", **SMALL, render_mode="ansi").fast is None


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("scenario, keys", CASES)
def test_fast_steps_give_the_reference_trajectory_log_and_world_state(scenario, keys, seed):
    fast, ref = make(scenario, True, **keys), make(scenario, False, **keys)
    actions = actions_for(fast, seed, 30)  # two episode ends and a half-run third episode
    a, b = trajectory(fast, seed, actions), trajectory(ref, seed, actions)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x, y, strict=True):
            assert same(u, v) if not isinstance(u, np.ndarray) else (u.dtype == v.dtype and np.array_equal(u, v))
    sa, sb = world_state(fast), world_state(ref)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert same(sa[k], sb[k]), k
    assert len(sa["log_day"]) > 1000
    # the last outcome record, built when read, is the reference's
    la, lb = fast.world.last_ad_tick, ref.world.last_ad_tick
    for field in la.__dataclass_fields__:
        u, v = getattr(la, field), getattr(lb, field)
        assert u.dtype == v.dtype and np.array_equal(u, v), field


def test_generators_are_where_the_reference_leaves_them_at_every_day_close():
    fast, ref = make("ads-steady", True), make("ads-steady", False)
    actions = actions_for(fast, 3, SMALL["ticks_per_day"])
    for env in (fast, ref):
        env.reset(seed=3)
        for a in actions:
            env.step(a)
    state_a = fast.world.rngs["auctions"][0].bit_generator.state
    assert state_a == ref.world.rngs["auctions"][0].bit_generator.state
    assert fast.world.rngs["auctions"][0].random() == ref.world.rngs["auctions"][0].random()


def test_reference_ticks_in_between_hand_over_and_back():
    """A tick run by World.ads_tick mid-day (e.g. by a policy's own look-ahead) detaches the fast path; the next
    env step takes over again, and everything matches an env that never used it."""
    fast, ref = make("ads-competitive", True), make("ads-competitive", False)
    actions = actions_for(fast, 5, 20)
    rows = []
    for env in (fast, ref):
        out = [env.reset(seed=5)]
        for i, a in enumerate(actions):
            if i in (2, 3, 8):
                env.world.ads_tick(np.full((1, env.view.n_campaigns), 0.7))
                if env is fast:
                    assert env.fast.phase.fast is None  # handed over
            out.append(env.step(a))
            if env is fast:
                assert env.fast.phase.fast is env.fast  # took over again at this step
            if out[-1][2]:
                out.append(env.reset())
        rows.append(out)
    for x, y in zip(*rows, strict=True):
        for u, v in zip(x, y, strict=True):
            assert same(u, v) if not isinstance(u, np.ndarray) else np.array_equal(u, v)
    sa, sb = world_state(fast), world_state(ref)
    for k in sa:
        assert same(sa[k], sb[k]), k


def test_a_day_ended_by_reference_ticks_is_refused_as_on_the_reference_path():
    for fast in (True, False):
        env = make("ads-steady", fast)
        env.reset(seed=0)
        while env.world.ads_state.ticks_left:
            env.world.ads_tick(np.zeros((1, env.view.n_campaigns)))
        with pytest.raises(RuntimeError, match="every tick of today has run"):
            env.step(actions_for(env, 0, 1)[0])


@pytest.mark.parametrize("continuous, bad", [
    (False, np.array([-1, 0, 0, 0])), (False, np.array([0, 0, 99, 0])), (False, np.array([0.5, 0, 0, 0])),
    (False, np.array([0, 0, 0])), (False, np.array(["a", "b", "c", "d"])),
    (True, np.array([np.nan, 0, 0, 0], np.float32)), (True, np.array([-0.1, 0, 0, 0], np.float32)),
    (True, np.array([1e6, 0, 0, 0], np.float32)), (True, np.zeros((2, 4), np.float32)),
])
def test_bad_actions_raise_before_any_state_changes(continuous, bad):
    env = make("ads-steady", True, continuous=continuous)
    env.reset(seed=1)
    good = actions_for(env, 1, 3)
    for a in good:
        env.step(a)
    before = world_state(env)
    rng_before = env.fast.rng.copy()
    with pytest.raises(ActionError):
        env.step(bad)
    after = world_state(env)
    for k in before:
        assert same(before[k], after[k]), k
    assert np.array_equal(env.fast.rng, rng_before)
    ref = make("ads-steady", False, continuous=continuous)  # and the episode goes on as if nothing happened
    ref.reset(seed=1)
    for a in good:
        ref.step(a)
    nxt = actions_for(env, 2, 1)[0]
    x, y = env.step(nxt), ref.step(nxt)
    assert np.array_equal(x[0], y[0]) and x[1] == y[1] and same(x[4], y[4])


@pytest.mark.parametrize("keys", [{}, {"continuous": True}])
def test_vector_env_fast_equals_its_reference_and_the_single_envs(keys):
    n, seed = 3, 11
    fast, ref = AdsVectorEnv(n, "ads-budget-cut", **SMALL, **keys), AdsVectorEnv(n, "ads-budget-cut", **SMALL, **keys)
    ref.fast = None
    assert fast.fast is not None
    single = make("ads-budget-cut", True, **keys)
    per_env = [actions_for(single, seed + k, 26) for k in range(n)]
    batches = [np.stack([per_env[k][i] for k in range(n)]) for i in range(26)]
    oa, _ = fast.reset(seed=seed)
    ob, _ = ref.reset(seed=seed)
    assert np.array_equal(oa, ob)
    singles = [[] for _ in range(n)]
    for k in range(n):
        env = make("ads-budget-cut", True, **keys)
        singles[k].append(env.reset(seed=seed + k)[0])
        for i in range(12):
            singles[k].append(env.step(per_env[k][i])[:2])
    for i, acts in enumerate(batches):
        xa, xb = fast.step(acts), ref.step(acts)
        assert np.array_equal(xa[0], xb[0]) and np.array_equal(xa[1], xb[1]) and np.array_equal(xa[2], xb[2])
        assert xa[4].keys() == xb[4].keys()
        for key in xa[4]:
            assert same(xa[4][key], xb[4][key]), key
        if i < 12:
            for k in range(n):
                assert np.array_equal(xa[0][k], singles[k][i + 1][0]) and xa[1][k] == singles[k][i + 1][1]
    la, lb = fast.world.opportunity_log(), ref.world.opportunity_log()
    for key in la:
        assert la[key].dtype == lb[key].dtype and np.array_equal(la[key], lb[key]), key


@pytest.mark.parametrize("scenario, keys", [("ads-stockout", {}), ("ads-budget-cut", {"auction": "first", "reserve_price": 0.02})])
def test_fast_ticks_keep_the_auction_budget_funnel_and_stock_invariants(scenario, keys):
    env = make(scenario, True, **keys)
    env.reset(seed=4)
    reserve, first = env.scenario.ads.reserve_price, env.scenario.ads.auction == "first"
    units = env.world.on_hand.sum()
    spent = np.zeros(env.view.n_campaigns)
    for a in actions_for(env, 4, 2 * SMALL["ticks_per_day"]):
        day = env.world.day
        _, _, terminated, _, info = env.step(a)
        tick = env.world.last_ad_tick
        won = tick.won
        spent += tick.spend[0]
        assert (spent <= env.world.ads_phase.budget_on(day)).all()  # never over today's budget
        if env.world.day > day:
            spent[:] = 0.0
        assert (tick.price[won] <= tick.bid[won] + 1e-12).all() and (tick.price[~won] == 0).all()
        expected = tick.bid[won] if first else np.maximum(tick.competing[won], reserve)
        assert np.array_equal(tick.price[won], expected)
        assert (tick.purchase <= tick.cart).all() and (tick.cart <= tick.click).all() and (tick.click <= won).all()
        assert (tick.purchase <= tick.in_stock).all()
        assert tick.sold.sum() == tick.purchase.sum() == info["purchases"]
        assert (env.world.stock >= 0).all()
        if env.world.day == day:  # within a day only ad purchases move the stock
            assert env.world.on_hand.sum() == units - tick.sold.sum()
        units = env.world.on_hand.sum()
        if terminated:
            break


@pytest.mark.parametrize("fast", [True, False])
def test_an_empty_opportunity_log_has_the_columns_dtypes(fast):
    """No opportunity yet (none arrive): the log's columns still have their types, so ``log["won"]`` is a mask."""
    env = AdsEnv("ads-steady", **{**SMALL, "opportunities_per_day": 0.0})
    if not fast:
        env.fast = None
    env.reset(seed=0)
    log = env.unwrapped.world.opportunity_log()
    env.step(env.action_space.sample())
    after = env.unwrapped.world.opportunity_log()
    for cols in (log, after):
        assert len(cols["won"]) == 0 and cols["won"].dtype == bool
        assert cols["day"].dtype == cols["world"].dtype == np.int64 and cols["price"].dtype == np.float64
        assert cols["price"][cols["won"]].shape == (0,)
