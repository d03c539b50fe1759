"""Trained agents on restocking, against the exact optimum and tuned heuristics; our DQN vs SB3 on CartPole.

Writes ``docs/agents.md`` (every number in it comes from this script's run) and keeps every
training run, evaluation and timing under ``--out``, so a re-run (after a kill, say) skips the
work already done: training runs resume from their last checkpoint, evaluations skip finished seeds.

    python benchmarks/agents_restock.py                 # full benchmark (~25 min on 2 busy cores)
    python benchmarks/agents_restock.py --quick --out /tmp/agents-quick --doc /tmp/agents.md   # smoke test

Evaluation seeds 0..9 are never used in training: training envs are seeded from
``agents.dqn.run.train_seed`` (32-bit draws) and heuristics are tuned on seeds from 1,000,000 on.
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
from scenarios.benchmark import run_benchmark  # noqa: E402
from scenarios.rollout import rollout  # noqa: E402

RESTOCK = "shopgym/Restock-v0"
#: Our DQN as one Q-net shared by every SKU (``agents/per_sku.py``), trained on the per-SKU vector env.
PER_SKU = "shopgym-dqn-sku"
PER_SKU_ENV = "shopgym/RestockPerSKU-v0"
EVAL_SEEDS = 10
#: Trained agents per scenario: (algo, label). SB3 DQN needs a Discrete action (one SKU: quickstart only).
TRAINED = {
    "quickstart": [("shopgym-dqn", "our DQN"), ("dqn", "SB3 DQN"), ("ppo", "SB3 PPO")],
    "seasonal": [("ppo", "SB3 PPO"), (PER_SKU, "our DQN, per SKU")],
    "supply-shock": [("ppo", "SB3 PPO"), (PER_SKU, "our DQN, per SKU")],
}
HEURISTICS = ["sS", "base_stock", "critical_fractile"]
CARTPOLE = [("shopgym-dqn", "our DQN"), ("dqn", "SB3 DQN")]
QUICK_STEPS = 3_000

#: What was changed to close gaps, in order; kept by hand: numbers here come from earlier runs and say which.
CHANGES = [
    "Rewards are daily profits in currency (tens per day): the DQN sections train on `reward_scale: 0.1`, "
    "PPO on `VecNormalize` reward normalisation, so TD targets and advantages are of order one. Evaluation "
    "always reports unscaled profit on the scenario's own (discrete) env.",
    "Observations mix units (stock, prices, calendar in [-1, 1]): our DQN standardises them with statistics "
    "frozen after the warm-up (`normalize_obs`), SB3 uses `VecNormalize(norm_obs=True)`.",
    "Training runs on the native Restock vector env (8 worlds in one batched simulation, far cheaper per "
    "step than 8 separate envs), which bought the step budgets below on a shared 2-core machine.",
    "DQN on quickstart: a first setting (gamma 0.99, batch 128, learning rate 5e-4, target update every 2,000 "
    "steps) plateaued below the target in trial runs; a second one used gamma 0.98, batch 256, learning rate "
    "3e-4, target update every 1,000 steps and epsilon down to 0.01, with 3-step returns (an order is paid "
    "today but sells lead time + 1 days later). That second setting missed the target in the first full run of "
    "this benchmark (`git show eaff7e3:docs/agents.md`), so a third one also doubled the replay ratio (one "
    "gradient step per 2 transitions) and decayed the learning rate linearly to 0. That third setting reached 91.8% "
    "(our DQN) and 92.5% (SB3 DQN) of the optimum at 150,000 steps (`git show 9d15bdf:docs/agents.md`), still "
    "missing the target. The shipped setting keeps it but looks further ahead: gamma 0.995 instead of 0.98 and "
    "5-step instead of 3-step returns, because an order's fixed cost (8) is paid the day it is placed while its "
    "16 units arrive 2 days later and sell over the next ~4 days, and near the horizon's end the right choice "
    "(stop ordering) depends on sales weeks ahead; gamma 0.98 discounts day 14 by a quarter, 0.995 by 7%. It "
    "trains for 300,000 steps (buffer 300,000: every transition) since the training-time evaluation was still "
    "rising at 150,000. Chosen between two candidates (gamma 0.99 with 3-step returns, gamma 0.995 with 5-step "
    "returns; 300,000 steps, seed 0: `shopgym train --algo shopgym-dqn --scenario quickstart --seed 0` with the "
    "shipped section, and with gamma 0.99, n_step 3 for the other) by the training-time evaluation on seeds "
    "900000.. only (best row of each run's `logs/eval.csv`: 438.5 vs 444.1 in profit x 0.1, i.e. 94.1% vs 95.3% "
    "of the optimum), never by the benchmark's seeds 0..9. The our-DQN row above comes from a fresh training with "
    "these settings (`python benchmarks/agents_restock.py --workers 2 --retrain quickstart-shopgym-dqn "
    "--retrain quickstart-dqn`, which retrained SB3 DQN too; the SB3 DQN row is from a later retrain, below). Our DQN and SB3 DQN shared these settings in "
    "that run; the variants tried for SB3 DQN alone afterwards are listed below. Each row is one training seed evaluated on 10 episodes, so read the percentages "
    "with their confidence intervals.",
    "Greedy policies fluctuate between evaluations, so every restock run keeps its best model by evaluation during "
    "training (`select: best`; 10 episodes, 30 for SB3 DQN, on seeds 900000.., disjoint from the benchmark's seeds "
    "0..9).",
    "SB3 DQN on quickstart, after the shipped run missed the target: six more trainings of 300,000 steps, each "
    "evaluated during training on 30 episodes every 10,000 steps (seeds 900000..) and compared by those "
    "evaluations only (`shopgym train --algo dqn --scenario quickstart --seed K --hyperparams FILE`, FILE a copy of "
    "`dqn.yml` with `n_eval_episodes: 30, eval_freq: 10000` plus the change). Best evaluation / mean evaluation "
    "after 200,000 steps, seeds 0 and 1: shipped section 95.1% / 93.6% and 95.0% / 93.4% of the optimum; "
    "observation statistics frozen after 5,000 steps as our DQN does (`freeze_normalize_after: 5000`) 94.7% / "
    "93.4% and 95.0% / 94.2% (seed 1 stopped at 240,000 steps); a dueling head (`policy: DuelingMlpPolicy`, "
    "`agents/sb3_dueling.py`) 95.2% / 94.1% and 95.2% / 93.7%. A 256x256 network and 8 gradient steps per vector "
    "step were stopped at 50,000-60,000 steps, 15-25 points behind. No change moved the plateau by more than the "
    "evaluation noise (about 0.5 points). The shipped section takes the variant with the highest plateau, the "
    "dueling head with 30-episode evaluations every 10,000 steps; it was fixed before its benchmark run, and the SB3 "
    "DQN run of the previous report (`git show dd14a01:docs/agents.md`) reached 93.8 ± 1.8% with it. "
    "Then four more variants, two seeds each, same protocol (best / mean evaluation after 200,000 steps): Double-DQN "
    "targets (`double_q: true`, `agents/sb3_double.py`: SB3's DQN with only the bootstrap target changed, the one "
    "part of our DQN that SB3's lacks) 94.6% / 93.6% and 94.6% / 93.3%; reward centering (`normalize: "
    "{center_reward: true}`, `agents/sb3_centering.py`: TD targets on rewards minus their running mean) 96.0% / "
    "94.6% and 94.7% / 93.7%; centering with the horizon's end as a termination (next item) 95.3% / 94.4% and "
    "94.7% / 93.8%. Double Q did not help. Centering is within the noise of the dueling head alone (94.1% / 93.7%) "
    "and ships (with the termination, which is now how the env ends): it removes the large common part of the "
    "action values, about 1.28 / (1 - 0.995) = 256 in scaled reward against an order's fixed cost of 0.8, at no "
    "cost. The SB3 DQN row above is the retrain with these settings.",
    "End of the horizon: the Restock envs used to report the last day as a truncation, so every learner "
    "bootstrapped past it as if the shop went on. On seeds 900100..900119 (outside evaluation; measured by a one-off script at the time, not kept), "
    "the exact optimum ordered 21.2 units in the last 10 days and left 1.4 on hand, tuned (s,S) 23.9 and 2.4, "
    "while two SB3 DQN trial runs, and this benchmark's previous our-DQN and SB3 PPO runs, ordered 39-41 units "
    "and left 6-11: about 110 currency per episode less profit in the last 20 days than the optimum, some 2% of "
    "it. The horizon is part of the task (the objective is the profit of these days, the exact optimum is a "
    "finite-horizon value, stock left at the end is worth nothing, `elapsed` is observed), so the envs now "
    "report the last day as `terminated`, and every Restock agent above was retrained. The end-of-horizon table "
    "measures the same on seeds 0..9: the trained agents now order less in the last days than before, but still "
    "leave 3-4 times the optimum's stock. Against the previous report (`git show dd14a01:docs/agents.md`), same "
    "seeds: our DQN 95.8% -> 94.9% of the optimum, SB3 DQN 93.8% -> 94.4% (with centering, previous item), SB3 PPO "
    "96.0% -> 95.9%; on the 10-SKU scenarios SB3 PPO fell from 23,490 to 16,214 (seasonal) and from 6,040 to "
    "-6,860 (supply-shock). Each is one training run, so part of each change is training noise; the PPO sections for "
    "10 SKUs were not retuned after the change.",
    "PPO on quickstart: the learning rate decays linearly to 0 (`lin_0.0003`).",
    "PPO on the 10-SKU scenarios: with `MultiDiscrete` orders (81 or 61 levels per SKU) the uniform initial policy "
    "orders about 40 units per SKU and day and loses heavily; the shipped sections train on the continuous "
    "variant, whose Gaussian policy starts near 'order nothing' with a wide initial spread (`log_std_init: 2.5`), "
    "and evaluate on the discrete env by rounding (as the continuous env itself rounds). A DQN does not apply "
    "to the joint action (it needs a single `Discrete` action); ours applies per SKU (next item).",
    "Our DQN on the 10-SKU scenarios, per SKU (`agents/per_sku.py`), because SB3 PPO on the joint action reached "
    "only a quarter of (s,S)'s profit on seasonal: one Q-network shared by every SKU decides each SKU's order from "
    "scale-free features (quantities in days of that SKU's demand, stock position, promotion and margin ratios, "
    "order-step and order-cost sizes, lead time, calendar); every (world, SKU) pair is one sub-env of a vector env "
    "over one batched World, rewarded with that SKU's daily profit. Settings were chosen on seasonal by the "
    "training-time evaluation (seeds 900000..) among 1.2M-transition trials (scaled return of the whole shop): "
    "batch 1024 with one gradient step per 20 transitions 3,248 against about -1,260 for batch 256; gamma 0.995 "
    "with 10-step returns and reward scale 0.05 1,216; a 128x128 network and 15-step returns with Huber delta 10 "
    "about the same (3,030). On supply-shock, potential-based stock shaping (purchase cost booked when the units "
    "sell) is on: it scored 3,572 in a 1.2M seasonal trial, but a full-length seasonal run with it evaluated worse "
    "(best 4,716 against 5,819), so whether it helps supply-shock is untested. The agent still orders too little "
    "(see its fill rate above): it batches orders for most SKUs, but the largest order (`max_order`, 80 units) covers only a few days of the busiest SKU's demand, while "
    "tuned (s,S) orders up to 21 days of cover (`cover: 21.0` in `eval-seasonal/tuned.json`). Longer training and larger order levels for fast movers are the next things to try.",
    "Per-SKU agent, second round (the rows above): with gamma 0.99 and per-SKU rewards of about 2.7 per day "
    "(scaled), action values are near 270 while the choices differ by about 1.5 (an order's fixed cost), so TD noise "
    "on the common part swamps the difference. Our DQN now has reward centering (`reward_centering: true`, "
    "`agents/dqn/dqn.py`: TD targets on rewards minus their running mean, which leaves the greedy policy of the "
    "discounted problem unchanged, also with the fixed-horizon termination). 1.2M-transition trials on seasonal "
    "(training-time evaluation, seeds 900000..; mean of the evaluations at 0.9-1.2M steps, scaled return): former "
    "settings 2,714 (training seed 1: 2,822); centering 3,938 (seed 1: 4,121); centering with gamma 0.97 4,724 "
    "(seed 1: 4,180); gamma 0.97 alone 3,080; centering with learning rate 3e-4 2,493; centering with stock shaping "
    "4,434; all three 2,227. On supply-shock, centering with shaping at gamma 0.99 gave 4,301 against 2,141 for "
    "the former settings and 3,356 for centering with gamma 0.97, so it ships there. The trials (runs/per-sku, "
    "comments in `shopgym-dqn.yml`) ran before the horizon's end became a termination. After it, a full 4M-transition "
    "seasonal run with centering and gamma 0.97 peaked at 5,312 (2.0M) and fell to 4,042, and evaluated at 53,193 "
    "on seeds 0..9 (this benchmark's first run after the change); the same with gamma 0.99 peaked at 6,045 (3.2M), "
    "so seasonal ships centering with gamma 0.99 and the row above is that run. The falling evaluations and the "
    "53,193 (below the previous report's 57,582) led to the second run; the choice between the two runs used the "
    "training-time evaluations only.",
]


USAGE = """## Using the agents

