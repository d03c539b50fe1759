"""Reward centering for SB3 (``CenteringVecNormalize``): running mean, centred samples, persistence, policy-free eval."""

import numpy as np
import pytest

from agents import sb3
from agents.sb3_centering import CenteringVecNormalize
from tests.agents.conftest import RESTOCK, SHORT, TINY_SB3


def restock_venv(n_envs=2):
    cfg = {"env_id": RESTOCK, "env_kwargs": {"scenario": "quickstart", **SHORT}}
    return sb3.make_envs(cfg, n_envs, seed=0)


def run(venv, steps=30, seed=1):
    rng = np.random.default_rng(seed)
    venv.reset()
    out = []
    for _ in range(steps):
        venv.step_async(rng.integers(0, venv.action_space.n, venv.num_envs))
        out.append(venv.step_wait()[1])
    return np.array(out)


def test_without_centering_it_is_vecnormalize():
    plain = run(sb3.VecNormalize(restock_venv(), norm_obs=True, norm_reward=True))
    ours = run(CenteringVecNormalize(restock_venv(), center_reward=False, norm_obs=True, norm_reward=True))
    np.testing.assert_array_equal(plain, ours)


def test_rewards_are_centred_by_the_running_mean_of_raw_rewards(tmp_path):
    raw = run(sb3.VecNormalize(restock_venv(), norm_obs=False, norm_reward=False))
    venv = CenteringVecNormalize(restock_venv(), center_reward=True, norm_obs=False, norm_reward=False)
    centred = run(venv)
    assert raw.std() > 0
    assert venv.reward_mean.mean == pytest.approx(raw.mean(), rel=1e-4)  # RunningMeanStd starts from count 1e-4
    # each step's reward is centred with the mean of the rewards up to and including it
    running = np.cumsum(raw.sum(1)) / (venv.num_envs * np.arange(1, len(raw) + 1))
    np.testing.assert_allclose(centred, raw - running[:, None], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(venv.normalize_reward(np.array([1.0, 2.0])), np.array([1.0, 2.0]) - raw.mean(), rtol=1e-5)
    venv.save(str(tmp_path / "norm.pkl"))  # the mean is saved with the statistics, and frozen when not training
    loaded = CenteringVecNormalize.load(str(tmp_path / "norm.pkl"), restock_venv())
    assert isinstance(loaded, CenteringVecNormalize) and loaded.reward_mean.mean == venv.reward_mean.mean
    loaded.training = False
    run(loaded)
    assert loaded.reward_mean.mean == venv.reward_mean.mean


def test_dqn_trains_on_centred_samples_and_evaluates_raw(tmp_path, write_hp):
    out = tmp_path / "run"
    section = {**TINY_SB3["dqn"], "eval_freq": 100, "n_eval_episodes": 1,
               "normalize": {"norm_obs": True, "norm_reward": False, "center_reward": True}}
    model = sb3.train("dqn", RESTOCK, out, timesteps=300, seed=0, scenario="quickstart",
                      hyperparams_file=write_hp({RESTOCK: section}, "dqn.yml"), progress_bar=False, command=["t"])
    venv = model.get_env()
    assert isinstance(venv, CenteringVecNormalize) and venv.center_reward
    buffer = model.replay_buffer
    stored = buffer.rewards[: buffer.pos, 0]
    assert venv.reward_mean.count == pytest.approx(model.num_timesteps + 1e-4, rel=1e-3)  # every step's reward
    assert venv.reward_mean.mean == pytest.approx(stored.mean(), rel=1e-4)  # the buffer keeps raw rewards ...
    sample = buffer.sample(64, env=venv)  # ... and samples them centred
    assert abs(float(sample.rewards.mean()) - (float(stored.mean()) - venv.reward_mean.mean)) < 3 * stored.std()
    assert np.isin(np.round(sample.rewards.numpy().ravel() + venv.reward_mean.mean, 3),
                   np.round(stored.astype(np.float64), 3)).all()
    evals = np.load(out / "eval" / "evaluations.npz")["results"]
    assert evals.mean() > stored.mean() * 10  # evaluation returns are raw episode sums (tens of days), not centred


def test_centering_is_refused_for_on_policy_algos(write_hp):
    section = {"normalize": {"norm_obs": True, "center_reward": True}}
    with pytest.raises(sb3.HyperparameterError, match="center_reward.*'ppo'"):
        sb3.resolve("ppo", RESTOCK, None, 100, 0, write_hp({RESTOCK: section}, "ppo.yml"))
    assert sb3.resolve("dqn", RESTOCK, None, 100, 0, write_hp({RESTOCK: section}, "dqn.yml"))["normalize"]["center_reward"]
