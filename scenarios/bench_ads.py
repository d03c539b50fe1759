"""The benchmark's Ads kind: per-episode columns, summary and table of ``shopgym/Ads-v0`` scenarios.

A scenario with ``ads.simulate_ads = true`` runs in ``shopgym/Ads-v0`` (``scenarios.benchmark`` picks the env by
the scenario) with the bid-pacing baselines of ``agents.ads_heuristics``. Its episodes are judged by the **ad
profit**: the margin of ad-driven purchases minus the ad spend (currency; the env's reward at ``reward_scale = 1``).
Each episode also records its **hindsight bound** (``agents.ads_hindsight``: the LP relaxation of the knapsack over
that episode's own opportunities and competing prices, the best spend of each day's budget in hindsight) and the
**expected ad profit** (``agents.ads_heuristics.expected_ad_profit``: the expected margin of the impressions won
minus their price, which is what the bound bounds, without the noise of the shoppers' clicks and purchases); the
% of the bound is computed per episode (paired). Rows go to ``results_ads.csv`` / ``summary_ads.csv``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopgym.stats import mean_ci95
from shopgym.world.kpis import ADS_KPIS, EPISODE_KPIS

#: Per-episode values the Ads kind adds to the env's KPIs (``ads_extras``), currency but the percentage.
ADS_EXTRAS = ("ad_profit", "expected_ad_profit", "hindsight_bound", "pct_of_bound")
#: One row per episode of an Ads scenario: the extras, the ad KPIs (``ADS_KPIS``), the shop's episode KPIs, then the
#: wall time and hashes (as every kind, ``scenarios.bench_state``).
ADS_RESULT_COLUMNS = ["scenario", "policy", "seed", *ADS_EXTRAS, *ADS_KPIS, *EPISODE_KPIS, "seconds", "scenario_hash",
                      "policy_hash"]


def ads_extras(env) -> dict[str, float]:
    """The ``ADS_EXTRAS`` of the episode ``env`` (an Ads-v0 env, single world) has just finished."""
    from agents.ads_heuristics import expected_ad_profit
    from agents.ads_hindsight import hindsight_bound, hindsight_budgets

    world = env.unwrapped.world
    log = world.opportunity_log()
    kpis = world.ads_kpis()
    bound = hindsight_bound(log, hindsight_budgets(world))
    expected = float(expected_ad_profit(log, world.n_worlds)[0])
    return {"ad_profit": float(kpis["ad_margin"][0] - kpis["ad_spend"][0]), "expected_ad_profit": expected,
            "hindsight_bound": bound, "pct_of_bound": 100 * expected / bound if bound > 0 else np.nan}


#: The Ads summary's columns (``summarise_ads``).
SUMMARY_COLUMNS = ["scenario", "policy", "episodes", "ad_profit_mean", "ad_profit_ci95", "expected_mean",
                   "expected_ci95", "pct_of_bound", "pct_of_bound_ci95", "roas", "wasted_spend", "ad_spend",
                   "purchases", "win_rate", "shop_profit_mean", "shop_profit_ci95"]
#: One line per column of the Ads table (printed under it).
ADS_NOTES = (
    "- episodes: evaluation seeds per policy (the same seeds for every policy).",
    "- ad profit: margin of ad-driven purchases - ad spend per episode (currency; the env's reward), mean with a "
    "95% t-interval over the seeds.",
    "- expected ad profit: sum over impressions won of (expected margin of the ad shown - price paid): the ad "
    "profit without the noise of clicks and purchases, and what the hindsight bound bounds.",
    "- % of bound: expected ad profit / the same episode's hindsight bound (`agents/ads_hindsight.py`), mean and "
    "95% t-interval of the per-episode ratios (paired).",
    "- ROAS: ad revenue / ad spend; wasted spend: currency paid for impressions won while nothing of the campaign "
    "was in stock (episode means).",
    "- shop profit: the whole shop's episode profit (organic and ad-driven sales, every cost, ad spend included), "
    "mean with a 95% t-interval. Ad profit does not count organic sales lost to stock that ads sold first, so on a "
    "shop short of stock a policy can lead on ad profit and trail on shop profit: read both.",
)


def summarise_ads(results: pd.DataFrame) -> pd.DataFrame:
    """Per (scenario, policy) of Ads rows: ad profit and expected ad profit (95% t-intervals), % of the hindsight
    bound (paired per episode), ROAS, wasted spend, spend, purchases and win rate (episode means)."""
    rows = []
    for (sc, pol), g in results.groupby(["scenario", "policy"], sort=False):
        pct = g["pct_of_bound"].dropna().to_numpy(float)
        p_mean, p_half = mean_ci95(pct) if len(pct) else (np.nan, np.nan)
        rows.append({
            "scenario": sc, "policy": pol, "episodes": len(g),
            "ad_profit_mean": g["ad_profit"].mean(), "ad_profit_ci95": mean_ci95(g["ad_profit"].to_numpy(float))[1],
            "expected_mean": g["expected_ad_profit"].mean(),
            "expected_ci95": mean_ci95(g["expected_ad_profit"].to_numpy(float))[1],
            "pct_of_bound": p_mean, "pct_of_bound_ci95": p_half, "roas": g["roas"].mean(),
            "wasted_spend": g["wasted_spend"].mean(), "ad_spend": g["ad_spend"].mean(),
            "purchases": g["purchases"].mean(), "win_rate": g["win_rate"].mean(),
            "shop_profit_mean": g["profit"].mean(), "shop_profit_ci95": mean_ci95(g["profit"].to_numpy(float))[1],
        })
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _pm(mean: float, half: float, digits: int = 1) -> str:
    if not np.isfinite(mean):
        return "n/a"
    return f"{mean:,.{digits}f} ± {half:,.{digits}f}" if np.isfinite(half) else f"{mean:,.{digits}f} ± n/a"


def format_ads_table(summary: pd.DataFrame) -> str:
    """The Ads summary as a Markdown table (also readable in a terminal)."""
    lines = ["| scenario | policy | episodes | ad profit (mean ± 95% CI) | expected ad profit | % of hindsight bound "
             "| ROAS | wasted spend | ad spend | purchases | shop profit |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in summary.itertuples():
        lines.append(f"| {r.scenario} | {r.policy} | {r.episodes} | {_pm(r.ad_profit_mean, r.ad_profit_ci95)} | "
                     f"{_pm(r.expected_mean, r.expected_ci95)} | {_pm(r.pct_of_bound, r.pct_of_bound_ci95)} | "
                     f"{r.roas:.2f} | {r.wasted_spend:,.1f} | {r.ad_spend:,.1f} | {r.purchases:,.1f} | "
                     f"{_pm(r.shop_profit_mean, r.shop_profit_ci95)} |")
    return "\n".join(lines)


def plot_ticks(ticks: pd.DataFrame, path, title: str):
    """An Ads episode per tick (``shopgym.rollout`` with ``record=True``): impressions won and purchases (counts),
    and the cumulative spend and ad margin (currency); written whole or not at all."""
    from scenarios.plots import _save, plt

    x = np.arange(len(ticks))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    ax1.bar(x, ticks["wins"], label="impressions won", color="tab:blue", alpha=0.5)
    ax1.bar(x, ticks["purchases"], label="purchases", color="tab:orange", alpha=0.9)
    ax1.set_ylabel("per tick (count)")
    ax1.legend(loc="upper right")
    ax1.set_title(title)
    ax2.plot(x, ticks["spend"].cumsum(), label="cumulative ad spend", color="tab:red")
    ax2.plot(x, ticks["ad_margin"].cumsum(), label="cumulative ad margin", color="tab:green")
    ax2.set_xlabel("tick")
    ax2.set_ylabel("currency")
    ax2.legend(loc="upper left")
    fig.tight_layout()
    return _save(fig, path)