- Train: `shopgym train --algo {dqn,ppo,a2c,sac,shopgym-dqn} --env ENV_ID --scenario S --timesteps N --seed K --out DIR`
  (`shopgym-dqn` is our DQN in `agents/dqn/`; SAC needs the continuous restock variant, which its section selects;
  `--algo shopgym-dqn --env shopgym/RestockPerSKU-v0` trains one Q-net shared by every SKU, `agents/per_sku.py`).
  Re-running the same command after a kill resumes from `DIR/checkpoints/latest` (model, optimizer, replay buffer,
  normalisation statistics, step counter); logs (`DIR/logs/*.csv`, TensorBoard under `DIR/logs/tb`) are appended.
  `DIR/config.yml` holds the resolved configuration, `DIR/run.json` every command line, seed and library versions.
- Evaluate: `shopgym evaluate --model DIR --scenario S --episodes N` (greedy, seeds 0..N-1, unscaled profit).
- Benchmark with heuristics: `shopgym benchmark --policies sS,base_stock,sb3:DIR,dqn:DIR2,dqn-sku:DIR3` (trained agents are
  `Policy` objects through `agents.trained.load_policy`).
- Hyperparameters: `agents/hyperparams/<algo>.yml`, one section per env id and optional `<env id>@<scenario>`
  overrides; unknown keys are errors naming the key. Python: `from agents.dqn import DQN;
  DQN("CartPole-v1", {"net_arch": [64, 64]}, seed=0).learn(50_000)`, `DQN.load(path)` checks the spaces.
