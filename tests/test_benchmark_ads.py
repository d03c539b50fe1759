"""The benchmark runner and ``shopgym run`` on Ads-v0 scenarios (issue 16, item 4), on tiny instances."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from agents.ads_heuristics import ADS_POLICIES
from scenarios import benchmark
from scenarios.bench_ads import ADS_RESULT_COLUMNS, format_ads_table
from scenarios.benchmark import run_benchmark, scenario_kind
from shopgym.cli.main import app
from shopgym.config import load_scenario

RESTOCK = ('description = "tiny restock"\n[catalog]\nlead_time = 1\norder_cost = 4.0\n[demand]\nbase_rate = 3.0\n'
           "[inventory]\ncapacity = 12\ninitial_stock = 4\n[env]\nhorizon = 5\nmax_order = 8\n")


def test_ads_scenarios_run_in_ads_v0_with_the_ads_baselines_and_their_own_table(tiny_ads, tmp_path):
    assert scenario_kind(load_scenario(tiny_ads)) == "ads"
    out = tmp_path / "bench"
    res = run_benchmark([str(tiny_ads)], policies=["truthful", "dual_pacing", "dual_pacing_stock"], n_seeds=2,
                        out=out, progress=False, command="test")
    rows = pd.read_csv(out / "results_ads.csv")
    assert list(rows.columns) == ADS_RESULT_COLUMNS
    assert len(rows) == 6 and set(rows["policy"]) == {"truthful", "dual_pacing", "dual_pacing_stock"}
    # the bound holds episode by episode: expected ad profit <= the same episode's hindsight bound
    assert (rows["expected_ad_profit"] <= rows["hindsight_bound"] + 1e-9).all()
    np.testing.assert_allclose(rows["ad_profit"], rows["ad_margin"] - rows["ad_spend"])
    per_seed = rows.groupby("seed")["hindsight_bound"].agg(["min", "max"])  # the same opportunities for all
    np.testing.assert_allclose(per_seed["min"], per_seed["max"])
    summary = pd.read_csv(out / "summary_ads.csv")
    assert len(summary) == 3 and not (out / "summary.csv").exists()
    stock = summary.set_index("policy").loc["dual_pacing_stock"]
    assert stock["wasted_spend"] <= summary.set_index("policy").loc["dual_pacing", "wasted_spend"]
    md = (out / "summary.md").read_text()
    assert "## Ads-v0 scenarios" in md and "% of hindsight bound" in md
    assert set(res.ranking["metric"]) == {"ad_profit"}
    # the ranking's % column on Ads rows is the % of the hindsight bound, the same as the Ads table's
    ranked = res.ranking.set_index("policy")["pct_of_reference"]
    np.testing.assert_allclose(ranked[summary["policy"]].to_numpy(), summary["pct_of_bound"].to_numpy())
    assert ranked.notna().all() and "| n/a |" not in md[md.index("## Ranking"):md.index("## Ads-v0 scenarios")]
    assert format_ads_table(res.ads_summary).count("\n") == 4  # head, rule, 3 policies


def test_default_policies_of_an_ads_scenario_are_the_ads_baselines_and_resume_skips_done_cells(tiny_ads, tmp_path,
                                                                                             monkeypatch):
    out = tmp_path / "bench"
    run_benchmark([str(tiny_ads)], n_seeds=2, out=out, progress=False, command="test")
    rows = pd.read_csv(out / "results_ads.csv")
    assert list(dict.fromkeys(rows["policy"])) == list(ADS_POLICIES)
    tuned = rows[rows["policy"] == "fixed_multiplier"]
    assert len(tuned) == 2
    def no_cell(cell):
        raise AssertionError(f"cell {cell.scenario}/{cell.policy} simulated again")

    monkeypatch.setattr(benchmark, "run_cell", no_cell)
    run_benchmark([str(tiny_ads)], n_seeds=2, out=out, progress=False, command="test")  # nothing left to run
    pd.testing.assert_frame_equal(pd.read_csv(out / "results_ads.csv"), rows)


def test_a_mixed_run_skips_restock_policies_on_ads_scenarios(tiny_ads, tmp_path):
    restock = tmp_path / "tinyrestock.toml"
    restock.write_text(RESTOCK)
    out = tmp_path / "mixed"
    res = run_benchmark([str(restock), str(tiny_ads)], policies=["base_stock", "truthful"], n_seeds=2, out=out,
                        progress=False, command="test")
    assert set(res.results["policy"]) == {"base_stock"}
    assert set(res.ads_results["policy"]) == {"truthful"}
    md = (out / "summary.md").read_text()
    assert "## Ads-v0 scenarios" in md and "| tinyrestock | base_stock |" in md


def test_shopgym_run_on_an_ads_scenario_writes_ticks_and_the_bound(tiny_ads, tmp_path):
    out = tmp_path / "run"
    ran = CliRunner().invoke(app, ["run", "--scenario", str(tiny_ads), "--policy", "dual_pacing_stock",
                                   "--episodes", "2", "--out", str(out)])
    assert ran.exit_code == 0, ran.output
    eps = pd.read_csv(out / "episodes.csv")
    assert list(eps.columns[:5]) == ["seed", "ad_profit", "expected_ad_profit", "hindsight_bound", "pct_of_bound"]
    ticks = pd.read_csv(out / "trajectory.csv")
    assert len(ticks) == 2 * 6 and list(ticks["tick"][:6]) == list(range(6))
    np.testing.assert_allclose(ticks.groupby("seed")["spend"].sum().to_numpy(), eps["ad_spend"].to_numpy())
    assert (out / "trajectory.png").stat().st_size > 0
    assert json.loads((out / "config.json").read_text())["policy"] == "dual_pacing_stock"


TINY_PPO = """
shopgym/Ads-v0:
  n_timesteps: 128
  policy: MlpPolicy
  env_kwargs: {continuous: true, reward_scale: 0.1}
  n_envs: 2
  n_steps: 64
  batch_size: 32
  n_epochs: 1
  policy_kwargs: {net_arch: [16]}
