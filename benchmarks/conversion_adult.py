"""Benchmark: single-task vs shared-bottom vs MMoE vs PLE on Adult (income > 50K, never married).

    python benchmarks/conversion_adult.py --data ../shared/data/adult

Reads the Adult files in place (train: census-income.data, test: census-income.test), fits each
model with several seeds and writes test AUCs (mean and standard deviation over seeds) into the
Adult section of docs/conversion.md, leaving the rest of the file as it is. Single-threaded torch.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecasters.conversion.adult import TASKS, load_adult  # noqa: E402
from forecasters.conversion.metrics import evaluate  # noqa: E402
from forecasters.conversion.registry import make_model  # noqa: E402

ADULT_START, ADULT_END = "<!-- adult:start -->", "<!-- adult:end -->"
MODELS = ("lr", "mlp", "shared_bottom", "soft_sharing", "mmoe", "ple")


def main(argv=None) -> None:
    default_data = Path(os.environ.get("SHOPGYM_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "adult"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(default_data), help="directory holding the Adult files")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--out", default="docs/conversion.md")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    command = "python benchmarks/conversion_adult.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    train, test = load_adult(args.data), load_adult(args.data, "test")
    t_start = time.time()
    rows = []
    for name in args.models.split(","):
        for seed in range(args.seeds):
            t0 = time.time()
            m = make_model(name, tasks=TASKS, epochs=args.epochs, batch_size=256, seed=seed).fit(train)
            table = evaluate(test, m.predict_proba(test), TASKS)
            rows += [{"model": name, "seed": seed, "task": t, "auc": table.loc[t, "auc"], "log_loss": table.loc[t, "log_loss"],
                      "seconds": time.time() - t0} for t in TASKS]
        r = pd.DataFrame(rows)
        print(name, r[r.model == name].groupby("task")["auc"].mean().round(4).to_dict(), flush=True)
    res = pd.DataFrame(rows)
    summary = res.groupby(["model", "task"], sort=False).agg(auc_mean=("auc", "mean"), auc_std=("auc", "std"),
                                                             log_loss_mean=("log_loss", "mean")).reset_index()
    wide = summary.pivot(index="model", columns="task", values="auc_mean").reindex(args.models.split(","))
    lines = [
        ADULT_START,
        f"Command: `{command}`",
        "",
        f"- train {len(train)} rows (census-income.data), test {len(test)} rows (census-income.test); "
        f"task 1 `income` (> 50K, test rate {test['income'].mean():.4f}), task 2 `never_married` (test rate "
        f"{test['never_married'].mean():.4f})",
        "- features: the 12 other columns; `marital_status` (the second label) and `relationship` (which restates "
        "it: husband, wife, own child) are dropped; categories one-hot, numbers standardised",
        f"- {args.seeds} seeds x {args.epochs} epochs, batch size 256, default widths (hidden 64-32, towers 16); "
        f"torch threads 1; wall time {time.time() - t_start:.0f}s",
        "",
        "Test AUC, mean over seeds (std in the long table):",
        "",
        "| model | " + " | ".join(TASKS) + " |",
        "|---|" + "---|" * len(TASKS),
        *[f"| {m} | " + " | ".join(f"{wide.loc[m, t]:.4f}" for t in TASKS) + " |" for m in wide.index],
        "",
        "| model | task | AUC mean | AUC std | log loss mean |",
        "|---|---|---|---|---|",
        *[f"| {r.model} | {r.task} | {r.auc_mean:.4f} | {r.auc_std:.4f} | {r.log_loss_mean:.4f} |" for r in summary.itertuples()],
        ADULT_END,
    ]
    block = "\n".join(lines)
    out = Path(args.out)
    text = out.read_text() if out.exists() else "# Multi-task conversion models vs the oracle\n\n## Adult (census income), two tasks\n\n"
    if ADULT_START in text and ADULT_END in text:
        text = text[: text.index(ADULT_START)] + block + text[text.index(ADULT_END) + len(ADULT_END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}")
    print(np.round(wide, 4).to_string())


if __name__ == "__main__":
    main()
