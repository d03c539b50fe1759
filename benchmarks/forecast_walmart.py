"""Forecasting benchmark on the Walmart weekly department sales; writes sections of docs/forecasting.md.

Parts (run separately, each well under 15 minutes on one CPU thread; each rewrites only its own
section of the doc, stamped with the exact command that produced it):

  accuracy   rolling-origin backtest, last 39 weeks held out (3 origins x h = 13 weeks): MASE, sMAPE,
             pinball, coverage and ratio to seasonal naive for every model and an ensemble
  online     the CNN refitted vs updated (``update(new_df)``) vs frozen over the same origins
  coldstart  held-out departments, 8 weeks of history: Reptile vs global model vs from scratch
  transfer   pretrain on source stores/departments, fine-tune on a target with 26 weeks of history

Usage:
  python benchmarks/forecast_walmart.py --part accuracy [--data ../shared/data/walmart/train.csv.zip]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

import forecasters  # noqa: E402
from forecasters.benchmarking import combine_forecasts, markdown_table  # noqa: E402
from forecasters.loaders import load_walmart  # noqa: E402
from forecasters.meta import FOMAML, Reptile, adapt_predict  # noqa: E402
from forecasters.metrics import insample_scale, score  # noqa: E402
from forecasters.transfer import transfer_experiment  # noqa: E402

DOC = ROOT / "docs" / "forecasting.md"
H, N_WINDOWS = 13, 3  # 39 held-out weeks
POINT = "q0.5"
NEURAL = ("cnn", "lstm", "transformer")


def load(args) -> pd.DataFrame:
    return load_walmart(args.data, complete_only=True)


def subset(df: pd.DataFrame, n: int, seed: int, ids=None) -> pd.DataFrame:
    ids = np.sort(df["unique_id"].unique()) if ids is None else np.asarray(ids)
    keep = np.random.default_rng(seed).choice(ids, min(n, len(ids)), replace=False)
    return df[df["unique_id"].isin(keep)]


def neural_params(args) -> dict:
    return {"h": H, "epochs": args.epochs, "progress": True, "seed": args.seed}


# ---------------------------------------------------------------------- parts
def part_accuracy(args) -> str:
    df = subset(load(args), args.n_series, args.seed)[["unique_id", "ds", "y"]]
    models = [("seasonal_naive", "seasonal_naive", {}), ("moving_average (4 weeks)", "moving_average", {"window": 4}),
              ("ets (additive)", "ets", {}), ("ets (multiplicative)", "ets", {"seasonal": "multiplicative"}),
              ("svr", "svr", {})] + [(n, n, neural_params(args)) for n in NEURAL]
    try:
        import statsforecast  # noqa: F401

        models.insert(4, ("autoets (statsforecast)", "autoets", {}))
    except ImportError:
        pass
    fcs, rows = {}, []
    for label, name, params in models:
        t0 = time.time()
        fcs[label] = forecasters.backtest(forecasters.make(name, **params), df, H, N_WINDOWS, progress=True)
        rows.append(_row(label, fcs[label], df, time.time() - t0))
        print(rows[-1], flush=True)
    members = ["ets (additive)", *NEURAL]
    t0 = time.time()
    rows.append(_row("ensemble (mean of ets, cnn, lstm, transformer)", combine_forecasts([fcs[m] for m in members]), df,
                     time.time() - t0 + sum(r["seconds"] for r in rows if r["model"] in members)))
    rows.append(_row("ensemble (mean of cnn, lstm, transformer)", combine_forecasts([fcs[m] for m in NEURAL]), df,
                     sum(r["seconds"] for r in rows if r["model"] in NEURAL)))
    base = rows[0]["MASE"]
    for r in rows:
        r["ratio"] = r["MASE"] / base
    cand = [r for r in rows if r["model"] in NEURAL or r["model"].startswith("ensemble")]
    best = min(cand, key=lambda r: r["MASE"])
    ets = next(r for r in rows if r["model"] == "ets (additive)")
    verdict = (f"Best neural model or ensemble: **{best['model']}**, MASE ratio to seasonal naive "
               f"**{best['ratio']:.3f}** (target <= 0.85: {'met' if best['ratio'] <= 0.85 else 'NOT met'}); "
               f"versus our exponential smoothing (MASE {ets['MASE']:.3f}): "
               f"{'no worse (target met)' if best['MASE'] <= ets['MASE'] else 'worse (target NOT met)'}.")
    table = markdown_table(rows, ["model", "MASE", "ratio", "sMAPE", "pinball", "coverage80", "MASE_mean", "seconds"],
                           {"MASE": ".3f", "ratio": ".3f", "sMAPE": ".2f", "pinball": ".3f", "coverage80": ".3f",
                            "MASE_mean": ".3f", "seconds": ".0f"})
    return "\n\n".join([
        f"{df['unique_id'].nunique()} series (random subset, seed {args.seed}, of the {load(args)['unique_id'].nunique()} "
        f"store-department series observed in all 143 weeks), {N_WINDOWS} origins {H} weeks apart: the last "
        f"{H * N_WINDOWS} weeks are held out and every model is refitted at each origin.",
        table, verdict,
        "Columns: MASE and sMAPE (%) of the median forecast (`q0.5`, the point forecast that minimises absolute "
        "error); `ratio` = MASE / seasonal naive's MASE; pinball = mean scaled pinball loss over q0.1, q0.5, q0.9; "
        "coverage80 = share of actuals inside [q0.1, q0.9] (nominal 0.8); MASE_mean = MASE of the `mean` column; "
        "seconds = wall time of the backtest (ensembles: sum of their members).",
        "<details><summary>Series used (store_dept)</summary>\n\n"
        + ", ".join(sorted(df["unique_id"].unique(), key=lambda u: tuple(map(int, u.split("_"))))) + "\n</details>",
    ])


def _row(label, fc, df, seconds) -> dict:
    s = forecasters.evaluate(fc, df, season_length=52, point=POINT)
    s_mean = forecasters.evaluate(fc, df, season_length=52, point="mean")
    return {"model": label, **s, "MASE_mean": s_mean["MASE"], "seconds": seconds}


def part_online(args) -> str:
    df = subset(load(args), args.n_series, args.seed)[["unique_id", "ds", "y"]]
    rows = []
    for mode in ("refit", "update", "frozen"):
        t0 = time.time()
        fc = forecasters.backtest(forecasters.make("cnn", **neural_params(args)), df, H, N_WINDOWS, mode=mode,
                                  progress=True)
        rows.append({"mode": mode, **forecasters.evaluate(fc, df, 52, point=POINT), "seconds": time.time() - t0})
        print(rows[-1], flush=True)
    return "\n\n".join([
        f"CNN on the same {df['unique_id'].nunique()} series and origins as the accuracy table. `refit`: trained from "
        "scratch at each origin; `update`: trained once at the first origin, then `update(new 13 weeks)` at each "
        "later origin (3 epochs on windows reaching into the new weeks plus as many replayed old windows, half "
        "the learning rate); `frozen`: trained once, later origins only condition on the longer history.",
        markdown_table(rows, ["mode", "MASE", "sMAPE", "pinball", "coverage80", "seconds"],
                       {"MASE": ".3f", "sMAPE": ".2f", "pinball": ".3f", "coverage80": ".3f", "seconds": ".0f"}),
    ])


def _episodes(df, history: int, h: int, origins) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each held-out series cut at several origins into a 'new series' with ``history`` weeks and ``h`` to forecast."""
    hist, fut = [], []
    for o in origins:
        for uid, g in df.groupby("unique_id"):
            g = g.iloc[o : o + history + h]
            name = f"{uid}@{o}"
            hist.append(g.iloc[:history].assign(unique_id=name))
            fut.append(g.iloc[history:].assign(unique_id=name))
    cols = ["unique_id", "ds", "y"]
    return pd.concat(hist)[cols], pd.concat(fut)[cols]


