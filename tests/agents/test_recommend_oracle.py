"""The myopic oracle counts the complement lift: after a purchase, the purchased item's complement is worth
more to that shopper (``shoppers.complements``), and the oracle picks it when that maximises expected margin."""

import gymnasium as gym
import numpy as np

import shopgym  # noqa: F401
from agents.recommend_heuristics import complement_factor
from agents.registry import make_policy

# a small, busy shop where purchases (and so complement lifts) are frequent
BUSY = {"scenario": "recommend", "horizon": 4, "n_shoppers": 15, "sessions_per_day": 40.0, "base_ctr": 0.6,
        "base_cart_rate": 0.5, "base_purchase_rate": 0.8, "arrival_weekly": [1.0] * 7, "arrival_payday_uplift": 0.0,
        "arrival_holidays": [], "arrival_dispersion": 0.0}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _true_cart(env, shopper, item):
    """p(add-to-cart | click) of the ground truth (shopgym.world.response), written out here independently."""
    world, cfg = env.world, env.scenario.shoppers
    pop, cat = world.shoppers, world.catalog
    a = pop.preferences[shopper] @ cat.features[item]
    r = np.log(cat.price[item] / np.median(cat.price))
    logit = np.log(cfg.base_cart_rate / (1 - cfg.base_cart_rate))
    return _sigmoid(logit + 0.5 * cfg.affinity_weight * a - pop.price_sensitivity[shopper] * r)


def test_oracle_picks_the_complement_when_its_lift_makes_it_the_best():
    env = gym.make("shopgym/Recommend-v0", complements=True, complement_lift=4.0, **BUSY)
    base = env.unwrapped
    oracle = make_policy("myopic_oracle", env)
    obs, _ = env.reset(seed=3)
    oracle.reset(3)
    partner = base.world.catalog.complements()
    lifted_steps = switched = 0
    done = False
    while not done:
        shopper, items = base.current_shopper, base.candidate_items
        last = int(base.world.last_purchase[0, shopper])
        factor = complement_factor(base)
        plain = base.privileged_expected_margin()
        is_partner = (items == partner[max(last, 0)]) & (last >= 0)
        assert np.array_equal(factor > 1.0, is_partner)  # the lift applies to the complement only
        for j in np.flatnonzero(is_partner):
            p = _true_cart(base, shopper, items[j])
            expected = _sigmoid(np.log(p / (1 - p)) + 4.0) / p
            assert np.isclose(factor[j], expected, rtol=1e-9)
            lifted_steps += 1
        action = oracle.act(obs)
        assert action == int(np.argmax(plain * factor))
        if np.argmax(plain * factor) != np.argmax(plain):  # the lift changes the choice: to the complement
            assert is_partner[action]
            switched += 1
        obs, _, term, trunc, _ = env.step(action)
        done = term or trunc
    assert lifted_steps > 0 and switched > 0


def test_without_complements_the_oracle_is_the_plain_expected_margin():
    env = gym.make("shopgym/Recommend-v0", complements=False, **BUSY)
    base = env.unwrapped
    oracle = make_policy("myopic_oracle", env)
    obs, _ = env.reset(seed=0)
    oracle.reset(0)
    for _ in range(50):
        assert np.array_equal(complement_factor(base), np.ones(base.view.k))
        assert oracle.act(obs) == int(np.argmax(base.privileged_expected_margin()))
        obs, *_ = env.step(oracle.act(obs))
    assert (base.world.last_purchase == -1).all()  # kept with complements only
