"""shopgym/Recommend-v0: env checkers, determinism, spaces, bad actions, episode KPIs."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import shopgym  # noqa: F401
from shopgym.errors import ActionError, ScenarioError

SMALL = {"scenario": "recommend", "horizon": 4, "sessions_per_day": 8.0}


@pytest.mark.parametrize("slate_size", [1, 3])
def test_gymnasium_and_sb3_checkers_pass(slate_size):
    env = gym.make("shopgym/Recommend-v0", slate_size=slate_size, **SMALL)
    check_env(env.unwrapped)
    sb3 = pytest.importorskip("stable_baselines3.common.env_checker")
    sb3.check_env(gym.make("shopgym/Recommend-v0", slate_size=slate_size, **SMALL).unwrapped, warn=True)


def _trajectory(seed, slate_size=1, **keys):
    env = gym.make("shopgym/Recommend-v0", slate_size=slate_size, **{**SMALL, **keys})
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    rows, done = [obs], False
    while not done:
        obs, reward, done, truncated, info = env.step(env.action_space.sample())
        rows.append(np.append(obs, [reward, info["clicks"], info["purchases"]]))
        assert not truncated
    return rows, info


def test_same_seed_same_trajectory():
    a, info_a = _trajectory(3, memory_satisfaction=True, memory_fatigue=True, memory_drift=True)
    b, info_b = _trajectory(3, memory_satisfaction=True, memory_fatigue=True, memory_drift=True)
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert info_a["episode_kpis"] == info_b["episode_kpis"]
    c, _ = _trajectory(4)
    assert len(c) != len(a) or any(not np.array_equal(x, y) for x, y in zip(a, c, strict=False))


def test_spaces_observation_and_episode_kpis():
    env = gym.make("shopgym/Recommend-v0", slate_size=2, **SMALL)
    base = env.unwrapped
    assert env.action_space == gym.spaces.MultiDiscrete([10, 10])
    obs, _ = env.reset(seed=0)
    f = base.view.parse(obs)
    assert f["log_price"].shape == (10,) and not any(k.startswith("u_") for k in f)  # no preference vector
    assert len(set(base.candidate_items)) == 10
    steps, total, done = 0, 0.0, False
    while not done:
        obs, reward, done, _, info = env.step(np.array([0, 0]))  # a repeat is shown once
        total += reward
        steps += 1
        assert obs in env.observation_space and info["purchases"] <= info["clicks"]
    k = info["episode_kpis"]
    assert k["sessions"] == steps and k["impressions"] == steps  # one item per session: the repeat was dropped
    assert k["purchases"] <= k["carts"] <= k["clicks"] <= k["impressions"]
    assert total == pytest.approx(k["recommendation_margin"])
    assert 0 <= k["ctr"] <= 1 and 0 < info["coverage"] <= 1
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.array([0, 1]))


@pytest.mark.parametrize("action", [10, -1, np.array([0, 1]), 1.5])
def test_bad_actions_are_refused(action):
    env = gym.make("shopgym/Recommend-v0", **SMALL)
    env.reset(seed=0)
    with pytest.raises(ActionError, match=r"candidate position in \[0, K-1\].*K = 10"):
        env.step(action)


def test_bad_keys_and_arguments_name_the_fix():
    with pytest.raises(ScenarioError, match="sessions_per_day"):
        gym.make("shopgym/Recommend-v0", scenario="recommend", sessions_per_day=0.0)
    with pytest.raises(ScenarioError, match="Did you mean 'candidates'"):
        gym.make("shopgym/Recommend-v0", scenario="recommend", candidate=5)
    with pytest.raises(ScenarioError, match="restock_policy"):
        gym.make("shopgym/Recommend-v0", scenario="recommend", restock_policy="magic")
    with pytest.raises(ValueError, match="slate_size"):
        gym.make("shopgym/Recommend-v0", scenario="recommend", slate_size=11)


def test_recommendation_sales_drain_the_restockers_shelves():
    """Restocking 'none' and no organic demand: stock only falls by what recommendations sell."""
    env = gym.make("shopgym/Recommend-v0", scenario="recommend", horizon=6, base_rate=0.0, restock_policy="none",
                   initial_stock=2, base_ctr=0.9, base_cart_rate=0.9, base_purchase_rate=0.9)
    env.reset(seed=1)
    world = env.unwrapped.world
    start = world.on_hand.sum()
    done, bought = False, 0
    while not done:
        _, _, done, _, info = env.step(0)
        bought += info["purchases"]
    assert bought > 0 and world.on_hand.sum() == start - bought >= 0
    assert info["episode_kpis"]["revenue"] == pytest.approx(info["episode_kpis"]["recommendation_revenue"])
