"""The benchmark runner and the shopgym command, end to end on tiny scenarios."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from scenarios.bench_state import ResumeWarning
from scenarios.benchmark import COLUMN_NOTES, RESULT_COLUMNS, run_benchmark
from shopgym.cli.main import app


@pytest.fixture
def tiny_scenario(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(
        'description = "tiny exact instance"\n[catalog]\nlead_time = 1\norder_cost = 4.0\n'
        "[demand]\nbase_rate = 3.0\n[inventory]\ncapacity = 12\ninitial_stock = 4\n[env]\nhorizon = 30\nmax_order = 8\n"
    )
    backorders = path.read_text().replace("[inventory]\n", "[inventory]\nbackorders = true\n")
    # random orders average 4 units a day, below this demand of 6: a backlog builds up
    (tmp_path / "tiny-b.toml").write_text(backorders.replace("tiny exact instance", "tiny, backorders")
                                          .replace("base_rate = 3.0", "base_rate = 6.0"))
    return str(path)


def test_benchmark_writes_results_and_resumes(tmp_path, tiny_scenario):
    out = tmp_path / "bench"
    res = run_benchmark([tiny_scenario], ["random", "sS", "optimal"], n_seeds=3, out=out, progress=False)
    for name in ("results.csv", "summary.csv", "summary.md", "benchmark.png", "config.json", "tuned.json"):
        assert (out / name).exists(), name
    traces = sorted(p.name for p in out.glob("traces_*.png"))
    assert len(traces) == 1 and f"]({traces[0]})" in (out / "summary.md").read_text()  # one episode per policy
    s = res.summary.set_index("policy")
    assert list(s.index) == ["random", "sS", "optimal"]
    assert list(pd.read_csv(out / "results.csv").columns) == RESULT_COLUMNS
    for col in ("unit_fill_rate", "cycle_service_level"):
        assert s[col].between(0, 1).all(), col
    report = (out / "summary.md").read_text()
    assert "| unit fill rate | cycle service level |" in report and all(n in report for n in COLUMN_NOTES)
    assert (s["episodes"] == 3).all()
    assert s.loc["optimal", "reference_profit"] > 0
    # the optimum's simulated profit is close to its exact expectation (3 seeds: loose bound)
    assert abs(s.loc["optimal", "pct_of_reference"] - 100) < 25
    # resume: drop one finished row, re-run, and only that episode is simulated again
    results = pd.read_csv(out / "results.csv")
    results[~((results["policy"] == "sS") & (results["seed"] == 2))].to_csv(out / "results.csv", index=False)
    res2 = run_benchmark([tiny_scenario], ["random", "sS", "optimal"], n_seeds=3, out=out, progress=False)
    again = pd.read_csv(out / "results.csv")
    assert len(again) == 9
    pd.testing.assert_frame_equal(
        res.results.sort_values(["policy", "seed"]).reset_index(drop=True)[["policy", "seed", "profit"]],
        res2.results.sort_values(["policy", "seed"]).reset_index(drop=True)[["policy", "seed", "profit"]],
    )


def test_backorder_benchmark_reports_unit_fill_rate_below_one_and_redoes_stale_results(tmp_path, tiny_scenario):
    # the old "fill rate" (sold / (sold + lost)) was 1.000 for every policy once demand was backordered
    out = tmp_path / "bench"
    out.mkdir()
    pd.DataFrame({"scenario": ["tiny"], "policy": ["random"], "seed": [0], "fill_rate": [1.0]}).to_csv(
        out / "results.csv", index=False)  # a results file of an older shopgym: set aside, not mixed in
    with pytest.warns(ResumeWarning, match="older shopgym"):
        res = run_benchmark([tiny_scenario.replace(".toml", "-b.toml")], ["random"], n_seeds=2, out=out,
                            progress=False)
    assert (out / "results.old.csv").exists()
    r = res.results
    assert len(r) == 2 and (r["lost_units"] == 0).all() and (r["backordered_units"] > 0).all()
    assert (r["unit_fill_rate"] < 0.8).all() and (r["cycle_service_level"] < 0.8).all()


def test_cli_scenarios_run_and_benchmark(tmp_path, tiny_scenario):
    runner = CliRunner()
    listed = runner.invoke(app, ["scenarios"])
    assert listed.exit_code == 0 and "newsvendor" in listed.output and "supply-shock" in listed.output
    run_out = tmp_path / "run"
    ran = runner.invoke(app, ["run", "--scenario", tiny_scenario, "--policy", "critical_fractile",
                              "--episodes", "2", "--out", str(run_out)])
    assert ran.exit_code == 0, ran.output
    traj = pd.read_csv(run_out / "trajectory.csv")
    assert len(traj) == 2 * 30 and (traj["sold"] <= traj["demand"]).all()
    assert (run_out / "trajectory.png").stat().st_size > 0
    bench = runner.invoke(app, ["benchmark", "--scenarios", tiny_scenario, "--policies", "random,optimal",
                                "--seeds", "2", "--out", str(tmp_path / "b")])
    assert bench.exit_code == 0, bench.output
    assert "% of exact optimum" in bench.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["benchmark", "--scenarios", "seasonl"], "Did you mean 'seasonal'"),
        (["run", "--policy", "s_S"], "Unknown policy 's_S'"),
        (["run", "--scenario", "steady", "--policy", "optimal"], "does not apply"),
    ],
)
def test_cli_bad_input_is_a_clear_error_not_a_traceback(args, message):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_console_script_reports_errors_of_any_command_in_one_line(monkeypatch, capsys, tmp_path):
    from shopgym.cli.main import main

    monkeypatch.setattr("sys.argv", ["shopgym", "train", "--algo", "dqn", "--scenario", "quickstart",
                                     "--hyperparams", str(tmp_path / "missing.yml"), "--out", str(tmp_path / "run")])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "missing.yml does not exist" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_policy_traces_draw_one_line_per_policy_from_its_episode(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from scenarios import plots

    traj = pd.DataFrame({"day": [0, 0, 1, 1], "sku": [0, 1, 0, 1], "on_hand": [1, 2, 3, 4], "lost": [1, 0, 0, 2]})
    drawn = {}

    def keep(fig, path):  # read the lines before the figure is closed
        drawn.update({(i, ln.get_label()): list(ln.get_ydata()) for i, ax in enumerate(fig.axes) for ln in ax.lines})
        plt.close(fig)
        return path

    monkeypatch.setattr(plots, "_save", keep)
    plots.plot_policy_traces({"a": traj, "b": traj.assign(on_hand=0)}, "restock", tmp_path / "t.png", "t")
    assert drawn[(0, "a")] == [3, 7] and drawn[(0, "b")] == [0, 0]  # on hand summed over SKUs per day
    assert drawn[(1, "a")] == [1, 3]  # lost units, cumulative
    with pytest.raises(ValueError, match="no trace panels"):
        plots.plot_policy_traces({"a": traj}, "cartpole", tmp_path / "t.png", "t")