def part_coldstart(args) -> str:
    df = load(args)
    rng = np.random.default_rng(args.seed)
    depts = np.sort(df["dept"].unique())
    held = np.sort(rng.choice(depts, len(depts) // 5, replace=False))
    train = subset(df[~df["dept"].isin(held)], args.n_series, args.seed)[["unique_id", "ds", "y"]]
    test = subset(df[df["dept"].isin(held)], args.n_series // 3, args.seed)
    hist, fut = _episodes(test, 8, 4, origins=(20, 60, 100))
    scale = insample_scale(hist, 52)

    def sc(fc):
        return score(fc.merge(fut, on=["unique_id", "ds"]), scale, point=POINT)

    tmpl = forecasters.make("cnn", h=4, input_size=8, min_context=4, hidden=32, epochs=args.epochs, progress=True,
                            seed=args.seed)
    rows = []
    t0 = time.time()
    glob = tmpl.clone().fit(train)
    rows.append({"method": "global CNN, no adaptation", **sc(glob.predict(4, df=hist)), "seconds": time.time() - t0})
    rows.append({"method": f"global CNN + {args.adapt_steps} SGD steps per series",
                 **sc(adapt_predict(glob, hist, 4, args.adapt_steps, args.adapt_lr, seed=args.seed)), "seconds": 0})
    t0 = time.time()
    rep = Reptile(tmpl, meta_iters=args.meta_iters, adapt_steps=args.adapt_steps, inner_lr=args.adapt_lr,
                  seed=args.seed).fit(train)
    fit_s = time.time() - t0
    rows.append({"method": "Reptile init, no adaptation", **sc(rep.adapt_predict(hist, 4, steps=0)), "seconds": fit_s})
    rows.append({"method": f"Reptile (meta-learned) + {args.adapt_steps} SGD steps per series",
                 **sc(rep.adapt_predict(hist, 4)), "seconds": fit_s})
    t0 = time.time()
    fo = FOMAML(tmpl, support=8, meta_iters=args.meta_iters, inner_steps=args.adapt_steps, inner_lr=args.adapt_lr,
                seed=args.seed).fit(train)
    fit_s = time.time() - t0
    rows.append({"method": "FOMAML init, no adaptation", **sc(fo.adapt_predict(hist, 4, steps=0)), "seconds": fit_s})
    rows.append({"method": f"FOMAML (meta-learned) + {args.adapt_steps} SGD steps per series",
                 **sc(fo.adapt_predict(hist, 4)), "seconds": fit_s})
    rows.append({"method": "CNN from scratch on the 8 weeks (100 SGD steps per series)",
                 **sc(adapt_predict(glob, hist, 4, 100, args.adapt_lr, seed=args.seed, reinit=True)), "seconds": 0})
    rows.append({"method": "reference: moving average of the last 4 weeks",
                 **sc(forecasters.make("moving_average", window=4).fit(hist).predict(4)), "seconds": 0})
    for r in rows:
        print(r, flush=True)
    return "\n\n".join([
        f"Departments held out of training: {', '.join(map(str, held))} ({len(held)} of {len(depts)}). Training: "
        f"{train['unique_id'].nunique()} series of the other departments (full history). Test: "
        f"{test['unique_id'].nunique()} held-out series, each cut at weeks 20, 60 and 100 into a 'new product' with "
        f"8 weeks of history and the next 4 weeks to forecast ({hist['unique_id'].nunique()} episodes). MASE is "
        "scaled by the lag-1 naive MAE inside the 8 weeks (a year of history does not exist for a new product). "
        "All arms use the same CNN (input 8 weeks, h = 4, trained on windows with at least 4 observed weeks). "
        "Reptile: tasks = training series; FOMAML: episodes = 12-week stretches of training series cut from their "
        f"history (adapt on the first 8, score the last 4). Adaptation: {args.adapt_steps} SGD steps, learning "
        f"rate {args.adapt_lr}, on the one (4-week context, 4-week target) window inside the 8 weeks; from "
        "scratch: a freshly initialised CNN, 100 such steps. seconds = training time (adaptation not included).",
        markdown_table(rows, ["method", "MASE", "sMAPE", "pinball", "coverage80", "seconds"],
                       {"MASE": ".3f", "sMAPE": ".2f", "pinball": ".3f", "coverage80": ".3f", "seconds": ".0f"}),
    ])


def part_transfer(args) -> str:
    df = load(args)
    weeks = np.sort(df["ds"].unique())
    cutoff = weeks[-H - 1]
    short_from = weeks[-H - 26]
    tmpl = forecasters.make("cnn", h=H, input_size=13, min_context=4, epochs=args.epochs, progress=True, seed=args.seed)
    splits = [("stores type A", df["store_type"] == "A", "stores type B", df["store_type"] == "B"),
              ("stores type A", df["store_type"] == "A", "stores type C", df["store_type"] == "C"),
              ("departments 1-49", df["dept"] < 50, "departments 50-99", df["dept"] >= 50),
              ("departments 50-99", df["dept"] >= 50, "departments 1-49", df["dept"] < 50)]
    rows = []
    for sname, smask, tname, tmask in splits:
        src = subset(df[smask & (df["ds"] <= cutoff)], args.n_series, args.seed)[["unique_id", "ds", "y"]]
        tgt = subset(df[tmask], args.n_series // 3, args.seed + 1)
        th = tgt[(tgt["ds"] >= short_from) & (tgt["ds"] <= cutoff)][["unique_id", "ds", "y"]]
        tf = tgt[tgt["ds"] > cutoff][["unique_id", "ds", "y"]]
        t0 = time.time()
        res = transfer_experiment(tmpl, src, th, tf, H, fine_tune_epochs=args.fine_tune_epochs, source_name=sname,
                                  target_name=tname, point=POINT)
        rows.append({"source -> target": f"{sname} -> {tname}", "target series": th["unique_id"].nunique(),
                     "MASE scratch": res.scratch["MASE"], "MASE zero-shot": res.zero_shot["MASE"],
                     "MASE fine-tuned": res.fine_tuned["MASE"], "gain": res.gain,
                     "negative transfer": "YES" if res.negative_transfer else "no", "seconds": time.time() - t0})
        print(rows[-1], flush=True)
    return "\n\n".join([
        f"Source: up to {args.n_series} series of the source group with full history up to the last origin "
        f"({pd.Timestamp(cutoff).date()}). Target: up to {args.n_series // 3} series of the target group with only "
        f"the 26 weeks before that origin; forecast the next {H} weeks. CNN (input 13 weeks, h = {H}). "
        f"`scratch`: trained on the target's 26 weeks only; `zero-shot`: pretrained on the source, no target "
        f"training; `fine-tuned`: pretrained, then {args.fine_tune_epochs} epochs on the target at a tenth of the "
        f"training learning rate. gain = 1 - "
        "MASE(fine-tuned) / MASE(scratch); negative transfer = fine-tuning worse than scratch. MASE is scaled by "
        "each target series' lag-1 naive MAE inside its 26 weeks.",
        markdown_table(rows, list(rows[0]), {"MASE scratch": ".3f", "MASE zero-shot": ".3f", "MASE fine-tuned": ".3f",
                                             "gain": "+.3f", "seconds": ".0f"}),
    ])


PARTS = {"accuracy": ("Accuracy on Walmart weekly sales", part_accuracy),
         "online": ("Online updating", part_online),
         "coldstart": ("Cold start: meta-learning for new series", part_coldstart),
         "transfer": ("Transfer across stores and departments", part_transfer)}


# ---------------------------------------------------------------------- doc
def write_section(part: str, body: str, command: str, seconds: float) -> None:
    title = PARTS[part][0]
    stamp = (f"Produced by `{command}` in {seconds / 60:.1f} min on {platform.machine()} "
             f"(torch {torch.__version__}, 1 thread, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).")
    section = f"<!-- {part}:start -->\n### {title}\n\n{stamp}\n\n{body}\n<!-- {part}:end -->"
    text = DOC.read_text() if DOC.exists() else "# Forecasting benchmarks\n"
    pattern = re.compile(rf"<!-- {part}:start -->.*?<!-- {part}:end -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=list(PARTS), required=True)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "walmart" / "train.csv.zip"))
    p.add_argument("--n-series", type=int, default=300)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--meta-iters", type=int, default=300)
    p.add_argument("--adapt-steps", type=int, default=10)
    p.add_argument("--adapt-lr", type=float, default=0.02)
    p.add_argument("--fine-tune-epochs", type=int, default=5)
    p.add_argument("--no-doc", action="store_true", help="print results only")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    body = PARTS[args.part][1](args)
    command = "python benchmarks/forecast_walmart.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(body)
    if not args.no_doc:
        write_section(args.part, body, command, time.time() - t0)
        print(json.dumps({"wrote": str(DOC), "part": args.part}))


if __name__ == "__main__":
    main()
