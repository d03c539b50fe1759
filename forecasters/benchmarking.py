"""Helpers shared by the benchmark script and the CLI: combining backtest forecasts, Markdown tables."""

from __future__ import annotations

import pandas as pd

from forecasters.data import DS, ID, Y
from forecasters.distribution import QUANTILES, qcol

KEYS = [ID, DS, "cutoff"]


def combine_forecasts(frames: list[pd.DataFrame], how: str = "mean") -> pd.DataFrame:
    """Ensemble of backtest frames: the mean (or median) of ``mean`` and of each quantile column.

    Equals ``forecasters.make("ensemble", members=...)`` backtested on the same origins (quantile
    averaging), without refitting the members.
    """
    cols = ["mean", *[qcol(q) for q in QUANTILES]]
    stacked = pd.concat([f[KEYS + [Y] + cols] for f in frames])
    agg = stacked.groupby(KEYS, sort=False)
    out = agg[cols].mean() if how == "mean" else agg[cols].median()
    out[Y] = agg[Y].first()
    out = out.reset_index()
    return out[[ID, DS, "cutoff", Y, *cols]]


def markdown_table(rows: list[dict], columns: list[str], fmt: dict | None = None) -> str:
    """A Markdown table of ``rows`` (dicts) with ``columns``; ``fmt[col]`` is a format spec."""
    fmt = fmt or {}
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            cells.append(format(v, fmt[c]) if c in fmt and isinstance(v, (int, float)) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
