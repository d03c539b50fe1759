"""The benchmark runner: scenarios x policies x evaluation seeds -> results, summary and plots.

Results are checkpointed: every finished (scenario, policy) pair is appended to ``results.csv``
at once, tuned parameters go to ``tuned.json``, and re-running with the same ``out`` folder skips
what is already there, so an interrupted benchmark resumes where it stopped. Every saved row and
entry records the content hash of the scenario (and policy) that produced it; results of content
that has changed since are never reused (``scenarios.bench_state``: refusal, or ``overwrite``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

import shopgym  # noqa: F401  (registers the envs)
from agents.exact import exact_reason, is_newsvendor, newsvendor_optimum, solve
from agents.registry import (
    POLICIES,
    TRAINED_PREFIXES,
    PolicyError,
    default_policies,
    make_policy,
    not_applicable,
)
from agents.tuning import GRIDS
from scenarios.bench_state import (
    RESULT_COLUMNS,
    STATE_FILES,
    append_rows,
    check_fresh,
    discard,
    load_entries,
    load_results,
    policy_hash,
    valid_reference,
    valid_scenario,
    valid_tuned,
)
from scenarios.plots import plot_summary, plot_trajectory
from shopgym.atomic import atomic_write_json, atomic_write_text
from shopgym.config import load_scenario
from shopgym.content import scenario_content, scenario_hash
from shopgym.outdir import prepare_out, run_config, write_config
from shopgym.registry import lookup
from shopgym.rollout import rollout
from shopgym.stats import mean_ci95
from shopgym.world.kpis import EPISODE_KPIS

ENV_ID = "shopgym/Restock-v0"
#: The summary table's columns after the profit, each explained in one line (printed under the table in reports).
COLUMN_NOTES = (
    "- episodes: evaluation seeds per policy (the same seeds for every policy).",
    "- profit: mean episode profit (currency) over the evaluation seeds, with a 95% t-interval.",
    "- unit fill rate: share of the units demanded that were served from stock on the day they were demanded "
    "(a backorder served later counts as unfilled).",
    "- cycle service level: share of SKU-days without a stock-out (a day on which some of what customers "
    "wanted could not be served from stock).",
    "- % of exact optimum: mean profit / the exact optimum's expected profit, with a 95% interval, where the "
    "optimum is known.",
)


@dataclass
class BenchmarkResult:
    """Per-episode results, the per-(scenario, policy) summary, and the files written."""

    results: pd.DataFrame
    summary: pd.DataFrame
    out: Path


def reference_profit(scenario) -> tuple[float | None, str]:
    """The exact expected episode profit of the optimal policy, where one is known, and its source."""
    if is_newsvendor(scenario):
        return newsvendor_optimum(scenario)[1], "closed-form newsvendor optimum"
    if exact_reason(scenario) is None:
        return solve(scenario).value, "exact optimum by backward induction"
    return None, ""


def summarise(results: pd.DataFrame, references: dict[str, float | None]) -> pd.DataFrame:
    """Per (scenario, policy): mean episode profit with a 95% t-interval, mean unit fill rate, cycle service level,
    stock-out days per SKU and mean inventory (units), and percent of the reference."""
    rows = []
    for (sc, pol), g in results.groupby(["scenario", "policy"], sort=False):
        n = len(g)
        half = mean_ci95(g["profit"])[1]
        ref = references.get(sc)
        rows.append({
            "scenario": sc, "policy": pol, "episodes": n,
            "profit_mean": g["profit"].mean(), "profit_ci95": half,
            "unit_fill_rate": g["unit_fill_rate"].mean(), "cycle_service_level": g["cycle_service_level"].mean(),
            "stockout_days_per_sku": g["stockout_days_per_sku"].mean(), "mean_inventory": g["mean_inventory"].mean(),
            "reference_profit": ref,
            "pct_of_reference": 100 * g["profit"].mean() / ref if ref else np.nan,
            "pct_ci95": 100 * half / ref if ref else np.nan,
        })
    return pd.DataFrame(rows)


def format_table(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table (also readable in a terminal)."""
    head = ("| scenario | policy | episodes | profit (mean ± 95% CI) | unit fill rate | cycle service level "
            "| % of exact optimum |")
    lines = [head, "|---|---|---:|---:|---:|---:|---:|"]
    for r in summary.itertuples():
        pct = f"{r.pct_of_reference:.1f} ± {r.pct_ci95:.1f}" if np.isfinite(r.pct_of_reference) else "n/a"
        ci = f"{r.profit_ci95:,.0f}" if np.isfinite(r.profit_ci95) else "n/a"
        lines.append(f"| {r.scenario} | {r.policy} | {r.episodes} | {r.profit_mean:,.0f} ± {ci} | "
                     f"{r.unit_fill_rate:.3f} | {r.cycle_service_level:.3f} | {pct} |")
    return "\n".join(lines)


