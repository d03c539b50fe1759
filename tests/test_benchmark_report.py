"""What a benchmark reports besides the KPI tables (ranking, paired differences to the best heuristic, Parquet),
and the scenario library (every shipped scenario documented, `shopgym scenarios --details`)."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from scenarios.benchmark import PARQUET_NOTE, run_benchmark, scenario_kind
from scenarios.readme import PARTS, describe_scenario, description_parts, missing_model
from shopgym.cli.main import app
from shopgym.config import load_scenario, scenario_names
from shopgym.errors import LearnedModelError, ScenarioError
from shopgym.stats import mean_ci95

TINY = ('description = "tiny exact instance"\n[catalog]\nlead_time = 1\norder_cost = 4.0\n'
        "[demand]\nbase_rate = 3.0\n[inventory]\ncapacity = 12\ninitial_stock = 4\n[env]\nhorizon = 20\nmax_order = 8\n")


def test_ranking_and_paired_differences_follow_from_the_rows(tmp_path):
    tiny = tmp_path / "tiny.toml"
    tiny.write_text(TINY)
    res = run_benchmark([str(tiny)], ["random", "critical_fractile", "optimal"], n_seeds=4, out=tmp_path / "b",
                        progress=False)
    rank = res.ranking.set_index("policy")
    assert sorted(rank["rank"]) == [1, 2, 3] and list(res.ranking["rank"]) == [1, 2, 3]  # best first
    assert (np.diff(res.ranking["mean"]) <= 0).all()
    profit = res.results.pivot(index="seed", columns="policy", values="profit")
    best = profit[["random", "critical_fractile"]].mean().idxmax()  # the optimum is a reference, not a heuristic
    assert (rank["best_heuristic"] == best).all()
    for pol in ("random", "optimal"):
        mean, half = mean_ci95((profit[pol] - profit[best]).to_numpy())
        assert rank.loc[pol, "diff_mean"] == pytest.approx(mean) and rank.loc[pol, "diff_ci95"] == pytest.approx(half)
        assert rank.loc[pol, "mean"] == pytest.approx(profit[pol].mean())
    assert rank.loc[best, "diff_mean"] == 0
    assert rank.loc["optimal", "pct_of_reference"] == pytest.approx(res.summary.set_index("policy").loc[
        "optimal", "pct_of_reference"])
    report = (tmp_path / "b" / "summary.md").read_text()
    assert "## Ranking" in report and "| tiny | 1 | " in report and "best heuristic |" in report
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        assert res.notes == [PARQUET_NOTE] and PARQUET_NOTE in report  # a note, not an error
        assert not (tmp_path / "b" / "results.parquet").exists()
    else:
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "b" / "results.parquet"),
                                      pd.read_csv(tmp_path / "b" / "results.csv"), check_dtype=False)


@pytest.mark.parametrize("name", scenario_names())
def test_every_shipped_scenario_has_a_summary_line_and_restock_ones_say_what_they_test_why_hard_and_reference(name):
    sc = load_scenario(name)
    parts = description_parts(sc.description)
    if scenario_kind(sc) == "restock":
        assert all(parts.get(k) for k in ("Tests", "Hard", "Reference")), parts
    assert parts["summary"] and "\n" not in parts["summary"]


def test_details_print_one_scenario_in_full():
    text = describe_scenario("holiday-peak")
    for title in ("What it tests", "Why it is hard", "Reference"):
        assert f"\n{title}: " in text
    assert "Reference computed by the benchmark: exact optimum by backward induction" in text
    assert "demand.holidays = [[329, 5, 2.5]] (default [])" in text and "inventory.capacity = 40 (default 0)" in text
    assert "catalog.price =" not in text  # holiday-peak keeps the default price: defaults are not listed
    cli = CliRunner().invoke(app, ["scenarios", "--details", "cold-start"])
    assert cli.exit_code == 0 and "Build its model first: python -m scenarios.cold_start_model" in cli.output
    bad = CliRunner().invoke(app, ["scenarios", "--details", "holiday-peek"])
    assert bad.exit_code == 2 and "Did you mean 'holiday-peak'" in bad.output


def test_holiday_peak_needs_stock_built_before_the_spike():
    from agents.exact import exact_reason

    sc = load_scenario("holiday-peak")
    assert exact_reason(sc) is None  # the exact optimum is its reference
    day, days, uplift = sc.demand.holidays[0]
    peak = sc.demand.base_rate * (1 + uplift)
    assert peak > sc.env.max_order  # the spike outruns what can be ordered per day: stock must be pre-built
    assert (peak - sc.env.max_order) * days <= sc.inventory.capacity  # ... and can be, in the warehouse


def test_cold_start_without_its_model_names_the_command_that_builds_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the model path is relative to where the benchmark runs: not there
    sc = load_scenario("cold-start")
    assert sc.demand.demand_model.startswith("learned:") and "python -m scenarios.cold_start_model" in missing_model(sc)
    with pytest.raises(LearnedModelError, match=r"models/cold-start\.pkl.*build it first: python -m scenarios\.cold_start_model"):
        run_benchmark(["cold-start"], ["random"], n_seeds=2, out=tmp_path / "b", progress=False)
    assert not (tmp_path / "b").exists()
    assert set(PARTS) >= {"Tests", "Hard", "Reference", "Build"}


def test_a_decision_the_benchmark_does_not_run_is_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.setattr("scenarios.benchmark.BENCHMARKED", ("restock",))  # as if Recommend were not plugged in
    with pytest.raises(ScenarioError, match=r"recommend-exact.*shopgym/Recommend-v0.*leave it out of --scenarios"):
        run_benchmark(["quickstart", "recommend-exact"], None, n_seeds=2, out=tmp_path / "b", progress=False)
    assert not (tmp_path / "b").exists()
