"""The Ads-v0 bid-pacing baselines: behaviour on crafted observations, and short runs on every ads scenario."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401
from agents import ads_heuristics as ah
from agents.policy import Policy
from agents.registry import PolicyError, default_policies, make_policy
from shopgym.envs.ads_view import CAMPAIGN_FIELDS, GLOBAL_FIELDS

TINY = dict(horizon=2, ticks_per_day=6, opportunities_per_day=3000.0)
ADS_SCENARIOS = ("ads-steady", "ads-competitive", "ads-budget-cut", "ads-stockout")


def ads_env(continuous=True, scenario="ads-steady", **keys):
    return gym.make("shopgym/Ads-v0", scenario=scenario, continuous=continuous, **{**TINY, **keys})


def craft(n_campaigns=4, ticks_per_day=6, tick=0, **campaign):
    """An observation at ``tick`` with every campaign field 0 but those given (a number or one per campaign)."""
    obs = np.zeros(len(GLOBAL_FIELDS) + len(CAMPAIGN_FIELDS) * n_campaigns, np.float32)
    obs[0] = (ticks_per_day - tick) / ticks_per_day
    camp = obs[len(GLOBAL_FIELDS):].reshape(n_campaigns, len(CAMPAIGN_FIELDS))
    values = {"budget_left": 1.0, "stock_cover": 1.0, "in_stock_share": 1.0, **campaign}
    for name, v in values.items():
        camp[:, CAMPAIGN_FIELDS.index(name)] = v
    return obs


def test_parse_obs_names_the_fields_and_refuses_a_wrong_length():
    o = ah.parse_obs(craft(tick=2, spend_today=0.25, budget_left=0.75), 4)
    assert o["time_left_in_day"] == pytest.approx(4 / 6)
    np.testing.assert_allclose(o["spend_today"], 0.25)
    np.testing.assert_allclose(o["budget_left"], 0.75)
    with pytest.raises(ValueError, match="4 campaigns has 39 entries"):
        ah.parse_obs(np.zeros(12), 4)


def test_actions_fit_the_action_space_continuous_and_discrete():
    for continuous in (True, False):
        env = ads_env(continuous)
        obs, _ = env.reset(seed=0)
        for name in ah.ADS_POLICIES:
            policy = make_policy(name, env, params={"multiplier": 0.7} if name in ah.ADS_TUNED else None)
            assert isinstance(policy, Policy)
            policy.reset(0)
            assert env.action_space.contains(policy.act(obs)), name
    truthful = ah.Truthful(ads_env(False))
    np.testing.assert_array_equal(truthful.act(craft()), [5, 5, 5, 5])  # 11 levels up to 2.0: level 5 is 1.0
    one = ah.Truthful(ads_env(False, campaigns="catalog"))
    assert one.act(craft(n_campaigns=1)) == 5  # Discrete with one campaign: an int


def test_dual_pacing_lowers_its_multiplier_when_spend_runs_ahead_and_raises_it_when_behind():
    env = ads_env()
    ahead = ah.DualPacing(env)
    ahead.reset(0)
    np.testing.assert_allclose(ahead.act(craft(tick=0)), 1.0)  # mu0 = 0: truthful
    lam = ahead.act(craft(tick=1, spend_today=0.5, budget_left=0.5))  # half the budget in the first (quiet) tick
    assert (lam < 1.0).all()
    lam2 = ahead.act(craft(tick=2, spend_today=0.9, budget_left=0.1))  # still ahead: lower again
    assert (lam2 < lam).all()
    behind = ah.DualPacing(env, mu0=1.0)
    behind.reset(0)
    np.testing.assert_allclose(behind.act(craft(tick=0)), 0.5)
    assert (behind.act(craft(tick=1)) > 0.5).all()  # nothing spent: mu falls, the bid rises


def test_dual_pacing_carries_mu_over_days_and_skips_the_update_at_a_day_change():
    policy = ah.DualPacing(ads_env())
    policy.reset(0)
    policy.act(craft(tick=4, spend_today=0.2, budget_left=0.8))
    lam = policy.act(craft(tick=5, spend_today=0.9, budget_left=0.1))
    np.testing.assert_allclose(policy.act(craft(tick=0)), lam)  # a new day: same mu
    policy.reset(1)
    np.testing.assert_allclose(policy.mu, 0.0)


def test_even_pacing_bids_only_while_spend_is_behind_the_elapsed_traffic():
    policy = ah.EvenPacing(ads_env())
    lam = policy.multipliers(ah.parse_obs(craft(tick=3, spend_today=[0.0, 0.9, 0.2, 1.0],
                                                budget_left=[1.0, 0.1, 0.8, 0.0]), 4))
    share = policy.elapsed[4]
    np.testing.assert_array_equal(lam, np.where(np.array([0.0, 0.9, 0.2, 1.0]) <= share, 1.0, 0.0))
    assert lam[0] == 1.0 and lam[1] == 0.0 and lam[3] == 0.0


def test_pid_bids_less_when_ahead_than_when_behind_and_never_above_value():
    env = ads_env()
    ahead, behind = ah.PIDPacing(env), ah.PIDPacing(env)
    lam_a = ahead.multipliers(ah.parse_obs(craft(tick=2, spend_today=0.8, budget_left=0.2), 4))
    lam_b = behind.multipliers(ah.parse_obs(craft(tick=2, spend_today=0.0, budget_left=1.0), 4))
    assert (lam_a < lam_b).all()
    assert (lam_b <= 1.0).all() and (lam_a >= 0.0).all()


def test_stock_aware_stops_bidding_on_campaigns_close_to_running_out():
    policy = ah.dual_pacing_stock(ads_env())
    policy.reset(0)
    cover = np.array([1.0, 0.0, 0.05 / ah.COVER_DAYS, 1.0])  # 30 days, none, 0.05 days, 30 days
    share = np.array([1.0, 0.0, 0.5, 0.5])
    lam = policy.multipliers(ah.parse_obs(craft(stock_cover=cover, in_stock_share=share), 4))
    np.testing.assert_allclose(lam, [1.0, 0.0, 0.0, 0.5])
    assert policy.name == "dual_pacing_stock"


def test_fixed_multiplier_is_tuned_on_training_seeds_and_cached(monkeypatch):
    env = ads_env()
    calls = []
    real = ah.simulate_multipliers
    monkeypatch.setattr(ah, "simulate_multipliers", lambda *a: calls.append(a[2]) or real(*a))
    params = ah.tune_multiplier(env.unwrapped.scenario, n_seeds=2, progress=False)
    assert 0.0 <= params["multiplier"] <= ah.MULTIPLIER_GRID.max() + 0.1
    assert all(s >= ah.TRAIN_SEED_BASE for seeds in calls for s in seeds)  # never an evaluation seed
    n = len(calls)
    assert ah.tune_multiplier(env.unwrapped.scenario, n_seeds=2, progress=False) == params
    assert len(calls) == n  # read from the cache
    with pytest.raises(ValueError, match="multiplier must be a finite number >= 0"):
        ah.FixedMultiplier(env, multiplier=-1.0)


def test_on_a_discrete_env_the_multiplier_is_tuned_among_the_levels_it_plays():
    env = ads_env(continuous=False)
    view = env.unwrapped.view
    levels = np.arange(view.levels) / (view.levels - 1) * view.max_multiplier
    policy = ah.make_fixed(env)
    lam = policy.multiplier
    assert np.isclose(levels, lam).any()  # one of the levels: what is tuned is what is played
    obs, _ = env.reset(seed=0)
    played = np.atleast_1d(policy.act(obs)) / (view.levels - 1) * view.max_multiplier
    np.testing.assert_allclose(played, lam)


def test_tuned_multiplier_beats_truthful_on_training_seeds_where_the_budget_binds():
    scenario = ads_env(horizon=1, opportunities_per_day=12000.0).unwrapped.scenario  # the scenario's traffic
    seeds = [ah.TRAIN_SEED_BASE + i for i in range(3)]
    profit = ah.simulate_multipliers(scenario, np.array([1.0, 0.7]), seeds)
    assert profit.shape == (2, 3)
    assert profit[1].mean() > profit[0].mean()  # shading the bid buys cheaper impressions with the same budget


@pytest.mark.parametrize("scenario", ADS_SCENARIOS)
def test_every_baseline_runs_on_every_ads_scenario_within_budget(scenario):
    env = ads_env(False, scenario=scenario, horizon=1, ticks_per_day=4, opportunities_per_day=2000.0)
    assert default_policies(env.unwrapped.scenario, "ads") == list(ah.ADS_POLICIES)
    for name in ah.ADS_POLICIES:
        policy = make_policy(name, env, params={"multiplier": 0.8} if name in ah.ADS_TUNED else None)
        obs, _ = env.reset(seed=3)
        policy.reset(3)
        done = False
        while not done:
            obs, _, term, trunc, info = env.step(policy.act(obs))
            assert info["budget_left"] >= 0
            done = term or trunc
        budget = env.unwrapped.scenario.ads.daily_budget * env.unwrapped.view.n_campaigns
        assert 0 <= info["ad_spend"] <= budget + 1e-9, name


def test_ads_policies_are_refused_on_a_restock_env_and_restock_ones_on_ads():
    with pytest.raises(PolicyError, match="ads policy"):
        make_policy("dual_pacing", gym.make("shopgym/Restock-v0", scenario="quickstart"))
    with pytest.raises(PolicyError, match="restock"):
        make_policy("sS", ads_env())


def test_expected_ad_profit_sums_value_minus_price_of_wins_per_world():
    log = {"won": np.array([1, 0, 1, 1], bool), "value": np.array([2.0, 9.0, 1.0, 3.0]),
           "price": np.array([0.5, 0.0, 1.5, 1.0]), "world": np.array([0, 0, 1, 1])}
    np.testing.assert_allclose(ah.expected_ad_profit(log, 2), [1.5, 1.5])
