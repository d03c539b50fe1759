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


def plot_summary(summary: pd.DataFrame, path: Path) -> Path:
    """Mean episode profit with 95% confidence intervals, one panel per scenario."""
    scenarios = list(dict.fromkeys(summary["scenario"]))
    fig, axes = plt.subplots(1, len(scenarios), figsize=(5.5 * len(scenarios), 4), squeeze=False)
    for ax, sc in zip(axes[0], scenarios, strict=True):
        s = summary[summary["scenario"] == sc]
        ax.barh(s["policy"], s["profit_mean"], xerr=s["profit_ci95"], color="tab:blue", alpha=0.7, capsize=3)
        if s["reference_profit"].notna().any():
            ax.axvline(s["reference_profit"].dropna().iloc[0], color="tab:red", ls="--", label="exact optimum")
            ax.legend(loc="lower right")
        ax.set_title(sc)
        ax.set_xlabel("episode profit (currency), mean and 95% CI")
    fig.tight_layout()
    return _save(fig, path)