"""


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
    for cache_path in (out / "cartpole_eval.json", out / "endgame-quickstart.json"):
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
    """End-of-horizon behaviour of one policy on seeds 0..9 (cached in ``cache_path``; a diagnostic, not a selection).

    ``ordered_last``: units ordered in the last ``days`` days; ``left_over``: units on hand after the
    last day, bought and never sold (stock is worth nothing after the horizon); ``left_over_cost``:
    their purchase cost (currency). Means per episode.
    """
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    if policy_spec not in cache:
        env = gym.make(RESTOCK, scenario=scenario)
        policy = make_policy(policy_spec, env)
        ordered, left = [], []
        for seed in range(EVAL_SEEDS):
            t = rollout(env, policy, seed, record=True).trajectory
            last = t["day"].max()
            ordered.append(float(t.loc[t["day"] > last - days, "ordered"].sum()))
            left.append(float(t.loc[t["day"] == last, "on_hand"].sum()))
        unit_cost = float(np.mean(env.unwrapped.world.catalog.unit_cost))
        cache[policy_spec] = {"ordered_last": float(np.mean(ordered)), "left_over": float(np.mean(left)),
                              "left_over_cost": float(np.mean(left)) * unit_cost}
        cache_path.write_text(json.dumps(cache, indent=2))
    return cache[policy_spec]


def paired_pct(results: pd.DataFrame) -> pd.DataFrame:
    """Each policy's profit as % of the exact policy's on the same seed: mean and 95% t-interval per policy.

    The seeds' demand luck is common to both, so this pins down a policy's distance from the optimum far
    more tightly than its mean over the expected optimum does.
    """
    by_seed = results.pivot_table(index="seed", columns="policy", values="profit")
    ratios = 100 * by_seed.div(by_seed["optimal"], axis=0)
    return pd.DataFrame({"policy": ratios.columns, "paired_pct": ratios.mean().to_numpy(),
                         "paired_ci95": [ci95(ratios[c].to_numpy()) for c in ratios.columns]})


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

    # 2. restock evaluation through the benchmark runner (10 held-out seeds per policy)
    summaries = {}
    for scenario, agents in TRAINED.items():
        trained = [spec(a, out / f"{scenario}-{a}") for a, _ in agents]
        ref = ["optimal"] if scenario == "quickstart" else []
        res = run_benchmark([scenario], ref + HEURISTICS + trained, n_seeds=EVAL_SEEDS, out=out / f"eval-{scenario}",
                            progress=False, command=command)
        labels = {spec(a, out / f"{scenario}-{a}"): label for a, label in agents}
        s = res.summary.copy()
        s["label"] = s["policy"].map(lambda p, lab=labels: lab.get(p, p))
        s["algo"] = s["policy"].map({spec(a, out / f"{scenario}-{a}"): a for a, _ in agents})
        if "optimal" in ref:
            s = s.merge(paired_pct(res.results), on="policy", how="left")
        summaries[scenario] = s

    # 3. end-of-horizon behaviour on quickstart (diagnostic)
    ends = {p: endgame(p, "quickstart", out / "endgame-quickstart.json") for p in summaries["quickstart"]["policy"]}

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
                ok = r["pct_of_reference"] >= 95
                out.append(f"- `{scenario}`, {r['label']}: {r['pct_of_reference']:.1f}% of the optimum: "
                           f"{'meets' if ok else 'misses'} the 95% target.")
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
        "Evaluation: greedy policies, 10 episodes with seeds 0..9 (never used in training), mean episode profit "
        "(currency) with a 95% t-interval. Training: seed 0, hyperparameters from `agents/hyperparams/<algo>.yml`; "
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
        "| policy | training steps | training wall time (s) | training CPU time (s) | mean profit ± 95% CI | % of optimum ± 95% CI | target | % of `optimal` on the same seeds (paired) |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for _, r in q.iterrows():
        t = _timing(timings, out, "quickstart", r["algo"])
        target = ("meets" if r["pct_of_reference"] >= 95 else "**misses**") if t else ""
        lines.append(f"| {r['label']} | {_train_cells(t)} | {fmt(r['profit_mean'], r['profit_ci95'])} | "
                     f"{fmt(r['pct_of_reference'], r['pct_ci95'], 1)} | {target} | "
                     f"{fmt(r['paired_pct'], r['paired_ci95'], 1)} |")
    if not opt.empty:
        lines += ["", "(`optimal` is the exact policy played on the same seeds: its sample mean estimates the reference. "
                  "The target is judged on the percentage of the expected optimum; the last column divides each "
                  "episode's profit by the exact policy's on the same seed, which removes the demand luck the two "
                  "share and so measures the distance from the optimum more tightly.)"]
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
              f"- Per-run tables of all policies: `{out}/eval-<scenario>/summary.md`.", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
