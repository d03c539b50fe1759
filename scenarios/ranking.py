"""The ranking that opens a benchmark report: per scenario, every policy by its decision's headline metric, with
its 95% CI, % of the reference and the paired difference to the best built-in heuristic."""

from __future__ import annotations

import numpy as np
import pandas as pd

from agents.registry import POLICIES
from shopgym.stats import mean_ci95

#: The headline metric of each kind's results (the env's reward at ``reward_scale = 1``, currency): what the
#: ranking, the paired differences and the reference compare.
HEADLINE = {"restock": "profit", "recommend": "recommendation_margin", "ads": "ad_profit"}
#: Built-in policies that are exact references, not heuristics (never the "best heuristic").
REFERENCE_POLICIES = ("optimal", "newsvendor_optimum")
RANKING_COLUMNS = ["scenario", "rank", "policy", "metric", "episodes", "mean", "ci95", "pct_of_reference",
                   "best_heuristic", "diff_mean", "diff_ci95"]


#: Built-in policies that read hidden state (the true response model, a shopper's hidden preference): PRIVILEGED
#: bounds, shown for scale and marked in the table, never the "best heuristic".
PRIVILEGED = ("myopic_oracle", "group_oracle", "taste_oracle")


def is_heuristic(policy: str) -> bool:
    """A built-in policy other than the exact references and the privileged bounds: what "the best heuristic" is
    chosen among."""
    return policy in POLICIES and policy not in REFERENCE_POLICIES + PRIVILEGED


def label(policy: str) -> str:
    """The policy's name as tables show it: privileged bounds are marked."""
    return f"{policy} (privileged)" if policy in PRIVILEGED else policy


def rank_policies(results: dict[str, pd.DataFrame], plan: list[tuple[str, str]], kinds: dict[str, str],
                  references: dict[str, float | None] | None = None) -> pd.DataFrame:
    """Per scenario, every policy ranked by mean headline metric (``HEADLINE``; rank 1 is the highest), with its
    95% CI, % of the reference (``references``: scenario -> expected value, or ``None``), and its paired difference
    to the best heuristic: the mean over the shared seeds of (policy - best heuristic), with a 95% t-interval
    (currency; the same seeds drive both, so the interval is narrower than the two CIs suggest)."""
    rows = []
    for name in dict.fromkeys(n for n, _ in plan):
        kind, metric = kinds[name], HEADLINE[kinds[name]]
        r = results[kind]
        r = r[r["scenario"] == name]
        per = {p: r[r["policy"] == p].set_index("seed")[metric] for n, p in plan if n == name}
        per = {p: v for p, v in per.items() if len(v)}
        means = {p: v.mean() for p, v in per.items()}
        heur = [p for p in per if is_heuristic(p)]
        best = max(heur, key=means.get) if heur else None
        order = pd.Series(means).rank(ascending=False, method="min") if means else pd.Series(dtype=float)
        ref = (references or {}).get(name)
        # Ads: no exact optimum; each episode's hindsight bound is the reference (mean of per-episode %s)
        bound = r.groupby("policy")["pct_of_bound"].mean() if "pct_of_bound" in r else pd.Series(dtype=float)
        for p, v in sorted(per.items(), key=lambda pv: order[pv[0]]):
            diff, half = np.nan, np.nan
            if best is not None:
                d = (v - per[best]).dropna()
                if len(d):
                    diff, half = mean_ci95(d.to_numpy())
            rows.append({"scenario": name, "rank": int(order[p]), "policy": p, "metric": metric, "episodes": len(v),
                         "mean": means[p], "ci95": mean_ci95(v.to_numpy())[1],
                         "pct_of_reference": 100 * means[p] / ref if ref else bound.get(p, np.nan),
                         "best_heuristic": best, "diff_mean": diff, "diff_ci95": half})
    return pd.DataFrame(rows, columns=RANKING_COLUMNS)


def num(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}" if np.isfinite(x) else "n/a"


def format_ranking(ranking: pd.DataFrame) -> str:
    """The ranking (``rank_policies``) as one Markdown table: per scenario and policy, rank, headline metric (mean
    ± 95% CI), % of the reference and the paired difference to the best heuristic (± 95% CI)."""
    lines = ["| scenario | rank | policy | metric (mean ± 95% CI) | % of reference | vs best heuristic "
             "(paired mean ± 95% CI) |", "|---|---:|---|---:|---:|---:|"]
    for r in ranking.itertuples():
        digits = 0 if r.metric == "profit" else 1
        vs = ("best heuristic" if r.policy == r.best_heuristic else
              f"{r.diff_mean:+,.{digits}f} ± {num(r.diff_ci95, digits)}" if np.isfinite(r.diff_mean) else "n/a")
        pct = f"{r.pct_of_reference:.1f}" if np.isfinite(r.pct_of_reference) else "n/a"
        lines.append(f"| {r.scenario} | {r.rank} | {label(r.policy)} | {r.metric} {num(r.mean, digits)} ± "
                     f"{num(r.ci95, digits)} | {pct} | {vs} |")
    return "\n".join(lines)


RANKING_NOTE = (
    "Per scenario, every policy ranked by its headline metric (Restock: episode profit; Recommend: recommendation "
    "margin; Ads: ad profit, the margin of ad-driven purchases minus ad spend, which leaves out organic sales that "
    "ads took stock from; currency, mean ± 95% t-interval over the evaluation seeds). \"vs best heuristic\": the mean over the "
    "same seeds of (policy - the best built-in heuristic), with a 95% t-interval of those paired differences; "
    "an interval that excludes 0 is a difference the seeds resolve. % of reference: mean / the exact optimum's "
    "expected value, where one is known; Ads: % of the hindsight bound (expected ad profit / the same episode's "
    "bound, mean of the per-episode ratios, as in the Ads table). \"(privileged)\": a bound that reads hidden "
    "state (the true response model, a shopper's hidden preference), shown for scale, never the best heuristic.")
