"""The expected margin of a Recommend session (scenarios/expected_margin.py): the mean of the realised margin.

Given the past, a session's expected margin is the conditional mean of its realised margin, so over episodes
``sum(realised) - sum(expected)`` has mean 0 and the variance ``Measured.margin_variance`` (independent Bernoulli
purchases): it must lie within 4 binomial standard errors. The shop is tiny with a dense funnel (a purchase in
about one impression of five), two-item slates and every memory switch on (fatigue's seen counts, drift's click
shift, complements' cart lift), stock that runs out, so every input of the probabilities is exercised.
"""

from __future__ import annotations

import numpy as np
import pytest

import shopgym.envs.recommend as recommend_module
from agents.registry import make_policy
from scenarios.expected_margin import Measured, session_expectation
from scenarios.fidelity_recommend import episode_metrics, recommend_env
from shopgym.errors import ScenarioError
from shopgym.plugins import build_world
from shopgym.world.response import nested_sample

DENSE = {"n_shoppers": 100, "sessions_per_day": 300.0, "horizon": 4, "base_ctr": 0.5, "base_cart_rate": 0.6,
         "base_purchase_rate": 0.8, "memory_fatigue": True, "memory_drift": True, "complements": True,
         "initial_stock": 25, "slate_size": 2}


class Scaled:
    """A response model that answers the true click probability times ``factor`` (a learned world's stand-in:
    not a ``GroundTruthResponse``, so the world serves it through the numpy path)."""

    def __init__(self, truth, factor: float):
        self.truth, self.factor = truth, factor

    def probabilities(self, batch):
        p = np.array(self.truth.probabilities(batch), dtype=float)
        p[:, 0] = np.minimum(p[:, 0] * self.factor, 1.0)
        return p

    def sample(self, batch, rng):
        return nested_sample(self.probabilities(batch), rng)


def scaled_env(monkeypatch, factor: float):
    def build(scenario, n_worlds=1, **models):
        truth = build_world(scenario, n_worlds).response_model
        return build_world(scenario, n_worlds, response_model=Scaled(truth, factor))

    with monkeypatch.context() as m:
        m.setattr(recommend_module, "build_world", build)
        return recommend_env("recommend", None, **DENSE)


def play(env, name: str, seeds) -> tuple[float, float, float, int]:
    """Sums over episodes: realised margin, expected margin, its variance, purchases; checks that the
    impressions the measure scored are those the world served."""
    measured = Measured(make_policy(name, env), env)
    realised = expected = variance = 0.0
    purchases = 0
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        measured.reset(seed)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(measured.act(obs))
            np.testing.assert_array_equal(env.unwrapped.last_outcome.item, measured.items)
            realised += info["session_margin"]
            purchases += info["purchases"]
            done = terminated or truncated
        expected += measured.expected_margin
        variance += measured.margin_variance
    return realised, expected, variance, purchases


@pytest.mark.parametrize("world", ["true", "scaled"])
def test_expected_margin_is_the_mean_of_the_realised_margin(monkeypatch, world):
    env = recommend_env("recommend", None, **DENSE) if world == "true" else scaled_env(monkeypatch, 0.6)
    realised, expected, variance, purchases = play(env, "random", range(4))
    se = np.sqrt(variance)
    assert purchases > 1000  # many draws: the check has power
    assert 4 * se < 0.15 * expected  # a 15% bias in the measure would fail the check below
    assert abs(realised - expected) <= 4 * se, (realised, expected, se)


def test_slate_positions_count(monkeypatch):
    """Scored at slot 0 for every item (position ignored), the same episodes' expectation is off by many SEs: the
    check above can tell a wrong probability from sampling noise."""
    env = recommend_env("recommend", None, **DENSE)
    realised, expected, variance, _ = play(env, "random", range(4))
    import scenarios.expected_margin as em

    original = em.funnel_probabilities

    def slot0(phase, model, world, shopper, item, position, *rest):
        return original(phase, model, world, shopper, item, np.zeros_like(position), *rest)

    monkeypatch.setattr(em, "funnel_probabilities", slot0)  # the measure only: the world serves as before
    _, wrong, _, _ = play(env, "random", range(4))
    assert abs(realised - wrong) > 4 * np.sqrt(variance) and wrong > expected


def test_episode_metrics_carry_the_expected_margin():
    env = recommend_env("recommend", None, **{**DENSE, "slate_size": 1})
    rows = episode_metrics(env, make_policy("myopic_oracle", env), [0, 1])
    from scenarios.fidelity_recommend import EXPECTED, MARGIN

    assert rows.shape[0] == 2 and (rows[:, EXPECTED] > 0).all()
    np.testing.assert_allclose(rows[:, EXPECTED].sum(), rows[:, MARGIN].sum(), rtol=0.25)


def test_offers_are_refused_with_a_clear_error():
    env = recommend_env("recommend", None, **{**DENSE, "coupons": True})
    env.reset(seed=0)
    with pytest.raises(ScenarioError, match="coupons"):
        Measured(make_policy("random", env), env)
    with pytest.raises(ScenarioError, match="coupons"):
        session_expectation(env.unwrapped, env.action_space.sample())