shopgym:
  shopgym/Ads-v0: {n_eval_episodes: 1, eval_freq: 100000}
"""


def test_train_evaluate_and_benchmark_an_agent_on_ads_v0(tiny_ads, tmp_path):
    hp = tmp_path / "ppo.yml"
    hp.write_text(TINY_PPO)
    run = tmp_path / "ppo"
    trained = CliRunner().invoke(app, ["train", "--algo", "ppo", "--env", "shopgym/Ads-v0", "--scenario", str(tiny_ads),
                                       "--hyperparams", str(hp), "--out", str(run), "--no-progress"])
    assert trained.exit_code == 0, trained.output
    evaluated = CliRunner().invoke(app, ["evaluate", "--model", str(run), "--episodes", "2"])
    assert evaluated.exit_code == 0, evaluated.output
    result = json.loads((run / "evaluation_tinyads.json").read_text())
    assert result["env_id"] == "shopgym/Ads-v0" and len(result["return"]["values"]) == 2
    # the benchmark's Ads env is the discrete variant: the continuous agent's multipliers map to the nearest level
    res = run_benchmark([str(tiny_ads)], policies=[f"sb3:{run}", "truthful"], n_seeds=2, out=tmp_path / "bench",
                        progress=False, command="test")
    agent = res.ads_results[res.ads_results["policy"] == f"sb3:{run}"]
    assert len(agent) == 2 and (agent["ad_spend"] <= 40.0 * 4 + 1e-9).all()
    assert (agent["expected_ad_profit"] <= agent["hindsight_bound"] + 1e-9).all()


TINY_RESIDUAL_PPO = """
shopgym/AdsResidual-v0:
  n_timesteps: 64
  policy: MlpPolicy
  env_kwargs: {reward_scale: 0.1, max_scale: 1.5}
  n_envs: 2
  n_steps: 32
  batch_size: 32
  n_epochs: 1
  policy_kwargs: {net_arch: [16]}
