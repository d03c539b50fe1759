"""``shopgym.rollout``: the one episode loop, used by the benchmark, our DQN's evaluation and ``shopgym evaluate``."""

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401  (registers the envs)
from agents.dqn.evaluation import evaluate
from agents.registry import make_policy
from shopgym.rollout import TRAJECTORY_KEYS, ActPolicy, rollout


def test_a_restock_episode_returns_its_profit_length_kpis_and_trajectory():
    env = gym.make("shopgym/Restock-v0", scenario="steady", horizon=20)
    ep = rollout(env, make_policy("critical_fractile", env), seed=5, record=True)
    assert ep.seed == 5 and ep.length == 20
    assert ep.profit == ep.kpis["profit"] == pytest.approx(ep.episode_return)  # reward_scale 1: reward = profit
    n_skus = env.unwrapped.world.catalog.n_skus
    assert list(ep.trajectory.columns) == ["day", "sku", *TRAJECTORY_KEYS] and len(ep.trajectory) == 20 * n_skus
    assert ep.trajectory["lost"].sum() == pytest.approx(ep.kpis["lost_units"])
    again = rollout(env, make_policy("critical_fractile", env), seed=5)
    assert again.episode_return == ep.episode_return and again.trajectory is None  # same seed, same episode


def test_a_scaled_reward_is_the_return_and_profit_stays_in_currency():
    env = gym.make("shopgym/Restock-v0", scenario="quickstart", horizon=15, reward_scale=0.1)
    ep = rollout(env, ActPolicy(lambda obs: 2), seed=0)
    assert ep.episode_return == pytest.approx(0.1 * ep.profit)


def test_dqn_evaluation_is_the_same_loop_and_stops_at_max_steps():
    env = gym.make("CartPole-v1")
    act = lambda obs: int(obs[2] > 0)  # noqa: E731  (push towards the side the pole leans to)
    res = evaluate(act, env, [0, 1, 2])
    eps = [rollout(env, ActPolicy(act), s) for s in (0, 1, 2)]
    np.testing.assert_array_equal(res.returns, [e.episode_return for e in eps])
    np.testing.assert_array_equal(res.lengths, [e.length for e in eps])
    assert (res.returns == res.lengths).all() and res.lengths.min() > 10  # CartPole pays 1 per step
    assert eps[0].kpis == {} and np.isnan(eps[0].profit)  # CartPole reports no KPIs
    short = evaluate(act, env, [0], max_steps=7)
    assert short.lengths.tolist() == [7] and short.returns.tolist() == [7.0]
