"""The exact references agree with simulation, with an independent solver, and bound the heuristics."""

import functools

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401
from agents.exact import exact_reason, newsvendor_expected_profit, newsvendor_optimum, newsvendor_terms, solve
from agents.heuristics import OptimalPolicy
from agents.registry import make_policy
from scenarios.rollout import rollout
from shopgym.config import load_scenario
from shopgym.errors import ScenarioError
from shopgym.world.world import World


@pytest.mark.parametrize("q", [12, 19, 26])
def test_newsvendor_simulated_profit_matches_closed_form(q):
    sc = load_scenario("newsvendor")
    world = World(sc, n_worlds=16)
    world.reset(list(range(16)))
    daily = np.array([world.step(np.full((16, 1), q)).profit[:, 0] for _ in range(sc.env.horizon)])
    expected = newsvendor_expected_profit(q, sc.demand.base_rate, newsvendor_terms(sc))
    se = daily.std(ddof=1) / np.sqrt(daily.size)
    assert abs(daily.mean() - expected) < 4 * se, (daily.mean(), expected, se)


def test_newsvendor_optimum_is_the_best_order():
    sc = load_scenario("newsvendor")
    q_star, total = newsvendor_optimum(sc)
    terms = newsvendor_terms(sc)
    profits = [newsvendor_expected_profit(q, sc.demand.base_rate, terms) for q in range(0, 50)]
    assert int(np.argmax(profits)) == q_star
    assert total == pytest.approx(profits[q_star] * sc.env.horizon)


def _brute_force(sc) -> float:
    """Plain recursive dynamic programme, written independently of agents.exact, for tiny instances."""
    world = World(sc)
    cat, inv = world.catalog, sc.inventory
    C, L, T = inv.capacity, int(cat.lead_time[0]), sc.env.horizon
    p, c, h, k = float(cat.price[0]), float(cat.unit_cost[0]), float(cat.holding_cost[0]), float(cat.order_cost[0])
    g = inv.lost_sale_penalty
    mean = world.demand_model.expected(world.context(0))[0, 0]
    pmf = world.demand_model.pmf(mean, 60)

    @functools.cache
    def value(t, state):
        if t == T:
            return 0.0
        h0, pipe = state[0], state[1:]
        room = C - h0 - sum(pipe)
        best = -np.inf
        for q_try in range(0, sc.env.max_order + 1):
            q = min(q_try, room)
            arriving = q if L == 0 else pipe[0]
            y = h0 + arriving
            total = -c * q - k * (q > 0)
            for d, pd in enumerate(pmf):
                sold = min(y, d)
                left = y - sold
                nxt = (left,) if L == 0 else (left, *pipe[1:], q)
                total += pd * (p * sold - h * left - g * (d - sold) + value(t + 1, nxt))
            best = max(best, total)
        return best

    return value(0, (min(inv.initial_stock, C),) + (0,) * L)


@pytest.mark.parametrize("lead", [0, 1, 2])
def test_backward_induction_matches_an_independent_brute_force(lead):
    sc = load_scenario("quickstart", lead_time=lead, capacity=6, max_order=4, horizon=4, base_rate=2.0, initial_stock=2)
    assert solve(sc).value == pytest.approx(_brute_force(sc), rel=1e-9)


@pytest.mark.parametrize("lead", [0, 2])
def test_optimal_policy_simulates_to_its_value_and_bounds_heuristics(lead):
    sc = load_scenario("quickstart", lead_time=lead, horizon=60)
    env = gym.make("shopgym/Restock-v0", scenario=sc)
    optimal = OptimalPolicy(env.unwrapped.view)
    seeds = range(40)
    sim = np.array([rollout(env, optimal, s).profit for s in seeds])
    se = sim.std(ddof=1) / np.sqrt(len(sim))
    assert abs(sim.mean() - optimal.expected_profit) < 4 * se
    heuristic = make_policy("sS", env, params={"z": 0.5, "cover": 4.0})
    paired = np.array([rollout(env, heuristic, s).profit for s in seeds]) - sim
    # no heuristic beats the optimum by more than sampling error (same seeds: paired differences)
    assert paired.mean() < 3 * paired.std(ddof=1) / np.sqrt(len(paired)) + 1e-9


def test_non_exact_scenarios_are_refused_with_the_reason():
    assert exact_reason(load_scenario("quickstart")) is None
    assert "more than one SKU" in exact_reason(load_scenario("steady"))
    with pytest.raises(ScenarioError, match="no exact reference"):
        solve("seasonal")
