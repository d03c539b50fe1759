"""Shared-feature bandits (agents/recommend_bandits.py): the online logistic posterior learns a known model, the
bandits learn within an episode from the observation and their own logs only, and forget at reset."""

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401
from agents.recommend_bandits import BANDIT_POLICIES, BayesLogit
from agents.registry import make_policy

# a small shop with a dense funnel, so that a few hundred sessions hold enough clicks and purchases to learn from
DENSE = {"scenario": "recommend", "horizon": 12, "n_shoppers": 300, "sessions_per_day": 60.0, "base_ctr": 0.15,
         "base_cart_rate": 0.3, "base_purchase_rate": 0.5, "arrival_weekly": [1.0] * 7, "arrival_payday_uplift": 0.0,
         "arrival_holidays": [], "arrival_dispersion": 0.0}


def test_online_logistic_posterior_recovers_a_known_model():
    rng = np.random.default_rng(0)
    w_true = np.array([-1.0, 2.0, -1.5, 0.5])
    model = BayesLogit(np.zeros(4), np.full(4, 3.0))
    before = np.trace(model.cov)
    x = np.column_stack([np.ones(4000), rng.normal(size=(4000, 3))])
    y = (rng.random(4000) < 1.0 / (1.0 + np.exp(-(x @ w_true)))).astype(float)
    for i in range(0, 4000, 2):  # two rows at a time, like a slate of 2
        model.update(x[i : i + 2], y[i : i + 2])
    assert np.allclose(model.w, w_true, atol=0.2)
    assert np.trace(model.cov) < before / 100  # the posterior narrows
    sd = np.sqrt(np.diag(model.cov))
    assert (np.abs(model.w - w_true) < 4 * sd).all()  # and covers the truth
    draws = np.array([model.sample(np.random.default_rng(s)) for s in range(200)])
    assert np.allclose(draws.std(0), sd, rtol=0.3)


def _expected_margin(env, policy, seed: int) -> float:
    """The episode's sum of the TRUE expected margin of the shown item (a low-variance measure of the ranking)."""
    base = env.unwrapped
    obs, _ = env.reset(seed=seed)
    policy.reset(seed)
    total, done = 0.0, False
    while not done:
        action = policy.act(obs)
        total += base.privileged_expected_margin()[int(np.atleast_1d(action)[0])]
        obs, _, term, trunc, _ = env.step(action)
        done = term or trunc
    return total


@pytest.mark.slow  # about 10 s a policy: a few hundred sessions per episode
@pytest.mark.parametrize("name", ["funnel_ts", "funnel_ucb"])
def test_funnel_bandits_learn_to_beat_random_within_an_episode(name):
    env = gym.make("shopgym/Recommend-v0", **DENSE)
    learned = np.mean([_expected_margin(env, make_policy(name, env), s) for s in (0, 1)])
    random = np.mean([_expected_margin(env, make_policy("random", env), s) for s in (0, 1)])
    assert learned > 1.3 * random


@pytest.mark.parametrize("name", list(BANDIT_POLICIES))
def test_bandits_read_no_privileged_state_and_forget_at_reset(name, monkeypatch):
    env = gym.make("shopgym/Recommend-v0", **{**DENSE, "horizon": 2})
    base = env.unwrapped

    def forbidden(*args, **kwargs):
        raise AssertionError("a learner read the true response model")

    monkeypatch.setattr(base, "privileged_expected_margin", forbidden)
    policy = make_policy(name, env)
    first = []
    for _ in range(2):  # the same seed twice: the same episode, so the second learned nothing from the first
        obs, _ = env.reset(seed=4)
        policy.reset(4)
        actions, done = [], False
        while not done:
            actions.append(int(np.atleast_1d(policy.act(obs))[0]))
            obs, _, term, trunc, _ = env.step(actions[-1])
            done = term or trunc
        first.append(actions)
    assert first[0] == first[1]


def test_features_cross_the_shoppers_taste_with_each_item_embedding():
    """The click model reads ``taste x embedding`` per dimension pair: a linear map of the taste onto each item."""
    from agents.recommend_bandits import FunnelFeatures

    env = gym.make("shopgym/Recommend-v0", **{**DENSE, "horizon": 2})
    obs, _ = env.reset(seed=0)
    view = env.unwrapped.view
    feat = FunnelFeatures(view)
    f = view.parse(obs)
    taste = np.asarray(f["taste"], dtype=float)
    assert np.any(taste != 0)  # the pre-episode record: a taste at the first session
    x = feat(f, taste, np.zeros(view.k))
    assert x.shape == (view.k, feat.size)
    emb = np.column_stack([f[f"e_{j}"] for j in range(feat.dim)])
    block = x[:, feat.taste_at : feat.taste_at + feat.dim ** 2].reshape(view.k, feat.dim, feat.dim)
    np.testing.assert_allclose(block, taste[None, :, None] * emb[:, None, :])


@pytest.mark.slow  # about 20 s: four episodes of a few hundred sessions
def test_funnel_ucb_uses_the_pre_episode_taste():
    """With shoppers' pre-episode record in ``taste`` the bandit ranks better than without it."""
    def share(keys) -> float:
        env = gym.make("shopgym/Recommend-v0", **{**DENSE, **keys})
        mine = np.mean([_expected_margin(env, make_policy("funnel_ucb", env), s) for s in (0, 1)])
        best = np.mean([_expected_margin(env, make_policy("myopic_oracle", env), s) for s in (0, 1)])
        return mine / best

    assert share({}) > share({"history_clicks": 0.0}) + 0.03