shopgym:
  shopgym/AdsResidual-v0: {n_eval_episodes: 1, eval_freq: 100000}
"""
TINY_RESIDUAL_DQN = """
shopgym/AdsResidual-v0:
  n_timesteps: 64
  env_kwargs: {reward_scale: 0.1, levels: 3, max_scale: 1.5, expected_reward: true}
  n_envs: 2
  learning_starts: 24
  batch_size: 16
  buffer_size: 256
  train_freq: 4
  net_arch: [16]
shopgym:
  shopgym/AdsResidual-v0: {n_eval_episodes: 1, eval_freq: 100000}
"""


@pytest.mark.parametrize("algo, text, kind", [("ppo", TINY_RESIDUAL_PPO, "sb3"),
                                              ("shopgym-dqn", TINY_RESIDUAL_DQN, "dqn")])
def test_residual_agents_train_and_act_on_plain_ads_v0_in_the_benchmark(tiny_ads, tmp_path, algo, text, kind):
    """``shopgym train`` on ``shopgym/AdsResidual-v0`` (SB3 PPO, our DQN on the discrete residual); the run loads as
    ``sb3:DIR`` / ``dqn:DIR`` on a plain Ads-v0 env (the policy keeps the pacing state and maps its residual to
    multipliers) with the residual env's trajectory, and runs in ``shopgym benchmark``."""
    import gymnasium as gym

    from agents.registry import make_policy
    from shopgym.envs.ads_actions import RESIDUAL_ENV_ID, ResidualPolicy
    from shopgym.rollout import rollout

    hp = tmp_path / "hp.yml"
    hp.write_text(text)
    run = tmp_path / algo
    trained = CliRunner().invoke(app, ["train", "--algo", algo, "--env", RESIDUAL_ENV_ID, "--scenario", str(tiny_ads),
                                       "--hyperparams", str(hp), "--out", str(run), "--no-progress"])
    assert trained.exit_code == 0, trained.output
    spec = f"{kind}:{run}"
    kwargs = {k: v for k, v in yaml.safe_load((run / "config.yml").read_text())["env_kwargs"].items()
              if k != "expected_reward"}
    wrapped = gym.make(RESIDUAL_ENV_ID, **kwargs)
    plain = gym.make("shopgym/Ads-v0", scenario=str(tiny_ads), continuous=True, reward_scale=0.1)
    on_plain = make_policy(spec, plain)
    assert isinstance(on_plain, ResidualPolicy)
    for seed in (0, 1):
        want = rollout(wrapped, make_policy(spec, wrapped), seed)
        got = rollout(plain, on_plain, seed)
        assert got.episode_return == want.episode_return and got.kpis == want.kpis
        assert got.kpis["ad_spend"] > 0
    if kind == "dqn":
        # shopgym evaluate scores the env's realised reward at scale 1: without the expected_reward training aid
        evaluated = CliRunner().invoke(app, ["evaluate", "--model", str(run), "--episodes", "2"])
        assert evaluated.exit_code == 0, evaluated.output
        values = json.loads((run / "evaluation_tinyads.json").read_text())["return"]["values"]
        unscaled = gym.make(RESIDUAL_ENV_ID, **{k: v for k, v in kwargs.items() if k != "reward_scale"})
        assert values == [rollout(unscaled, make_policy(spec, unscaled), s).episode_return for s in (0, 1)]
        return  # the benchmark builds every trained policy with make_policy, as above; one run of it is enough
    res = run_benchmark([str(tiny_ads)], policies=[spec, "dual_pacing_stock"], n_seeds=2, out=tmp_path / "bench",
                        progress=False, command="test")
    agent = res.ads_results[res.ads_results["policy"] == spec]
    assert len(agent) == 2 and (agent["expected_ad_profit"] <= agent["hindsight_bound"] + 1e-9).all()
