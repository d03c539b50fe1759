"""Plots of benchmark results and episode trajectories (matplotlib, Agg backend), written atomically."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from shopgym.atomic import atomic_write_bytes  # noqa: E402


def _save(fig, path: Path) -> Path:
    """Write ``fig`` as a PNG to ``path`` whole or not at all (a kill mid-save leaves the previous file)."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=110)
    finally:
        plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def plot_trajectory(traj: pd.DataFrame, path: Path, title: str, sku: int | None = None) -> Path:
    """Inventory, orders, demand and sales per day (one SKU, or the sum over SKUs)."""
    df = traj[traj["sku"] == sku] if sku is not None else traj.groupby("day", as_index=False).sum(numeric_only=True)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    ax1.plot(df["day"], df["on_hand"], label="on hand (end of day)", color="tab:blue")
    ax1.bar(df["day"], df["received"], label="received", color="tab:green", alpha=0.5)
    ax1.set_ylabel("units")
    ax1.legend(loc="upper right")
    ax1.set_title(title)
    ax2.plot(df["day"], df["demand"], label="demand", color="tab:gray", lw=1)
    ax2.plot(df["day"], df["sold"], label="sold", color="tab:orange", lw=1)
    ax2.bar(df["day"], df["ordered"], label="ordered", color="tab:purple", alpha=0.4)
    ax2.set_xlabel("day")
    ax2.set_ylabel("units/day")
    ax2.legend(loc="upper right")
    fig.tight_layout()
    return _save(fig, path)


def plot_sessions(days: pd.DataFrame, path: Path, title: str) -> Path:
    """A Recommend episode per day (``shopgym.rollout`` ``_session_days``): sessions, clicks and purchases (counts),
    and the recommendation-driven margin (currency)."""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    ax1.plot(days["day"], days["sessions"], label="sessions", color="tab:gray", lw=1)
    ax1.bar(days["day"], days["clicks"], label="clicks", color="tab:blue", alpha=0.5)
    ax1.bar(days["day"], days["purchases"], label="purchases", color="tab:orange", alpha=0.8)
    ax1.set_ylabel("per day (count)")
    ax1.legend(loc="upper right")
    ax1.set_title(title)
    ax2.bar(days["day"], days["margin"], label="recommendation margin", color="tab:green", alpha=0.7)
    ax2.plot(days["day"], days["margin"].cumsum(), label="cumulative margin", color="tab:purple", lw=1)
    ax2.set_xlabel("day")
    ax2.set_ylabel("currency")
    ax2.legend(loc="upper left")
    fig.tight_layout()
    return _save(fig, path)


#: Per kind of summary: (mean column, 95% CI column, reference column, reference label, x axis label).
_PANELS = {
    "restock": ("profit_mean", "profit_ci95", "reference_profit", "exact optimum",
                "episode profit (currency), mean and 95% CI"),
    "recommend": ("margin_mean", "margin_ci95", "reference_margin", "exact optimum",
                  "episode recommendation margin (currency), mean and 95% CI"),
}


def plot_summary(summary: pd.DataFrame, path: Path, recommend: pd.DataFrame | None = None) -> Path:
    """Mean episode profit with 95% confidence intervals, one panel per scenario; with ``recommend`` (the Recommend
    summary, ``scenarios.bench_recommend``) a panel per Recommend scenario follows, on recommendation margin."""
    panels = [(sc, summary[summary["scenario"] == sc], "restock") for sc in dict.fromkeys(summary["scenario"])]
    if recommend is not None:
        panels += [(sc, recommend[recommend["scenario"] == sc], "recommend")
                   for sc in dict.fromkeys(recommend["scenario"])]
    fig, axes = plt.subplots(1, max(len(panels), 1), figsize=(5.5 * max(len(panels), 1), 4), squeeze=False)
    for ax, (sc, s, kind) in zip(axes[0], panels, strict=False):
        mean, ci, ref, ref_label, xlabel = _PANELS[kind]
        ax.barh(s["policy"], s[mean], xerr=s[ci], color="tab:blue", alpha=0.7, capsize=3)
        if s[ref].notna().any():
            ax.axvline(s[ref].dropna().iloc[0], color="tab:red", ls="--", label=ref_label)
            ax.legend(loc="lower right")
        ax.set_title(sc)
        ax.set_xlabel(xlabel)
    fig.tight_layout()
    return _save(fig, path)


#: Per kind of episode trajectory (``shopgym.rollout``): (x column, [(panel y label, column, cumulative?)]).
_TRACES = {
    "restock": ("day", [("units on hand, end of day (all SKUs)", "on_hand", False),
                        ("cumulative units of demand lost", "lost", True)]),
    "recommend": ("day", [("purchases per day", "purchases", False),
                          ("cumulative recommendation margin (currency)", "margin", True)]),
    "ads": ("step", [("budget left (currency)", "budget_left", False),
                     ("cumulative ad margin - spend (currency)", "ad_profit", True)]),
}


def plot_policy_traces(traces: dict[str, pd.DataFrame], kind: str, path: Path, title: str) -> Path:
    """One episode per policy on the same seed, overlaid: a line per policy in each panel (``_TRACES[kind]``).

    ``traces``: policy name -> its recorded ``shopgym.rollout`` trajectory (Restock: one row per day and SKU,
    summed over SKUs here; Recommend: one row per day; Ads: one row per tick, numbered ``step`` here)."""
    if kind not in _TRACES:
        raise ValueError(f"no trace panels for kind {kind!r}; one of {sorted(_TRACES)}")
    x, panels = _TRACES[kind]
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 3 * len(panels)), sharex=True, squeeze=False)
    for policy, traj in traces.items():
        if kind == "restock":
            df = traj.groupby("day", as_index=False).sum(numeric_only=True)
        elif kind == "ads":
            df = traj.reset_index(drop=True).assign(step=lambda d: d.index, ad_profit=lambda d: d["ad_margin"] - d["spend"])
        else:
            df = traj
        for ax, (label, column, cumulative) in zip(axes[:, 0], panels, strict=True):
            y = df[column].cumsum() if cumulative else df[column]
            ax.plot(df[x], y, lw=1, label=policy)
            ax.set_ylabel(label, fontsize=8)
    axes[0, 0].set_title(title)
    axes[0, 0].legend(loc="upper right", fontsize=7, ncol=2)
    axes[-1, 0].set_xlabel("tick" if kind == "ads" else "day")
    fig.tight_layout()
    return _save(fig, path)
