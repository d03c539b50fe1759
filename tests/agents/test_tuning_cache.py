"""The tuned-parameter cache: tune once per scenario content, never reuse a stale or broken entry,
write atomically, and show the folder in ``shopgym cache``. Tiny scenarios (30-day quickstart)."""

import json
import sys

import gymnasium as gym
import pytest
from typer.testing import CliRunner

import agents.tuning as tuning
import shopgym  # noqa: F401
from agents import tuning_cache
from agents.registry import make_policy
from shopgym.cli.main import app
from shopgym.config import load_scenario
from tests.agents.conftest import RESTOCK

SHORT = {"scenario": "quickstart", "horizon": 30}


@pytest.fixture
def searches(monkeypatch):
    """Counts calls of the grid search (two per tuning: coarse, then fine)."""
    calls = []
    real = tuning._search

    def counted(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(tuning, "_search", counted)
    return calls


def _key(scenario, name="sS", seeds=(1, 2), grid=None):
    grid = grid or {k: v.tolist() for k, v in tuning.GRIDS[name].items()}
    return tuning_cache.cache_key(scenario, name, list(seeds), grid, tuning.METHOD)


def test_cache_lives_in_the_test_folder(isolated_cache, tmp_path):
    assert tuning_cache.cache_dir() == isolated_cache / "tuning"
    assert tmp_path in tuning_cache.cache_dir().parents


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG folders are the Linux/BSD default")
def test_default_folder_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.delenv("SHOPGYM_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert tuning_cache.cache_dir() == tmp_path / "xdg" / "shopgym" / "tuning"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert tuning_cache.cache_dir() == tmp_path / "home" / ".cache" / "shopgym" / "tuning"


def test_second_make_policy_reads_the_cache(searches, capsys):
    """The issue's case: sS on one scenario is tuned (with its progress bar) once; the second call reads it."""
    env = gym.make(RESTOCK, **SHORT)
    first = make_policy("sS", env)
    err = capsys.readouterr().err
    assert "tuning sS on quickstart" in err and "cached in" in err  # the progress bar, then where it went
    assert searches == ["sS", "sS"]
    entries = list(tuning_cache.cache_dir().glob("*.json"))
    assert len(entries) == 1 and not list(tuning_cache.cache_dir().glob(".*.tmp"))
    second = make_policy("sS", gym.make(RESTOCK, **SHORT))
    assert searches == ["sS", "sS"]  # not tuned again
    assert second.params == first.params and set(first.params) == {"z", "cover"}
    err = capsys.readouterr().err
    assert "cached tuned parameters" in err and "tuning sS on" not in err
    make_policy("base_stock", env)  # another policy has its own entry
    assert searches[2:] == ["base_stock", "base_stock"] and len(list(tuning_cache.cache_dir().glob("*.json"))) == 2


def test_a_changed_scenario_value_is_tuned_again(searches):
    make_policy("base_stock", gym.make(RESTOCK, **SHORT))
    make_policy("base_stock", gym.make(RESTOCK, **SHORT, holding_cost=0.5))
    assert searches == ["base_stock"] * 4


def test_key_depends_on_content_seeds_and_grid_not_on_labels():
    base = load_scenario("quickstart", horizon=30)
    key = _key(base)
    assert _key(load_scenario("quickstart", horizon=31)) != key
    assert _key(base.replace(order_cost=8.5)) != key
    assert _key(base, seeds=(1, 3)) != key
    assert _key(base, name="base_stock") != _key(base, name="base_stock", grid={"z": [0.0, 1.0]})
    relabelled = base.replace()
    relabelled.name, relabelled.description = "renamed", "same worlds, other words"
    assert _key(relabelled) == key
    assert _key(base.replace(weekly=[1, 1, 1, 1, 1, 1, 1])) == _key(base.replace(weekly=[1.0] * 7))


def test_key_follows_the_bytes_of_a_learned_model(tmp_path):
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights v1")
    scenario = load_scenario("quickstart", demand_model=f"learned:{model}")
    key = _key(scenario)
    assert _key(scenario) == key
    model.write_bytes(b"weights v2")
    assert _key(scenario) != key


@pytest.mark.parametrize("content", ["", "{\"format\": 1, \"ke", "[1, 2]", "null", "WRONG_KEY", "NAN_PARAM",
                                     "MISSING_PARAM"])
def test_a_broken_entry_is_ignored_and_rewritten(searches, content):
    env = gym.make(RESTOCK, **SHORT)
    params = make_policy("base_stock", env).params  # base_stock: its grid tunes in a fraction of a second
    path = next(tuning_cache.cache_dir().glob("*.json"))
    entry = json.loads(path.read_text())
    if content == "WRONG_KEY":
        content = json.dumps({**entry, "key": "0" * 64})
    elif content == "NAN_PARAM":
        content = json.dumps({**entry, "params": {"z": float("nan")}})
    elif content == "MISSING_PARAM":
        content = json.dumps({**entry, "params": {"cover": 1.0}})
    path.write_text(content)
    assert make_policy("base_stock", env).params == params
    assert searches == ["base_stock"] * 4  # tuned again instead of crashing or trusting the entry
    assert json.loads(path.read_text())["params"] == params  # and the entry is whole again


def test_an_unwritable_cache_warns_and_still_tunes(monkeypatch, tmp_path, searches):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SHOPGYM_CACHE_DIR", str(blocker))
    scenario = load_scenario("quickstart", horizon=30)
    with pytest.warns(UserWarning, match="SHOPGYM_CACHE_DIR"):
        params = tuning.tune(scenario, "base_stock", n_seeds=2, progress=False)
    assert set(params) == {"z"} and searches == ["base_stock"] * 2


def test_tune_without_cache_writes_nothing(searches):
    scenario = load_scenario("quickstart", horizon=30)
    a = tuning.tune(scenario, "base_stock", n_seeds=2, progress=False, cache=False)
    b = tuning.tune(scenario, "base_stock", n_seeds=2, progress=False, cache=False)
    assert a == b and searches == ["base_stock"] * 4 and not tuning_cache.cache_dir().exists()


def test_cli_prints_the_folder_lists_and_clears_entries():
    runner = CliRunner()
    empty = runner.invoke(app, ["cache"])
    assert empty.exit_code == 0 and str(tuning_cache.cache_dir()) in empty.output and "(0 entries)" in empty.output
    tuning.tune(load_scenario("quickstart", horizon=30), "base_stock", n_seeds=2, progress=False)
    listed = runner.invoke(app, ["cache"])
    assert listed.exit_code == 0 and "(1 entries)" in listed.output and "base_stock on quickstart" in listed.output
    cleared = runner.invoke(app, ["cache", "--clear"])
    assert cleared.exit_code == 0 and "removed 1 files" in cleared.output
    assert not list(tuning_cache.cache_dir().glob("*.json"))
