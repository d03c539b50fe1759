"""Benchmark and ``shopgym run`` outputs under bad input and file faults (issue 20, part 1): results keyed by
content and never reused stale, partial or empty state recomputed, outputs never silently replaced, and a
one-line error for an unusable ``--out`` before any simulation."""

import json
import os
import stat

import pandas as pd
import pytest
from typer.testing import CliRunner

from agents.tuning import GRIDS
from scenarios.bench_state import ResumeWarning, StaleResultsError, policy_hash
from scenarios.benchmark import run_benchmark
from shopgym.cli.main import app
from shopgym.config import load_scenario
from shopgym.content import scenario_hash
from shopgym.outdir import fresh_out

TINY = ('description = "tiny exact instance"\n[catalog]\nlead_time = 1\norder_cost = 4.0\n'
        "[demand]\nbase_rate = 3.0\n[inventory]\ncapacity = 12\ninitial_stock = 4\n[env]\nhorizon = 30\nmax_order = 8\n")


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def _profits(res):
    return res.results.sort_values(["policy", "seed"]).reset_index(drop=True)[["policy", "seed", "profit"]]


def test_edited_scenario_is_refused_then_overwrite_gives_the_fresh_numbers(tmp_path, tiny):
    out = tmp_path / "bench"
    old = run_benchmark([str(tiny)], ["random", "optimal"], n_seeds=2, out=out, progress=False)
    tiny.write_text(TINY.replace("base_rate = 3.0", "base_rate = 6.0"))
    before = (out / "results.csv").read_bytes()
    with pytest.raises(StaleResultsError, match=r"scenario 'tiny'.*demand\.base_rate 3(\.0)? -> 6(\.0)?.*--overwrite"):
        run_benchmark([str(tiny)], ["random", "optimal"], n_seeds=2, out=out, progress=False)
    assert (out / "results.csv").read_bytes() == before  # refused before touching anything
    # references alone (no result rows left) are checked too, and the CLI says it in one line, exit status 2
    (out / "results.csv").unlink()
    cli = CliRunner().invoke(app, ["benchmark", "--scenarios", str(tiny), "--policies", "random,optimal",
                                   "--seeds", "2", "--out", str(out)])
    assert cli.exit_code == 2 and "--overwrite" in cli.output and "Traceback" not in cli.output
    assert len(cli.output.strip().splitlines()) == 1
    redone = run_benchmark([str(tiny)], ["random", "optimal"], n_seeds=2, out=out, progress=False, overwrite=True)
    fresh = run_benchmark([str(tiny)], ["random", "optimal"], n_seeds=2, out=tmp_path / "fresh", progress=False)
    pd.testing.assert_frame_equal(_profits(redone), _profits(fresh))
    pd.testing.assert_frame_equal(redone.summary, fresh.summary)
    assert (_profits(redone)["profit"] != _profits(old)["profit"]).all()
    assert len(pd.read_csv(out / "results.csv")) == 4  # the old rows are gone, not mixed in
    refs = json.loads((out / "references.json").read_text())
    assert refs["tiny"]["scenario_hash"] == scenario_hash(load_scenario(str(tiny)))


def test_changed_model_files_or_tuning_grid_change_the_policy_hash(tmp_path, monkeypatch):
    run = tmp_path / "agent"
    (run / "checkpoints").mkdir(parents=True)
    (run / "model.zip").write_bytes(b"weights v1")
    h1 = policy_hash(f"sb3:{run}")
    (run / "checkpoints" / "latest.zip").write_bytes(b"a checkpoint")  # training state and logs, not the policy
    (run / "logs").mkdir()
    (run / "logs" / "progress.csv").write_text("step,return\n")
    (run / "run.json").write_text('{"runs": []}')  # a new train segment's command line
    (run / "evaluation_quickstart.json").write_text("{}")  # written by shopgym evaluate
    assert policy_hash(f"sb3:{run}") == h1
    (run / "model.zip").write_bytes(b"weights v2")
    assert policy_hash(f"sb3:{run}") != h1
    assert policy_hash("sS") != policy_hash("random")
    before = policy_hash("sS")
    monkeypatch.setitem(GRIDS, "sS", {**GRIDS["sS"], "cover": GRIDS["sS"]["cover"][:-1]})  # another tuning grid
    assert policy_hash("sS") != before


def test_rows_of_another_policy_content_are_refused(tmp_path, tiny):
    out = tmp_path / "bench"
    run_benchmark([str(tiny)], ["random"], n_seeds=2, out=out, progress=False)
    rows = pd.read_csv(out / "results.csv")
    rows.assign(policy_hash="made-by-other-model-files").to_csv(out / "results.csv", index=False)
    with pytest.raises(StaleResultsError, match="policy 'random' made with different settings.*--overwrite"):
        run_benchmark([str(tiny)], ["random"], n_seeds=2, out=out, progress=False)


def test_partial_last_row_is_dropped_recomputed_and_the_summary_matches_an_uninterrupted_run(tmp_path, tiny):
    policies = ["random", "optimal"]
    whole = run_benchmark([str(tiny)], policies, n_seeds=3, out=tmp_path / "whole", progress=False)
    out = tmp_path / "killed"
    run_benchmark([str(tiny)], policies, n_seeds=3, out=out, progress=False)
    raw = (out / "results.csv").read_bytes()
    cut = raw.rfind(b"\n", 0, len(raw) - 1) - 30  # a kill mid-append: the file ends inside the second-last row
    (out / "results.csv").write_bytes(raw[:cut])
    with pytest.warns(ResumeWarning, match="partial line"):
        resumed = run_benchmark([str(tiny)], policies, n_seeds=3, out=out, progress=False)
    rows = pd.read_csv(out / "results.csv")
    assert len(rows) == 6 and not rows[["profit", "seed", "scenario_hash"]].isna().any().any()
    pd.testing.assert_frame_equal(_profits(resumed), _profits(whole))
    pd.testing.assert_frame_equal(resumed.summary, whole.summary)


