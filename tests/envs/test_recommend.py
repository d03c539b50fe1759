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
    env = gym.make("shopgym/Recommend-v0", scenario="recommend", horizon=6, sessions_per_day=20.0, base_rate=0.0, restock_policy="none",
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


def test_taste_is_the_mean_embedding_of_the_shoppers_clicked_items():
    # few shoppers: they come back; the pre-calibration click rate, so that 60 sessions hold clicks; no pre-episode
    # record (tests/world/test_history.py checks the taste with one)
    env = gym.make("shopgym/Recommend-v0", **{**SMALL, "n_shoppers": 5, "base_ctr": 0.15, "history_clicks": 0.0})
    base = env.unwrapped
    obs, _ = env.reset(seed=1)
    dim = base.world.catalog.features.shape[1]
    clicked: dict[int, list[int]] = {}
    seen_taste = False
    for _ in range(60):
        shopper = base.current_shopper
        f = base.view.parse(obs)
        assert f["taste"].shape == (dim,) and not any(k.startswith("taste_") for k in f)
        items = clicked.get(shopper, [])
        want = base.world.catalog.features[items].mean(0) if items else np.zeros(dim)
        np.testing.assert_allclose(f["taste"], want, rtol=1e-6, atol=1e-6)  # float32 observation
        seen_taste |= bool(items)
        obs, _, done, _, _ = env.step(0)
        out = base.last_outcome
        clicked.setdefault(shopper, []).extend(out.item[out.click].tolist())
        if done:
            break
    assert seen_taste  # some shopper came back after a click, so the check above compared a non-zero taste
    env.reset(seed=1)
    assert not base.world.shopper_state.taste_sum.any()  # a new episode forgets the clicks


@pytest.mark.parametrize("keys", [{}, {"coupons": True, "memory_drift": True, "memory_satisfaction": True}])
def test_compiled_candidates_and_observation_equal_the_numpy_ones(keys):
    from shopgym.envs import recommend_obs

    if not recommend_obs.COMPILED:
        pytest.skip("numba is not installed (or SHOPGYM_ENGINE=numpy)")
    env = gym.make("shopgym/Recommend-v0", **{**SMALL, "n_shoppers": 8, **keys})
    base, view = env.unwrapped, env.unwrapped.view
    obs, _ = env.reset(seed=2)
    env.action_space.seed(2)
    done, steps = False, 0
    while not done:
        shopper = base.current_shopper
        items = view.candidates(0, shopper)  # the numpy reference, on the same state
        np.testing.assert_array_equal(base.candidate_items, items)
        np.testing.assert_array_equal(obs, view.observe(0, shopper, items))
        obs, _, done, _, _ = env.step(env.action_space.sample())
        steps += 1
    assert steps > 20 and not obs.any()  # a whole episode compared; the final observation is zeros
