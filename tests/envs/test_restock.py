"""shopgym/Restock-v0: API conformance, determinism under a seed, and clear errors for bad actions."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import shopgym
from shopgym.errors import ActionError

VARIANTS = [
    {},
    {"scenario": "seasonal"},
    {"scenario": "perishable"},
    {"scenario": "newsvendor"},
    {"continuous": True},
    {"scenario": "steady", "continuous": True},
    {"scenario": "supply-shock", "backorders": True, "capacity": 500},
]


@pytest.mark.parametrize("spec", [s["id"] for s in shopgym.ENVS if s["id"].startswith("shopgym/Restock")])
@pytest.mark.parametrize("kwargs", VARIANTS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "default")
def test_env_checkers_pass(spec, kwargs):
    env = gym.make(spec, **kwargs)
    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(gym.make(spec, **kwargs).unwrapped, warn=False)


def _rollout(seed, n=200, **kwargs):
    env = gym.make("shopgym/Restock-v0", **kwargs)
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(123)
    trace = [obs]
    for _ in range(n):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace.append((obs, reward, terminated, truncated, {k: v for k, v in info.items() if k != "episode_kpis"}))
        if terminated or truncated:
            obs, _ = env.reset()
            trace.append(obs)
    return trace


def _flatten(trace):
    out = []
    for item in trace:
        if isinstance(item, tuple):
            obs, r, te, tr, info = item
            out += [np.asarray(obs, float), [r, te, tr]] + [np.atleast_1d(np.asarray(info[k], float)) for k in sorted(info)]
        else:
            out.append(np.asarray(item, float))
    return np.concatenate([np.ravel(x) for x in out])


@pytest.mark.parametrize("kwargs", [{}, {"scenario": "seasonal"}, {"scenario": "perishable", "horizon": 150}])
def test_same_seed_same_trajectory_and_different_seeds_differ(kwargs):
    a, b, c = _rollout(7, **kwargs), _rollout(7, **kwargs), _rollout(8, **kwargs)
    np.testing.assert_array_equal(_flatten(a), _flatten(b))
    assert not np.array_equal(_flatten(a), _flatten(c))


def test_reward_is_the_days_profit_and_info_has_kpis():
    env = gym.make("shopgym/Restock-v0", scenario="quickstart")
    env.reset(seed=0)
    _, reward, _, _, info = env.step(5)
    assert reward == pytest.approx(info["profit"])
    assert 0.0 <= info["unit_fill_rate"] <= 1.0
    assert info["ordered"][0] == 5


def test_profit_is_revenue_minus_the_listed_costs_computed_from_the_flows():
    """Revenue and every cost line recomputed from the day's per-SKU flows and the scenario's prices, not from profit.

    ``perishable`` has all of them: purchases, a fixed order cost, holding (on the stock held at the end of the
    day, before expiry), lost-sale penalties and disposal of expired units; random orders make every one occur.
    """
    env = gym.make("shopgym/Restock-v0", scenario="perishable", horizon=40).unwrapped
    obs, _ = env.reset(seed=3)
    env.action_space.seed(3)
    cat, inv = env.world.catalog, env.scenario.inventory
    seen = np.zeros(5)
    for _ in range(40):
        price = env.view.parse(obs)["price"]  # today's shelf price per SKU (promotions included)
        obs, _, _, _, info = env.step(env.action_space.sample())
        held = info["on_hand"] + info["expired"]
        lines = np.array([
            (cat.unit_cost * info["ordered"]).sum(),
            (cat.order_cost * (info["ordered"] > 0)).sum(),
            (cat.holding_cost * held).sum(),
            inv.lost_sale_penalty * info["lost"].sum(),
            inv.disposal_cost * info["expired"].sum(),
        ])
        revenue = float((price * info["sold"]).sum())
        assert info["revenue"] == pytest.approx(revenue, rel=1e-5)  # float32 prices in the observation
        assert info["costs"] == pytest.approx(lines.sum(), rel=1e-9, abs=1e-9)
        assert info["profit"] == pytest.approx(info["revenue"] - lines.sum(), rel=1e-9, abs=1e-9)
        seen += lines > 0
    assert (seen > 0).all(), f"some cost line never occurred in 40 days: {seen}"


def test_episode_terminates_at_horizon_with_episode_kpis():
    env = gym.make("shopgym/Restock-v0", scenario="quickstart", horizon=10)
    env.reset(seed=0)
    for day in range(10):
        _, _, terminated, truncated, info = env.step(3)
        assert not truncated  # the horizon is part of the task: no bootstrapping past it
        assert terminated == (day == 9)
    assert set(info["episode_kpis"]) >= {"profit", "unit_fill_rate", "cycle_service_level", "stockout_days_per_sku",
                                         "inventory_turns"}


@pytest.mark.parametrize(
    "kwargs,action,match",
    [
        ({}, 17, "out of range"),
        ({}, -1, "out of range"),
        ({}, np.nan, "NaN"),
        ({}, 2.5, "not an integer"),
        ({"scenario": "steady"}, np.zeros(3, dtype=int), "one order level per SKU"),
        ({"continuous": True}, np.array([np.nan], dtype=np.float32), "NaN"),
        ({"continuous": True}, np.array([99.0], dtype=np.float32), "outside the action space"),
        ({"continuous": True}, np.zeros(2, dtype=np.float32), "shape"),
    ],
)
def test_bad_actions_raise_clear_errors(kwargs, action, match):
    env = gym.make("shopgym/Restock-v0", **kwargs).unwrapped
    env.reset(seed=0)
    with pytest.raises(ActionError, match=match):
        env.step(action)


def test_scenario_keys_override_by_name_and_bad_keys_fail():
    env = gym.make("shopgym/Restock-v0", scenario="steady", n_skus=4)
    assert env.action_space.shape == (4,)
    with pytest.raises(ValueError, match="n_sku"):
        gym.make("shopgym/Restock-v0", n_skuz=4)


def test_parse_names_the_observation():
    env = gym.make("shopgym/Restock-v0", scenario="quickstart").unwrapped
    obs, _ = env.reset(seed=0)
    f = env.view.parse(obs)
    assert f["on_hand"][0] == env.scenario.inventory.initial_stock
    assert f["lead_time"][0] == 2 and f["price"][0] == pytest.approx(10.0)
    assert f["forecast_lead"][0] == pytest.approx(3 * f["forecast_today"][0])
    assert obs.shape == env.observation_space.shape and obs.dtype == np.float32
