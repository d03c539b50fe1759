"""The benchmark report: ``summary.md`` (the ranking, each kind's KPI table, references, notes) and its plots."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from agents.registry import make_policy
from scenarios.bench_ads import ADS_NOTES, format_ads_table
from scenarios.bench_recommend import RECOMMEND_NOTES, format_recommend_table
from scenarios.bench_restock import COLUMN_NOTES, format_table
from scenarios.plots import plot_policy_traces, plot_sessions, plot_summary, plot_trajectory
from scenarios.ranking import RANKING_NOTE, REFERENCE_POLICIES, format_ranking
from shopgym.atomic import atomic_write_text
from shopgym.rollout import rollout


def format_tables(res) -> str:
    """Every kind's summary table of a benchmark (``res``: a ``scenarios.benchmark.BenchmarkResult``), Restock
    first, each under a title when the run mixed kinds."""
    tables = [("Restock-v0 scenarios", format_table(res.summary))] if len(res.summary) else []
    if res.recommend_summary is not None and len(res.recommend_summary):
        tables.append(("Recommend-v0 scenarios", format_recommend_table(res.recommend_summary)))
    if res.ads_summary is not None and len(res.ads_summary):
        tables.append(("Ads-v0 scenarios", format_ads_table(res.ads_summary)))
    if len(tables) == 1:
        return tables[0][1]
    return "\n\n".join(f"{title}\n\n{table}" for title, table in tables)


def best_policy(s: pd.DataFrame, metric: str) -> str | None:
    """The policy with the largest mean ``metric`` among ``s``'s rows other than ``optimal``."""
    s = s[s["policy"] != "optimal"]
    return None if s.empty else s.sort_values(metric).iloc[-1]["policy"]




def write_report(summaries: dict[str, pd.DataFrame], loaded, tuned, refs, out: Path, command: str,
                  ranking: pd.DataFrame | None = None, left_out: list[str] | tuple = ()) -> None:
    """Write ``summary.md`` (the ranking, each kind's KPI table, references, notes) and the plots."""
    from scenarios.benchmark import (  # the runner's env factory (it imports this module)
        make_env,
        scenario_kind,
    )

    summary, rec = summaries["restock"], summaries["recommend"]
    plot_summary(summary, out / "benchmark.png", recommend=rec)
    notes, rec_notes = [], []
    for name, sc in loaded.items():
        kind = scenario_kind(sc)
        s = {"restock": summary, "recommend": rec, "ads": summaries.get("ads")}[kind]
        s = s[s["scenario"] == name] if s is not None and len(s) else pd.DataFrame(columns=["policy"])
        # one episode per policy on seed 0, overlaid (the run's policies, tuned as in the run; not the exact
        # references, whose policies would be solved again here)
        env = make_env(sc)
        traces = {p: rollout(env, make_policy(p, env, params=tuned.get(f"{name}/{p}")), seed=0, record=True).trajectory
                  for p in dict.fromkeys(s["policy"]) if p not in REFERENCE_POLICIES}
        if traces:
            plot_policy_traces(traces, kind, out / f"traces_{name}.png", f"{name}: one episode per policy, seed 0")
        if kind == "ads":  # the per-policy traces are its plot
            continue
        best = best_policy(s, "profit_mean" if kind == "restock" else "margin_mean")
        if best is None:
            continue
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
    if ranking is not None and len(ranking):
        md += ["## Ranking", "", RANKING_NOTE, "", format_ranking(ranking), ""]
    md += [f"Note: {n}" for n in left_out] + ([""] if left_out else [])
    ads = summaries.get("ads")
    ads = ads if ads is not None else pd.DataFrame()
    if len(summary) or not (len(rec) or len(ads)):
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
    if len(ads):
        md += [
            "## Ads-v0 scenarios", "",
            "Scenarios with ad auctions run in `shopgym/Ads-v0` (one step per tick, restocking by the scenario's rule "
            "underneath) with the bid-pacing baselines (`agents/ads_heuristics.py`); per-episode rows in "
            "`results_ads.csv`, this table in `summary_ads.csv`. Columns:", "", *ADS_NOTES, "",
            format_ads_table(ads), "",
        ]
    md += ["![benchmark](benchmark.png)", ""]
    md += [f"![{name}: one episode per policy](traces_{name}.png)" for name in loaded if (out / f"traces_{name}.png").exists()]
    atomic_write_text(out / "summary.md", "\n".join(md))
