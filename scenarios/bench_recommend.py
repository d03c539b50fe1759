"""The benchmark's Recommend kind: summary columns, table and exact reference of ``shopgym/Recommend-v0`` scenarios.

A scenario with ``shoppers.simulate_sessions = true`` runs in ``shopgym/Recommend-v0`` (``scenarios.benchmark``
picks the env by the scenario). Its episodes are judged by the recommendation KPIs (``shopgym.world.kpis.SESSION_KPIS``),
headed by the **recommendation margin**: the margin of recommendation-driven purchases (currency), which is the
env's reward at ``reward_scale = 1`` and the quantity the exact optimum of ``agents.recommend_exact`` maximises.
Rows go to their own file and summary (``results_recommend.csv``, ``summary_recommend.csv``) with their own
columns, so neither kind's table carries the other's KPIs as empty cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopgym.stats import mean_ci95

#: The Recommend summary's columns after the margin, each explained in one line (printed under its table).
RECOMMEND_NOTES = (
    "- episodes: evaluation seeds per policy (the same seeds for every policy).",
    "- recommendation margin: mean episode margin of recommendation-driven purchases (price paid - unit cost, "
    "currency; the env's reward) over the evaluation seeds, with a 95% t-interval.",
    "- CTR: clicks per item shown; conversion rate: purchases per click (episode totals, averaged over episodes).",
    "- purchases: units bought through recommendations per episode; stock-outs hit: carts that found the item "
    "sold out; churned: shoppers who left for good by the episode's end (counts, means over episodes).",
    "- shop profit: the whole shop's mean episode profit (currency: organic and recommendation sales, restocking "
    "costs).",
    "- % of exact optimum: mean recommendation margin / the exact optimum's expected margin (recommend-exact "
    "instances, `agents/recommend_exact.py`), with a 95% interval.",
)


def recommend_reference(scenario) -> tuple[float | None, str]:
    """The exact expected recommendation margin (currency) of the optimal policy on ``scenario`` (as
    ``shopgym/Recommend-v0`` runs it), where the instance is exact, and its source; ``(None, "")`` otherwise."""
    from agents.recommend_exact import exact_reason, solve

    if exact_reason(scenario) is None:
        return solve(scenario).value, "exact optimum of the recommendation MDP by backward induction"
    return None, ""


def summarise_recommend(results: pd.DataFrame, references: dict[str, float | None]) -> pd.DataFrame:
    """Per (scenario, policy) of Recommend rows: mean recommendation margin with a 95% t-interval, mean CTR,
    conversion rate, purchases, stock-outs hit, churned shoppers and shop profit, and percent of the reference."""
    rows = []
    for (sc, pol), g in results.groupby(["scenario", "policy"], sort=False):
        margin = g["recommendation_margin"]
        half = mean_ci95(margin)[1]
        ref = references.get(sc)
        rows.append({
            "scenario": sc, "policy": pol, "episodes": len(g),
            "margin_mean": margin.mean(), "margin_ci95": half,
            "ctr": g["ctr"].mean(), "conversion_rate": g["conversion_rate"].mean(),
            "purchases": g["purchases"].mean(), "stockouts_hit": g["stockouts_hit"].mean(),
            "churned_shoppers": g["churned_shoppers"].mean(), "profit_mean": g["profit"].mean(),
            "reference_margin": ref,
            "pct_of_reference": 100 * margin.mean() / ref if ref else np.nan,
            "pct_ci95": 100 * half / abs(ref) if ref else np.nan,
        })
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


#: The columns of ``summary_recommend.csv`` (``summarise_recommend``).
SUMMARY_COLUMNS = ["scenario", "policy", "episodes", "margin_mean", "margin_ci95", "ctr", "conversion_rate",
                   "purchases", "stockouts_hit", "churned_shoppers", "profit_mean", "reference_margin",
                   "pct_of_reference", "pct_ci95"]


def format_recommend_table(summary: pd.DataFrame) -> str:
    """The Recommend summary as a Markdown table (also readable in a terminal)."""
    head = ("| scenario | policy | episodes | recommendation margin (mean ± 95% CI) | CTR | conversion rate "
            "| purchases | stock-outs hit | churned | shop profit | % of exact optimum |")
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in summary.itertuples():
        pct = f"{r.pct_of_reference:.1f} ± {r.pct_ci95:.1f}" if np.isfinite(r.pct_of_reference) else "n/a"
        ci = f"{r.margin_ci95:,.1f}" if np.isfinite(r.margin_ci95) else "n/a"
        lines.append(f"| {r.scenario} | {r.policy} | {r.episodes} | {r.margin_mean:,.1f} ± {ci} | {r.ctr:.3f} | "
                     f"{r.conversion_rate:.3f} | {r.purchases:,.1f} | {r.stockouts_hit:,.1f} | "
                     f"{r.churned_shoppers:,.1f} | {r.profit_mean:,.0f} | {pct} |")
    return "\n".join(lines)
