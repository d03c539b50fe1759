"""Trained agents on restocking, against the exact optimum and tuned heuristics; our DQN vs SB3 on CartPole.

Writes ``docs/agents.md`` (every number in it comes from this script's run) and keeps every
training run, evaluation and timing under ``--out``, so a re-run (after a kill, say) skips the
work already done: training runs resume from their last checkpoint, evaluations skip finished seeds.

    python benchmarks/agents_restock.py                 # full benchmark (about 112 CPU-minutes of training: ~1 hour on 2 cores)
    python benchmarks/agents_restock.py --quick --out /tmp/agents-quick --doc /tmp/agents.md   # smoke test

The command line only: the benchmark's logic is ``scenarios/agents_benchmark.py`` (training, evaluation
seeds, caches, the paired estimate) and its report ``scenarios/agents_report.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.agents_restock_notes import CHANGES, USAGE  # noqa: E402
from scenarios.agents_benchmark import (  # noqa: E402
    CARTPOLE,
    HEURISTICS,
    PER_SKU,
    PER_SKU_ENV,
    QUICK_STEPS,
    QUICKSTART_SEEDS,
    RESTOCK,
    TRAINED,
    cartpole_eval,
    discard_run,
    endgame,
    n_eval_seeds,
    paired_pct,
    read_cache,
    spec,
    train_all,
)
from scenarios.agents_report import write_doc  # noqa: E402
from scenarios.benchmark import run_benchmark  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/agents-benchmark", help="directory for runs, evaluations, timings")
    parser.add_argument("--doc", default="docs/agents.md", help="the Markdown report to write")
    parser.add_argument("--workers", type=int, default=3, help="trainings run in parallel (processes)")
    parser.add_argument("--quick", action="store_true", help=f"train every agent for {QUICK_STEPS} steps only (smoke test)")
    parser.add_argument("--retrain", action="append", default=[], metavar="RUN",
                        help="discard the cached run RUN (a directory under --out, e.g. quickstart-shopgym-dqn) with its "
                             "timings and evaluations, so it is trained and evaluated afresh (e.g. after its "
                             "hyperparameters changed); repeatable")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = QUICK_STEPS if args.quick else None
    command = "python " + " ".join(sys.argv)
    timings_path = out / "timings.json"
    timings = read_cache(timings_path)
    t_start = time.perf_counter()
    known = [f"{sc}-{algo}" for sc, agents in TRAINED.items() for algo, _ in agents] + [
        f"cartpole-{algo}" for algo, _ in CARTPOLE]
    for name in args.retrain:
        if name not in known:
            parser.error(f"--retrain {name!r}: not a run of this benchmark; one of {', '.join(known)}")
        discard_run(out, name, timings, timings_path)

    # 1. training: restock agents, then the CartPole pair side by side (same conditions for both)
    jobs = [(out / f"{sc}-{algo}", algo, PER_SKU_ENV if algo == PER_SKU else RESTOCK, sc)
            for sc, agents in TRAINED.items() for algo, _ in agents]
    train_all(jobs, steps, args.workers, timings, timings_path)
    train_all([(out / f"cartpole-{algo}", algo, "CartPole-v1", None) for algo, _ in CARTPOLE], steps, 2, timings,
              timings_path)

    # 2. restock evaluation through the benchmark runner (held-out seeds: 100 on quickstart, 10 elsewhere)
    summaries = {}
    for scenario, agents in TRAINED.items():
        trained = [spec(a, out / f"{scenario}-{a}") for a, _ in agents]
        ref = ["optimal"] if scenario == "quickstart" else []
        res = run_benchmark([scenario], ref + HEURISTICS + trained, n_seeds=n_eval_seeds(scenario),
                            out=out / f"eval-{scenario}",
                            progress=False, command=command)
        labels = {spec(a, out / f"{scenario}-{a}"): label for a, label in agents}
        s = res.summary.copy()
        s["label"] = s["policy"].map(lambda p, lab=labels: lab.get(p, p))
        s["algo"] = s["policy"].map({spec(a, out / f"{scenario}-{a}"): a for a, _ in agents})
        if "optimal" in ref:
            s = s.merge(paired_pct(res.results, float(s["reference_profit"].iloc[0])), on="policy", how="left")
        summaries[scenario] = s

    # 3. end-of-horizon behaviour on quickstart (diagnostic)
    ends = {p: endgame(p, "quickstart", out / f"endgame-quickstart-{QUICKSTART_SEEDS}.json")
            for p in summaries["quickstart"]["policy"]}

    # 4. CartPole sanity check
    cart = {algo: {**cartpole_eval(algo, out / f"cartpole-{algo}", out / "cartpole_eval.json"),
                   **timings[str(out / f"cartpole-{algo}")]} for algo, _ in CARTPOLE}
    total_min = (time.perf_counter() - t_start) / 60
    write_doc(Path(args.doc), out, summaries, cart, timings, command, total_min, args.quick, args.workers, ends,
              CHANGES, USAGE)
    print(f"wrote {args.doc} ({total_min:.1f} min in this invocation)")


if __name__ == "__main__":
    main()
