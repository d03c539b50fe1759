"""The benchmark runner: scenarios x policies x evaluation seeds -> results, summary and plots.

Each scenario runs in the env of its kind: ``shopgym/Recommend-v0`` when it simulates shopper sessions
(``shoppers.simulate_sessions = true``, as the env resolves it: one item per session unless the env is given
``slate_size``), ``shopgym/Restock-v0`` otherwise; its default policies are the built-ins of that kind
(``agents.registry``). The two kinds report different KPIs, so each has its own results file, summary and
table (``results.csv`` / ``summary.csv`` and the first table for Restock; ``results_recommend.csv`` /
``summary_recommend.csv`` and a "Recommend-v0 scenarios" table for Recommend, ``scenarios.bench_recommend``):
no column of one kind is padded with NaN in the other's rows. A mixed run writes both, one ``summary.md``
and one ``benchmark.png`` (a panel per scenario, each on its own kind's headline KPI).

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
    LEARNED_GREEDY,
    POLICIES,
    TRAINED_PREFIXES,
    PolicyError,
    default_policies,
    make_policy,
    not_applicable,
)
from agents.tuning import GRIDS
from scenarios.bench_recommend import (
    RECOMMEND_NOTES,
    format_recommend_table,
    recommend_reference,
    summarise_recommend,
)
from scenarios.bench_state import (
    COLUMNS,
    KEY_COLUMNS,
    RESULT_COLUMNS,  # noqa: F401  (re-exported: the Restock results' columns)
    RESULT_FILES,
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
from scenarios.plots import plot_sessions, plot_summary, plot_trajectory
from shopgym.atomic import atomic_write_json, atomic_write_text
from shopgym.config import load_scenario
from shopgym.content import scenario_content, scenario_hash
from shopgym.outdir import prepare_out, run_config, write_config
from shopgym.registry import lookup
from shopgym.rollout import rollout
from shopgym.stats import mean_ci95

ENV_ID = "shopgym/Restock-v0"
#: The env of each kind (``scenario_kind``).
ENV_IDS = {"restock": ENV_ID, "recommend": "shopgym/Recommend-v0"}
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
    """Per-episode results and the per-(scenario, policy) summary of each kind, and the folder written.

    ``results`` / ``summary``: the Restock scenarios' (``RESULT_COLUMNS``; ``summarise``); ``recommend_results`` /
    ``recommend_summary``: the Recommend scenarios' (``RECOMMEND_RESULT_COLUMNS``; ``summarise_recommend``). A
    kind without scenarios in the run has empty frames with its columns.
    """

    results: pd.DataFrame
    summary: pd.DataFrame
    out: Path
    recommend_results: pd.DataFrame | None = None
    recommend_summary: pd.DataFrame | None = None


def scenario_kind(scenario) -> str:
    """``"recommend"`` for a scenario that simulates shopper sessions, else ``"restock"`` (``agents.registry.env_kind``
    of the env it runs in)."""
    return "recommend" if scenario.shoppers.simulate_sessions else "restock"


def make_env(scenario):
    """The env ``scenario`` runs in (``ENV_IDS`` by ``scenario_kind``), built with no argument besides it."""
    return gym.make(ENV_IDS[scenario_kind(scenario)], scenario=scenario)


def resolve(scenario):
    """The scenario as its env runs it (Recommend-v0 sets ``slate_size = 1`` unless told otherwise): what the
    benchmark hashes, records and plans policies for. A Restock scenario is returned as it is."""
    return make_env(scenario).unwrapped.scenario if scenario_kind(scenario) == "recommend" else scenario


def reference_profit(scenario) -> tuple[float | None, str]:
    """The exact expected value of the scenario's headline KPI under the optimal policy, where one is known, and
    its source: episode profit (Restock), recommendation margin (Recommend, ``recommend_reference``); currency."""
    if scenario_kind(scenario) == "recommend":
        return recommend_reference(scenario)
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
            "pct_ci95": 100 * half / abs(ref) if ref else np.nan,
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


def _why_not(name: str, scenario) -> str | None:
    """Why policy ``name`` (built-in or ``learned_greedy:PATH``) cannot run on ``scenario`` in its env, or ``None``
    (trained agents are checked when they load)."""
    kind = scenario_kind(scenario)
    if name.startswith(LEARNED_GREEDY):
        return None if kind == "recommend" else f"it is a recommend policy and this is a {kind} env"
    return None if name.startswith(TRAINED_PREFIXES) else not_applicable(name, scenario, kind)


def check_policy(name: str, scenario=None) -> None:
    """Raise ``PolicyError`` for an unknown built-in policy name or, given a ``scenario`` (resolved, ``resolve``),
    one that does not apply to it in its env, before any folder is made or episode simulated (a trained agent,
    ``sb3:DIR``, ..., is checked when it loads)."""
    if name.startswith(TRAINED_PREFIXES):
        return
    if not name.startswith(LEARNED_GREEDY):
        lookup(POLICIES, name, "policy", PolicyError,
               " Trained agents: sb3:DIR, dqn:DIR or dqn-sku:DIR; Recommend: learned_greedy:PATH.")
    why = _why_not(name, scenario) if scenario is not None else None
    if why:
        raise PolicyError(f"Policy {name!r} does not apply to scenario {scenario.name!r}: {why}.")


def _plan(loaded: dict, policies: list[str] | None) -> list[tuple[str, str]]:
    """The (scenario, policy) cells to run: ``policies`` (or every applicable built-in of the scenario's kind) on
    each scenario; a policy that does not apply is skipped (with a note when the user named it, e.g. a Restock
    heuristic on a Recommend scenario of a mixed run); an unknown name is an error."""
    for pol in policies or []:
        check_policy(pol)
    plan = []
    for name, sc in loaded.items():
        for pol in policies or default_policies(sc, kind=scenario_kind(sc)):
            why = _why_not(pol, sc)
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
    training seeds (``agents.tuning.TRAIN_SEED_BASE``). Each scenario runs in the env of its kind
    (``scenario_kind``). Writes ``results.csv``, ``summary.csv`` (Restock scenarios), ``results_recommend.csv``,
    ``summary_recommend.csv`` (Recommend scenarios), ``summary.md``, ``benchmark.png``, a trajectory plot per
    scenario and ``config.json`` to ``out``.
    Re-running into the same ``out`` resumes; if a scenario's content (file, override, learned model file)
    or a trained policy's files changed since, it raises ``StaleResultsError`` unless ``overwrite``, which
    discards the earlier results first (``scenarios.bench_state``).
    """
    loaded = {sc.name: resolve(sc) for sc in map(load_scenario, scenarios)}  # fail fast on a bad name; by name
    kinds = {name: scenario_kind(sc) for name, sc in loaded.items()}
    plan = _plan(loaded, policies)
    out = prepare_out(out)
    if overwrite:
        discard(out)
    _, tuned_path, refs_path, scen_path = (out / f for f in STATE_FILES)
    paths = {kind: out / f for kind, f in RESULT_FILES.items()}
    hashes = {name: scenario_hash(sc) for name, sc in loaded.items()}
    pol_hashes = {pol: policy_hash(pol) for pol in dict.fromkeys(p for _, p in plan)}
    done = {kind: load_results(path, COLUMNS[kind]) if kind in kinds.values() or path.exists()
            else pd.DataFrame(columns=COLUMNS[kind]) for kind, path in paths.items()}
    tuned = load_entries(tuned_path, "tuned parameters", valid_tuned)
    refs = load_entries(refs_path, "reference profits", valid_reference)
    stored = load_entries(scen_path, "scenario contents", valid_scenario)
    keys = pd.concat([d[KEY_COLUMNS] for d in done.values() if len(d)] or [pd.DataFrame(columns=KEY_COLUMNS)],
                     ignore_index=True)
    check_fresh(out, loaded, hashes, pol_hashes, keys, tuned, refs, stored)
    stored.update({n: {"scenario_hash": hashes[n], "content": scenario_content(sc)} for n, sc in loaded.items()})
    atomic_write_json(scen_path, stored)
    seeds = list(range(seed_base, seed_base + n_seeds))
    command = command or " ".join(sys.argv)
    write_config(out, run_config(command, loaded, policies=policies, policy_hashes=pol_hashes, eval_seeds=seeds))

    bar = tqdm(total=len(plan) * n_seeds, desc="benchmark", unit="episode", disable=not progress)
    for name, pol in plan:
        kind = kinds[name]
        have = set(done[kind].loc[(done[kind]["scenario"] == name) & (done[kind]["policy"] == pol), "seed"].astype(int))
        todo = [s for s in seeds if s not in have]
        bar.update(n_seeds - len(todo))
        if name not in refs:
            profit, source = reference_profit(loaded[name])
            refs[name] = {"scenario": name, "scenario_hash": hashes[name], "profit": profit, "source": source}
            if kind == "recommend":
                refs[name]["metric"] = "recommendation_margin"
            atomic_write_json(refs_path, refs)
        key = f"{name}/{pol}"
        if not todo and (pol not in GRIDS or key in tuned):
            continue
        env = make_env(loaded[name])
        bar.set_postfix_str(f"{name}/{pol}")
        policy = make_policy(pol, env, params=tuned[key]["params"] if key in tuned else None)
        if pol in GRIDS and key not in tuned:  # tuned parameters go into the report even when no episode is left
            tuned[key] = {"scenario": name, "policy": pol, "scenario_hash": hashes[name],
                          "policy_hash": pol_hashes[pol], "params": policy.params}
            atomic_write_json(tuned_path, tuned)
        kpi_names = COLUMNS[kind][3:-3]  # the kind's KPI columns, between (scenario, policy, seed) and the tail
        rows = []
        for seed in todo:
            t0 = time.perf_counter()
            ep = rollout(env, policy, seed)
            rows.append({"scenario": name, "policy": pol, "seed": seed, **{k: ep.kpis[k] for k in kpi_names},
                         "seconds": time.perf_counter() - t0, "scenario_hash": hashes[name],
                         "policy_hash": pol_hashes[pol]})
            bar.update(1)
        if rows:
            new = pd.DataFrame(rows, columns=COLUMNS[kind])
            append_rows(paths[kind], new, COLUMNS[kind])
            done[kind] = pd.concat([done[kind], new], ignore_index=True) if len(done[kind]) else new
    bar.close()

    ref_profits = {n: e["profit"] for n, e in refs.items()}
    wanted = {kind: _wanted(d, plan, seeds) for kind, d in done.items()}
    summary = summarise(wanted["restock"], ref_profits) if len(wanted["restock"]) else _empty_summary()
    rec_summary = summarise_recommend(wanted["recommend"], ref_profits)
    if "restock" in kinds.values() or "recommend" not in kinds.values():
        atomic_write_text(out / "summary.csv", summary.to_csv(index=False))
    if "recommend" in kinds.values():
        atomic_write_text(out / "summary_recommend.csv", rec_summary.to_csv(index=False))
    _write_report({"restock": summary, "recommend": rec_summary}, loaded, {k: e["params"] for k, e in tuned.items()},
                  refs, out, command)
    return BenchmarkResult(results=wanted["restock"], summary=summary, out=out,
                           recommend_results=wanted["recommend"], recommend_summary=rec_summary)


def _wanted(done: pd.DataFrame, plan: list[tuple[str, str]], seeds: list[int]) -> pd.DataFrame:
    """The rows of ``done`` that this run's ``plan`` and ``seeds`` ask for (a resumed folder may hold more)."""
    if not len(done):
        return done.reset_index(drop=True)
    cells = pd.MultiIndex.from_frame(done[["scenario", "policy"]]).isin(plan)
    return done[done["seed"].isin(seeds) & cells].reset_index(drop=True)


def _empty_summary() -> pd.DataFrame:
    return pd.DataFrame(columns=["scenario", "policy", "episodes", "profit_mean", "profit_ci95", "unit_fill_rate",
                                 "cycle_service_level", "stockout_days_per_sku", "mean_inventory",
                                 "reference_profit", "pct_of_reference", "pct_ci95"])


def format_tables(res: BenchmarkResult) -> str:
    """Every kind's summary table of a benchmark, Restock first, each under a title when the run mixed kinds."""
    tables = [("Restock-v0 scenarios", format_table(res.summary))] if len(res.summary) else []
    if res.recommend_summary is not None and len(res.recommend_summary):
        tables.append(("Recommend-v0 scenarios", format_recommend_table(res.recommend_summary)))
    if len(tables) == 1:
        return tables[0][1]
    return "\n\n".join(f"{title}\n\n{table}" for title, table in tables)


def _best_policy(s: pd.DataFrame, metric: str) -> str | None:
    """The policy with the largest mean ``metric`` among ``s``'s rows other than ``optimal``."""
    s = s[s["policy"] != "optimal"]
    return None if s.empty else s.sort_values(metric).iloc[-1]["policy"]


def _write_report(summaries: dict[str, pd.DataFrame], loaded, tuned, refs, out: Path, command: str) -> None:
    summary, rec = summaries["restock"], summaries["recommend"]
    plot_summary(summary, out / "benchmark.png", recommend=rec)
    notes, rec_notes = [], []
    for name, sc in loaded.items():
        kind = scenario_kind(sc)
        s = (summary if kind == "restock" else rec)
        best = _best_policy(s[s["scenario"] == name], "profit_mean" if kind == "restock" else "margin_mean")
        if best is None:
            continue
        env = make_env(sc)
        ep = rollout(env, make_policy(best, env, params=tuned.get(f"{name}/{best}")), seed=0, record=True)
        if kind == "restock":
            plot_trajectory(ep.trajectory, out / f"trajectory_{name}.png", f"{name}: {best}, seed 0 (all SKUs)")
        else:
            plot_sessions(ep.trajectory, out / f"trajectory_{name}.png", f"{name}: {best}, seed 0 (sessions per day)")
        ref = refs.get(name, {})
        if ref.get("profit") is not None:
            what = "expected episode profit" if kind == "restock" else "expected episode recommendation margin"
            (notes if kind == "restock" else rec_notes).append(
                f"- `{name}`: reference = {ref['source']}, {what} {ref['profit']:,.1f}.")
    md = ["# shopgym benchmark", "", f"Command: `{command}`", ""]
    if len(summary) or not len(rec):
        md += [
            "Columns (each KPI is defined in `shopgym/world/kpis.py`):", "", *COLUMN_NOTES, "",
            "Tunable heuristics were tuned on separate training seeds; tuned parameters: "
            + (", ".join(f"`{k}` {v}" for k, v in tuned.items()) or "none") + ".", "",
            format_table(summary), "", *notes, "",
        ]
    if len(rec):
        md += [
            "## Recommend-v0 scenarios", "",
            "Scenarios with shopper sessions run in `shopgym/Recommend-v0` (one step per session, restocking by the "
            "scenario's rule underneath); per-episode rows in `results_recommend.csv`, this table in "
            "`summary_recommend.csv`. Columns (each KPI is defined in `shopgym/world/kpis.py`):", "",
            *RECOMMEND_NOTES, "", format_recommend_table(rec), "", *rec_notes, "",
        ]
    md += ["![benchmark](benchmark.png)", ""]
    atomic_write_text(out / "summary.md", "\n".join(md))
