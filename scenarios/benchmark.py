"""The benchmark runner: scenarios x policies x evaluation seeds -> results, summary and plots.

Results are checkpointed: every finished (scenario, policy) pair is appended to ``results.csv``
at once, tuned parameters go to ``tuned.json``, and re-running with the same ``out`` folder skips
what is already there, so an interrupted benchmark resumes where it stopped.
"""

from __future__ import annotations

import json
import platform
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
from agents.registry import default_policies, make_policy, not_applicable
from agents.tuning import GRIDS
from scenarios.plots import plot_summary, plot_trajectory
from shopgym.config import load_scenario
from shopgym.rollout import rollout
from shopgym.stats import mean_ci95
from shopgym.world.kpis import EPISODE_KPIS

ENV_ID = "shopgym/Restock-v0"
#: One row per episode: its scenario, policy and seed, every episode KPI (``shopgym.world.kpis.EPISODE_KPIS``,
#: defined there), and the wall time (s).
RESULT_COLUMNS = ["scenario", "policy", "seed", *EPISODE_KPIS, "seconds"]
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


def _load_results(path: Path) -> pd.DataFrame:
    """The episodes already in ``results.csv``; a file written before the current KPI columns is set aside
    (renamed ``results.old.csv``) and its episodes are simulated again."""
    if not path.exists():
        return pd.DataFrame(columns=RESULT_COLUMNS)
    done = pd.read_csv(path)
    missing = [c for c in RESULT_COLUMNS if c not in done.columns]
    if missing:
        old = path.with_name("results.old.csv")
        path.rename(old)
        print(f"{path} lacks the KPI columns {missing} (written by an older shopgym): moved to {old}; "
              "its episodes are simulated again.", file=sys.stderr)
        return pd.DataFrame(columns=RESULT_COLUMNS)
    return done


def _load_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def run_benchmark(scenarios: list[str], policies: list[str] | None = None, n_seeds: int = 10,
                  out: Path | str = "runs/benchmark", seed_base: int = 0, progress: bool = True,
                  command: str | None = None) -> BenchmarkResult:
    """Evaluate ``policies`` (default: every applicable built-in) on each scenario over ``n_seeds`` seeds.

    Evaluation seeds are ``seed_base .. seed_base + n_seeds - 1``; heuristics are tuned on separate
    training seeds (``agents.tuning.TRAIN_SEED_BASE``). Writes ``results.csv``, ``summary.csv``,
    ``summary.md``, ``benchmark.png``, a trajectory plot per scenario and ``config.json`` to ``out``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    loaded = {sc.name: sc for sc in map(load_scenario, scenarios)}  # fail fast on a bad name; label by name
    plan = []
    for name, sc in loaded.items():
        names = policies or default_policies(sc)
        for pol in names:
            why = not_applicable(pol, sc) if ":" not in pol else None
            if why:
                if policies:
                    print(f"skipping policy {pol!r} on {name!r}: {why}", file=sys.stderr)
                continue
            plan.append((name, pol))
    results_path, tuned_path, refs_path = out / "results.csv", out / "tuned.json", out / "references.json"
    done = _load_results(results_path)
    tuned, refs = _load_json(tuned_path), _load_json(refs_path)
    seeds = list(range(seed_base, seed_base + n_seeds))
    (out / "config.json").write_text(json.dumps({
        "command": command or " ".join(sys.argv), "scenarios": {n: s.to_dict() for n, s in loaded.items()},
        "policies": policies, "eval_seeds": seeds, "python": platform.python_version(),
        "versions": {m: sys.modules[m].__version__ for m in ("numpy", "pandas", "gymnasium", "scipy") if m in sys.modules},
    }, indent=2, default=str))

    bar = tqdm(total=len(plan) * n_seeds, desc="benchmark", unit="episode", disable=not progress)
    for name, pol in plan:
        have = set(done.loc[(done["scenario"] == name) & (done["policy"] == pol), "seed"].astype(int))
        todo = [s for s in seeds if s not in have]
        bar.update(n_seeds - len(todo))
        if name not in refs:
            refs[name] = reference_profit(loaded[name])[0]
            refs_path.write_text(json.dumps(refs, indent=2))
        if not todo:
            continue
        env = gym.make(ENV_ID, scenario=loaded[name])
        bar.set_postfix_str(f"{name}/{pol}")
        key = f"{name}/{pol}"
        policy = make_policy(pol, env, params=tuned.get(key))
        if pol in GRIDS and key not in tuned:
            tuned[key] = policy.params
            tuned_path.write_text(json.dumps(tuned, indent=2))
        rows = []
        for seed in todo:
            t0 = time.perf_counter()
            ep = rollout(env, policy, seed)
            rows.append({"scenario": name, "policy": pol, "seed": seed, **{k: ep.kpis[k] for k in EPISODE_KPIS},
                         "seconds": time.perf_counter() - t0})
            bar.update(1)
        new = pd.DataFrame(rows, columns=RESULT_COLUMNS)
        new.to_csv(results_path, mode="a", header=not results_path.exists(), index=False)
        done = pd.concat([done, new], ignore_index=True) if len(done) else new
    bar.close()

    wanted = done[done["seed"].isin(seeds) & done.apply(lambda r: (r["scenario"], r["policy"]) in set(plan), axis=1)]
    summary = summarise(wanted, refs)
    summary.to_csv(out / "summary.csv", index=False)
    _write_report(summary, loaded, tuned, refs, out, command or " ".join(sys.argv))
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
        src = "closed-form newsvendor optimum" if is_newsvendor(sc) else "exact optimum by backward induction"
        if refs.get(name) is not None:
            notes.append(f"- `{name}`: reference = {src}, expected episode profit {refs[name]:,.1f}.")
    md = [
        "# shopgym benchmark", "", f"Command: `{command}`", "",
        "Columns (each KPI is defined in `shopgym/world/kpis.py`):", "", *COLUMN_NOTES, "",
        "Tunable heuristics were tuned on separate training seeds; tuned parameters: "
        + (", ".join(f"`{k}` {v}" for k, v in tuned.items()) or "none") + ".", "",
        format_table(summary), "", *notes, "", "![benchmark](benchmark.png)", "",
    ]
    (out / "summary.md").write_text("\n".join(md))
