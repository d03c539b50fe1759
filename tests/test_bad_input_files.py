"""Issue 20, items 5 and 6: model files that cannot run code, and one line for every file fault.

Each CLI case asserts a non-zero exit, exactly one ``error:`` line that names the file, and no traceback.
Each malicious pickle writes a marker file if it ever runs; the marker must never appear.
"""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from typer.testing import CliRunner

from shopgym.errors import DataError, HyperparameterError, ModelFileError

runner = CliRunner()


class Payload:
    """Pickles to a call of ``Path.touch(marker)``: proof of code execution if the marker appears."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def one_error_line(output: str, *names: str) -> str:
    """The single ``error:`` line of ``output``; it must mention every one of ``names``."""
    assert "Traceback" not in output, output
    lines = [ln for ln in output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, output
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """Run the ``shopgym`` console script (``shopgym.cli.main.main``) in-process: exit code and stderr."""
    from shopgym.cli.main import main

    monkeypatch.setattr(sys, "argv", ["shopgym", *args])
    with pytest.raises(SystemExit) as info:
        main()
    return info.value.code, capsys.readouterr().err


def daily_csv(path: Path, n_series: int = 2, n_days: int = 40) -> Path:
    d = pd.date_range("2023-01-02", periods=n_days)
    rng = np.random.default_rng(0)
    pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": d, "y": rng.poisson(5.0, n_days).astype(float)})
               for i in range(n_series)]).to_csv(path, index=False)
    return path


def zipped(path: Path, inner: str, text: str) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(inner, text)
    return path


# ---------------------------------------------------------------------- forecast backtest: data files
def _bad_data_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    good = daily_csv(tmp / "good.csv").read_text()
    return {
        "empty": ((tmp / "empty.csv"), "is empty"),
        "header only": ((tmp / "header.csv"), "no data rows"),
        "unparsable": ((tmp / "broken.csv"), "not a well-formed CSV"),
        "not UTF-8": ((tmp / "latin.csv"), "not UTF-8"),
        "corrupt zip": ((tmp / "train.csv.zip"), "not a valid zip archive"),
        "truncated zip": ((tmp / "cut.csv.zip"), "not a valid zip archive"),
        "zip of two files": ((tmp / "two.zip"), "Multiple files"),
        "wrong columns": ((tmp / "cols.csv"), "lacks column(s) ['unique_id', 'ds', 'y']"),
        "good text, bad dates": ((tmp / "dates.csv"), "does not hold dates"),
        "_good": ((tmp / "good.csv"), good),
    }


def _write_bad_data_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    files = _bad_data_files(tmp)
    files["empty"][0].write_bytes(b"")
    files["header only"][0].write_text("unique_id,ds,y\n")
    files["unparsable"][0].write_text('unique_id,ds,y\ns0,2023-01-02,"5\n')
    files["not UTF-8"][0].write_bytes("unique_id,ds,y\ns\xe9,2023-01-02,5\n".encode("latin-1"))
    files["corrupt zip"][0].write_bytes(b"PK\x03\x04" + os.urandom(64))
    whole = zipped(tmp / "whole.zip", "train.csv", files["_good"][1]).read_bytes()
    files["truncated zip"][0].write_bytes(whole[: len(whole) // 2])
    with zipfile.ZipFile(files["zip of two files"][0], "w") as z:
        z.writestr("a.csv", files["_good"][1])
        z.writestr("b.csv", files["_good"][1])
    files["wrong columns"][0].write_text("series,date,sales\ns0,2023-01-02,5\n")
    files["good text, bad dates"][0].write_text("unique_id,ds,y\ns0,not-a-date,5\ns0,also-not,6\n")
    return {k: v for k, v in files.items() if not k.startswith("_")}


@pytest.mark.filterwarnings("ignore:Could not infer format")
def test_every_bad_data_file_is_one_line_naming_it_in_forecast_backtest(tmp_path):
    from shopgym.cli.forecast import app

    for case, (path, problem) in _write_bad_data_files(tmp_path).items():
        res = runner.invoke(app, ["backtest", "--data", str(path), "--models", "seasonal_naive", "--h", "7",
                                  "--n-windows", "1"])
        assert res.exit_code == 2, (case, res.output)
        line = one_error_line(res.output, path.name)
        assert problem in line, (case, line)


def test_the_good_file_still_backtests(tmp_path):
    from shopgym.cli.forecast import app

    res = runner.invoke(app, ["backtest", "--data", str(daily_csv(tmp_path / "ok.csv")), "--models",
                              "seasonal_naive", "--h", "7", "--n-windows", "1"])
    assert res.exit_code == 0, res.output
    assert any(line.split()[:1] == ["seasonal_naive"] for line in res.output.splitlines()), res.output


def test_the_loaders_name_a_corrupt_file_and_what_it_is(tmp_path):
    from forecasters.loaders import load_m5, load_walmart

    bad = tmp_path / "train.csv.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match=r"Walmart sales file '.*train\.csv\.zip' is not a valid zip archive"):
        load_walmart(bad)
    empty = tmp_path / "calendar.csv"
    empty.write_bytes(b"")
    sales = tmp_path / "sales.csv"
    sales.write_text("id,d_1\nA,1\n")
    with pytest.raises(DataError, match=r"M5 calendar file '.*calendar\.csv' is empty"):
        load_m5(sales, empty)


# ---------------------------------------------------------------------- forecasters: safe load, trust=True
@pytest.fixture(scope="module")
def saved_forecaster(tmp_path_factory) -> Path:
    from forecasters.registry import make

    d = pd.date_range("2023-01-02", periods=30)
    df = pd.DataFrame({"unique_id": "a", "ds": d, "y": np.arange(30.0) % 7 + 3})
    return make("seasonal_naive").fit(df).save(tmp_path_factory.mktemp("fc") / "naive.pkl")


def _loaders():
    import forecasters
    from forecasters.base import Forecaster
    from forecasters.safe_load import load_forecaster

    return {"forecasters.load": forecasters.load, "Forecaster.load": Forecaster.load,
            "safe_load.load_forecaster": load_forecaster}


@pytest.mark.parametrize("loader", ["forecasters.load", "Forecaster.load", "safe_load.load_forecaster"])
def test_a_malicious_forecaster_pickle_is_refused_unrun_by_every_load_path(tmp_path, loader):
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"format": 1, "module": "forecasters.models.naive", "class": "SeasonalNaive",
                                   "params": {}, "state": {"x_": Payload(marker)}}))
    with pytest.raises(ModelFileError, match=r"evil\.pkl.*references pathlib.*Path\.touch.*trust=True"):
        _loaders()[loader](evil)
    assert not marker.exists()


@pytest.mark.parametrize("loader", ["forecasters.load", "Forecaster.load", "safe_load.load_forecaster"])
def test_broken_forecaster_files_are_named_errors(tmp_path, saved_forecaster, loader):
    load = _loaders()[loader]
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(saved_forecaster.read_bytes()[:60])
    empty = tmp_path / "empty.pkl"
    empty.write_bytes(b"")
    text = tmp_path / "notes.pkl"
    text.write_text("this is not a model\n")
    for path, problem in ((cut, "corrupt, truncated"), (empty, "is empty"), (text, "corrupt, truncated"),
                          (tmp_path / "missing.pkl", "no such file"), (tmp_path, "is a folder")):
        with pytest.raises(ModelFileError, match=problem) as info:
            load(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_trust_true_is_the_plain_pickle_path(tmp_path, saved_forecaster):
    import forecasters

    safe, trusted = forecasters.load(saved_forecaster), forecasters.load(saved_forecaster, trust=True)
    pd.testing.assert_frame_equal(safe.predict(5), trusted.predict(5))
    # a class outside the allowlist: refused without trust, loaded with it (the caller vouches for the file)
    odd = tmp_path / "odd.pkl"
    blob = pickle.loads(saved_forecaster.read_bytes())
    blob["state"]["when_"] = Path("/tmp")
    odd.write_bytes(pickle.dumps(blob))
    with pytest.raises(ModelFileError, match="PosixPath|WindowsPath"):
        forecasters.load(odd)
    assert forecasters.load(odd, trust=True).when_ == Path("/tmp")


def test_a_full_disk_while_saving_leaves_the_previous_model_whole(tmp_path, saved_forecaster, monkeypatch):
    import forecasters
    from shopgym.cli.faults import describe

    target = tmp_path / "model.pkl"
    shutil.copy(saved_forecaster, target)
    before = target.read_bytes()
    model = forecasters.load(target)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as info:
        model.save(target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pkl"]  # no stray temporary file
    line = describe(info.value)
    assert str(target) in line and "disk is full" in line and "\n" not in line


# ---------------------------------------------------------------------- conversion models
def _conversion_model_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    empty = tmp / "empty.pt"
    empty.write_bytes(b"")
    text = tmp / "notes.pt"
    text.write_text("click,cart\n1,0\n")
    buf = io.BytesIO()
    torch.save({"format": 1, "state_dict": {"w": torch.zeros(64)}}, buf)
    cut = tmp / "cut.pt"
    cut.write_bytes(buf.getvalue()[:80])
    other = tmp / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    return {"empty": (empty, "is empty"), "text": (text, "not a readable torch file"),
            "truncated": (cut, "not a readable torch file"), "foreign": (other, "not a conversion model"),
            "missing": (tmp / "none.pt", "no such file")}


def test_bad_conversion_model_files_are_one_line_in_conversion_evaluate(tmp_path):
    from shopgym.cli.conversion import app

    logs = tmp_path / "logs.csv"
    logs.write_text("a,click,cart,purchase\n1,0,0,0\n2,1,0,0\n")
    for case, (path, problem) in _conversion_model_files(tmp_path).items():
        res = runner.invoke(app, ["evaluate", str(path), str(logs)])
        assert res.exit_code == 2, (case, res.output)
        assert problem in one_error_line(res.output, path.name), case
        assert "Aborted" not in res.output


def test_a_malicious_conversion_model_is_refused_unrun(tmp_path):
    from forecasters.conversion.base import ConversionModel

    marker = tmp_path / "ran"
    path = tmp_path / "evil.pt"
    torch.save({"format": 1, "model": "lr", "params": Payload(marker)}, path)
    with pytest.raises(ModelFileError, match=r"evil\.pt.*other than tensors.*could run code"):
        ConversionModel.load(path)
    assert not marker.exists()


def test_conversion_fit_names_corrupt_logs_and_an_out_folder(tmp_path):
    from shopgym.cli.conversion import app

    logs = tmp_path / "logs.csv.zip"
    logs.write_bytes(b"PK\x03\x04 truncated")
    res = runner.invoke(app, ["fit", str(logs), str(tmp_path / "m.pt"), "--model", "lr", "--epochs", "1"])
    assert res.exit_code == 2 and "not a valid zip archive" in one_error_line(res.output, logs.name)
    good = tmp_path / "good.csv"
    good.write_text("a,click,cart,purchase\n1,0,0,0\n2,1,0,0\n")
    res = runner.invoke(app, ["fit", str(good), str(tmp_path), "--model", "lr", "--epochs", "1"])
    assert res.exit_code == 2 and "is a folder" in one_error_line(res.output, str(tmp_path))


def test_a_full_disk_in_a_command_is_one_line_from_the_console_script(tmp_path, monkeypatch, capsys):
    """``shopgym conversion fit`` on a full disk: one line naming the file, exit 2, no model file."""
    from forecasters.conversion.logs import generate_logs, log_scenario, save_logs

    logs = save_logs(generate_logs(log_scenario(n_skus=20, n_categories=2), 300, seed=0), tmp_path / "logs.csv")
    out = tmp_path / "m.pt"

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device", str(out))

    monkeypatch.setattr(os, "fsync", full)
    code, err = run_main(monkeypatch, capsys, "conversion", "fit", str(logs), str(out), "--model", "lr",
                         "--epochs", "1")
    assert code == 2
    assert "disk is full" in one_error_line(err, str(out))
    assert not out.exists()


# ---------------------------------------------------------------------- run folders: config.yml, our DQN
@pytest.fixture(scope="module")
def dqn_run(tmp_path_factory) -> Path:
    """A 120-step run of our DQN (net_arch [16], 30-day episodes) written by ``shopgym train``."""
    from shopgym.cli.train import app
    from tests.agents.conftest import TINY_DQN

    tmp = tmp_path_factory.mktemp("dqn")
    hp = tmp / "hp.yml"
    hp.write_text(yaml.safe_dump({"shopgym/Restock-v0": {**TINY_DQN, "env_kwargs": {"horizon": 30},
                                                         "checkpoint_freq": 1000, "eval_freq": 1000,
                                                         "n_eval_episodes": 1}}))
    out = tmp / "run"
    res = runner.invoke(app, ["train", "--algo", "shopgym-dqn", "--scenario", "quickstart", "--out", str(out),
                              "--hyperparams", str(hp), "--timesteps", "120", "--no-progress"])
    assert res.exit_code == 0, res.output
    return out


def _copy_run(run: Path, tmp: Path) -> Path:
    dst = tmp / "run"
    shutil.copytree(run, dst)
    return dst


def test_the_intact_run_evaluates(dqn_run, tmp_path, monkeypatch, capsys):
    run = _copy_run(dqn_run, tmp_path)
    code, err = run_main(monkeypatch, capsys, "evaluate", "--model", str(run), "--episodes", "2")
    assert code == 0, err
    assert len(json.loads((run / "evaluation_quickstart.json").read_text())["profit"]["values"]) == 2


@pytest.mark.parametrize("case", ["empty model.pt", "text as model.pt", "missing model.pt", "malicious model.pt",
                                  "bad state.json", "state.json without keys", "bad config.yml",
                                  "empty config.yml", "config.yml not a run"])
def test_a_broken_run_folder_is_one_line_in_evaluate(dqn_run, tmp_path, monkeypatch, capsys, case):
    run = _copy_run(dqn_run, tmp_path)
    model = run / "model"
    marker = tmp_path / "ran"
    broken, problem = {
        "empty model.pt": (model / "model.pt", "empty"),
        "text as model.pt": (model / "model.pt", ""),
        "missing model.pt": (model / "model.pt", "is missing"),
        "malicious model.pt": (model / "model.pt", ""),
        "bad state.json": (model / "state.json", "not valid JSON"),
        "state.json without keys": (model / "state.json", "lacks ['num_timesteps'"),
        "bad config.yml": (run / "config.yml", "not readable YAML"),
        "empty config.yml": (run / "config.yml", "is empty"),
        "config.yml not a run": (run / "config.yml", "not a run configuration"),
    }[case]
    content = {"empty model.pt": b"", "text as model.pt": b"hello\n", "bad state.json": b'{"num_timesteps": 1',
               "state.json without keys": b"{}", "bad config.yml": b"algo: [unclosed\n", "empty config.yml": b"",
               "config.yml not a run": b"- 1\n- 2\n"}
    if case == "missing model.pt":
        broken.unlink()
    elif case == "malicious model.pt":
        torch.save({"q_net": Payload(marker)}, broken)
    else:
        broken.write_bytes(content[case])
    code, err = run_main(monkeypatch, capsys, "evaluate", "--model", str(run), "--episodes", "1")
    assert code == 2
    assert problem in one_error_line(err, str(broken))
    assert not marker.exists()


def test_read_run_config_names_the_file(tmp_path):
    from agents.hyperparams import read_run_config

    assert read_run_config(tmp_path) is None
    (tmp_path / "config.yml").write_text("algo: ppo\nenv_id: [\n")
    with pytest.raises(HyperparameterError, match=r"config\.yml' is not readable YAML.*fresh --out"):
        read_run_config(tmp_path)


# ---------------------------------------------------------------------- SB3 run files
@pytest.fixture(scope="module")
def sb3_files(tmp_path_factory):
    """A 32-step PPO (net_arch [16]) with VecNormalize on 30-day restock episodes, saved as a run would be."""
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    import shopgym  # noqa: F401

    tmp = tmp_path_factory.mktemp("sb3")

    def make():
        return DummyVecEnv([lambda: gym.make("shopgym/Restock-v0", scenario="quickstart", horizon=30)])

    venv = VecNormalize(make())
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=16, n_epochs=1, policy_kwargs={"net_arch": [16]},
                seed=0, device="cpu")
    model.learn(32)
    model.save(tmp / "model.zip")
    venv.save(str(tmp / "vecnormalize.pkl"))
    return tmp, model, venv, make


def test_sb3_files_load_safely_and_act_the_same(sb3_files):
    from stable_baselines3 import PPO

    from agents.sb3_safe_load import load_model, load_vecnormalize

    tmp, model, venv, make = sb3_files
    norm = load_vecnormalize(tmp / "vecnormalize.pkl", make())
    np.testing.assert_array_equal(norm.obs_rms.mean, venv.obs_rms.mean)
    back = load_model(PPO, tmp / "model.zip", env=norm)
    obs = venv.normalize_obs(venv.get_original_obs())
    np.testing.assert_array_equal(back.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])


def test_malicious_sb3_files_are_refused_unrun(sb3_files, tmp_path):
    import base64

    import cloudpickle
    from stable_baselines3 import PPO

    from agents.sb3_safe_load import load_model, load_replay_buffer, load_vecnormalize

    tmp, _, _, make = sb3_files
    marker = tmp_path / "ran"
    evil_norm = tmp_path / "vecnormalize.pkl"
    evil_norm.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(ModelFileError, match=r"vecnormalize\.pkl.*references pathlib.*not loaded"):
        load_vecnormalize(evil_norm, make())
    with pytest.raises(ModelFileError, match=r"vecnormalize\.pkl.*references pathlib.*not loaded"):
        load_replay_buffer(None, evil_norm)
    with zipfile.ZipFile(tmp / "model.zip") as z:
        parts = {n: z.read(n) for n in z.namelist()}
    data = json.loads(parts["data"])
    data["lr_schedule"][":serialized:"] = base64.b64encode(cloudpickle.dumps(Payload(marker))).decode()
    evil_zip = tmp_path / "model.zip"
    with zipfile.ZipFile(evil_zip, "w") as z:
        for name, blob in {**parts, "data": json.dumps(data).encode()}.items():
            z.writestr(name, blob)
    with pytest.raises(ModelFileError, match=r"model\.zip.*'lr_schedule'.*references pathlib.*not loaded"):
        load_model(PPO, evil_zip)
    assert not marker.exists()
    # a corrupt archive and an empty statistics file are named errors too
    evil_zip.write_bytes(evil_zip.read_bytes()[:100])
    with pytest.raises(ModelFileError, match=r"model\.zip' is not an SB3 model archive"):
        load_model(PPO, evil_zip)
    evil_norm.write_bytes(b"")
    with pytest.raises(ModelFileError, match=r"vecnormalize\.pkl' is empty"):
        load_vecnormalize(evil_norm, make())
