"""The per-SKU agent: reward invariant against the Restock env, feature shapes, a tiny training that
saves, loads as a ``dqn-sku:DIR`` policy and acts validly, and clear errors for bad specs."""

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401
from agents.dqn.run import train_seed
from agents.hyperparams import HyperparameterError
from agents.per_sku import (
    ENV_ID,
    PerSKUPolicyError,
    PerSKUVectorEnv,
    SKUFeatureObservation,
    SKUFeatures,
    load_per_sku,
    train,
)
from agents.registry import make_policy
from agents.trained import load_policy
from shopgym.errors import ActionError, ShopgymError
from tests.agents.conftest import RESTOCK, TINY_DQN

SCENARIO = "seasonal"
SHORT = {"horizon": 20}


def test_sku_rewards_sum_to_restock_reward_exactly():
    """Same seed, same orders: each day, the SKUs' rewards sum to the Restock env's reward (unscaled).

    Exact up to the order in which floats are added (the Restock env accumulates SKUs in its own
    order, which may differ from numpy's pairwise sum by an ulp): relative tolerance 1e-12."""
    per_sku = PerSKUVectorEnv(1, SCENARIO, **SHORT)
    restock = gym.make(RESTOCK, scenario=SCENARIO, **SHORT)
    per_sku.reset(seed=7)
    restock.reset(seed=7)
    rng = np.random.default_rng(0)
    n = per_sku.n_skus
    for day in range(SHORT["horizon"]):
        levels = rng.integers(0, per_sku.view.n_levels, n)
        _, rewards, terms, truncs, _ = per_sku.step(levels)
        _, reward, term, trunc, _ = restock.step(levels)
        assert rewards.shape == (n,) and rewards.sum() == pytest.approx(reward, rel=1e-12, abs=1e-9)
        assert not truncs.any() and not trunc and bool(terms.all()) == term == (day == SHORT["horizon"] - 1)


def test_scaled_rewards_match_vector_restock_per_world():
    """Several worlds seeded like the native Restock vector env give its rewards per world (scaled)."""
    kw = {**SHORT, "reward_scale": 0.1}
    per_sku = PerSKUVectorEnv(3, SCENARIO, **kw)
    restock = gym.make_vec(RESTOCK, num_envs=3, vectorization_mode="vector_entry_point", scenario=SCENARIO, **kw)
    per_sku.reset(seed=11)
    restock.reset(seed=11)
    rng = np.random.default_rng(1)
    for _ in range(10):
        levels = rng.integers(0, per_sku.view.n_levels, (3, per_sku.n_skus))
        _, rewards, *_ = per_sku.step(levels.reshape(-1))
        _, reward, *_ = restock.step(levels)
        np.testing.assert_allclose(rewards.reshape(3, -1).sum(1), reward, rtol=1e-12)


def test_stock_shaping_adds_the_change_in_stock_value():
    """Shaped reward = profit + gamma * phi(s') - phi(s), phi = unit cost x (on hand + pipeline) x reward_scale,
    with phi = 0 for the terminal state (the last step charges the stock left over)."""
    kw = {**SHORT, "reward_scale": 0.1}
    plain, shaped = PerSKUVectorEnv(2, SCENARIO, **kw), PerSKUVectorEnv(2, SCENARIO, stock_shaping=0.9, **kw)
    plain.reset(seed=4)
    shaped.reset(seed=4)

    def phi():
        named = plain.view.parse(plain.view.observe())
        owned = named["on_hand"] + sum(named[f] for f in plain.view.sku_fields if f.startswith("pipeline_"))
        return (owned * plain.world.catalog.unit_cost * 0.1).reshape(-1)

    rng = np.random.default_rng(2)
    for day in range(SHORT["horizon"]):
        before = phi()
        levels = rng.integers(0, plain.view.n_levels, plain.num_envs)
        _, r_plain, terms, *_ = plain.step(levels)
        _, r_shaped, *_ = shaped.step(levels)
        after = 0.0 if day == SHORT["horizon"] - 1 else phi()
        assert terms.all() == (day == SHORT["horizon"] - 1)
        np.testing.assert_allclose(r_shaped, r_plain + 0.9 * after - before, rtol=1e-9, atol=1e-9)
    assert phi().sum() > 0  # stock is left at the end, so the terminal charge was tested
    with pytest.raises(HyperparameterError, match="stock_shaping"):
        PerSKUVectorEnv(1, SCENARIO, stock_shaping=2.0)


