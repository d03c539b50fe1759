"""The benchmark runner and ``shopgym run`` on Recommend-v0 scenarios (issue 14, item 7), on tiny instances."""

import json

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from agents.recommend_exact import solve
from agents.registry import default_policies, make_policy
from scenarios.bench_recommend import RECOMMEND_NOTES
from scenarios.bench_state import RECOMMEND_RESULT_COLUMNS, RESULT_COLUMNS, StaleResultsError, policy_hash
from scenarios.benchmark import resolve, run_benchmark
from shopgym.cli.main import app
from shopgym.config import load_scenario, scenario_path
from shopgym.content import scenario_hash
from shopgym.rollout import rollout
from shopgym.world.kpis import SESSION_KPIS

RESTOCK = ('description = "tiny restock"\n[catalog]\nlead_time = 1\norder_cost = 4.0\n[demand]\nbase_rate = 3.0\n'
           "[inventory]\ncapacity = 12\ninitial_stock = 4\n[env]\nhorizon = 10\nmax_order = 8\n")


def _shipped(name: str, **edits: str) -> str:
    text = scenario_path(name).read_text()
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture
def tiny_rec(tmp_path):
    """The shipped ``recommend`` scenario over 3 days with 40 shoppers making 8 sessions a day."""
    path = tmp_path / "tinyrec.toml"
    path.write_text(_shipped("recommend", **{"horizon = 30": "horizon = 3", "n_shoppers = 10000": "n_shoppers = 40",
                                             "sessions_per_day = 2000.0": "sessions_per_day = 8.0"}))
    return path


def _funnel_holds(df: pd.DataFrame) -> bool:
    return bool(((df["purchases"] <= df["carts"]) & (df["carts"] <= df["clicks"])
                 & (df["clicks"] <= df["impressions"])).all())


def test_recommend_benchmark_writes_its_own_results_and_summary_then_resumes(tmp_path, tiny_rec):
    out = tmp_path / "bench"
    pols = ["random", "myopic_oracle", "linucb"]
    res = run_benchmark([str(tiny_rec)], pols, n_seeds=2, out=out, progress=False)
    rows = pd.read_csv(out / "results_recommend.csv")
    assert list(rows.columns) == RECOMMEND_RESULT_COLUMNS and len(rows) == 6
    assert not (out / "results.csv").exists() and not (out / "summary.csv").exists()  # no Restock scenario
    assert not rows[list(SESSION_KPIS)].isna().any().any() and _funnel_holds(rows)
    assert (rows["sessions"] > 0).all() and (rows["impressions"] == rows["sessions"]).all()  # one item per session
    # the runner ran Recommend-v0 as gymnasium.make does: a row's margin is the env's episode return
    env = gym.make("shopgym/Recommend-v0", scenario=str(tiny_rec))
    ep = rollout(env, make_policy("myopic_oracle", env), seed=1)
    row = rows[(rows["policy"] == "myopic_oracle") & (rows["seed"] == 1)].iloc[0]
    assert row["recommendation_margin"] == pytest.approx(ep.episode_return / env.unwrapped.scenario.env.reward_scale)
    s = res.recommend_summary.set_index("policy")
    assert list(s.index) == pols and (s["episodes"] == 2).all() and s["pct_of_reference"].isna().all()
    assert s.loc["myopic_oracle", "margin_mean"] == pytest.approx(
        rows.loc[rows["policy"] == "myopic_oracle", "recommendation_margin"].mean())
    assert res.summary.empty and list(res.results.columns) == RESULT_COLUMNS
    report = (out / "summary.md").read_text()
    assert "## Recommend-v0 scenarios" in report and all(n in report for n in RECOMMEND_NOTES)
    assert "unit fill rate" not in report  # no Restock table: none of its columns
    # the myopic oracle reads the true response model: a privileged bound, marked, never "the best heuristic"
    assert set(res.ranking["best_heuristic"]) <= {"random", "linucb"}
    assert "| myopic_oracle (privileged) |" in report and "| random |" in report
    assert pd.read_csv(out / "summary_recommend.csv")["policy"].tolist() == pols
    assert (out / "trajectory_tinyrec.png").stat().st_size > 0
    # resume: drop one row; only that episode is simulated again, to the same numbers
    rows.drop(index=rows.index[(rows["policy"] == "linucb") & (rows["seed"] == 0)]).to_csv(
        out / "results_recommend.csv", index=False)
    again = run_benchmark([str(tiny_rec)], pols, n_seeds=2, out=out, progress=False)
    cols = ["policy", "seed", "recommendation_margin", "clicks"]
    pd.testing.assert_frame_equal(res.recommend_results.sort_values(["policy", "seed"])[cols].reset_index(drop=True),
                                  again.recommend_results.sort_values(["policy", "seed"])[cols].reset_index(drop=True))
    assert len(pd.read_csv(out / "results_recommend.csv")) == 6


def test_edited_recommend_scenario_is_refused(tmp_path, tiny_rec):
    out = tmp_path / "bench"
    run_benchmark([str(tiny_rec)], ["random"], n_seeds=2, out=out, progress=False)
    before = (out / "results_recommend.csv").read_bytes()
    tiny_rec.write_text(tiny_rec.read_text().replace("sessions_per_day = 8.0", "sessions_per_day = 9.0"))
    with pytest.raises(StaleResultsError, match=r"shoppers\.sessions_per_day 8(\.0)? -> 9(\.0)?.*--overwrite"):
        run_benchmark([str(tiny_rec)], ["random"], n_seeds=2, out=out, progress=False)
    assert (out / "results_recommend.csv").read_bytes() == before


