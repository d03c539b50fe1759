"""``scenarios.optimality.pct_of_optimum``: percent of a known optimum from paired episodes."""

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401  (registers the envs)
from agents.exact import solve
from agents.registry import make_policy
from scenarios.optimality import pct_of_optimum
from shopgym.config import load_scenario
from shopgym.rollout import rollout


def test_unbiased_where_the_optimum_is_known_and_tighter_than_the_plain_ratio():
    # synthetic episodes: optimal profit O with E[O] = 1000 exactly; the policy loses 5% of it plus a little noise
    rng = np.random.default_rng(0)
    estimates, plain = [], []
    for _ in range(400):
        o = 1000.0 + 150.0 * rng.standard_normal(10)
        p = 0.95 * o + 5.0 * rng.standard_normal(10)
        estimates.append(pct_of_optimum(p, o, 1000.0)[0])
        plain.append(100 * p.mean() / 1000.0)
    assert abs(np.mean(estimates) - 95.0) < 0.1  # no bias
    assert np.std(estimates) < np.std(plain) / 3  # the shared luck cancels


def test_the_optimal_policy_scores_exactly_100_and_a_heuristic_less_on_quickstart():
    scenario = load_scenario("quickstart", horizon=30)  # a month: the exact solve takes a second, not seven
    env = gym.make("shopgym/Restock-v0", scenario=scenario)
    reference = solve(scenario).value
    seeds = range(4)
    opt_policy, heur = make_policy("optimal", env), make_policy("critical_fractile", env)
    o = [rollout(env, opt_policy, s).profit for s in seeds]
    h = [rollout(env, heur, s).profit for s in seeds]
    assert pct_of_optimum(o, o, reference) == (100.0, 0.0)
    est, half = pct_of_optimum(h, o, reference)
    assert est + half < 95.0  # the myopic heuristic pays the fixed cost nearly every day


@pytest.mark.parametrize("profit, optimal, reference, match", [
    ([1.0, 2.0], [1.0], 10.0, "equally long"),
    ([], [], 10.0, "equally long"),
    ([1.0, 2.0], [1.0, 2.0], 0.0, "positive"),
    ([1.0, 2.0], [1.0, 2.0], float("nan"), "positive"),
    ([1.0, float("nan")], [1.0, 2.0], 10.0, "same seeds"),  # a seed missing for one policy
])
def test_bad_input_is_refused_with_the_reason(profit, optimal, reference, match):
    with pytest.raises(ValueError, match=match):
        pct_of_optimum(profit, optimal, reference)
