"""Structured Restock action modes (``shopgym.envs.restock_actions``): checkers, the residual's zero action equal to
the (s, S) heuristic, determinism, SB3 training on them unchanged, clear errors."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import shopgym  # noqa: F401  (registers the envs)
from agents.heuristics import SSPolicy
from shopgym.envs.restock_actions import CoverAction, ResidualSS
from shopgym.errors import ActionError, ScenarioError

CASES = [
    ("cover-box", lambda e: CoverAction(e, max_cover=30.0)),
    ("cover-levels", lambda e: CoverAction(e, levels=[0, 3, 7, 14, 21])),
    ("residual", lambda e: ResidualSS(e, z=1.0, cover=5.0)),
]
SCENARIOS = [{"scenario": "quickstart"}, {"scenario": "seasonal", "horizon": 60},
             {"scenario": "supply-shock", "horizon": 60, "continuous": True}]


@pytest.mark.parametrize("kwargs", SCENARIOS, ids=lambda k: k["scenario"] + ("-cont" if "continuous" in k else ""))
@pytest.mark.parametrize("name,wrap", CASES, ids=[c[0] for c in CASES])
def test_env_checkers_pass(name, wrap, kwargs):
    check_env(wrap(gym.make("shopgym/Restock-v0", **kwargs)), skip_render_check=True)
    sb3_check_env(wrap(gym.make("shopgym/Restock-v0", **kwargs)), warn=False)


def _trace(env, actions_from, seed, days):
    obs, _ = env.reset(seed=seed)
    rows = []
    for _ in range(days):
        obs, reward, terminated, _, info = env.step(actions_from(obs))
        rows.append(np.concatenate([obs, [reward], info["ordered"], info["sold"]]))
        if terminated:
            break
    return np.array(rows)


@pytest.mark.parametrize("kwargs", [{"scenario": "quickstart", "horizon": 120},
                                    {"scenario": "seasonal", "horizon": 120},
                                    {"scenario": "supply-shock", "horizon": 220, "continuous": True}])
def test_residual_zero_action_is_exactly_the_ss_heuristic(kwargs):
    """Zero action = tuned (s, S): same orders, observations and rewards every day, to the end of the horizon
    (the end-of-horizon cap included; supply-shock crosses its lead-time shock on day 180)."""
    z, cover = 1.25, 13.0
    wrapped = ResidualSS(gym.make("shopgym/Restock-v0", **kwargs), z=z, cover=cover)
    zero = np.zeros(wrapped.action_space.shape, np.float32)
    got = _trace(wrapped, lambda obs: zero, 4, 400)
    plain = gym.make("shopgym/Restock-v0", **kwargs)
    policy = SSPolicy(plain.unwrapped.view, z=z, cover=cover)
    want = _trace(plain, policy.act, 4, 400)
    assert len(got) == kwargs["horizon"]
    assert want[:, -2 * plain.unwrapped.view.n_skus:].sum() > 0  # it orders and sells: the comparison means something
    np.testing.assert_array_equal(got, want)


def test_residual_actions_move_s_and_S_in_the_stated_direction():
    """Raising S (a_S = +1) orders more in total; lowering s and S (a = -1) orders less."""
    totals = {}
    for label, value in (("low", -1.0), ("zero", 0.0), ("high", 1.0)):
        env = ResidualSS(gym.make("shopgym/Restock-v0", scenario="seasonal", horizon=90), z=1.25, cover=9.5)
        a = np.full(env.action_space.shape, value, np.float32)
        totals[label] = _trace(env, lambda obs, a=a: a, 1, 90)[:, -20:-10].sum()
    assert totals["low"] < totals["zero"] < totals["high"]


@pytest.mark.parametrize("name,wrap", CASES, ids=[c[0] for c in CASES])
def test_same_seed_same_trajectory(name, wrap):
    runs = []
    for seed in (5, 5, 6):
        env = wrap(gym.make("shopgym/Restock-v0", scenario="seasonal", horizon=50))
        env.action_space.seed(11)
        runs.append(_trace(env, lambda obs, env=env: env.action_space.sample(), seed, 50))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_cover_orders_up_to_cover_days_of_forecast():
    env = CoverAction(gym.make("shopgym/Restock-v0", scenario="seasonal", horizon=60))
    obs, _ = env.reset(seed=0)
    f = env.view.parse(obs)
    cover = np.linspace(0, 20, 10).astype(np.float32)
    position = f["on_hand"] + sum(f[k] for k in f if k.startswith("pipeline_"))
    want = np.clip(np.maximum(np.rint(cover * f["forecast_lead"] / (f["lead_time"] + 1) - position), 0), 0, 80)
    _, _, _, _, info = env.step(cover)
    np.testing.assert_array_equal(info["ordered"], want)
    assert info["ordered"][0] == 0 and info["ordered"].sum() > 0  # cover 0 orders nothing, long covers order


def test_bad_actions_and_arguments_raise_clear_errors():
    env = ResidualSS(gym.make("shopgym/Restock-v0", scenario="seasonal", horizon=30), z=1.0, cover=5.0)
    env.reset(seed=0)
    with pytest.raises(ActionError, match="shape"):
        env.step(np.zeros(3, np.float32))
    with pytest.raises(ActionError, match="outside the action space"):
        env.step(np.full(20, 2.0, np.float32))
    with pytest.raises(ActionError, match="NaN"):
        env.step(np.full(20, np.nan, np.float32))
    with pytest.raises(ScenarioError, match="max_scale"):
        ResidualSS(gym.make("shopgym/Restock-v0"), z=1.0, cover=5.0, max_scale=0.5)
    with pytest.raises(ScenarioError, match="levels"):
        CoverAction(gym.make("shopgym/Restock-v0"), levels=[-1, 3])
    with pytest.raises(ScenarioError, match="forecast_in_obs"):
        CoverAction(gym.make("shopgym/Restock-v0", forecast_in_obs=False))


def test_sb3_trains_on_the_wrappers_unchanged():
    for wrap in (lambda e: ResidualSS(e, z=0.75, cover=3.75), lambda e: CoverAction(e, levels=[0, 2, 4, 8])):
        env = wrap(gym.make("shopgym/Restock-v0", scenario="quickstart", horizon=30))
        model = PPO("MlpPolicy", env, n_steps=32, batch_size=16, n_epochs=1, policy_kwargs={"net_arch": [16]},
                    seed=0, device="cpu")
        model.learn(64)
        obs, _ = env.reset(seed=0)
        action, _ = model.predict(obs, deterministic=True)
        assert env.action_space.contains(action)
