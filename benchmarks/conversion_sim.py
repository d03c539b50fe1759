"""Benchmark: multi-task conversion models on simulated logs, against the oracle -> docs/conversion.md.

    python benchmarks/conversion_sim.py --n-impressions 1000000

Generates logs with the ground-truth response model, splits them by day (the last 20 % of days
are the test set), fits every registered model plus variants, and writes per-task AUC, log loss
and calibration error next to the oracle's (the simulator's true probabilities on the same test
rows). Also: ESMM against a CVR model trained on clicked impressions only, and transfer to a new
category. Single-threaded torch (the machine is shared). Keeps the Adult section that
``benchmarks/conversion_adult.py`` writes into the same file.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecasters.conversion.logs import TASKS, generate_logs, log_scenario  # noqa: E402
from forecasters.conversion.metrics import auc, evaluate  # noqa: E402
from forecasters.conversion.registry import make_model  # noqa: E402
from forecasters.conversion.transfer import transfer_experiment  # noqa: E402

ADULT_START, ADULT_END = "<!-- adult:start -->", "<!-- adult:end -->"
VARIANTS = {  # row label -> (model name, extra kwargs)
    "lr": ("lr", {}),
    "mlp": ("mlp", {}),
    "shared_bottom": ("shared_bottom", {}),
    "shared_bottom+uncertainty": ("shared_bottom", {"weighting": "uncertainty"}),
    "shared_bottom+gradnorm": ("shared_bottom", {"weighting": "gradnorm"}),
    "soft_sharing": ("soft_sharing", {}),
    "mmoe": ("mmoe", {}),
    "ple": ("ple", {}),
    "esmm": ("esmm", {}),
    "esmm+cross": ("esmm", {"cross_layers": 1}),
    "esmm+gradnorm": ("esmm", {"weighting": "gradnorm"}),
}


def md_table(df: pd.DataFrame, floatfmt: str = "{:.4f}") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        cells = [floatfmt.format(v) if isinstance(v, (float, np.floating)) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-impressions", type=int, default=1_000_000)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", default=",".join(VARIANTS), help="comma-separated row labels of VARIANTS")
    ap.add_argument("--transfer-rows", type=int, default=300_000, help="logs used for the transfer study (0 = skip)")
    ap.add_argument("--n-target", type=int, default=2000, help="target-category training impressions")
    ap.add_argument("--out", default="docs/conversion.md")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    command = "python benchmarks/conversion_sim.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    t_start = time.time()

    t0 = time.time()
    df = generate_logs(log_scenario(), args.n_impressions, seed=args.seed)
    t_gen = time.time() - t0
    cut = df["day"].quantile(0.8)
    train, test = df[df["day"] <= cut], df[df["day"] > cut]
    print(f"generated {len(df)} impressions in {t_gen:.1f}s; train {len(train)}, test {len(test)}", flush=True)

    rows, timing = [], {}
    common = {"epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed}
    preds = {}
    for label in args.models.split(","):
        name, extra = VARIANTS[label]
        t0 = time.time()
        m = make_model(name, **common, **extra).fit(train)
        timing[label] = time.time() - t0
        p = m.predict_proba(test)
        preds[label] = p
        table = evaluate(test, p, TASKS)
        for task, r in table.iterrows():
            rows.append({"model": label, "task": task, "auc": r["auc"], "oracle_auc": r["oracle_auc"], "auc_gap": r["auc_gap"],
                         "log_loss": r["log_loss"], "oracle_log_loss": r["oracle_log_loss"],
                         "calibration_error": r["calibration_error"], "oracle_calibration_error": r["oracle_calibration_error"]})
        print(f"{label}: {timing[label]:.0f}s " + " ".join(f"{t} {table.loc[t, 'auc']:.4f}/{table.loc[t, 'oracle_auc']:.4f}" for t in TASKS), flush=True)
    results = pd.DataFrame(rows)

    # ESMM vs a CVR model trained on clicked impressions only
    t0 = time.time()
    clicked = train[train["click"] == 1]
    cvr = make_model("mlp", tasks=("purchase",), **{**common, "epochs": max(args.epochs, 8)}).fit(clicked)
    ctr = make_model("mlp", tasks=("click",), **common).fit(train)
    esmm = preds.get("esmm")
    if esmm is None:
        esmm = make_model("esmm", **common).fit(train).predict_proba(test)
    pcvr, pctr = cvr.predict_proba(test)[:, 0], ctr.predict_proba(test)[:, 0]
    y = test["purchase"].to_numpy()
    clk = test["click"].to_numpy() == 1
    esmm_cvr = esmm[:, 2] / np.maximum(esmm[:, 0], 1e-12)
    oracle_cvr = test["true_purchase"].to_numpy() / test["true_click"].to_numpy()
    esmm_rows = pd.DataFrame([
        {"score": "ESMM p(purchase) = pCTR x pCVR (all impressions)", "purchase AUC, all impressions": auc(y, esmm[:, 2]),
         "purchase AUC, clicked impressions": auc(y[clk], esmm_cvr[clk])},
        {"score": "CVR model trained on clicked impressions only: pCVR", "purchase AUC, all impressions": auc(y, pcvr),
         "purchase AUC, clicked impressions": auc(y[clk], pcvr[clk])},
        {"score": "separate CTR model x clicked-only CVR model", "purchase AUC, all impressions": auc(y, pctr * pcvr),
         "purchase AUC, clicked impressions": auc(y[clk], pcvr[clk])},
        {"score": "oracle", "purchase AUC, all impressions": auc(y, test["true_purchase"].to_numpy()),
         "purchase AUC, clicked impressions": auc(y[clk], oracle_cvr[clk])},
    ])
    t_esmm = time.time() - t0
    print(esmm_rows.to_string(), flush=True)

    transfer = None
    if args.transfer_rows > 0:
        t0 = time.time()
        sub = df.iloc[: args.transfer_rows]
        transfer = transfer_experiment(sub, target_category=0, n_target=args.n_target, model="shared_bottom",
                                       epochs=args.epochs, target_epochs=20, seed=args.seed, batch_size=256)
        t_transfer = time.time() - t0
        print(transfer.to_string(), flush=True)

    total = time.time() - t_start
    write_doc(args, command, df, train, test, results, timing, esmm_rows, transfer, t_gen, total,
              t_esmm, t_transfer if transfer is not None else 0.0)


def best_summary(results: pd.DataFrame) -> list[str]:
    lines = []
    for task in TASKS:
        r = results[results.task == task].sort_values("auc", ascending=False).iloc[0]
        verdict = "within" if r["auc_gap"] <= 0.01 else "NOT within"
        lines.append(f"- {task}: best model `{r['model']}` AUC {r['auc']:.4f} vs oracle {r['oracle_auc']:.4f} "
                     f"(gap {r['auc_gap']:.4f}: {verdict} the 0.01 target)")
    return lines


def write_doc(args, command, df, train, test, results, timing, esmm_rows, transfer, t_gen, total, t_esmm, t_transfer) -> None:
    out = Path(args.out)
    old = out.read_text() if out.exists() else ""
    adult = ""
    if ADULT_START in old and ADULT_END in old:
        adult = old[old.index(ADULT_START): old.index(ADULT_END) + len(ADULT_END)]
    else:
        adult = f"{ADULT_START}\n_Not run yet: `python benchmarks/conversion_adult.py`._\n{ADULT_END}"
    rates = ", ".join(f"{t} {df[t].mean():.4f}" for t in TASKS)
    e = esmm_rows.set_index("score")["purchase AUC, all impressions"]
    esmm_ok = e.iloc[0] > e.iloc[1]
    lines = [
        "# Multi-task conversion models vs the oracle",
        "",
        "Generated by `benchmarks/conversion_sim.py` (simulated logs) and `benchmarks/conversion_adult.py` (Adult).",
        "Do not edit the numbers by hand: rerun the commands.",
        "",
        "## Simulated logs",
        "",
        f"Command: `{command}`",
        "",
        f"- impressions: {len(df)} (train {len(train)}: days <= 80th percentile; test {len(test)}: later days); "
        f"label rates {rates}",
        f"- seed {args.seed}; epochs {args.epochs}; batch size {args.batch_size}; torch threads 1; "
        f"python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}, pandas {pd.__version__}",
        f"- wall time: total {total:.0f}s (log generation {t_gen:.0f}s; ESMM study {t_esmm:.0f}s; transfer {t_transfer:.0f}s) "
        "on a 2-core machine shared with other jobs",
        "- oracle: the simulator's true p(click), p(cart), p(purchase) per impression, scored on the same test rows",
        "",
        "Logs: each simulated session shows 10 distinct items drawn uniformly from 200 SKUs in 10 categories "
        "(a random logging policy) to a shopper drawn from 2000 shoppers in 4 segments; 20 % of impressions carry "
        "a discount, 5 % an out-of-stock item. Labels come from the ground-truth response model "
        "(`shopgym/world/response.py`: affinity x price/discount x position bias x fatigue). Models see the "
        "impression's features (shopper preference vector, price sensitivity and segment; item embedding, "
        "category, price, discount, stock; position, times seen, weekday), never ids, day or true probabilities. "
        "Every model predicts p(click), p(cart), p(purchase) per impression.",
        "",
        "### Per-task metrics (test set)",
        "",
        md_table(results),
        "",
        "Fit time (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timing.items()),
        "",
        "Target: best model within 0.01 AUC of the oracle on click and on purchase.",
        *best_summary(results),
        "",
        "### ESMM vs a CVR model trained on clicked impressions only",
        "",
        "Purchase is scored over all test impressions (purchase per impression), and over clicked test "
        "impressions only (the conversion rate task; ESMM's pCVR = p(purchase) / p(click); for the product "
        "row the clicked-impressions score is the CVR model's own pCVR, as in the row above). The CVR model is "
        f"a single-task MLP fitted on the {int((train['click'] == 1).sum())} clicked training impressions "
        f"({max(args.epochs, 8)} epochs); the CTR model a single-task MLP on all of them.",
        "",
        md_table(esmm_rows),
        "",
        f"Target: ESMM's purchase-per-impression AUC above the clicked-only CVR model's: "
        f"{'met' if esmm_ok else 'NOT met'} ({e.iloc[0]:.4f} vs {e.iloc[1]:.4f}).",
        "",
    ]
    if transfer is not None:
        lines += [
            "### Transfer to a new category",
            "",
            f"Shared-bottom model; the first {args.transfer_rows} impressions; target category 0 with "
            f"{args.n_target} training impressions (rest of the category is the test set); source = the other "
            "categories. Gain = AUC minus from-scratch AUC; `negative_transfer` = mean gain over tasks < 0.",
            "",
            md_table(transfer),
            "",
        ]
    lines += ["## Adult (census income), two tasks", "", adult, ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
