"""Where trained restock agents lose profit against the exact optimum on ``quickstart``: a diagnosis.

Plays the exact optimal policy and each given policy on the same validation seeds (910000.., used
by neither training, its evaluation during training on 900000.., nor the benchmark's evaluation
seeds) and reports per policy: expected profit as a % of the optimum, estimated on episodes paired
with the exact policy's (``scenarios.optimality.pct_of_optimum``, with a 95% t-interval), orders
placed per episode and their mean size (units), lost sales (units) and stock left at the end (units).
Every policy's episodes are cached in a folder, keyed by the spec and, for a trained policy, the
bytes of its saved model, so a re-run (after a kill, or with one more policy) plays only what is new.
The key does not cover the simulator's code nor the scenario: after changing the env or the
heuristics, or for another scenario, use another (or an emptied) cache folder.

Command line: ``python benchmarks/quickstart_diagnosis.py`` (``main`` here).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import gymnasium as gym
import pandas as pd
from tqdm.auto import tqdm

import shopgym  # noqa: F401  (registers the envs)
from agents.exact import solve
from agents.registry import make_policy
from scenarios.optimality import pct_of_optimum
from shopgym.config import Scenario
from shopgym.rollout import rollout

SEED_BASE = 910_000  #: validation seeds: disjoint from training, training-time evaluation and the benchmark
SCRIPT = "benchmarks/quickstart_diagnosis.py"


def play(env, spec: str, seeds: list[int], desc: str) -> pd.DataFrame:
    """One row per seed: profit (currency), orders, mean order size, lost units, units left at the end."""
    policy = make_policy(spec, env)
    rows = []
    for seed in tqdm(seeds, desc=desc, unit="episode", leave=False):
        ep = rollout(env, policy, seed, record=True)
        tr = ep.trajectory
        placed = tr.ordered[tr.ordered > 0]
        rows.append({"seed": seed, "profit": ep.profit, "orders": len(placed), "order_size": placed.mean(),
                     "lost": tr.lost.sum(), "left": tr.on_hand.iloc[-1]})
    return pd.DataFrame(rows)


def fingerprint(spec: str) -> str:
    """What a policy's cached episodes depend on: its spec and, for ``kind:DIR``, the saved model files in DIR."""
    h = hashlib.sha1(spec.encode())
    path = spec.partition(":")[2]
    files = sorted(Path(path).rglob("*")) if path and Path(path).is_dir() else []
    for f in files:
        rel = f.relative_to(path)
        saved = f.suffix in {".zip", ".pt", ".pkl"} or f.name == "hyperparameters.json"
        if f.is_file() and saved and not {"checkpoints", "logs", "eval"} & set(rel.parts):
            h.update(str(rel).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def cached_play(env, spec: str, seeds: list[int], cache_dir: Path) -> pd.DataFrame:
    """``play`` with its table kept in ``cache_dir`` (``optimal-N.csv`` for the exact policy)."""
    name = "optimal" if spec == "optimal" else fingerprint(spec)
    path = cache_dir / f"{name}-{len(seeds)}.csv"
    if path.exists():
        return pd.read_csv(path)
    eps = play(env, spec, seeds, spec)
    cache_dir.mkdir(parents=True, exist_ok=True)
    eps.to_csv(path, index=False)
    return eps


def markdown_table(rows: list[dict[str, str]]) -> str:
    """A Markdown table: the first column left-aligned, the others right-aligned."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|---|" + "---:|" * (len(keys) - 1)]
    lines += ["| " + " | ".join(row[k] for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def diagnose(policies: list[str], episodes: int, cache_dir: Path | str,
             scenario: str | Scenario = "quickstart") -> tuple[list[dict[str, str]], float]:
    """The diagnosis table (one row per policy, ``optimal`` first, cells formatted) and the optimal expected
    episode profit (currency) it is relative to, on ``episodes`` validation seeds from ``SEED_BASE``.

    ``scenario`` must have an exact reference (``agents.exact``); the script uses ``quickstart``.
    """
    if episodes < 2:
        raise ValueError(f"episodes={episodes}: the diagnosis needs at least 2 episodes (a confidence interval "
                         "needs two); pass --episodes 2 or more")
    cache_dir = Path(cache_dir)
    env = gym.make("shopgym/Restock-v0", scenario=scenario)
    seeds = list(range(SEED_BASE, SEED_BASE + episodes))
    reference = solve(env.unwrapped.scenario).value  # the optimal expected episode profit (currency)
    optimal = cached_play(env, "optimal", seeds, cache_dir)
    table = []
    for spec in ["optimal", *policies]:
        eps = cached_play(env, spec, seeds, cache_dir)
        if list(eps.seed) != list(optimal.seed):
            raise ValueError(f"{spec}: its cached episodes are not on the optimal policy's seeds; delete {cache_dir}")
        pct, half = pct_of_optimum(eps.profit, optimal.profit, reference)
        table.append({"policy": spec, "% of optimum (paired)": f"{pct:.2f} ± {half:.2f}",
                      "mean profit": f"{eps.profit.mean():,.1f}", "orders": f"{eps.orders.mean():.1f}",
                      "mean order (units)": f"{eps.order_size.mean():.2f}", "lost units": f"{eps.lost.mean():.1f}",
                      "left at the end (units)": f"{eps.left.mean():.1f}"})
    return table, reference


def write_report(doc: Path | str, table: list[dict[str, str]], reference: float, episodes: int, command: str,
                 note: str = "") -> str:
    """Write the diagnosis to ``doc`` (Markdown, naming ``command``) and return its table."""
    md = markdown_table(table)
    Path(doc).parent.mkdir(parents=True, exist_ok=True)
    Path(doc).write_text(
        "# Where restock agents lose profit on `quickstart`\n\n"
        f"Generated by `{command}`. Validation seeds {SEED_BASE}..{SEED_BASE + episodes - 1} (never used in "
        "training, in evaluation during training, or by `docs/agents.md`); per episode and policy, means over "
        "episodes; the % column estimates expected profit as a % of the optimal expected profit "
        f"({reference:,.1f}) as 100 x (1 + mean(profit - the exact policy's profit on the same seed) / optimum), with "
        "a 95% t-interval (`scenarios/optimality.py`).\n\n" + (note + "\n\n" if note else "") + md + "\n")
    return md


def main(argv: list[str] | None = None) -> None:
    """``python benchmarks/quickstart_diagnosis.py --episodes 100 --policies sb3:DIR,dqn:DIR2``."""
    import torch

    parser = argparse.ArgumentParser(prog=SCRIPT, description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100, help="validation episodes (seeds 910000..)")
    parser.add_argument("--policies", required=True, help="comma-separated policy specs (sS, sb3:DIR, dqn:DIR, ...)")
    parser.add_argument("--cache", default="runs/quickstart-diagnosis", help="folder caching every policy's episodes")
    parser.add_argument("--doc", default="docs/agents_diagnosis.md", help="the Markdown table to write")
    parser.add_argument("--note", default="", help="a sentence for the report saying what the policies are")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.episodes < 2:
        parser.error("--episodes must be at least 2 (a confidence interval needs two episodes)")
    torch.set_num_threads(1)
    try:
        table, reference = diagnose(args.policies.split(","), args.episodes, args.cache)
    except ValueError as e:
        raise SystemExit(str(e)) from e
    for row in table:
        print(json.dumps(row), flush=True)
    command = f"python {SCRIPT} " + " ".join(argv)
    print(write_report(args.doc, table, reference, args.episodes, command, args.note))
