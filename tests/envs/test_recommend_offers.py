"""Recommend-v0 with coupons and bundles: optional action parts, checkers, the budget, the default unchanged."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import shopgym  # noqa: F401
from shopgym.errors import ActionError

SMALL = {"scenario": "recommend", "horizon": 3, "sessions_per_day": 8.0}


def test_default_action_space_is_unchanged():
    assert gym.make("shopgym/Recommend-v0", **SMALL).action_space == gym.spaces.Discrete(10)
    assert gym.make("shopgym/Recommend-v0", slate_size=2, **SMALL).action_space == gym.spaces.MultiDiscrete([10, 10])


@pytest.mark.parametrize("keys,nvec", [({"coupons": True}, [10, 3]), ({"bundles": True}, [10, 2]),
                                       ({"coupons": True, "bundles": True, "slate_size": 2}, [10, 10, 3, 3, 2, 2])])
def test_offer_actions_pass_the_checkers(keys, nvec):
    env = gym.make("shopgym/Recommend-v0", **SMALL, **keys)
    assert list(env.action_space.nvec) == nvec
    check_env(env.unwrapped)
    if len(nvec) > 2:  # SB3's checker once, on the variant with every action part
        sb3 = pytest.importorskip("stable_baselines3.common.env_checker")
        sb3.check_env(gym.make("shopgym/Recommend-v0", **SMALL, **keys).unwrapped, warn=True)


def test_coupon_budget_is_spent_and_never_negative():
    env = gym.make("shopgym/Recommend-v0", coupons=True, coupon_budget=40.0, coupon_levels=4, coupon_step=0.2,
                   base_ctr=0.8, base_cart_rate=0.8, base_purchase_rate=0.9, **SMALL)
    obs, _ = env.reset(seed=0)
    view = env.unwrapped.view
    assert view.parse(obs)["coupon_left"] == 1.0
    done, lefts = False, []
    while not done:
        obs, _, done, _, info = env.step(np.array([0, 3]))  # the top candidate at the largest offer
        lefts.append(info["coupon_left"])
        assert info["coupon_left"] >= 0 and info["coupon_spend"] + info["coupon_left"] == pytest.approx(40.0)
        assert view.parse(obs)["coupon_left"] == pytest.approx(info["coupon_left"] / 40.0) or done
    assert lefts[-1] < 40.0 and all(a >= b for a, b in zip(lefts, lefts[1:], strict=False))
    kpis = info["episode_kpis"]
    assert kpis["coupon_spend"] <= 40.0 and kpis["coupons_granted"] > 0 and kpis["coupons_refused"] > 0


def test_bad_offer_actions_name_the_fix():
    env = gym.make("shopgym/Recommend-v0", coupons=True, bundles=True, **SMALL)
    env.reset(seed=0)
    with pytest.raises(ActionError, match="offer levels in \\[0, 2\\].*bundle flags"):
        env.step(np.array([0, 5, 0]))