def test_observation_shapes_and_autoreset():
    env = PerSKUVectorEnv(2, SCENARIO, **SHORT)
    obs, _ = env.reset(seed=0)
    size = env.features.size
    assert env.num_envs == 2 * env.n_skus and obs.shape == (env.num_envs, size) and obs.dtype == np.float32
    assert env.single_observation_space.shape == (size,) and env.single_action_space.n == env.view.n_levels
    assert np.isfinite(obs).all()
    for _ in range(SHORT["horizon"]):
        obs, rewards, terms, truncs, _ = env.step(np.ones(env.num_envs, dtype=np.int64))
    assert terms.all() and not truncs.any()
    obs, rewards, terms, truncs, _ = env.step(np.ones(env.num_envs, dtype=np.int64))  # the autoreset step
    assert not terms.any() and not truncs.any() and (rewards == 0).all() and env.world.day == 0
    with pytest.raises(ActionError):
        env.step(np.full(env.num_envs, env.view.n_levels))


def test_features_are_per_sku_blocks_of_the_restock_observation():
    """The features of the Restock env's observation are the per-SKU env's observations, SKU by SKU."""
    restock = gym.make(RESTOCK, scenario=SCENARIO)
    per_sku = PerSKUVectorEnv(1, SCENARIO)
    obs, _ = restock.reset(seed=3)
    sku_obs, _ = per_sku.reset(seed=3)
    feats = SKUFeatures(restock.unwrapped.view)
    np.testing.assert_array_equal(feats(obs), sku_obs)
    assert feats(obs).shape == (restock.unwrapped.view.n_skus, feats.size) == (10, len(feats.names))
    assert feats(np.stack([obs, obs])).shape == (2, 10, feats.size)
    on_hand = restock.unwrapped.view.parse(obs)["on_hand"]
    np.testing.assert_allclose(feats(obs)[:, 0], on_hand / feats.scale, rtol=1e-6)  # days of demand


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A few hundred steps of the per-SKU DQN on 20-day seasonal episodes, net_arch [16], with stock
    shaping and reward centering."""
    import yaml

    out = tmp_path_factory.mktemp("run") / "per-sku"
    hp = out.parent / "hp.yml"
    section = {**TINY_DQN, "reward_centering": True, "n_envs": 20, "n_timesteps": 600, "eval_freq": 400, "n_eval_episodes": 1,
               "select": "best", "env_kwargs": {**SHORT, "reward_scale": 0.1, "stock_shaping": True}}
    hp.write_text(yaml.safe_dump({ENV_ID: section}))
    model = train(SCENARIO, out, seed=0, hyperparams_file=hp, progress_bar=False)
    return out, model


def test_tiny_training_saves_loads_and_acts(tiny_run):
    out, model = tiny_run
    assert model.num_timesteps == 600 and model.n_updates > 0
    # 30 vector steps of 20 sub-envs; the 21st is the autoreset step, whose rewards the mean skips
    assert model.reward_count == 580 and np.isfinite(model.reward_mean) and model.reward_mean != 0.0
    assert (out / "model" / "model.pt").exists() and (out / "best" / "model.pt").exists()
    env = gym.make(RESTOCK, scenario=SCENARIO, **SHORT)
    policy = make_policy(f"dqn-sku:{out}", env)
    obs, _ = env.reset(seed=0)
    for _ in range(SHORT["horizon"]):
        action = policy.act(obs)
        assert env.action_space.contains(action)
        obs, *_ = env.step(action)


def test_identical_actions_after_save_and_load(tiny_run, tmp_path):
    out, model = tiny_run
    model.save(tmp_path / "model")
    (tmp_path / "config.yml").write_text((out / "config.yml").read_text().replace("select: best", "select: last"))
    env = SKUFeatureObservation(gym.make(RESTOCK, scenario=SCENARIO))
    policy = load_per_sku(tmp_path, env.env)
    obs, _ = env.reset(seed=5)
    for _ in range(5):
        expected = model.predict(obs)
        raw = env.unwrapped.view.observe()[0]
        np.testing.assert_array_equal(policy.act(raw), expected)
        obs, *_ = env.step(expected)


def test_training_never_uses_evaluation_seeds():
    assert train_seed(0) >= 10 and train_seed(0) != 0


def test_bad_specs_give_clear_errors(tiny_run, tmp_path):
    out, _ = tiny_run
    env = gym.make(RESTOCK, scenario=SCENARIO)
    with pytest.raises(ValueError, match="dqn-sku:DIR"):
        load_policy("dqn-sku:", env)
    with pytest.raises(FileNotFoundError, match="config.yml is missing"):
        load_policy(f"dqn-sku:{tmp_path / 'nowhere'}", env)
    with pytest.raises(HyperparameterError, match="load it as dqn-sku:"):
        load_policy(f"dqn:{out}", env)
    with pytest.raises(PerSKUPolicyError, match="trained on per-SKU observations"):
        load_policy(f"dqn-sku:{out}", gym.make(RESTOCK, scenario="supply-shock"))
    with pytest.raises(PerSKUPolicyError, match="continuous"):
        load_policy(f"dqn-sku:{out}", gym.make(RESTOCK, scenario=SCENARIO, continuous=True))


def test_n_envs_must_be_a_multiple_of_the_skus(write_hp, tmp_path):
    hp = write_hp({ENV_ID: {**TINY_DQN, "n_envs": 15, "n_timesteps": 100, "env_kwargs": SHORT}})
    with pytest.raises(HyperparameterError, match="multiple of the scenario's 10 SKUs"):
        train(SCENARIO, tmp_path / "run", hyperparams_file=hp, progress_bar=False)


def test_shopgym_evaluate_runs_a_per_sku_model_on_the_whole_shop(tiny_run):
    import json

    from typer.testing import CliRunner

    from shopgym.cli.train import app

    out, _ = tiny_run
    result = CliRunner().invoke(app, ["evaluate", "--model", str(out), "--episodes", "2"])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / f"evaluation_{SCENARIO}.json").read_text())
    assert saved["env_id"] == "shopgym/Restock-v0" and saved["seeds"] == [0, 1]
    # the profit it reports is the one the policy earns on the Restock env itself
    env = gym.make("shopgym/Restock-v0", scenario=SCENARIO, **SHORT)
    policy = load_policy(f"dqn-sku:{out}", env)
    profits = []
    for seed in (0, 1):
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(policy.act(obs))
            done = terminated or truncated
        profits.append(info["episode_kpis"]["profit"])
    assert saved["profit"]["mean"] == pytest.approx(sum(profits) / 2)


def test_registered_vector_id_builds_the_per_sku_env():
    """``gym.make_vec`` on the registered id gives the same env as ``PerSKUVectorEnv`` (num_envs = worlds x SKUs)."""
    assert ENV_ID in gym.registry and ENV_ID in [s["id"] for s in shopgym.VECTOR_ENVS]
    made = gym.make_vec(ENV_ID, num_envs=20, vectorization_mode="vector_entry_point", scenario=SCENARIO, **SHORT)
    direct = PerSKUVectorEnv(2, SCENARIO, **SHORT)
    assert isinstance(made, PerSKUVectorEnv) and made.num_envs == 20 and made.n_worlds == 2
    assert made.spec.id == ENV_ID
    obs, _ = made.reset(seed=5)
    np.testing.assert_array_equal(obs, direct.reset(seed=5)[0])
    levels = np.ones(20, dtype=np.int64)
    np.testing.assert_array_equal(made.step(levels)[1], direct.step(levels)[1])
    default = gym.make_vec(ENV_ID)  # default scenario quickstart: one SKU, one world
    assert default.num_envs == 1 and default.n_worlds == 1


def test_registered_vector_id_refuses_gym_make_and_bad_num_envs():
    with pytest.raises(ShopgymError, match="is a vector env.*make_vec"):
        gym.make(ENV_ID)
    with pytest.raises(ShopgymError, match="is a vector env"):
        gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="sync")
    with pytest.raises(HyperparameterError, match="num_envs=15 .*multiple of the scenario's 10 SKUs"):
        gym.make_vec(ENV_ID, num_envs=15, scenario=SCENARIO)


def test_import_shopgym_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, shopgym, gymnasium; assert 'torch' not in sys.modules, 'torch imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
