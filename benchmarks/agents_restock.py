"""Trained agents on restocking, against the exact optimum and tuned heuristics; our DQN vs SB3 on CartPole.

Writes ``docs/agents.md`` (every number in it comes from this script's run) and keeps every
training run, evaluation and timing under ``--out``, so a re-run (after a kill, say) skips the
work already done: training runs resume from their last checkpoint, evaluations skip finished seeds.

    python benchmarks/agents_restock.py                 # full benchmark (about 112 CPU-minutes of training: ~1 hour on 2 cores)
    python benchmarks/agents_restock.py --quick --out /tmp/agents-quick --doc /tmp/agents.md   # smoke test

Evaluation seeds (0..99 on ``quickstart``, 0..9 elsewhere) are never used in training: training envs are
seeded from ``agents.dqn.run.train_seed`` (32-bit draws), evaluation during training uses seeds from
900,000 on, and heuristics are tuned on seeds from 1,000,000 on.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gymnasium as gym  # noqa: E402

from agents import per_sku, sb3  # noqa: E402
from agents.dqn import run as dqn_run  # noqa: E402
from agents.dqn.evaluation import evaluate  # noqa: E402
from agents.hyperparams import library_versions, load_hyperparams  # noqa: E402
from agents.registry import make_policy  # noqa: E402
from agents.trained import load_policy  # noqa: E402
from benchmarks.agents_restock_notes import CHANGES, USAGE  # noqa: E402
from scenarios.benchmark import run_benchmark  # noqa: E402
from scenarios.optimality import pct_of_optimum  # noqa: E402
from scenarios.rollout import rollout  # noqa: E402

RESTOCK = "shopgym/Restock-v0"
#: Our DQN as one Q-net shared by every SKU (``agents/per_sku.py``), trained on the per-SKU vector env.
PER_SKU = "shopgym-dqn-sku"
PER_SKU_ENV = "shopgym/RestockPerSKU-v0"
EVAL_SEEDS = 10  #: evaluation episodes (seeds 0..9) on the 10-SKU scenarios and CartPole
#: Evaluation episodes (seeds 0..99) on ``quickstart``: its target is a question of one percentage point
#: (>= 95% of the optimum), which 10 episodes cannot settle (the exact policy itself averaged 99.6% of its
#: expectation on seeds 0..9; the agents' paired estimates spanned +-0.5 to 0.9 points there).
QUICKSTART_SEEDS = 100


def n_eval_seeds(scenario: str) -> int:
    """Evaluation episodes on ``scenario`` (seeds 0..n-1)."""
    return QUICKSTART_SEEDS if scenario == "quickstart" else EVAL_SEEDS
#: Trained agents per scenario: (algo, label). SB3 DQN needs a Discrete action (one SKU: quickstart only).
TRAINED = {
    "quickstart": [("shopgym-dqn", "our DQN"), ("dqn", "SB3 DQN"), ("ppo", "SB3 PPO")],
    "seasonal": [("ppo", "SB3 PPO"), (PER_SKU, "our DQN, per SKU")],
    "supply-shock": [("ppo", "SB3 PPO"), (PER_SKU, "our DQN, per SKU")],
}
HEURISTICS = ["sS", "base_stock", "critical_fractile"]
CARTPOLE = [("shopgym-dqn", "our DQN"), ("dqn", "SB3 DQN")]
QUICK_STEPS = 3_000


def train_one(algo: str, env_id: str, scenario: str | None, out: Path, steps: int | None) -> dict:
    """Train (or resume) one run in this process; its wall and CPU time (seconds) and step count."""
    torch.set_num_threads(1)
    t0, c0 = time.perf_counter(), time.process_time()
    if algo == PER_SKU:
        model = per_sku.train(scenario, out, steps, seed=0, progress_bar=False)
    elif algo == "shopgym-dqn":
        model = dqn_run.train(env_id, out, steps, seed=0, scenario=scenario, progress_bar=False)
    else:
        model = sb3.train(algo, env_id, out, steps, seed=0, scenario=scenario, progress_bar=False)
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
            "steps": int(model.num_timesteps)}


def train_all(jobs: list[tuple], steps: int | None, workers: int, timings: dict, timings_path: Path) -> None:
    """Train every ``(run_dir, algo, env_id, scenario)`` job not yet complete, ``workers`` at a time.

    Each run's wall and CPU seconds accumulate over its segments (a killed benchmark resumes runs).
    """
    todo = [j for j in jobs if timings.get(str(j[0]), {}).get("steps", 0) < (steps or _n_timesteps(*j[1:]))]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(train_one, algo, env_id, sc, run_dir, steps): run_dir for run_dir, algo, env_id, sc in todo}
        for run_dir, algo, env_id, sc in todo:
            print(f"training {algo} on {env_id} {sc or ''} -> {run_dir}", flush=True)
        for fut in as_completed(futures):
            key, res = str(futures[fut]), fut.result()
            prev = timings.get(key, {})
            timings[key] = {"seconds": prev.get("seconds", 0.0) + res["seconds"],
                            "cpu_seconds": prev.get("cpu_seconds", 0.0) + res["cpu_seconds"],
                            "steps": res["steps"], "segments": prev.get("segments", 0) + 1, "workers": workers}
            timings_path.write_text(json.dumps(timings, indent=2))
            print(f"done {key}: {res}", flush=True)


def discard_run(out: Path, name: str, timings: dict, timings_path: Path) -> None:
    """Forget the cached run ``out/name``: its directory, timing entry and every cached evaluation of it."""
    run_dir = out / name
    shutil.rmtree(run_dir, ignore_errors=True)
    timings.pop(str(run_dir), None)
    timings_path.write_text(json.dumps(timings, indent=2))
    for results in out.glob("eval-*/results.csv"):
        df = pd.read_csv(results)
        keep = ~df["policy"].astype(str).str.endswith(f":{run_dir}")
        if not keep.all():
            df[keep].to_csv(results, index=False)
    for cache_path in (out / "cartpole_eval.json", *out.glob("endgame-*.json")):
        if cache_path.exists():
            cache = json.loads(cache_path.read_text())
            dropped = [k for k in cache if k == str(run_dir) or k.endswith(f":{run_dir}")]
            for k in dropped:
                del cache[k]
            if dropped:
                cache_path.write_text(json.dumps(cache, indent=2))
    print(f"discarded {run_dir} (run, timings, evaluations)", flush=True)


def _n_timesteps(algo: str, env_id: str, scenario: str | None) -> int:
    if algo == PER_SKU:
        algo, env_id = "shopgym-dqn", PER_SKU_ENV
    return int(load_hyperparams(algo, env_id, scenario).get("n_timesteps", 100_000))


#: Policy-spec prefix of each trained algo (``agents.trained.load_policy``); SB3 algos use ``sb3:``.
SPEC_PREFIX = {"shopgym-dqn": "dqn", PER_SKU: "dqn-sku"}


def spec(algo: str, run_dir: Path) -> str:
    return f"{SPEC_PREFIX.get(algo, 'sb3')}:{run_dir}"


def ci95(values: np.ndarray) -> float:
    return float(stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values)))


def cartpole_eval(algo: str, run_dir: Path, eval_path: Path) -> dict:
    """Greedy returns of a CartPole run on seeds 0..9 (cached in ``eval_path``)."""
    cache = json.loads(eval_path.read_text()) if eval_path.exists() else {}
    if str(run_dir) not in cache:
        env = gym.make("CartPole-v1")
        policy = load_policy(spec(algo, run_dir), env)
        res = evaluate(policy.act, env, list(range(EVAL_SEEDS)))
        cache[str(run_dir)] = res.returns.tolist()
        eval_path.write_text(json.dumps(cache, indent=2))
    r = np.array(cache[str(run_dir)])
    return {"mean": float(r.mean()), "ci95": ci95(r)}


def endgame(policy_spec: str, scenario: str, cache_path: Path, days: int = 10) -> dict:
    """End-of-horizon behaviour of one policy on the scenario's evaluation seeds (cached in ``cache_path``; a
    diagnostic, not a selection).

    ``ordered_last``: units ordered in the last ``days`` days; ``left_over``: units on hand after the
    last day, bought and never sold (stock is worth nothing after the horizon); ``left_over_cost``:
    their purchase cost (currency). Means per episode.
    """
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    if policy_spec not in cache:
        env = gym.make(RESTOCK, scenario=scenario)
        policy = make_policy(policy_spec, env)
        ordered, left = [], []
        for seed in range(n_eval_seeds(scenario)):
            t = rollout(env, policy, seed, record=True).trajectory
            last = t["day"].max()
            ordered.append(float(t.loc[t["day"] > last - days, "ordered"].sum()))
            left.append(float(t.loc[t["day"] == last, "on_hand"].sum()))
        unit_cost = float(np.mean(env.unwrapped.world.catalog.unit_cost))
        cache[policy_spec] = {"ordered_last": float(np.mean(ordered)), "left_over": float(np.mean(left)),
                              "left_over_cost": float(np.mean(left)) * unit_cost}
        cache_path.write_text(json.dumps(cache, indent=2))
    return cache[policy_spec]


def paired_pct(results: pd.DataFrame, reference: float) -> pd.DataFrame:
    """Each policy's expected profit as % of the optimum, estimated on episodes paired with the exact policy's.

    ``scenarios.optimality.pct_of_optimum``: 100 * (1 + mean(profit - optimal's profit) / reference), unbiased
    because the exact policy's expected profit is the reference; the seeds' demand luck, common to both,
    cancels, so this pins a policy's distance from the optimum far more tightly than its mean profit over
    the reference does. The quickstart target is judged on it.
    """
    by_seed = results.pivot(index="seed", columns="policy", values="profit")  # raises on a duplicated episode
    missing = {c: sorted(by_seed.index[by_seed[c].isna()]) for c in by_seed.columns if by_seed[c].isna().any()}
    if missing:
        raise ValueError(f"paired_pct: policies lack evaluation seeds the others have: {missing}; delete their rows "
                         "in eval-quickstart/results.csv (or pass --retrain) so they are evaluated on every seed")
    est = {c: pct_of_optimum(by_seed[c], by_seed["optimal"], reference) for c in by_seed.columns}
    return pd.DataFrame({"policy": list(est), "paired_pct": [e[0] for e in est.values()],
                         "paired_ci95": [e[1] for e in est.values()]})


def fmt(mean: float, half: float, digits: int = 0) -> str:
    return f"{mean:,.{digits}f} ± {half:,.{digits}f}"


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
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
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
    write_doc(Path(args.doc), out, summaries, cart, timings, command, total_min, args.quick, args.workers, ends)
    print(f"wrote {args.doc} ({total_min:.1f} min in this invocation)")


def status_lines(summaries: dict[str, pd.DataFrame]) -> list[str]:
    """One line per trained agent: does it meet its target (>= 95% of the optimum; beating the best heuristic)?"""
    out = []
    for scenario, s in summaries.items():
        heur = s[s["policy"].isin(HEURISTICS)]["profit_mean"].max()
        for _, r in s[s["algo"].notna()].iterrows():
            if scenario == "quickstart":
                pct, half = r["paired_pct"], r["paired_ci95"]
                sure = ("its whole 95% interval is above 95" if pct - half >= 95 else
                        "its whole 95% interval is below 95" if pct + half < 95 else "its 95% interval contains 95")
                out.append(f"- `{scenario}`, {r['label']}: {pct:.1f} ± {half:.1f}% of the optimum (paired estimate): "
                           f"{'meets' if pct >= 95 else 'misses'} the 95% target; {sure}.")
            else:
                ok = r["profit_mean"] >= heur
                out.append(f"- `{scenario}`, {r['label']}: {'beats' if ok else 'does not beat'} the best tuned heuristic "
                           f"({100 * r['profit_mean'] / heur:.1f}% of its mean profit).")
    return out


def _parallel(timings: dict) -> str:
    """How many trainings ran side by side, over the runs' segments (e.g. '2-3')."""
    counts = sorted({int(t.get("workers", 1)) for t in timings.values()})
    return f"{counts[0]}-{counts[-1]}" if len(counts) > 1 else str(counts[0])


def _timing(timings: dict, out: Path, scenario: str, algo) -> dict:
    """The timing entry of a trained agent's run (empty for heuristics)."""
    return timings.get(str(out / f"{scenario}-{algo}"), {}) if isinstance(algo, str) else {}


def _train_cells(t: dict) -> str:
    """Two table cells: training steps and wall time (blank for heuristics)."""
    return f"{t['steps']} | {t['seconds']:.0f} | {t['cpu_seconds']:.0f}" if t else " | | "


def write_doc(path: Path, out: Path, summaries: dict[str, pd.DataFrame], cart: dict, timings: dict, command: str,
              total_min: float, quick: bool, workers: int, ends: dict) -> None:
    """Render docs/agents.md from the results (no hand-typed numbers)."""
    versions = library_versions()
    lines = [
        "# Agents on shopgym: trained policies vs the optimum and tuned heuristics",
        "",
        f"Generated by `{command}` "
        f"({'QUICK SMOKE RUN: tiny trainings, numbers not meaningful; ' if quick else ''}"
        f"this invocation took {total_min:.1f} min, reusing the trainings and evaluations cached under `{out}`; "
        "training times below sum every segment of a run).",
        f"Machine: {platform.machine()} CPU (2 cores shared with other jobs), `torch.set_num_threads(1)`, restock "
        f"trainings {_parallel(timings)} at a time in parallel processes, so wall times include contention; CPU times "
        "less so; "
        f"python {versions['python']}, torch {versions['torch']}, gymnasium {versions['gymnasium']}, "
        f"stable-baselines3 {versions['stable-baselines3']}.",
        f"Evaluation: greedy policies, {QUICKSTART_SEEDS} episodes with seeds 0..{QUICKSTART_SEEDS - 1} on `quickstart` "
        f"and {EVAL_SEEDS} with seeds 0..{EVAL_SEEDS - 1} on the other scenarios and CartPole (never used in training), mean "
        "episode profit (currency) with a 95% t-interval. Training: seed 0, hyperparameters from `agents/hyperparams/<algo>.yml`; "
        f"each run's resolved `config.yml`, command line and library versions are in `{out}/<run>/`.",
        "",
    ]
    q = summaries["quickstart"]
    opt = q[q["policy"] == "optimal"]
    ref = float(q["reference_profit"].iloc[0])
    lines += [
        "## Exact-reference instance (`quickstart`): percent of the optimal expected profit",
        "",
        f"Optimal expected episode profit (backward induction, `agents/exact.py`): **{ref:,.1f}**. Target: >= 95%.",
        "",
        "| policy | training steps | training wall time (s) | training CPU time (s) | mean profit ± 95% CI | "
        "mean profit / optimum (%) ± 95% CI | % of optimum, paired estimate ± 95% CI | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for _, r in q.iterrows():
        t = _timing(timings, out, "quickstart", r["algo"])
        target = ("meets" if r["paired_pct"] >= 95 else "**misses**") if t else ""
        lines.append(f"| {r['label']} | {_train_cells(t)} | {fmt(r['profit_mean'], r['profit_ci95'])} | "
                     f"{fmt(r['pct_of_reference'], r['pct_ci95'], 1)} | {fmt(r['paired_pct'], r['paired_ci95'], 1)} | "
                     f"{target} |")
    if not opt.empty:
        lines += ["", "(`optimal` is the exact policy played on the same seeds; its mean estimates the reference, "
                  "and its distance from it is the seeds' demand luck. The target is judged on the paired estimate "
                  "(`scenarios/optimality.py`): 100 x (1 + mean(profit - optimal's profit on the same seed) / "
                  "optimum), unbiased because the exact policy's expected profit is the optimum, and far tighter "
                  "than mean profit / optimum because the luck both policies share cancels.)"]
    labels = dict(zip(q["policy"], q["label"], strict=True))
    lines += ["", "End of the horizon (same seeds; stock left after the last day was bought and is never sold):", "",
              "| policy | units ordered in the last 10 days | units left over at the end | their purchase cost |",
              "|---|---:|---:|---:|"]
    for p, e in ends.items():
        lines.append(f"| {labels.get(p, p)} | {e['ordered_last']:.1f} | {e['left_over']:.1f} | "
                     f"{e['left_over_cost']:.1f} |")
    for scenario in ("seasonal", "supply-shock"):
        s = summaries[scenario]
        heur = s[s["policy"].isin(HEURISTICS)].sort_values("profit_mean", ascending=False)
        best = heur.iloc[0]
        lines += ["", f"## `{scenario}`: trained agents vs the best tuned heuristic", "",
                  f"Best tuned heuristic: **{best['policy']}** ({fmt(best['profit_mean'], best['profit_ci95'])}).", "",
                  "| policy | training steps | training wall time (s) | training CPU time (s) | mean profit ± 95% CI | fill rate | vs best heuristic |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for _, r in s.sort_values("profit_mean", ascending=False).iterrows():
            t = _timing(timings, out, scenario, r["algo"])
            gap = 100 * (r["profit_mean"] - best["profit_mean"]) / abs(best["profit_mean"])
            lines.append(f"| {r['label']} | {_train_cells(t)} | {fmt(r['profit_mean'], r['profit_ci95'])} | "
                         f"{r['fill_rate']:.3f} | {gap:+.1f}% |")
        if any(a == PER_SKU for a, _ in TRAINED[scenario]):
            lines += ["", "(Training steps of the per-SKU agent count (world, SKU) transitions: 10 per simulated world-day.)"]
    lines += ["", "## CartPole-v1: our DQN vs SB3 DQN (same hyperparameters, same steps)", "",
              "Both use the RL Zoo CartPole DQN hyperparameters (`CartPole-v1` sections of `shopgym-dqn.yml` and "
              "`dqn.yml`); greedy returns over seeds 0..9 (500 is the maximum).", "",
              "The two trainings run side by side (2 processes), so they share the machine's load alike.", "",
              "| agent | steps | wall time (s) | CPU time (s) | mean return ± 95% CI |", "|---|---:|---:|---:|---:|"]
    for algo, label in CARTPOLE:
        c = cart[algo]
        lines.append(f"| {label} | {c['steps']} | {c['seconds']:.0f} | {c['cpu_seconds']:.0f} | {fmt(c['mean'], c['ci95'], 1)} |")
    lines += ["", "## Status against the targets", ""] + status_lines(summaries)
    lines += ["", "## What we changed to close gaps", ""] + [f"- {c}" for c in CHANGES]
    lines += ["", USAGE]
    lines += ["", "## Reproduce", "", "- This report: `python benchmarks/agents_restock.py` (resumable; delete "
              f"`{out}` to start over, or pass `--retrain RUN` to redo one cached run such as `quickstart-shopgym-dqn`).",
              "- One agent: `shopgym train --algo ppo --scenario seasonal --seed 0 --out runs/ppo-seasonal`, then "
              "`shopgym evaluate --model runs/ppo-seasonal --scenario seasonal --episodes 10`.",
              f"- Per-run tables of all policies: `{out}/eval-<scenario>/summary.md`.",
              "- Where the quickstart agents lose profit (orders, lost sales, paired % on 100 validation seeds): "
              "`python benchmarks/quickstart_diagnosis.py --policies sb3:DIR,dqn:DIR2` writes "
              "[agents_diagnosis.md](agents_diagnosis.md).", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