def check_policy(name: str, scenario=None) -> None:
    """Raise ``PolicyError`` for an unknown built-in policy name or, given a ``scenario``, one that does not
    apply to it, before any folder is made or episode simulated (a trained agent, ``sb3:DIR``, ..., is
    checked when it loads)."""
    if name.startswith(TRAINED_PREFIXES):
        return
    lookup(POLICIES, name, "policy", PolicyError, " Trained agents: sb3:DIR, dqn:DIR or dqn-sku:DIR.")
    why = not_applicable(name, scenario) if scenario is not None else None
    if why:
        raise PolicyError(f"Policy {name!r} does not apply to scenario {scenario.name!r}: {why}.")


def _plan(loaded: dict, policies: list[str] | None) -> list[tuple[str, str]]:
    """The (scenario, policy) cells to run: ``policies`` (or every applicable built-in) on each scenario; a
    policy that does not apply is skipped (with a note when the user named it); an unknown name is an error."""
    for pol in policies or []:
        check_policy(pol)
    plan = []
    for name, sc in loaded.items():
        for pol in policies or default_policies(sc):
            why = not_applicable(pol, sc) if ":" not in pol else None
            if why:
                if policies:
                    print(f"skipping policy {pol!r} on {name!r}: {why}", file=sys.stderr)
                continue
            plan.append((name, pol))
    return plan


