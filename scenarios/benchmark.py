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

Each (scenario, policy) cell is one ``run_cell`` call on a picklable ``Cell``; ``scenarios.parallel`` runs the
cells in this process, in ``jobs`` worker processes or as Ray tasks, and the parent saves each cell's rows as it
finishes, so the results, and what a killed run keeps, do not depend on the backend. Evaluation seeds come from
the evaluation range of ``shopgym.seeds``. ``summary.md`` opens with a ranking of each scenario's policies on
its decision's headline metric (``HEADLINE``) with paired differences to the best heuristic (``rank_policies``,
``scenarios.ranking``); ``scenarios.bench_report`` writes the report and its plots.
"""

from __future__ import annotations

import io
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from scenarios.bench_ads import ads_extras, summarise_ads
from scenarios.bench_recommend import (
    recommend_reference,
    summarise_recommend,
)
from scenarios.bench_report import format_tables, write_report  # noqa: F401  (format_tables: re-exported)
from scenarios.bench_restock import COLUMN_NOTES, empty_summary, summarise  # noqa: F401  (re-exported)
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
from scenarios.parallel import check_backend, execute
from scenarios.ranking import HEADLINE, format_ranking, rank_policies  # noqa: F401  (re-exported)
from scenarios.readme import missing_model
from shopgym.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from shopgym.config import load_scenario
from shopgym.content import scenario_content, scenario_hash
from shopgym.errors import LearnedModelError, ScenarioError, ShopgymError
from shopgym.outdir import prepare_out, run_config, write_config
from shopgym.registry import lookup
from shopgym.rollout import rollout
from shopgym.seeds import check_evaluation, check_unseen

ENV_ID = "shopgym/Restock-v0"
#: The env of each kind (``scenario_kind``).
ENV_IDS = {"restock": ENV_ID, "recommend": "shopgym/Recommend-v0", "ads": "shopgym/Ads-v0"}
#: The decisions the benchmark runs. A decision plugs in with: its env (``ENV_IDS``), its results file and columns
#: (``scenarios.bench_state.RESULT_FILES`` / ``COLUMNS``), its headline metric (``HEADLINE``), its exact reference
#: (``reference_profit``), its summary and table (as ``scenarios.bench_recommend``) and its plot panel
#: (``scenarios.plots._PANELS``); the cells, backends, resume, ranking and paired differences are shared.
BENCHMARKED = ("restock", "recommend", "ads")
@dataclass
class BenchmarkResult:
    """Per-episode results and the per-(scenario, policy) summary of each kind, and the folder written.

    ``results`` / ``summary``: the Restock scenarios' (``RESULT_COLUMNS``; ``summarise``); ``recommend_results`` /
    ``recommend_summary``: the Recommend scenarios' (``RECOMMEND_RESULT_COLUMNS``; ``summarise_recommend``). A
    kind without scenarios in the run has empty frames with its columns. ``ranking``: every kind's policies ranked
    per scenario, with paired differences to the best heuristic (``rank_policies``); ``notes``: what was left out
    (Parquet without pyarrow).
    """

    results: pd.DataFrame
    summary: pd.DataFrame
    out: Path
    recommend_results: pd.DataFrame | None = None
    recommend_summary: pd.DataFrame | None = None
    ads_results: pd.DataFrame | None = None  #: Ads scenarios' rows (``scenarios.bench_ads``)
    ads_summary: pd.DataFrame | None = None
    ranking: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def scenario_kind(scenario) -> str:
    """The decision a scenario is about, as ``agents.registry.env_kind`` of the env it runs in: ``"ads"`` for one
    that simulates ad auctions (``ads.simulate_ads``), ``"recommend"`` for one that simulates shopper sessions,
    else ``"restock"``."""
    if getattr(getattr(scenario, "ads", None), "simulate_ads", False):
        return "ads"
    return "recommend" if scenario.shoppers.simulate_sessions else "restock"


def check_decision(scenario) -> None:
    """Raise ``ScenarioError`` for a scenario whose decision the benchmark does not run (``BENCHMARKED``)."""
    kind = scenario_kind(scenario)
    if kind not in BENCHMARKED:
        raise ScenarioError(f"scenario {scenario.name!r} runs in {ENV_IDS[kind]} (the {kind} decision), which this "
                            f"benchmark does not run yet (it runs {', '.join(BENCHMARKED)}); leave it out of --scenarios.")


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
    if scenario_kind(scenario) == "ads":  # the reference is per episode: the hindsight bound (scenarios.bench_ads)
        return None, ""
    if is_newsvendor(scenario):
        return newsvendor_optimum(scenario)[1], "closed-form newsvendor optimum"
    if exact_reason(scenario) is None:
        return solve(scenario).value, "exact optimum by backward induction"
    return None, ""


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
               " Trained agents: sb3:DIR, dqn:DIR, dqn-sku:DIR, directbackprop:DIR or slateq:DIR; "
               "Recommend: learned_greedy:PATH.")
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


@dataclass(frozen=True)
class Cell:
    """The work of one (scenario, policy) cell, picklable for a worker process or a Ray task (``run_cell``).

    ``spec``: the resolved scenario (``resolve``); ``seeds``: the evaluation seeds still to simulate (may be
    empty when only the tuned parameters are missing); ``params``: tuned parameters already known (``None``:
    a tunable heuristic tunes itself, on training seeds).
    """

    scenario: str
    policy: str
    spec: Any
    seeds: tuple[int, ...]
    params: dict | None
    scenario_hash: str
    policy_hash: str


@dataclass
class CellResult:
    """What a cell gives back: one row per simulated seed (the kind's ``COLUMNS``) and the policy's tuned
    parameters (``None`` for a policy without any)."""

    rows: pd.DataFrame
    params: dict | None


def run_cell(cell: Cell) -> CellResult:
    """Simulate ``cell``: build its env and policy, then one episode per seed (``shopgym.rollout``). Depends only
    on ``cell``, so any backend (``scenarios.parallel``) gives the same rows (but for ``seconds``, wall time)."""
    env = make_env(cell.spec)
    policy = make_policy(cell.policy, env, params=cell.params)
    kind = scenario_kind(cell.spec)
    kpi_names = COLUMNS[kind][3:-3]  # the kind's KPI columns, between (scenario, policy, seed) and the tail
    rows = []
    for seed in cell.seeds:
        t0 = time.perf_counter()
        ep = rollout(env, policy, seed)
        kpis = {**ep.kpis, **ads_extras(env)} if kind == "ads" else ep.kpis  # + the episode's hindsight bound
        rows.append({"scenario": cell.scenario, "policy": cell.policy, "seed": seed,
                     **{k: kpis[k] for k in kpi_names}, "seconds": time.perf_counter() - t0,
                     "scenario_hash": cell.scenario_hash, "policy_hash": cell.policy_hash})
    return CellResult(pd.DataFrame(rows, columns=COLUMNS[kind]), getattr(policy, "params", None))


class CellsFailedError(ShopgymError):
    """Some cells of a benchmark raised; the others' results are saved, and re-running resumes."""


def check_trained_seeds(policies, seeds: list[int]) -> None:
    """Raise ``SeedError`` if a trained agent among ``policies`` saw one of the evaluation ``seeds`` while training
    or validating (the ``seeds_seen`` of its ``config.yml``, ``shopgym.seeds``); a folder without a run
    configuration is left to the policy's loader."""
    from agents.hyperparams import read_run_config

    for pol in dict.fromkeys(policies):
        if pol.startswith(TRAINED_PREFIXES):
            cfg = read_run_config(pol.partition(":")[2])
            if cfg is not None:
                check_unseen(pol, cfg, seeds)


def run_benchmark(scenarios: list[str], policies: list[str] | None = None, n_seeds: int = 10,
                  out: Path | str = "runs/benchmark", seed_base: int = 0, progress: bool = True,
                  command: str | None = None, overwrite: bool = False, jobs: int = 1, backend: str = "local",
                  address: str | None = None) -> BenchmarkResult:
    """Evaluate ``policies`` (default: every applicable built-in) on each scenario over ``n_seeds`` seeds.

    Evaluation seeds are ``seed_base .. seed_base + n_seeds - 1``, inside the evaluation range of
    ``shopgym.seeds``; heuristics are tuned on training seeds (``agents.tuning.TRAIN_SEED_BASE``), and a trained
    agent is refused on seeds it saw (``check_trained_seeds``). Each scenario runs in the env of its kind
    (``scenario_kind``). Cells run one after the other, in ``jobs`` local worker processes, or as Ray tasks
    (``backend="ray"``, on the cluster at ``address``): ``scenarios.parallel``; the results do not depend on
    which. Writes ``results.csv`` / ``.parquet``, ``summary.csv`` (Restock scenarios), ``results_recommend.csv`` /
    ``.parquet``, ``summary_recommend.csv`` (Recommend scenarios), ``summary.md``, ``benchmark.png``, a trajectory
    plot per scenario and ``config.json`` to ``out``.
    Re-running into the same ``out`` resumes: finished cells are kept, whatever killed the run; if a scenario's
    content (file, override, learned model file) or a trained policy's files changed since, it raises
    ``StaleResultsError`` unless ``overwrite``, which discards the earlier results first (``scenarios.bench_state``).
    A cell that raises is reported by ``CellsFailedError`` (scenario, policy, error) once the other cells are saved.
    """
    check_backend(jobs, backend, address)
    seeds = list(range(seed_base, seed_base + n_seeds))
    check_evaluation(seeds)
    raw = [load_scenario(s) for s in scenarios]  # fail fast on a bad name
    for sc in raw:
        check_decision(sc)
        if missing_model(sc):
            raise LearnedModelError(missing_model(sc))
    loaded = {sc.name: resolve(sc) for sc in raw}  # by name
    kinds = {name: scenario_kind(sc) for name, sc in loaded.items()}
    plan = _plan(loaded, policies)
    check_trained_seeds([p for _, p in plan], seeds)
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
    command = command or " ".join(sys.argv)
    write_config(out, run_config(command, loaded, policies=policies, policy_hashes=pol_hashes, eval_seeds=seeds,
                                 jobs=jobs, backend=backend))

    for name in dict.fromkeys(n for n, _ in plan):
        if name not in refs:
            profit, source = reference_profit(loaded[name])
            refs[name] = {"scenario": name, "scenario_hash": hashes[name], "profit": profit, "source": source}
            if kinds[name] == "recommend":
                refs[name]["metric"] = "recommendation_margin"
            atomic_write_json(refs_path, refs)
    cells = []
    for name, pol in plan:
        kind, key = kinds[name], f"{name}/{pol}"
        have = set(done[kind].loc[(done[kind]["scenario"] == name) & (done[kind]["policy"] == pol), "seed"].astype(int))
        todo = tuple(s for s in seeds if s not in have)
        if todo or (pol in GRIDS and key not in tuned):  # tuned parameters go into the report even with no episode left
            cells.append(Cell(name, pol, loaded[name], todo, tuned[key]["params"] if key in tuned else None,
                              hashes[name], pol_hashes[pol]))
    failed = []
    bar = tqdm(total=len(plan), initial=len(plan) - len(cells), desc="benchmark", unit="cell", disable=not progress)
    for cell, result, error in execute(run_cell, cells, jobs, backend, address):
        bar.update(1)
        if error is not None:
            failed.append(f"{cell.scenario}/{cell.policy}: {error}")
            bar.write(f"cell {cell.scenario}/{cell.policy} failed: {error}", file=sys.stderr)
            continue
        key, kind = f"{cell.scenario}/{cell.policy}", kinds[cell.scenario]
        if cell.policy in GRIDS and key not in tuned:
            tuned[key] = {"scenario": cell.scenario, "policy": cell.policy, "scenario_hash": cell.scenario_hash,
                          "policy_hash": cell.policy_hash, "params": result.params}
            atomic_write_json(tuned_path, tuned)
        if len(result.rows):
            append_rows(paths[kind], result.rows, COLUMNS[kind])
            done[kind] = pd.concat([done[kind], result.rows], ignore_index=True) if len(done[kind]) else result.rows
    bar.close()
    if failed:
        raise CellsFailedError(f"{len(failed)} of {len(plan)} cells failed; the other cells' results are saved in "
                               f"{out}, and re-running the same command runs only what is missing:\n  "
                               + "\n  ".join(failed))

    ref_profits = {n: e["profit"] for n, e in refs.items()}
    wanted = {kind: _wanted(d, plan, seeds) for kind, d in done.items()}
    notes = {_write_results(path, _canonical(done[kind], plan), COLUMNS[kind])
             for kind, path in paths.items() if len(done[kind])} - {None}
    summary = summarise(wanted["restock"], ref_profits) if len(wanted["restock"]) else empty_summary()
    rec_summary = summarise_recommend(wanted["recommend"], ref_profits)
    ads_summary = summarise_ads(wanted["ads"])
    if "restock" in kinds.values() or not {"recommend", "ads"} & set(kinds.values()):
        atomic_write_text(out / "summary.csv", summary.to_csv(index=False))
    if "recommend" in kinds.values():
        atomic_write_text(out / "summary_recommend.csv", rec_summary.to_csv(index=False))
    if "ads" in kinds.values():
        atomic_write_text(out / "summary_ads.csv", ads_summary.to_csv(index=False))
    ranking = rank_policies(wanted, plan, kinds, ref_profits)
    write_report({"restock": summary, "recommend": rec_summary, "ads": ads_summary}, loaded,
                  {k: e["params"] for k, e in tuned.items()}, refs, out, command, ranking, sorted(notes))
    return BenchmarkResult(results=wanted["restock"], summary=summary, out=out,
                           recommend_results=wanted["recommend"], recommend_summary=rec_summary, ranking=ranking,
                           notes=sorted(notes), ads_results=wanted["ads"], ads_summary=ads_summary)


def _wanted(done: pd.DataFrame, plan: list[tuple[str, str]], seeds: list[int]) -> pd.DataFrame:
    """The rows of ``done`` that this run's ``plan`` and ``seeds`` ask for (a resumed folder may hold more)."""
    if not len(done):
        return done.reset_index(drop=True)
    cells = pd.MultiIndex.from_frame(done[["scenario", "policy"]]).isin(plan)
    return _canonical(done[done["seed"].isin(seeds) & cells], plan)


def _canonical(done: pd.DataFrame, plan: list[tuple[str, str]]) -> pd.DataFrame:
    """``done``'s rows in a fixed order whatever order the cells finished in: this run's cells in plan order, each
    by seed, then the rows of other cells as they were."""
    order = {cell: i for i, cell in enumerate(plan)}
    pos = pd.Series([order.get(c, len(plan)) for c in zip(done["scenario"], done["policy"], strict=True)],
                    index=done.index)
    key = pd.DataFrame({"cell": pos, "seed": done["seed"].where(pos < len(plan), 0), "row": np.arange(len(done))})
    return done.loc[key.sort_values(["cell", "seed", "row"]).index].reset_index(drop=True)


PARQUET_NOTE = 'results.parquet not written: Parquet needs pyarrow (pip install "shopgym[parquet]"); CSV is complete.'


def _write_results(path: Path, rows: pd.DataFrame, columns: list[str]) -> str | None:
    """Rewrite ``path`` (CSV) with ``rows`` in their canonical order, and write the same rows to the ``.parquet``
    next to it; returns ``PARQUET_NOTE`` when pyarrow is not installed (the CSV is written regardless)."""
    atomic_write_text(path, rows[columns].to_csv(index=False))
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return PARQUET_NOTE
    buf = io.BytesIO()
    rows[columns].to_parquet(buf, index=False)
    atomic_write_bytes(path.with_suffix(".parquet"), buf.getvalue())
    return None
