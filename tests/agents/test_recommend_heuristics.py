"""Recommendation baselines: each runs an episode through the registry; the myopic oracle and stock-aware greedy
beat random; greedy under a learned conversion model ranks by that model."""

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401
from agents.registry import RECOMMEND_ALL, PolicyError, default_policies, make_policy
from shopgym.rollout import rollout

SMALL = {"scenario": "recommend", "horizon": 5, "sessions_per_day": 10.0}


@pytest.mark.parametrize("name", list(RECOMMEND_ALL))
@pytest.mark.parametrize("slate_size", [1, 2])
def test_each_baseline_runs_an_episode(name, slate_size):
    env = gym.make("shopgym/Recommend-v0", slate_size=slate_size, **SMALL)
    policy = make_policy(name, env)
    ep = rollout(env, policy, seed=0)
    assert ep.length == ep.kpis["sessions"] > 0
    assert ep.episode_return == pytest.approx(ep.kpis["recommendation_margin"])
    again = rollout(env, make_policy(name, env), seed=0)  # seeded: same episode
    assert again.episode_return == ep.episode_return


def test_myopic_oracle_and_stock_aware_greedy_beat_random_on_margin():
    # the recommend shop before the calibration (300 shoppers, 20 sessions a day, the dense funnel, flat arrivals):
    # the calibrated one needs 2,000 sessions a day for ~100 purchases an episode, too slow for this ranking check
    env = gym.make("shopgym/Recommend-v0", scenario="recommend", horizon=10, n_shoppers=300, sessions_per_day=20.0,
                   base_ctr=0.15, base_cart_rate=0.3, base_purchase_rate=0.5, arrival_weekly=[1.0] * 7,
                   arrival_payday_uplift=0.0, arrival_holidays=[], arrival_dispersion=0.0)
    margins = {name: np.mean([rollout(env, make_policy(name, env), seed=s).episode_return for s in range(3)])
               for name in ("random", "myopic_oracle", "stock_aware_greedy")}
    assert margins["myopic_oracle"] > 1.5 * margins["random"]
    assert margins["stock_aware_greedy"] > 1.2 * margins["random"]  # its first version scored below random


def test_applicability_depends_on_the_env():
    env = gym.make("shopgym/Recommend-v0", **SMALL)
    with pytest.raises(PolicyError, match="restock policy and this is a recommend env"):
        make_policy("sS", env)
    restock = gym.make("shopgym/Restock-v0", scenario="steady", horizon=5)
    with pytest.raises(PolicyError, match="recommend policy and this is a restock env"):
        make_policy("linucb", restock)
    assert "ucb1" not in default_policies(env.unwrapped.scenario)
    assert set(default_policies(env.unwrapped.scenario, "recommend")) == set(RECOMMEND_ALL)
    assert type(make_policy("random", restock)).__name__ == "RandomPolicy"  # the Restock one is unchanged


def test_stock_aware_greedy_avoids_items_about_to_run_out():
    env = gym.make("shopgym/Recommend-v0", **SMALL)
    policy = make_policy("stock_aware_greedy", env)
    obs, _ = env.reset(seed=0)
    f = env.unwrapped.view.parse(obs)
    scores = policy.scores(obs)
    best = int(np.argmax(scores))
    low = np.asarray(f["cover"]) < policy.min_cover
    assert not low[best] or low.all()
    assert (scores[low] == -1.0).all() and (scores[~low] > 0).all()


def test_learned_greedy_ranks_by_the_learned_model(tmp_path):
    from forecasters.conversion.learned import LearnedConversion
    from forecasters.conversion.logs import generate_logs
    from forecasters.conversion.registry import make_model
    from shopgym.config import load_scenario
    from shopgym.world.protocols import ImpressionBatch

    logs = generate_logs(load_scenario("recommend", slate_size=2), n_impressions=1000, seed=0)
    path = make_model("lr", epochs=1, batch_size=1024, hidden=(8,), tower_hidden=(4,)).fit(logs).save(tmp_path / "lr.pt")
    env = gym.make("shopgym/Recommend-v0", **SMALL)
    with pytest.raises(PolicyError, match="recommend policy"):
        make_policy(f"learned_greedy:{path}", gym.make("shopgym/Restock-v0", scenario="steady", horizon=5))
    policy = make_policy(f"learned_greedy:{path}", env)
    base = env.unwrapped
    obs, _ = env.reset(seed=1)
    policy.reset(1)
    items, world = base.candidate_items, base.world
    model = LearnedConversion.from_saved(path, world.catalog, world.shoppers)
    k = len(items)
    batch = ImpressionBatch(shopper=np.full(k, base.current_shopper), item=items, position=np.zeros(k, np.int64),
                            seen=np.zeros(k, np.int64), discount=np.zeros(k), in_stock=world.on_hand[0, items] > 0,
                            day=np.zeros(k, np.int64))
    expected = model.probabilities(batch).prod(1) * (world.price_on(0)[0, items] - world.unit_cost[items])
    assert policy.act(obs) == int(np.argmax(expected))
    for _ in range(8):
        obs, reward, *_ = env.step(policy.act(obs))
        assert reward >= 0
    # it counts its own impressions from the feedback of each step at the next act: 7 of the 8 so far
    assert policy._seen.sum() == 7
    # later sessions: the daily table (unseen, in stock) and the per-row calls agree with the model row by row
    policy.scores(obs)  # takes in the last step's feedback
    items, shopper = base.candidate_items, base.current_shopper
    policy._seen[shopper, items[:2]] += 1  # two candidates seen (once more) before: they leave the table
    batch = ImpressionBatch(shopper=np.full(k, shopper), item=items, position=np.zeros(k, np.int64),
                            seen=policy._seen[shopper, items], discount=np.zeros(k),
                            in_stock=world.on_hand[0, items] > 0, day=np.full(k, world.day))
    expected = (model.probabilities(batch).prod(1) * (world.on_hand[0, items] > 0)
                * (world.price_on(world.day)[0, items] - world.unit_cost[items]))
    np.testing.assert_allclose(policy.scores(obs), expected, rtol=1e-5)


@pytest.mark.parametrize("offers", [{"coupons": True}, {"bundles": True}, {"coupons": True, "bundles": True}])
def test_every_baseline_acts_on_scenarios_with_offer_actions(offers):
    """Baselines rank items only: on coupon or bundle scenarios they offer nothing, with a valid action."""
    env = gym.make("shopgym/Recommend-v0", scenario="recommend", horizon=2, sessions_per_day=20.0, **offers)
    for name in default_policies(env.unwrapped.scenario, kind="recommend"):
        ep = rollout(env, make_policy(name, env), seed=0)
        assert ep.length > 0 and np.isfinite(ep.episode_return), name
