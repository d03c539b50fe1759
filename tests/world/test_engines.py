"""The compiled day step (numba) against the vectorised numpy reference, and the demand fast paths."""

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shopgym.config import load_scenario
from shopgym.envs.restock_view import RestockView
from shopgym.world import kernel
from shopgym.world.demand import BLOCK_DAYS
from shopgym.world.world import World
from tests.world.test_invariants import scenario_overrides

pytestmark = pytest.mark.skipif(not kernel.COMPILED, reason="numba is not installed (or SHOPGYM_ENGINE=numpy)")


@settings(max_examples=40, deadline=None)
@given(overrides=scenario_overrides, seed=st.integers(0, 2**31), n_worlds=st.integers(1, 3))
def test_compiled_and_numpy_engines_give_identical_days(overrides, seed, n_worlds):
    cap = overrides["capacity"]
    assume(not cap or overrides["initial_stock"] * overrides["n_skus"] <= cap)
    scenario = load_scenario("steady", **overrides)
    worlds = {e: World(scenario, n_worlds=n_worlds, engine=e) for e in ("compiled", "numpy")}
    views = {e: RestockView(w) for e, w in worlds.items()}
    for w in worlds.values():
        w.reset([seed + i for i in range(n_worlds)])
    rng = np.random.default_rng(seed)
    for _ in range(scenario.env.horizon):
        orders = rng.integers(0, 12, size=(n_worlds, scenario.catalog.n_skus))
        a, b = (worlds[e].step(orders) for e in ("compiled", "numpy"))
        np.testing.assert_array_equal(a.q, b.q)  # every unit flow, exactly
        np.testing.assert_array_equal(a.m, b.m)  # every price and cost, exactly
        np.testing.assert_allclose(worlds["compiled"].kpis.last, worlds["numpy"].kpis.last, rtol=1e-12, atol=1e-9)
        for name in ("stock", "pipeline", "backlog"):
            np.testing.assert_array_equal(getattr(worlds["compiled"], name), getattr(worlds["numpy"], name))
        np.testing.assert_array_equal(views["compiled"].observe(), views["numpy"].observe())
    np.testing.assert_allclose(worlds["compiled"].kpis.acc, worlds["numpy"].kpis.acc, rtol=1e-12, atol=1e-9)
    episode = {e: w.kpis.summary() for e, w in worlds.items()}
    for name, value in episode["compiled"].items():
        np.testing.assert_allclose(value, episode["numpy"][name], rtol=1e-12, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("name", ["quickstart", "seasonal", "supply-shock", "perishable"])
@pytest.mark.parametrize("forecast_in_obs", [True, False])
def test_compiled_observation_equals_numpy_observation(name, forecast_in_obs):
    world = World(load_scenario(name, forecast_in_obs=forecast_in_obs, horizon=60), n_worlds=2)
    world.reset([5, 6])
    view = RestockView(world)
    rng = np.random.default_rng(0)
    for _ in range(world.horizon):
        np.testing.assert_array_equal(view.observe(), view.observe_numpy())
        world.step(rng.integers(0, 20, size=(2, world.catalog.n_skus)))
    np.testing.assert_array_equal(view.observe(), view.observe_numpy())  # the final observation too


@pytest.mark.parametrize("name", ["quickstart", "seasonal"])
def test_demand_drawn_in_blocks_equals_demand_drawn_day_by_day(name):
    scenario = load_scenario(name, horizon=2 * BLOCK_DAYS + 5)
    world = World(scenario, n_worlds=2)
    world.reset([1, 2])
    model, rngs = world.demand_model, world.rngs["demand"]
    reference = World(scenario, n_worlds=2)
    reference.reset([1, 2])
    model.reset(2)
    for day in range(scenario.env.horizon):
        ctx = reference.context(day)
        expected, demand = world._todays_demand()
        np.testing.assert_array_equal(demand, model.sample(ctx, reference.rngs["demand"]))
        np.testing.assert_array_equal(expected, model.expected(ctx))
        world.day += 1  # advance the block cursor without simulating
    assert rngs is world.rngs["demand"]


def test_negative_orders_are_refused_before_anything_changes():
    world = World(load_scenario("seasonal"))
    world.reset([0])
    stock = world.stock.copy()
    orders = np.zeros((1, 10), dtype=np.int64)
    orders[0, 3] = -1
    with pytest.raises(ValueError, match="non-negative"):
        world.step(orders)
    np.testing.assert_array_equal(world.stock, stock)
    assert world.day == 0


def test_unknown_engine_is_an_error():
    with pytest.raises(ValueError, match="engine"):
        World(load_scenario("quickstart"), engine="fortran")


def test_code_outside_the_world_core_reads_only_its_public_state():
    root = Path(__file__).resolve().parents[2]
    private = re.compile(r"\b(?:world|w)\._[a-z]\w*")
    found = [f"{path.relative_to(root)}: {m.group()}"
             for folder in ("shopgym/envs", "shopgym/cli", "agents", "scenarios", "benchmarks", "forecasters")
             for path in sorted((root / folder).rglob("*.py")) for m in private.finditer(path.read_text())]
    assert found == [], "private World attributes read outside shopgym/world; add a documented property instead"
