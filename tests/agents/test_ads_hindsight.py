"""The hindsight bound of Ads-v0: the LP is solved exactly and bounds what policies get."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest
from scipy.optimize import linprog

import shopgym  # noqa: F401  (registers the envs)
from agents.ads_hindsight import hindsight_bound, hindsight_budgets, knapsack_lp


def random_instance(rng, n, groups):
    value = rng.exponential(1.0, n)
    price = rng.exponential(0.8, n) * (rng.random(n) > 0.1)  # some free impressions
    group = rng.integers(0, groups, n)
    budget = rng.uniform(0.0, 2.0, groups)
    return value, price, group, budget


@pytest.mark.parametrize("seed", range(12))
def test_the_greedy_solves_the_lp_and_brackets_the_integer_knapsack(seed):
    rng = np.random.default_rng(seed)
    groups = 2
    value, price, group, budget = random_instance(rng, 9, groups)
    x = knapsack_lp(value, price, group, budget)
    assert ((x >= 0) & (x <= 1)).all()
    for g in range(groups):
        assert price[group == g] @ x[group == g] <= budget[g] + 1e-9
    gain = value - price
    lp = gain @ x
    a_ub = np.zeros((groups, len(value)))
    a_ub[group, np.arange(len(value))] = price
    res = linprog(-gain, A_ub=a_ub, b_ub=budget, bounds=[(0, 1)] * len(value), method="highs")
    assert res.status == 0
    assert lp == pytest.approx(-res.fun, rel=1e-9, abs=1e-12)
    best = max(gain @ np.array(s) for s in itertools.product([0, 1], repeat=len(value))
               if all(price[group == g] @ np.array(s)[group == g] <= budget[g] for g in range(groups)))
    assert best <= lp + 1e-12  # the relaxation bounds every 0/1 choice
    assert lp <= best + gain.clip(0).max() * groups + 1e-12  # and is within one fractional item per knapsack


def test_items_that_lose_money_are_never_taken_and_free_ones_always_are():
    x = knapsack_lp(np.array([1.0, 0.5, 2.0]), np.array([2.0, 0.0, 1.0]), np.zeros(3, np.int64), np.array([0.0]))
    np.testing.assert_array_equal(x, [0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match=">= 0"):
        knapsack_lp(np.ones(1), -np.ones(1), np.zeros(1, np.int64), np.ones(1))


def test_the_bound_is_above_what_every_policy_gets_in_expectation_on_every_seed():
    """The expected reward of a run given its wins, sum over won impressions of (value - price paid), is at most the
    bound on every seed (the realised reward is that plus purchase noise, so it is compared on average only)."""
    keys = dict(horizon=2, ticks_per_day=6, opportunities_per_day=900.0)
    env = gym.make("shopgym/Ads-v0", scenario="ads-steady", continuous=True, **keys)
    world = env.unwrapped.world
    realised, bounds = [], []
    for lam in (0.5, 1.0, 2.0):
        for seed in range(3):
            env.reset(seed=seed)
            total, done = 0.0, False
            while not done:
                _, r, done, _, _ = env.step(np.full(env.action_space.shape, lam, np.float32))
                total += r
            log = world.opportunity_log()
            bound = hindsight_bound(log, hindsight_budgets(world))
            expected = float(np.sum(np.where(log["won"], log["value"] - log["price"], 0.0)))
            assert expected <= bound + 1e-9, (lam, seed, expected, bound)
            assert bound <= hindsight_bound(log, hindsight_budgets(world) * 2)  # more budget, never less
            realised.append(total)
            bounds.append(bound)
    assert min(bounds) > 0 and max(realised) != min(realised)
    with pytest.raises(ValueError, match="budgets"):
        hindsight_bound(world.opportunity_log(), np.ones((1, 1)))
