"""The exact recommendation optimum: backward induction against a naive recursion, against simulation of the env,
against every baseline; the memory gap (myopic oracle optimal without memory, short of the optimum with it)."""

import math
from functools import cache

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401
from agents.recommend_exact import RecommendOptimal, exact_reason, solve
from agents.registry import PolicyError, default_policies, make_policy
from shopgym.config import load_scenario
from shopgym.plugins import build_world
from shopgym.rollout import rollout
from shopgym.world.memory import DRIFT_CAP
from shopgym.world.protocols import ImpressionBatch


def exact(**keys):
    return load_scenario("recommend-exact", slate_size=1, simulate_sessions=True, **keys)


def naive_value(scenario, n_max: int) -> float:
    """The optimal expected margin by plain recursion over (day, sessions left, satisfaction, churned, interest),
    written from the world's documented rules, sharing no code with ``solve`` but the world's response model."""
    s = scenario.shoppers
    world = build_world(scenario)
    cat = world.catalog
    n_items, n_cat = cat.n_skus, int(cat.category.max()) + 1
    margin = world.price_on(0)[0] - world.unit_cost

    def probs(day):
        batch = ImpressionBatch(shopper=np.zeros(n_items, np.int64), item=np.arange(n_items),
                                position=np.zeros(n_items, np.int64), seen=np.zeros(n_items, np.int64),
                                discount=np.zeros(n_items), in_stock=np.ones(n_items, bool),
                                day=np.full(n_items, day, np.int64))
        return world.response_model.probabilities(batch)

    table = [probs(t) for t in range(scenario.env.horizon)]

    @cache
    def day_value(t, sat, churned, interest):
        if t == scenario.env.horizon:
            return 0.0
        lam = 0.0 if churned else s.sessions_per_day * sat / 0.5
        total = 0.0
        for n in range(n_max + 1):
            p = math.exp(-lam) * lam**n / math.factorial(n) if lam > 0 else float(n == 0)
            total += p * sessions(t, n, sat, churned, interest)
        return total

    @cache
    def sessions(t, n, sat, churned, interest):
        if n == 0:
            return day_value(t + 1, sat, churned, interest)
        best = -1.0
        for i in range(n_items):
            c0, cart, buy = table[t][i]
            x = math.log(c0) - math.log1p(-c0) + interest[cat.category[i]]
            pc = 1.0 / (1.0 + math.exp(-x))
            pb = pc * cart * buy
            ign = round(max(sat - s.satisfaction_loss, 0.0), 9)
            got = round(min(sat + s.satisfaction_gain, 1.0), 9)
            up = list(interest)
            up[cat.category[i]] = min(up[cat.category[i]] + s.drift_rate, DRIFT_CAP)
            q = (pb * (margin[i] + sessions(t, n - 1, got, churned or got < s.churn_threshold, tuple(up)))
                 + (pc - pb) * sessions(t, n - 1, sat, churned, interest)
                 + (1 - pc) * sessions(t, n - 1, ign, churned or ign < s.churn_threshold, interest))
            best = max(best, q)
        return best

    return day_value(0, 0.5, False, (0.0,) * n_cat)


def test_backward_induction_matches_a_naive_recursion():
    scenario = exact(horizon=2, sessions_per_day=0.5)
    sol = solve(scenario)
    assert sol.value > 0
    assert sol.value == pytest.approx(naive_value(scenario, sol.n_max), rel=1e-9)


def test_the_optimal_policy_earns_the_value_in_simulation():
    env = gym.make("shopgym/Recommend-v0", scenario="recommend-exact", horizon=4)
    sol = solve(env.unwrapped.scenario)
    policy = make_policy("optimal", env)
    assert isinstance(policy, RecommendOptimal)
    r = np.array([rollout(env, policy, seed=s).episode_return for s in range(80)])
    se = r.std(ddof=1) / np.sqrt(len(r))
    # 4 standard errors: a correct solver fails this with probability ~6e-5 (fixed seeds: deterministic)
    assert abs(r.mean() - sol.value) < 4 * se


def test_optimal_beats_every_baseline_and_memory_makes_myopia_costly():
    sol = solve("recommend-exact")
    myopic, rand = sol.evaluate(sol.myopic_policy()), sol.evaluate(sol.random_policy())
    assert rand < myopic < 0.9 * sol.value  # the memory gap: the myopic oracle is at least 10% short
    plain = solve(exact(memory_satisfaction=False, memory_drift=False))
    assert plain.evaluate(plain.myopic_policy()) == pytest.approx(plain.value, rel=1e-12)  # no memory: myopic optimal
    assert plain.evaluate(plain.random_policy()) < plain.value
    # history-dependent baselines (bandits) cannot beat the optimum either: simulated means within noise below it
    env = gym.make("shopgym/Recommend-v0", scenario="recommend-exact", horizon=4)
    short = solve(env.unwrapped.scenario)
    for name in ("linucb", "thompson", "stock_aware_greedy"):
        r = np.array([rollout(env, make_policy(name, env), seed=s).episode_return for s in range(25)])
        assert r.mean() <= short.value + 3 * r.std(ddof=1) / np.sqrt(len(r)) + 1e-9, name


def test_only_exact_instances_are_solved():
    assert exact_reason(load_scenario("recommend", slate_size=1)).startswith("it has more than one shopper")
    assert "churn_threshold" in exact_reason(exact(churn_threshold=0.2))
    assert "fatigue" in exact_reason(exact(memory_fatigue=True))
    env = gym.make("shopgym/Recommend-v0", scenario="recommend", horizon=2)
    with pytest.raises(PolicyError, match="more than one shopper"):
        make_policy("optimal", env)
    assert "optimal" in default_policies(exact(), "recommend")
    assert "optimal" not in default_policies(load_scenario("recommend"), "recommend")
