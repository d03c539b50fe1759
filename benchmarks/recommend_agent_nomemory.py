"""A trained agent on the no-memory scenario ``recommend``, as a share of the myopic oracle: the "nomemory-agent"
section of docs/recommend.md (issue 15's target: the best agent reaches >= 97% of the myopic oracle).

    python benchmarks/recommend_agent_nomemory.py [--agent sb3:runs/recommend-agents/ppo-recommend-s0] [--seeds 5]

The agent, the PRIVILEGED myopic oracle and random play the evaluation seeds 0 .. n-1 of the scenario (those of the
main table of docs/recommend.md, so the oracle's and random's margins there are reproduced); % of the myopic oracle:
the ratio of mean episode margins (currency) with its 95% CI over the paired episodes (delta method,
``scenarios.fidelity_recommend.ratio_ci``). The agent's training wall time is read from ``RUNS/timings.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import yaml
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import shopgym  # noqa: E402,F401
from agents.registry import TRAINED_PREFIXES, make_policy  # noqa: E402
from scenarios.doc_sections import write_section  # noqa: E402
from shopgym.rollout import rollout  # noqa: E402
from shopgym.stats import format_ci, ratio_ci  # noqa: E402

#: Issue 15's target on the no-memory scenario: the best agent's share of the myopic oracle.
TARGET = 0.97
#: The retraining command of the shipped agent (``{out}``: its run folder).
COMMAND = "shopgym train --algo {algo} --env {env} --scenario {scenario} --seed {seed} --out {out}"


def margins(scenario: str, specs: list[str], seeds: int) -> dict[str, np.ndarray]:
    """Each policy's episode margins (currency) on seeds 0 .. ``seeds`` - 1 of ``scenario``."""
    env = gym.make("shopgym/Recommend-v0", scenario=scenario)
    scale = env.unwrapped.scenario.env.reward_scale
    out = {}
    for spec in specs:
        policy = make_policy(spec, env)
        out[spec] = np.array([rollout(env, policy, seed=s).episode_return / scale
                              for s in tqdm(range(seeds), desc=spec, leave=False)])
    return out


def run_settings(run: Path) -> dict:
    """What ``run``'s ``config.yml`` (written by ``shopgym train``) records: algo, env, scenario, seed, steps and
    gamma; ``SystemExit`` naming the file when it is not a training run's."""
    cfg = run / "config.yml"
    try:
        data = yaml.safe_load(cfg.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise SystemExit(f"{str(cfg)!r}: not readable ({type(e).__name__}); give a run folder of shopgym train.") from None
    if not isinstance(data, dict) or not {"algo", "env_id", "scenario", "seed"} <= set(data):
        raise SystemExit(f"{str(cfg)!r} does not name algo, env_id, scenario and seed: not a shopgym train run.")
    return {"algo": data["algo"], "env": data["env_id"], "scenario": data["scenario"], "seed": data["seed"],
            "steps": data.get("timesteps"), "gamma": (data.get("hyperparams") or {}).get("gamma")}


def body(res: dict[str, np.ndarray], agent: str, scenario: str, seeds: int, run: Path, wall: float | None,
         settings: dict) -> str:
    """The section's text: the table, the target's verdict (on the CI: Met when its lower end reaches the target,
    Not met when its upper end stays below, open otherwise) and the retraining command, from ``settings``
    (``run_settings``)."""
    oracle = res["myopic_oracle"]
    steps = settings.get("steps")
    trained = f"{int(steps):,} training steps" if steps else "its training steps unrecorded"
    gamma = settings.get("gamma")
    lines = [f"Scenario `{scenario}` (no shopper memory), evaluation seeds 0 .. {seeds - 1}, the same for every "
             "policy. Margin: the episode's recommendation margin (currency), mean ± 95% CI; % of the myopic oracle: "
             "the ratio of mean margins ± its paired 95% CI (delta method). The agent: "
             f"`{agent}`, `{settings['algo']}` trained on `{settings['env']}` with the scenario `{settings['scenario']}`"
             + (f" (gamma {gamma})" if gamma is not None else "") + f", {trained}"
             + (f", {wall / 60:.1f} min of training wall time on the shared 2-core machine" if wall else "") + ".",
             "", "| policy | margin | % of the myopic oracle |", "|---|---|---|"]
    for spec, vals in res.items():
        ratio, half = ratio_ci(vals, oracle)
        lines.append(f"| {spec} | {format_ci(vals)} | {100 * ratio:.1f} ± {100 * half:.1f} |")
    ratio, half = ratio_ci(res[agent], oracle)
    verdict = ("Met" if ratio - half >= TARGET else "Not met" if ratio + half < TARGET
               else "Open (the CI straddles the target)")
    command = COMMAND.format(algo=settings["algo"], env=settings["env"], scenario=settings["scenario"],
                             seed=settings["seed"], out=run)
    lines += ["", f"- No-memory scenario, the best agent reaches >= {100 * TARGET:.0f}% of the myopic oracle: "
              f"**{verdict}** ({agent}: {100 * ratio:.1f} ± {100 * half:.1f}%; judged on the 95% CI). The oracle reads "
              "each shopper's hidden preference vector; an agent sees the observation (segment, price-sensitivity "
              "tertile, counts, the mean embedding of what the shopper clicked, the candidates' features). For "
              "comparison, the shares of the within-episode bandits and of the privileged `taste_oracle` (the true "
              "model on the best linear read of the preferences from the observable record) are in target (c) of the "
              "main section above.",
              "", f"Retrain: `{command}`."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agent", default="sb3:runs/recommend-agents/ppo-recommend-s0", help="a trained policy spec")
    p.add_argument("--seeds", type=int, default=5, help="evaluation seeds 0 .. N-1")
    p.add_argument("--scenario", default="recommend")
    p.add_argument("--out", default=str(ROOT / "docs" / "recommend.md"))
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    prefix, _, folder = args.agent.partition(":")
    if prefix + ":" not in TRAINED_PREFIXES or not folder:
        p.error(f"--agent {args.agent!r}: give a trained agent as PREFIX:DIR, PREFIX one of "
                f"{', '.join(TRAINED_PREFIXES)} (e.g. sb3:runs/recommend-agents/ppo-recommend-s0).")
    if args.seeds < 2:
        p.error(f"--seeds {args.seeds}: give at least 2 evaluation seeds (a 95% CI needs two episodes).")
    run = Path(folder)
    if not (run / "config.yml").is_file():
        raise SystemExit(f"--agent {args.agent!r}: no trained run there; train it first: "
                         + COMMAND.format(algo="ppo", env="shopgym/Recommend-v0", scenario=args.scenario, seed=0,
                                          out=run))
    settings = run_settings(run)
    if settings["scenario"] != args.scenario:
        raise SystemExit(f"--agent {args.agent!r} was trained on scenario {settings['scenario']!r}, not "
                         f"{args.scenario!r}; give --scenario {settings['scenario']} or an agent trained on it.")
    start = time.time()
    res = margins(args.scenario, ["myopic_oracle", args.agent, "random"], args.seeds)
    timings = run.parent / "timings.json"
    wall = json.loads(timings.read_text()).get(run.name, {}).get("wall_s") if timings.is_file() else None
    text = body(res, args.agent, args.scenario, args.seeds, run, wall, settings)
    print(text)
    write_section(Path(args.out), "nomemory-agent", "A trained agent on the no-memory scenario", text,
                  f"python benchmarks/recommend_agent_nomemory.py --agent {args.agent} --seeds {args.seeds}",
                  time.time() - start, "torch threads 1")


if __name__ == "__main__":
    main()
