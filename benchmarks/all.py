"""Generate ``docs/benchmarks.md``: every shipped scenario, its built-in policies, with CIs and run times.

    python benchmarks/all.py                # every scenario the benchmark runs; 2 worker processes
    python benchmarks/all.py --scenarios quickstart,holiday-peak --doc /tmp/page.md   # a subset, elsewhere

Each scenario is one ``shopgym benchmark`` run (``scenarios.benchmark.run_benchmark``: every applicable built-in
policy, heuristics and the exact optimum where one exists; no trained agents) into
``runs/benchmarks-all/<scenario>/``, on ``--seeds`` evaluation seeds (``--recommend-seeds`` for the Recommend
scenarios with thousands of sessions a day, whose episodes take seconds each). Re-running skips finished cells
(a killed run resumes), and each scenario's time adds up over runs (``timing.json``). A scenario whose
learned demand model is missing has it built first (``scenarios.walmart_model``, ``scenarios.cold_start_model``)
when the Walmart data is at ``--data``; a scenario of a decision the benchmark does not run yet (Ads-v0) is
listed as not run. Paths are relative to the repository root (the script runs there). The page is written
whole (atomically) and never edited by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from scenarios.benchmark import (  # noqa: E402
    BENCHMARKED,
    HEADLINE,
    format_ranking,
    resolve,
    run_benchmark,
    scenario_kind,
)
from scenarios.ranking import label  # noqa: E402
from scenarios.readme import computed_reference, description_parts, missing_model  # noqa: E402
from shopgym.atomic import atomic_write_json, atomic_write_text  # noqa: E402
from shopgym.config import load_scenario, scenario_names  # noqa: E402
from shopgym.stats import mean_ci95  # noqa: E402

#: Scenarios with thousands of Recommend sessions a day (an episode takes seconds): run on ``--recommend-seeds``.
SESSION_HEAVY = 100.0  # sessions per day above which a Recommend scenario counts as heavy


def _build_model(name: str, data: Path) -> str | None:
    """Build the missing demand model of ``name`` from the Walmart data; why not, or ``None`` once built."""
    from scenarios import cold_start_model, walmart_model

    builders = {"walmart-calibrated": walmart_model.build, "cold-start": cold_start_model.build}
    if name not in builders:
        return "no builder known"
    if not data.exists():
        return f"the Walmart data is not at {data} (--data)"
    sc = load_scenario(name)
    print(f"building the demand model of {name} ...", file=sys.stderr)
    builders[name](data, sc.demand.demand_model.partition(":")[2])
    return None


def _winner(results: pd.DataFrame, ranking: pd.DataFrame) -> str:
    """One line: which policy wins and by how much over the runner-up (paired mean over seeds, 95% CI)."""
    r = ranking.sort_values("rank")
    first = r.iloc[0]
    digits = 0 if first["metric"] == "profit" else 1
    tied = r[r["rank"] == 1]["policy"].tolist()
    who = (f"**{label(first['policy'])}** wins" if len(tied) == 1
           else f"{', '.join(f'**{label(p)}**' for p in tied)} tie for first")
    line = f"{who} with {first['metric']} {first['mean']:,.{digits}f} ± {first['ci95']:,.{digits}f}"
    if len(r) > len(tied):
        second = r.iloc[len(tied)]
        per = results.pivot(index="seed", columns="policy", values=first["metric"])
        mean, half = mean_ci95((per[first["policy"]] - per[second["policy"]]).to_numpy())
        line += (f", {mean:+,.{digits}f} ± {half:,.{digits}f} over the runner-up **{label(second['policy'])}** (paired "
                 "difference on the same seeds, 95% CI")
        line += ")" if abs(mean) > half else "; the seeds do not resolve it: first on these seeds, not a clear winner)"
    heur = r[r["policy"] == r["best_heuristic"]]
    if len(heur) and pd.notna(heur.iloc[0]["pct_of_reference"]):
        line += f"; the best heuristic, {heur.iloc[0]['policy']}, reaches {heur.iloc[0]['pct_of_reference']:.1f}% of the exact optimum"
    return line + "."


def run(names: list[str], seeds: int, recommend_seeds: int, jobs: int, out: Path, data: Path,
        overwrite: bool = False) -> tuple[list, list]:
    """Benchmark each scenario; returns ``(done, skipped)``: per scenario run its result, seeds and seconds, and
    per scenario left out the reason."""
    done, skipped = [], []
    for name in names:
        sc = load_scenario(name)
        kind = scenario_kind(sc)
        if kind not in BENCHMARKED:
            skipped.append((name, f"a {kind} scenario: the benchmark does not run this decision yet"))
            continue
        if missing_model(sc):
            why = _build_model(name, data)
            if why:
                skipped.append((name, f"{missing_model(sc)} ({why})"))
                continue
        n = recommend_seeds if kind == "recommend" and sc.shoppers.sessions_per_day > SESSION_HEAVY else seeds
        folder = out / name
        t0 = time.perf_counter()
        res = run_benchmark([name], None, n_seeds=n, out=folder, jobs=jobs, progress=True, overwrite=overwrite,
                            command=f"python benchmarks/all.py (scenario {name})")
        timing = folder / "timing.json"
        spent = json.loads(timing.read_text())["seconds"] if timing.exists() else 0.0
        spent += time.perf_counter() - t0
        atomic_write_json(timing, {"seconds": spent})
        done.append((name, kind, res, n, spent))
    return done, skipped


def render(done: list, skipped: list, command: str, seeds: int, recommend_seeds: int, jobs: int) -> str:
    total = sum(d[4] for d in done)
    lines = [
        "# Benchmarks: every scenario", "",
        f"Generated by `{command}` (never edited by hand), {time.strftime('%Y-%m-%d')}, on {os.cpu_count()} CPU "
        f"cores ({platform.machine()}, Python {platform.python_version()}), {jobs} worker processes.", "",
        f"Policies: every built-in policy that applies (heuristics, and the exact optimum where one exists); no "
        f"trained agents. Seeds: {seeds} evaluation seeds per policy ({recommend_seeds} on Recommend scenarios with "
        f"over {SESSION_HEAVY:.0f} sessions a day), the same for every policy, from 0 (the evaluation range of "
        "`shopgym/seeds.py`). Every mean comes with a 95% t-interval over the seeds; \"vs best heuristic\" is "
        "the paired difference on the same seeds. Time: wall-clock seconds of each scenario's run (tuning, exact "
        f"reference and episodes), summed over resumed runs: {total / 60:.1f} minutes in all.", "",
        "| scenario | decision | winner | time (s) |", "|---|---|---|---:|",
    ]
    for name, kind, res, _, spent in done:
        first = res.ranking[res.ranking["rank"] == 1]["policy"]
        lines.append(f"| [{name}](#{name}) | {kind} | {' = '.join(map(label, first))} | "
                     f"{spent:,.0f} |")
    for name, why in skipped:
        lines.append(f"| {name} | not run | {why} | |")
    for name, kind, res, n, spent in done:
        parts = description_parts(load_scenario(name).description)
        results = {"restock": res.results, "recommend": res.recommend_results}.get(kind)
        results = getattr(res, f"{kind}_results", None) if results is None else results
        lines += ["", f"## {name}", "", parts["summary"], "",
                  f"Reference: {computed_reference(resolve(load_scenario(name)))}. {n} seeds, {spent:,.0f} s.", "",
                  _winner(results, res.ranking), "", format_ranking(res.ranking)]
    if skipped:
        lines += ["", "## Not run", ""] + [f"- `{name}`: {why}" for name, why in skipped]
    lines += ["", f"Headline metrics: {', '.join(f'{k}: {v}' for k, v in HEADLINE.items())} (currency). Each "
              "scenario's full tables (KPIs, tuned parameters) are in its `summary.md` under the run folder.", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenarios", default="", help="comma-separated names (default: every shipped scenario)")
    p.add_argument("--seeds", type=int, default=10, help="evaluation seeds per policy")
    p.add_argument("--recommend-seeds", type=int, default=2, help="seeds on session-heavy Recommend scenarios")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (cells in parallel)")
    p.add_argument("--out", default="runs/benchmarks-all", help="run folders, one per scenario (resumable)")
    p.add_argument("--doc", default=str(ROOT / "docs" / "benchmarks.md"), help="the page to write")
    p.add_argument("--overwrite", action="store_true", help="start every scenario again (after a scenario or model "
                   "file changed: its earlier results are refused otherwise)")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "walmart" / "train.csv.zip"),
                   help="Walmart train.csv(.zip), to build missing learned demand models")
    args = p.parse_args(argv)
    os.chdir(ROOT)  # scenario model paths (learned:models/...) and --out are relative to the repository root
    names = [s for s in args.scenarios.split(",") if s] or scenario_names()
    left = [n for n in scenario_names() if n not in names]
    done, skipped = run(names, args.seeds, args.recommend_seeds, args.jobs, Path(args.out), Path(args.data),
                        args.overwrite)
    command = "python benchmarks/all.py" + "".join(f" {shlex.quote(a)}" for a in (argv if argv is not None else sys.argv[1:]))
    skipped += [(n, "not in this generation's --scenarios; `python benchmarks/all.py` without it runs every "
                    "scenario") for n in left]
    atomic_write_text(Path(args.doc), render(done, skipped, command, args.seeds, args.recommend_seeds, args.jobs))
    print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
