"""``shopgym train`` / ``shopgym evaluate`` (the typer app in shopgym.cli.train): run files, resume, evaluation; SlateQ
(``--algo slateq``) on Recommend-v0 and its refusal elsewhere."""

import json
import re

import gymnasium as gym
import pytest
import torch
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


RECOMMEND = "shopgym/Recommend-v0"
#: SlateQ in a few hundred sessions of the exact instance (agents.slateq.DEFAULTS for the rest).
TINY_SLATEQ = {"hidden": 8, "batch_size": 16, "learning_starts": 50, "train_freq": 2, "target_update_interval": 50}


def _words(output: str) -> str:
    """CLI output on one line, without the frame typer draws around an error."""
    return " ".join(output.replace("│", " ").split())


def test_train_slateq_writes_the_agents_slateq_run_that_evaluates_and_plays(tmp_path, write_hp):
    from agents.registry import make_policy
    from agents.slateq import train as train_slateq
    from shopgym.errors import OutputError

    hp = write_hp({RECOMMEND: TINY_SLATEQ})
    out = tmp_path / "slateq"
    args = ["train", "--algo", "slateq", "--env", RECOMMEND, "--scenario", "recommend-exact", "--seed", "3",
            "--out", str(out), "--hyperparams", str(hp), "--no-progress"]
    res = runner.invoke(app, [*args, "--timesteps", "150"])
    assert res.exit_code == 0, res.output
    assert f"policy spec: slateq:{out}" in res.output and "150 steps" in res.output
    # the same folder as `python -m agents.slateq` with the same settings: files, config.yml and weights
    train_slateq(tmp_path / "py", "recommend-exact", slate_size=1, timesteps=150, seed=3, hyperparams=TINY_SLATEQ)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in (tmp_path / "py").iterdir())
    cfg = yaml.safe_load((out / "config.yml").read_text())
    assert cfg == yaml.safe_load((tmp_path / "py" / "config.yml").read_text())
    assert cfg["algo"] == "slateq" and cfg["timesteps"] == 150 and cfg["hyperparams"]["hidden"] == 8
    assert cfg["env_kwargs"] == {"scenario": "recommend-exact", "slate_size": 1}  # the env's own slate size
    a, b = (torch.load(d / "model.pt", weights_only=True) for d in (out, tmp_path / "py"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((out / "slateq.json").read_text())["command"][:4] == ["shopgym", "train", "--algo", "slateq"]
    # the `slateq:` policy of shopgym benchmark plays an episode; shopgym evaluate plays the same ones
    env = gym.make(RECOMMEND, scenario="recommend-exact")
    policy = make_policy(f"slateq:{out}", env)
    played = [rollout(env, policy, seed) for seed in (0, 1)]
    assert all(ep.length > 0 and ep.episode_return == pytest.approx(ep.kpis["recommendation_margin"]) for ep in played)
    ev = runner.invoke(app, ["evaluate", "--model", str(out), "--episodes", "2"])
    assert ev.exit_code == 0, ev.output
    result = json.loads((out / "evaluation_recommend-exact.json").read_text())
    assert result["return"]["values"] == [ep.episode_return for ep in played]
    # no checkpoints, so no resume: the same command is refused before training, --overwrite trains again
    again = runner.invoke(app, [*args, "--timesteps", "60"])
    assert again.exit_code != 0 and isinstance(again.exception, OutputError)
    assert "cannot resume" in str(again.exception) and "--overwrite" in str(again.exception)
    assert yaml.safe_load((out / "config.yml").read_text())["timesteps"] == 150  # the earlier run is untouched
    redo = runner.invoke(app, [*args, "--timesteps", "60", "--overwrite"])
    assert redo.exit_code == 0, redo.output
    assert yaml.safe_load((out / "config.yml").read_text())["timesteps"] == 60
    assert not (out / "evaluation_recommend-exact.json").exists()  # the earlier run's files went with it


def test_train_slateq_on_another_env_is_refused_before_writing(tmp_path):
    for env in (["--env", "shopgym/Restock-v0"], []):  # named, or the default env (Restock)
        out = tmp_path / "x"
        res = runner.invoke(app, ["train", "--algo", "slateq", *env, "--out", str(out), "--timesteps", "10"])
        text = _words(res.output)
        assert res.exit_code != 0 and "--algo slateq trains on shopgym/Recommend-v0 only" in text, res.output
        assert "not 'shopgym/Restock-v0'; pass --env shopgym/Recommend-v0" in text and not out.exists()


@pytest.mark.parametrize("line, match", [
    ("gamma: '0.9'", "error: SlateQ gamma='0.9' in the 'shopgym/Recommend-v0' section of .* is str; write a number"),
    ("batch_size: 0", "error: SlateQ batch_size=0 .* is out of range: it must be >= 1"),
    ("n_timesteps: lots", "error: SlateQ n_timesteps='lots' .* is str; write a whole number"),
])
def test_train_slateq_bad_hyperparameter_is_one_line_without_traceback(tmp_path, monkeypatch, capsys, line, match):
    """The ``shopgym`` console script (``shopgym.cli.main.main``) prints the typed error, exits 2, writes nothing."""
    import sys

    from shopgym.cli.main import main

    hp, out = tmp_path / "hp.yml", tmp_path / "run"
    hp.write_text(f"{RECOMMEND}: {{learning_starts: 20, {line}}}\n")
    monkeypatch.setattr(sys, "argv", ["shopgym", "train", "--algo", "slateq", "--env", RECOMMEND, "--scenario",
                                      "recommend-exact", "--hyperparams", str(hp), "--out", str(out), "--no-progress"])
    with pytest.raises(SystemExit) as stop:
        main()
    err = capsys.readouterr().err
    assert stop.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert re.match(match, _words(err)) and "Traceback" not in err and not out.exists()
