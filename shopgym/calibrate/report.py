"""Write a ``Fidelity`` as ``fidelity.md`` and PNG plots next to the calibrated scenario (matplotlib Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shopgym.atomic import atomic_write_bytes, atomic_write_text
from shopgym.calibrate.fidelity import CountFidelity, Fidelity, SalesFidelity

#: SKUs plotted besides the total: the largest by held-out sales.
PLOTTED_SKUS = 3


def sales_table(s: SalesFidelity) -> str:
    """Markdown: MASE of the simulated median and of seasonal naive, and band coverage, per SKU and in total."""
    lines = ["| series | real units/week | MASE simulated | MASE seasonal naive | coverage of 80% band |",
             "|---|---|---|---|---|",
             f"| **total** | {s.real.sum(0).mean():,.0f} | {s.mase_total:.3f} | {s.naive_mase_total:.3f} | "
             f"{s.coverage_total:.2f} |"]
    inside = (s.real >= s.band[0]) & (s.real <= s.band[2])
    for i, sku in enumerate(s.sku_ids):
        lines.append(f"| {sku} | {s.real[i].mean():,.0f} | {s.mase_sku[i]:.3f} | {s.naive_mase_sku[i]:.3f} | "
                     f"{inside[i].mean():.2f} |")
    lines.append(f"| all SKU-weeks | | mean {s.mase_sku.mean():.3f} | mean {s.naive_mase_sku.mean():.3f} | "
                 f"{s.coverage:.2f} |")
    return "\n".join(lines)


def count_table(c: CountFidelity) -> str:
    return ("| stores | held-out store-days | real mean/day | MASE simulated | MASE seasonal naive (7 days) | "
            "coverage of 80% band |\n|---|---|---|---|---|---|\n"
            f"| {c.n_stores} | {len(c.real)} | {c.real.mean():,.0f} | {c.mase:.3f} | {c.naive_mase:.3f} | {c.coverage:.2f} |")


def funnel_table(frame) -> str:
    cols = list(frame.columns)
    lines = ["| ratio | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in frame.iterrows():
        lines.append(f"| {name} | " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def markdown(fid: Fidelity, command: str = "", plots: list[str] | None = None) -> str:
    """The whole ``fidelity.md``."""
    s = fid.sales
    lines = ["# Fidelity of the calibrated scenario", ""]
    if command:
        lines += [f"Produced by `{command}`.", ""]
    lines += [f"The last {fid.holdout_weeks} weeks were held out; the demand was calibrated on the weeks before them "
              f"and the calibrated scenario simulated over the held-out days in {s.n_seeds} worlds (seeds "
              f"0..{s.n_seeds - 1}). MASE divides by each series' in-sample seasonal-naive MAE; the seasonal-naive "
              f"forecast of the held-out weeks ({s.naive_rule}) is the reference. Coverage: share of real weeks inside "
              "the simulated 10%-90% band (0.8 is calibrated).", "", "## Weekly sales (units)", "", sales_table(s), ""]
    if fid.arrivals is not None:
        lines += ["## Daily arrivals (transactions vs simulated sessions)", "", count_table(fid.arrivals), ""]
    if fid.funnel is not None:
        lines += ["## Funnel ratios (95% intervals)", "", funnel_table(fid.funnel), ""]
    if fid.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in fid.notes), ""]
    for p in plots or []:
        lines += [f"![{p}]({p})", ""]
    return "\n".join(lines)


def _band_plot(ax, x, real, band, title: str) -> None:
    ax.fill_between(x, band[0], band[2], alpha=0.3, label="simulated 10-90%")
    ax.plot(x, band[1], lw=1, label="simulated median")
    ax.plot(x, real, "k.-", lw=1, label="real")
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)


def plot_sales(s: SalesFidelity, path: Path) -> Path:
    """Real vs simulated band for the total and the ``PLOTTED_SKUS`` largest SKUs (PNG)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = np.argsort(-s.real.sum(1), kind="stable")[:PLOTTED_SKUS]
    fig, axes = plt.subplots(1, 1 + len(top), figsize=(4 * (1 + len(top)), 3), squeeze=False)
    x = np.arange(1, len(s.weeks) + 1)
    _band_plot(axes[0, 0], x, s.real.sum(0), s.total_band, "total")
    for ax, i in zip(axes[0, 1:], top, strict=True):
        _band_plot(ax, x, s.real[i], s.band[:, i], str(s.sku_ids[i]))
    axes[0, 0].legend(fontsize=7)
    for ax in axes[0]:
        ax.set_xlabel("held-out week", fontsize=8)
    axes[0, 0].set_ylabel("units / week", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def plot_counts(c: CountFidelity, path: Path) -> Path:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3))
    n = len(c.real) // max(c.n_stores, 1)  # the first store's held-out days
    _band_plot(ax, np.arange(1, n + 1), c.real[:n], c.band[:, :n], "daily transactions vs simulated sessions (first store)")
    ax.set_xlabel("held-out day", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())


def write_report(fid: Fidelity, folder: Path, command: str = "") -> Path:
    """Write ``fidelity.md``, ``fidelity_sales.png`` (and ``fidelity_arrivals.png``) into ``folder``; returns the md path."""
    folder = Path(folder)
    plots = [plot_sales(fid.sales, folder / "fidelity_sales.png").name]
    if fid.arrivals is not None:
        plots.append(plot_counts(fid.arrivals, folder / "fidelity_arrivals.png").name)
    return atomic_write_text(folder / "fidelity.md", markdown(fid, command, plots))
