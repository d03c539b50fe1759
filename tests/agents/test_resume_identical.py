"""Training runs that are killed and re-run give the model an uninterrupted run gives; runs are keyed by the
scenario's content; a corrupt latest checkpoint falls back to the previous one (issue 20, Build items 1-3)."""

from __future__ import annotations

import shutil

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from agents import sb3
from agents.dqn import DQN
from agents.dqn.evaluation import evaluate
from agents.dqn.run import train
from shopgym.cli.train import app
from shopgym.config import scenario_path
from shopgym.errors import ModelFileError, OutputError
from tests.agents.conftest import RESTOCK, SHORT, TINY_DQN, TINY_SB3

#: Two native worlds, 30-day episodes; observation scaling, 3-step returns, prioritized replay and reward
#: centering on, so that each part of the training state must survive the kill.
SECTION = {**TINY_DQN, "n_envs": 2, "learning_starts": 250, "n_step": 3, "prioritized": True, "reward_centering": True,
           "normalize_obs": True, "env_kwargs": SHORT, "checkpoint_freq": 200, "eval_freq": 300, "n_eval_episodes": 1}
STEPS = 480


class Killed(Exception):
    """Stands for ``kill -9``: training stops between two steps, after some checkpoints."""


def kill_at(monkeypatch, step: int) -> None:
    """Make our DQN raise ``Killed`` once ``step`` env steps are done."""
    update = DQN._update

    def killing_update(self):
        if self.num_timesteps >= step:
            raise Killed
        return update(self)

    monkeypatch.setattr(DQN, "_update", killing_update)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """An uninterrupted run directory and its model."""
    root = tmp_path_factory.mktemp("uninterrupted")
    hp = root / "hp.yml"
    hp.write_text(yaml.safe_dump({RESTOCK: SECTION}))
    out = root / "run"
    model = train(RESTOCK, out, STEPS, seed=4, scenario="quickstart", hyperparams_file=hp, progress_bar=False)
    return out, hp, model


def killed_then_resumed(tmp_path, monkeypatch, hp, step: int):
    out = tmp_path / "run"
    kill_at(monkeypatch, step)
    with pytest.raises(Killed):
        train(RESTOCK, out, STEPS, seed=4, scenario="quickstart", hyperparams_file=hp, progress_bar=False)
    monkeypatch.undo()
    return out


def assert_same_model(a: DQN, b: DQN) -> None:
    for name in ("q_net", "q_target"):
        sa, sb = getattr(a.policy, name).state_dict(), getattr(b.policy, name).state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa), name
    oa, ob = a.policy.optimizer.state_dict()["state"], b.policy.optimizer.state_dict()["state"]
    assert all(torch.equal(oa[i][k], ob[i][k]) for i in oa for k in oa[i])
    assert (a.num_timesteps, a.n_updates, a.n_episodes, a.reward_mean) == (b.num_timesteps, b.n_updates, b.n_episodes,
                                                                           b.reward_mean)


@pytest.mark.parametrize("step", [260, 430])  # in the warm-up (before learning starts), and mid-episode while learning
def test_our_dqn_killed_and_rerun_gives_the_uninterrupted_model(uninterrupted, tmp_path, monkeypatch, step):
    out_a, hp, model_a = uninterrupted
    out = killed_then_resumed(tmp_path, monkeypatch, hp, step)
    model_b = train(RESTOCK, out, STEPS, seed=4, scenario="quickstart", hyperparams_file=hp, progress_bar=False)
    assert_same_model(model_a, model_b)
    assert (out / "model" / "model.pt").read_bytes() == (out_a / "model" / "model.pt").read_bytes()
    env = gym.make(RESTOCK, scenario="quickstart", **SHORT)
    ra, rb = evaluate(model_a.predict, env, [0, 1]), evaluate(model_b.predict, env, [0, 1])
    np.testing.assert_array_equal(ra.returns, rb.returns)


