"""The Restock scenarios' part of a benchmark report: per-(scenario, policy) summary and its table.

The counterpart of ``scenarios.bench_recommend`` and ``scenarios.bench_ads`` for ``shopgym/Restock-v0``
(``scenarios.benchmark`` runs the cells; ``scenarios.bench_report`` writes the report).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopgym.stats import mean_ci95

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


def empty_summary() -> pd.DataFrame:
    return pd.DataFrame(columns=["scenario", "policy", "episodes", "profit_mean", "profit_ci95", "unit_fill_rate",
                                 "cycle_service_level", "stockout_days_per_sku", "mean_inventory",
                                 "reference_profit", "pct_of_reference", "pct_ci95"])