def run_benchmark(scenarios: list[str], policies: list[str] | None = None, n_seeds: int = 10,
                  out: Path | str = "runs/benchmark", seed_base: int = 0, progress: bool = True,
                  command: str | None = None, overwrite: bool = False) -> BenchmarkResult:
    """Evaluate ``policies`` (default: every applicable built-in) on each scenario over ``n_seeds`` seeds.

    Evaluation seeds are ``seed_base .. seed_base + n_seeds - 1``; heuristics are tuned on separate
    training seeds (``agents.tuning.TRAIN_SEED_BASE``). Writes ``results.csv``, ``summary.csv``,
    ``summary.md``, ``benchmark.png``, a trajectory plot per scenario and ``config.json`` to ``out``.
    Re-running into the same ``out`` resumes; if a scenario's content (file, override, learned model file)
    or a trained policy's files changed since, it raises ``StaleResultsError`` unless ``overwrite``, which
    discards the earlier results first (``scenarios.bench_state``).
    """
    loaded = {sc.name: sc for sc in map(load_scenario, scenarios)}  # fail fast on a bad name; label by name
    plan = _plan(loaded, policies)
    out = prepare_out(out)
    if overwrite:
        discard(out)
    results_path, tuned_path, refs_path, scen_path = (out / f for f in STATE_FILES)
    hashes = {name: scenario_hash(sc) for name, sc in loaded.items()}
    pol_hashes = {pol: policy_hash(pol) for pol in dict.fromkeys(p for _, p in plan)}
    done = load_results(results_path)
    tuned = load_entries(tuned_path, "tuned parameters", valid_tuned)
    refs = load_entries(refs_path, "reference profits", valid_reference)
    stored = load_entries(scen_path, "scenario contents", valid_scenario)
    check_fresh(out, loaded, hashes, pol_hashes, done, tuned, refs, stored)
    stored.update({n: {"scenario_hash": hashes[n], "content": scenario_content(sc)} for n, sc in loaded.items()})
    atomic_write_json(scen_path, stored)
    seeds = list(range(seed_base, seed_base + n_seeds))
    command = command or " ".join(sys.argv)
    write_config(out, run_config(command, loaded, policies=policies, policy_hashes=pol_hashes, eval_seeds=seeds))

    bar = tqdm(total=len(plan) * n_seeds, desc="benchmark", unit="episode", disable=not progress)
    for name, pol in plan:
        have = set(done.loc[(done["scenario"] == name) & (done["policy"] == pol), "seed"].astype(int))
        todo = [s for s in seeds if s not in have]
        bar.update(n_seeds - len(todo))
        if name not in refs:
            profit, source = reference_profit(loaded[name])
            refs[name] = {"scenario": name, "scenario_hash": hashes[name], "profit": profit, "source": source}
            atomic_write_json(refs_path, refs)
        key = f"{name}/{pol}"
        if not todo and (pol not in GRIDS or key in tuned):
            continue
        env = gym.make(ENV_ID, scenario=loaded[name])
        bar.set_postfix_str(f"{name}/{pol}")
        policy = make_policy(pol, env, params=tuned[key]["params"] if key in tuned else None)
        if pol in GRIDS and key not in tuned:  # tuned parameters go into the report even when no episode is left
            tuned[key] = {"scenario": name, "policy": pol, "scenario_hash": hashes[name],
                          "policy_hash": pol_hashes[pol], "params": policy.params}
            atomic_write_json(tuned_path, tuned)
        rows = []
        for seed in todo:
            t0 = time.perf_counter()
            ep = rollout(env, policy, seed)
            rows.append({"scenario": name, "policy": pol, "seed": seed, **{k: ep.kpis[k] for k in EPISODE_KPIS},
                         "seconds": time.perf_counter() - t0, "scenario_hash": hashes[name],
                         "policy_hash": pol_hashes[pol]})
            bar.update(1)
        if rows:
            new = pd.DataFrame(rows, columns=RESULT_COLUMNS)
            append_rows(results_path, new)
            done = pd.concat([done, new], ignore_index=True) if len(done) else new
    bar.close()

    cells = pd.MultiIndex.from_frame(done[["scenario", "policy"]]).isin(plan) if len(done) else []
    wanted = done[done["seed"].isin(seeds) & cells].reset_index(drop=True)
    ref_profits = {n: e["profit"] for n, e in refs.items()}
    summary = summarise(wanted, ref_profits)
    atomic_write_text(out / "summary.csv", summary.to_csv(index=False))
    _write_report(summary, loaded, {k: e["params"] for k, e in tuned.items()}, refs, out, command)
    return BenchmarkResult(results=wanted, summary=summary, out=out)


def _write_report(summary, loaded, tuned, refs, out: Path, command: str) -> None:
    plot_summary(summary, out / "benchmark.png")
    notes = []
    for name, sc in loaded.items():
        s = summary[(summary["scenario"] == name) & (summary["policy"] != "optimal")]
        if s.empty:
            continue
        best = s.sort_values("profit_mean").iloc[-1]["policy"]
        env = gym.make(ENV_ID, scenario=sc)
        ep = rollout(env, make_policy(best, env, params=tuned.get(f"{name}/{best}")), seed=0, record=True)
        plot_trajectory(ep.trajectory, out / f"trajectory_{name}.png", f"{name}: {best}, seed 0 (all SKUs)")
        ref = refs.get(name, {})
        if ref.get("profit") is not None:
            notes.append(f"- `{name}`: reference = {ref['source']}, expected episode profit {ref['profit']:,.1f}.")
    md = [
        "# shopgym benchmark", "", f"Command: `{command}`", "",
        "Columns (each KPI is defined in `shopgym/world/kpis.py`):", "", *COLUMN_NOTES, "",
        "Tunable heuristics were tuned on separate training seeds; tuned parameters: "
        + (", ".join(f"`{k}` {v}" for k, v in tuned.items()) or "none") + ".", "",
        format_table(summary), "", *notes, "", "![benchmark](benchmark.png)", "",
    ]
    atomic_write_text(out / "summary.md", "\n".join(md))