def test_recommend_exact_reports_percent_of_the_exact_optimum(tmp_path):
    path = tmp_path / "exact4.toml"
    path.write_text(_shipped("recommend-exact", **{"horizon = 14": "horizon = 4"}))
    scenario = resolve(load_scenario(str(path)))  # as Recommend-v0 runs it: one item per session
    assert {"optimal", "random", "myopic_oracle", "linucb"} <= set(default_policies(scenario, kind="recommend"))
    res = run_benchmark([str(path)], ["random", "optimal"], n_seeds=40, out=tmp_path / "bench", progress=False)
    s = res.recommend_summary.set_index("policy")
    value = solve(scenario).value
    assert value > 0 and (s["reference_margin"] == value).all()
    np.testing.assert_allclose(s["pct_of_reference"], 100 * s["margin_mean"] / value)
    # the optimum's simulated margin agrees with its exact expectation (40 seeds, its 95% interval, doubled)
    assert abs(s.loc["optimal", "pct_of_reference"] - 100) < 2 * s.loc["optimal", "pct_ci95"]
    assert s.loc["random", "pct_of_reference"] < s.loc["optimal", "pct_of_reference"]
    refs = json.loads((tmp_path / "bench" / "references.json").read_text())
    assert refs["exact4"]["metric"] == "recommendation_margin" and refs["exact4"]["profit"] == value
    assert "expected episode recommendation margin" in (tmp_path / "bench" / "summary.md").read_text()


def test_mixed_benchmark_reports_each_kind_with_its_own_columns(tmp_path, tiny_rec):
    restock = tmp_path / "tinyre.toml"
    restock.write_text(RESTOCK)
    out = tmp_path / "mixed"
    result = CliRunner().invoke(app, ["benchmark", "--scenarios", f"{restock},{tiny_rec}", "--policies",
                                      "random,optimal,myopic_oracle", "--seeds", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Restock-v0 scenarios" in text and "Recommend-v0 scenarios" in text and "% of exact optimum" in text
    assert "skipping policy 'optimal' on 'tinyrec'" in text and "skipping policy 'myopic_oracle' on 'tinyre'" in text
    re_rows, rec_rows = pd.read_csv(out / "results.csv"), pd.read_csv(out / "results_recommend.csv")
    assert list(re_rows.columns) == RESULT_COLUMNS and set(re_rows["scenario"]) == {"tinyre"}
    assert list(rec_rows.columns) == RECOMMEND_RESULT_COLUMNS and set(rec_rows["scenario"]) == {"tinyrec"}
    assert set(re_rows["policy"]) == {"random", "optimal"} and set(rec_rows["policy"]) == {"random", "myopic_oracle"}
    assert not re_rows["profit"].isna().any() and not rec_rows[list(SESSION_KPIS)].isna().any().any()
    assert set(pd.read_csv(out / "summary.csv")["scenario"]) == {"tinyre"}
    assert set(pd.read_csv(out / "summary_recommend.csv")["scenario"]) == {"tinyrec"}
    assert "results.csv, results_recommend.csv" in text


def test_run_on_a_recommend_scenario_writes_per_day_sessions_that_add_up(tmp_path, tiny_rec):
    out = tmp_path / "run"
    ran = CliRunner().invoke(app, ["run", "--scenario", str(tiny_rec), "--policy", "linucb", "--episodes", "2",
                                   "--out", str(out)])
    assert ran.exit_code == 0, ran.output
    eps = pd.read_csv(out / "episodes.csv")
    assert list(eps.columns[1:len(SESSION_KPIS) + 1]) == list(SESSION_KPIS) and _funnel_holds(eps)
    days = pd.read_csv(out / "trajectory.csv")
    assert list(days.columns) == ["day", "sessions", "clicks", "purchases", "stockouts_hit", "revenue", "margin",
                                  "seed"]
    assert (days["purchases"] <= days["clicks"]).all() and (days["clicks"] <= days["sessions"]).all()
    per_seed = days.groupby("seed")[["sessions", "clicks", "purchases", "margin"]].sum()
    for col, kpi in (("sessions", "sessions"), ("clicks", "clicks"), ("purchases", "purchases"),
                     ("margin", "recommendation_margin")):
        np.testing.assert_allclose(per_seed[col].to_numpy(), eps[kpi].to_numpy(), err_msg=col)
    config = json.loads((out / "config.json").read_text())
    assert config["policy"] == "linucb" and config["seeds"] == [0, 1]
    assert config["scenario_hashes"]["tinyrec"] == scenario_hash(resolve(load_scenario(str(tiny_rec))))
    assert (out / "trajectory.png").stat().st_size > 0


@pytest.mark.parametrize("args,message", [
    (["run", "--scenario", "recommend", "--policy", "sS"], "it is a restock policy and this is a recommend env"),
    (["run", "--scenario", "quickstart", "--policy", "linucb"], "it is a recommend policy and this is a restock env"),
    (["run", "--scenario", "quickstart", "--policy", "learned_greedy:model.pt"], "recommend policy"),
])
def test_a_policy_of_the_other_kind_is_one_clear_line(args, message):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_learned_greedy_policy_hash_follows_its_model_file(tmp_path):
    model = tmp_path / "m.pt"
    model.write_bytes(b"one")
    first = policy_hash(f"learned_greedy:{model}")
    model.write_bytes(b"two")
    assert policy_hash(f"learned_greedy:{model}") != first