def test_empty_or_corrupt_tuned_and_references_are_recomputed(tmp_path, tiny, monkeypatch):
    tuned_calls = []
    monkeypatch.setattr("agents.registry.tune", lambda sc, name: tuned_calls.append(name) or {"z": 0.5, "cover": 2.0})
    out = tmp_path / "bench"
    first = run_benchmark([str(tiny)], ["sS", "optimal"], n_seeds=2, out=out, progress=False)
    tuned, refs = (out / "tuned.json").read_text(), (out / "references.json").read_text()
    assert json.loads(tuned)["tiny/sS"]["scenario_hash"] == scenario_hash(load_scenario(str(tiny)))
    (out / "tuned.json").write_text("")  # empty
    (out / "references.json").write_text(refs[: len(refs) // 2])  # cut short
    with pytest.warns(ResumeWarning, match="empty or corrupt") as caught:
        again = run_benchmark([str(tiny)], ["sS", "optimal"], n_seeds=2, out=out, progress=False)
    assert {"tuned.json", "references.json"} <= {str(w.message).split(" ")[0].rsplit("/", 1)[-1] for w in caught}
    assert json.loads((out / "tuned.json").read_text()) == json.loads(tuned)
    assert json.loads((out / "references.json").read_text()) == json.loads(refs)
    pd.testing.assert_frame_equal(again.summary, first.summary)
    assert "`tiny/sS` {'z': 0.5, 'cover': 2.0}" in (out / "summary.md").read_text()
    assert tuned_calls == ["sS", "sS"]  # tuned again (no episode was left to run), not left out of the report


def test_results_of_an_older_format_are_set_aside_not_reused(tmp_path, tiny):
    out = tmp_path / "bench"
    res = run_benchmark([str(tiny)], ["random"], n_seeds=2, out=out, progress=False)
    rows = pd.read_csv(out / "results.csv")
    rows.drop(columns=["scenario_hash", "policy_hash"]).assign(profit=-1.0).to_csv(out / "results.csv", index=False)
    with pytest.warns(ResumeWarning, match="scenario_hash"):
        again = run_benchmark([str(tiny)], ["random"], n_seeds=2, out=out, progress=False)
    assert (out / "results.old.csv").exists()
    pd.testing.assert_frame_equal(_profits(again), _profits(res))


def test_unknown_policy_is_refused_before_any_simulation(tmp_path, tiny):
    out = tmp_path / "bench"
    result = CliRunner().invoke(app, ["benchmark", "--scenarios", str(tiny), "--policies", "random,s_S",
                                      "--seeds", "2", "--out", str(out)])
    assert result.exit_code == 2 and "Unknown policy 's_S'" in result.output
    assert not (out / "results.csv").exists()


def test_run_writes_config_json(tmp_path, tiny):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--scenario", str(tiny), "--policy", "random", "--episodes", "2",
                                      "--seed", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["seeds"] == [5, 6] and config["policy"] == "random"
    assert config["scenario_hashes"] == {"tiny": scenario_hash(load_scenario(str(tiny)))}
    assert config["scenarios"]["tiny"]["demand"]["base_rate"] == 3.0
    assert {"numpy", "gymnasium"} <= set(config["versions"]) and config["command"].startswith("shopgym")


def test_run_out_twice_is_refused_unless_overwrite(tmp_path, tiny):
    out = tmp_path / "run"
    args = ["run", "--scenario", str(tiny), "--policy", "random", "--out", str(out)]
    runner = CliRunner()
    assert runner.invoke(app, args).exit_code == 0
    first = (out / "trajectory.csv").read_bytes()
    again = runner.invoke(app, [*args, "--seed", "1"])
    assert again.exit_code == 2 and "already holds an earlier run" in again.output and "--overwrite" in again.output
    assert len(again.output.strip().splitlines()) == 1
    assert (out / "trajectory.csv").read_bytes() == first  # untouched
    replaced = runner.invoke(app, [*args, "--seed", "1", "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert (out / "trajectory.csv").read_bytes() != first
    assert json.loads((out / "config.json").read_text())["seeds"] == [1]


def test_default_out_is_a_fresh_folder(tmp_path):
    first = fresh_out("run", root=tmp_path)
    first.mkdir()
    second = fresh_out("run", root=tmp_path)
    assert second != first and not second.exists() and second.name.startswith("run-")


@pytest.mark.parametrize("command", [["run", "--policy", "random"], ["benchmark", "--policies", "random", "--seeds", "2"]])
def test_out_is_an_existing_file(tmp_path, tiny, command):
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    result = CliRunner().invoke(app, [*command, "--scenario", str(tiny), "--out", str(target)])
    assert result.exit_code == 2, result.output
    assert f"{target} is an existing file" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and target.read_text() == "keep me"


@pytest.mark.parametrize("command", [["run", "--policy", "random"], ["benchmark", "--policies", "random", "--seeds", "2"]])
@pytest.mark.parametrize("sub", ["", "new"])  # the read-only folder itself; a new folder inside it
def test_read_only_out_is_refused_up_front(tmp_path, tiny, command, sub):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("chmod does not stop this user writing (running as root)")
        out = folder / sub if sub else folder
        result = CliRunner().invoke(app, [*command, "--scenario", str(tiny), "--out", str(out)])
    finally:
        folder.chmod(stat.S_IRWXU)
    assert result.exit_code == 2, result.output
    assert str(out) in result.output and ("cannot write" in result.output or "cannot create" in result.output)
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