def test_corrupt_latest_checkpoint_falls_back_to_the_previous_one(uninterrupted, tmp_path, monkeypatch):
    out_a, hp, model_a = uninterrupted
    out = killed_then_resumed(tmp_path, monkeypatch, hp, 430)
    ckpts = out / "checkpoints"
    assert (ckpts / "latest").is_dir() and (ckpts / "previous").is_dir()  # 400 and 200
    weights = ckpts / "latest" / "model.pt"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated, as a full disk or a kill mid-copy leaves it
    with pytest.warns(UserWarning, match=r"skipping checkpoint .*latest: model.pt does not match its checksum"):
        fallback = DQN.load_checkpoint(ckpts)
    assert fallback.num_timesteps == 200
    with pytest.warns(UserWarning, match="skipping checkpoint"):
        model_b = train(RESTOCK, out, STEPS, seed=4, scenario="quickstart", hyperparams_file=hp, progress_bar=False)
    assert_same_model(model_a, model_b)  # resumed from the previous checkpoint, still the same model


def test_every_checkpoint_corrupt_is_one_clear_error(tmp_path):
    model = DQN(RESTOCK, {**TINY_DQN, "n_envs": 2}, seed=0, env_kwargs=SHORT)
    model.learn(120, checkpoint_dir=tmp_path, checkpoint_freq=50)
    for name in ("latest", "previous"):
        (tmp_path / name / "state.json").write_text("{")
    with pytest.warns(UserWarning), pytest.raises(ModelFileError, match=r"no readable checkpoint.*--overwrite"):
        DQN.load_checkpoint(tmp_path)


def test_edited_scenario_file_is_refused_and_overwrite_starts_again(tmp_path):
    scenario = tmp_path / "shop.toml"
    shutil.copy(scenario_path("quickstart"), scenario)
    hp = tmp_path / "hp.yml"
    hp.write_text(yaml.safe_dump({RESTOCK: {**TINY_DQN, "env_kwargs": SHORT, "eval_freq": 1000, "checkpoint_freq": 1000}}))
    out = tmp_path / "run"
    kw = dict(seed=0, scenario=str(scenario), hyperparams_file=hp, progress_bar=False)
    train(RESTOCK, out, 60, **kw)
    recorded = yaml.safe_load((out / "config.yml").read_text())["scenario_hash"]
    assert isinstance(recorded, str) and len(recorded) == 64
    train(RESTOCK, out, 120, **kw)  # same content: resumed
    scenario.write_text(scenario.read_text().replace("base_rate = 4.0", "base_rate = 200.0"))
    with pytest.raises(OutputError, match=r"other scenario content .*pass --overwrite to start it again") as err:
        train(RESTOCK, out, 180, **kw)
    assert "\n" not in str(err.value)
    model = train(RESTOCK, out, 60, overwrite=True, **kw)
    assert model.num_timesteps == 60 and yaml.safe_load((out / "config.yml").read_text())["scenario_hash"] != recorded
    res = CliRunner().invoke(app, ["train", "--algo", "shopgym-dqn", "--scenario", str(scenario), "--out", str(out),
                                   "--hyperparams", str(hp), "--timesteps", "60", "--seed", "1", "--no-progress"])
    assert isinstance(res.exception, OutputError) and "seed=0, not 1" in str(res.exception)
    res = CliRunner().invoke(app, ["train", "--algo", "shopgym-dqn", "--scenario", str(scenario), "--out", str(out),
                                   "--hyperparams", str(hp), "--timesteps", "60", "--seed", "1", "--no-progress",
                                   "--overwrite"])
    assert res.exit_code == 0, res.output
    assert yaml.safe_load((out / "config.yml").read_text())["seed"] == 1


