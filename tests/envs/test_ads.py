"""shopgym/Ads-v0: env checkers, determinism, rewards and infos, bad actions, scenarios."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import shopgym  # noqa: F401  (registers the envs)
from shopgym.config import load_scenario
from shopgym.envs.ads import AdsEnv
from shopgym.errors import ActionError, ScenarioError

TINY = dict(horizon=2, ticks_per_day=4, opportunities_per_day=400.0)
ADS_SCENARIOS = ("ads-steady", "ads-competitive", "ads-budget-cut", "ads-stockout")


def run(env, seed, actions):
    obs, _ = env.reset(seed=seed)
    rows = [obs]
    rewards, infos = [], []
    for a in actions:
        obs, r, term, trunc, info = env.step(a)
        rows.append(obs)
        rewards.append(r)
        infos.append(info)
        if term:
            break
    return np.array(rows), np.array(rewards), infos


@pytest.mark.parametrize("keys", [{}, {"continuous": True}, {"campaigns": "catalog"}])
def test_gymnasium_and_sb3_env_checkers_pass(keys):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = AdsEnv("ads-steady", **TINY, **keys)
    if keys.get("campaigns") == "catalog":
        assert isinstance(env.action_space, gym.spaces.Discrete)
    check_env(env, skip_render_check=True)
    sb3_check_env(AdsEnv("ads-steady", **TINY, **keys), warn=False)


def test_same_seed_same_trajectory_and_observations_in_the_space():
    env_a, env_b = AdsEnv("ads-steady", **TINY), AdsEnv("ads-steady", **TINY)
    actions = [env_a.action_space.sample() for _ in range(8)]
    a, b = run(env_a, 3, actions), run(env_b, 3, actions)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert all(env_a.observation_space.contains(o) for o in a[0])
    c = run(env_a, 4, actions)
    assert not np.array_equal(a[0], c[0])


def test_reward_is_ad_margin_minus_spend_and_infos_are_consistent():
    env = AdsEnv("ads-steady", **TINY, continuous=True)
    env.reset(seed=0)
    total_reward = total_spend = 0.0
    steps = 0
    terminated = False
    while not terminated:
        _, reward, terminated, _, info = env.step(np.full(env.action_space.shape, 1.5, np.float32))
        steps += 1
        assert reward == pytest.approx(info["ad_margin"] - info["spend"])
        assert info["budget_left"] >= 0 and info["pacing"] >= 0
        total_reward += reward
        total_spend += info["spend"]
    assert steps == TINY["horizon"] * TINY["ticks_per_day"]
    kpis = info["episode_kpis"]
    assert kpis["ad_spend"] == pytest.approx(total_spend) and total_spend > 0
    assert total_reward == pytest.approx(kpis["ad_margin"] - kpis["ad_spend"])
    assert kpis["roas"] == pytest.approx(kpis["ad_revenue"] / kpis["ad_spend"])
    assert kpis["purchases"] <= kpis["clicks"] <= kpis["wins"] <= kpis["opportunities"]
    with pytest.raises(RuntimeError, match="reset"):
        env.step(env.action_space.sample())


def test_observation_tracks_the_budget_and_the_day():
    env = AdsEnv("ads-budget-cut", **{**TINY, "horizon": 3}, budget_cut_day=1, continuous=True)
    obs, _ = env.reset(seed=1)
    c = env.view.n_campaigns
    assert obs[0] == 1.0 and obs[1] == 1.0
    np.testing.assert_array_equal(obs[3::9][:c], np.ones(c))  # full budget left at the start
    for _ in range(TINY["ticks_per_day"]):
        obs, *_ = env.step(np.full(c, 2.0, np.float32))
    np.testing.assert_allclose(obs[3::9][:c], 0.5)  # day 1: the cut budget, nothing spent yet
    assert obs[0] == 1.0 and obs[1] == pytest.approx(2 / 3)


@pytest.mark.parametrize("continuous, bad, match", [
    (True, [np.nan] * 4, "finite"), (True, [-0.5] * 4, r"\[0, max_multiplier"), (True, [99.0] * 4, "max_multiplier"),
    (True, [1.0] * 3, "shape"), (False, [11] * 4, "integers in"), (False, [-1] * 4, "integers in"),
    (False, [1.5] * 4, "integers"), (False, [[1] * 4], "shape"),
])
def test_bad_actions_raise_action_errors_that_name_the_fix(continuous, bad, match):
    env = AdsEnv("ads-steady", **TINY, continuous=continuous)
    env.reset(seed=0)
    with pytest.raises(ActionError, match=match):
        env.step(np.array(bad))
    assert env.world.ads_state.tick == 0  # nothing ran


def test_render_ansi_shows_the_tick_per_sku():
    env = gym.make("shopgym/Ads-v0", scenario="ads-steady", render_mode="ansi", **TINY)
    env.reset(seed=0)
    _, reward, *_, info = env.step(np.full(env.action_space.shape, 10))
    text = env.render()
    assert "budget left" in text and "+7 more" in text and text.splitlines()[-1].lstrip().startswith("1 |")
    history = env.unwrapped.renderer.history
    assert history.series("spend")[-1, 0].sum() == pytest.approx(info["spend"])


@pytest.mark.parametrize("name", ADS_SCENARIOS)
def test_ads_scenarios_load_are_documented_and_run(name):
    scenario = load_scenario(name)
    assert scenario.ads.simulate_ads and len(scenario.description) > 40
    env = gym.make("shopgym/Ads-v0", scenario=name)
    env.reset(seed=0)
    steps, terminated = 0, False
    while not terminated:
        *_, terminated, _, info = env.step(env.action_space.sample())
        steps += 1
    assert steps == scenario.env.horizon * scenario.ads.ticks_per_day
    assert info["episode_kpis"]["opportunities"] > 0


def test_scenario_without_ads_is_refused_when_forced_off():
    with pytest.raises(ScenarioError, match="simulate_ads"):
        AdsEnv("ads-steady", simulate_ads=False)
