"""``shopgym train`` / ``shopgym evaluate`` (the typer app in shopgym.cli.train): run files, resume, evaluation."""

import json

import gymnasium as gym
import pytest
import yaml
from typer.testing import CliRunner

from agents.trained import load_policy
from shopgym.cli.train import app
from shopgym.rollout import rollout
from shopgym.stats import mean_ci95
from tests.agents.conftest import RESTOCK, SHORT, TINY_DQN

runner = CliRunner()


def test_train_resume_and_evaluate_our_dqn(tmp_path, write_hp):
    hp = write_hp({RESTOCK: {**TINY_DQN, "env_kwargs": SHORT, "checkpoint_freq": 100, "eval_freq": 100,
                             "n_eval_episodes": 1}})
    out = tmp_path / "run"
    args = ["train", "--algo", "shopgym-dqn", "--scenario", "quickstart", "--seed", "3", "--out", str(out),
            "--hyperparams", str(hp), "--no-progress"]
    first = runner.invoke(app, [*args, "--timesteps", "200"])
    assert first.exit_code == 0, first.output
    cfg = yaml.safe_load((out / "config.yml").read_text())
    assert cfg["seed"] == 3 and cfg["hyperparams"]["net_arch"] == [16] and cfg["env_kwargs"]["scenario"] == "quickstart"
    run = json.loads((out / "run.json").read_text())["runs"][0]
    assert "--timesteps" in run["command"] and run["versions"]["torch"] and run["versions"]["gymnasium"]
    second = runner.invoke(app, [*args, "--timesteps", "400"])
    assert second.exit_code == 0, second.output
    assert "400 steps" in second.output
    assert len(json.loads((out / "run.json").read_text())["runs"]) == 2
    ev = runner.invoke(app, ["evaluate", "--model", str(out), "--episodes", "2"])
    assert ev.exit_code == 0, ev.output
    result = json.loads((out / "evaluation_quickstart.json").read_text())
    assert result["seeds"] == [0, 1] and len(result["profit"]["values"]) == 2
    # evaluation drops the training reward scale: the return is the profit, and the summary is mean_ci95's
    assert result["return"]["values"] == pytest.approx(result["profit"]["values"])
    assert (result["profit"]["mean"], result["profit"]["ci95"]) == mean_ci95(result["profit"]["values"])
    env = gym.make(RESTOCK, scenario="quickstart", horizon=SHORT["horizon"])
    replay = [rollout(env, load_policy(f"dqn:{out}", env), seed).profit for seed in (0, 1)]
    assert result["profit"]["values"] == replay  # the same episodes as shopgym.rollout plays
    # a run folder that cannot take the result is refused before any episode is played
    import shopgym.cli.train as cli_train
    from shopgym.errors import OutputError

    def unwritable(path, **kwargs):
        raise OutputError(f"--model {path}: cannot write in this folder")

    played = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli_train, "prepare_out", unwritable)
        mp.setattr(cli_train, "rollout", lambda *a, **k: played.append(a))
        refused = runner.invoke(app, ["evaluate", "--model", str(out), "--episodes", "2"])
    assert refused.exit_code != 0 and isinstance(refused.exception, OutputError) and played == []
    # one episode has no spread: the CI is JSON null (strict JSON: no NaN), printed as n/a
    one = runner.invoke(app, ["evaluate", "--model", str(out), "--episodes", "1"])
    assert one.exit_code == 0 and "n/a (one episode)" in one.output, one.output
    text = (out / "evaluation_quickstart.json").read_text()
    single = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c} in {text}"))
    assert single["profit"]["ci95"] is None and len(single["profit"]["values"]) == 1
    zero = runner.invoke(app, ["evaluate", "--model", str(out), "--episodes", "0"])
    assert zero.exit_code != 0 and "--episodes must be at least 1" in zero.output


def test_unknown_algo_is_refused(tmp_path):
    res = runner.invoke(app, ["train", "--algo", "dqnn", "--out", str(tmp_path / "x")])
    assert res.exit_code != 0 and "dqnn" in res.output