@pytest.mark.parametrize("algo, extra", [("ppo", {}), ("dqn", {"double_q": True, "train_freq": 4})])
def test_sb3_killed_and_rerun_gives_the_uninterrupted_model(tmp_path, monkeypatch, algo, extra):
    """PPO (VecNormalize, torch-sampled actions) and DQN (Double-DQN targets, replay buffer, epsilon-greedy from
    numpy's global generator), both with a linear learning-rate schedule rebuilt on load."""
    hp = tmp_path / f"{algo}.yml"
    hp.write_text(yaml.safe_dump({RESTOCK: {**TINY_SB3[algo], "eval_freq": 10_000, "n_eval_episodes": 1,
                                            "checkpoint_freq": 100, "learning_rate": "lin_0.001", **extra}}))
    kw = dict(timesteps=384, seed=0, hyperparams_file=hp, progress_bar=False, command=["test"])
    a = sb3.train(algo, RESTOCK, tmp_path / "a", **kw)
    start = sb3.LatestCheckpoint._on_rollout_start

    def killing(self):
        if self.model.num_timesteps >= 256:  # after the checkpoint at 128: steps 128..256 are lost
            raise Killed
        start(self)

    monkeypatch.setattr(sb3.LatestCheckpoint, "_on_rollout_start", killing)
    with pytest.raises(Killed):
        sb3.train(algo, RESTOCK, tmp_path / "b", **kw)
    monkeypatch.undo()
    b = sb3.train(algo, RESTOCK, tmp_path / "b", **kw)
    pa, pb = a.policy.state_dict(), b.policy.state_dict()
    assert b.num_timesteps == a.num_timesteps == 384 and all(torch.equal(pa[k], pb[k]) for k in pa)
    if algo == "ppo":
        ra, rb = a.get_env().obs_rms, b.get_env().obs_rms
        np.testing.assert_array_equal(ra.mean, rb.mean)
        np.testing.assert_array_equal(ra.var, rb.var)


@pytest.mark.slow
def test_kill_9_during_shopgym_train_then_rerun_gives_the_uninterrupted_model_pt(tmp_path):
    """The issue's case end to end: ``shopgym train`` killed with SIGKILL at an arbitrary moment (here: soon
    after its second checkpoint, mid-way between two), re-run with the same command: ``model.pt`` is
    byte-identical to an uninterrupted run's."""
    import subprocess
    import sys
    import time

    hp = tmp_path / "hp.yml"
    hp.write_text(yaml.safe_dump({RESTOCK: {**SECTION, "checkpoint_freq": 1000, "eval_freq": 1500}}))
    cmd = [sys.executable, "-c", "from shopgym.cli.main import main; main()", "train", "--algo", "shopgym-dqn",
           "--scenario", "quickstart", "--hyperparams", str(hp), "--timesteps", "6000", "--seed", "4", "--no-progress"]
    subprocess.run([*cmd, "--out", str(tmp_path / "a")], check=True, capture_output=True)
    out = tmp_path / "b"
    proc = subprocess.Popen([*cmd, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (out / "checkpoints" / "previous").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.kill()
    assert proc.wait() != 0, "the run finished before it could be killed: raise --timesteps"
    assert not (out / "model").exists()
    subprocess.run([*cmd, "--out", str(out)], check=True, capture_output=True)
    assert (out / "model" / "model.pt").read_bytes() == (tmp_path / "a" / "model" / "model.pt").read_bytes()


def test_per_sku_dqn_killed_and_rerun_gives_the_uninterrupted_model(tmp_path, monkeypatch):
    """The per-SKU agent (2 worlds x 10 SKUs, stock shaping on: the shaping potential is restored too)."""
    from agents import per_sku

    hp = tmp_path / "hp.yml"
    hp.write_text(yaml.safe_dump({per_sku.ENV_ID: {
        **TINY_DQN, "n_envs": 20, "checkpoint_freq": 200, "eval_freq": 10_000, "n_eval_episodes": 1,
        "env_kwargs": {**SHORT, "reward_scale": 0.1, "stock_shaping": True}}}))
    kw = dict(timesteps=600, seed=0, hyperparams_file=hp, progress_bar=False)
    a = per_sku.train("seasonal", tmp_path / "a", **kw)
    kill_at(monkeypatch, 440)
    with pytest.raises(Killed):
        per_sku.train("seasonal", tmp_path / "b", **kw)
    monkeypatch.undo()
    assert_same_model(a, per_sku.train("seasonal", tmp_path / "b", **kw))
