"""Watch a policy run a shop: record one Restock episode as a video with Gymnasium's ``RecordVideo``.

    pip install -e ".[video]"
    python examples/watch.py --policy sS --scenario seasonal --days 120 --out videos

writes ``videos/<policy>-<scenario>-episode-0.mp4``: a chart of the last 60 days (stock, pipeline,
orders, demand, sales, daily profit), ``render_fps`` days per second. ``--policy`` is a built-in
policy (``sS``, ``base_stock``, ``critical_fractile``, ...; tunable ones are tuned on first use and
cached) or a trained agent (``sb3:runs/ppo-quickstart``, ``dqn:DIR``, ``dqn-sku:DIR``) trained on
the same scenario.
"""

from __future__ import annotations

import argparse
import re

import gymnasium as gym
from gymnasium.wrappers import RecordVideo

import shopgym  # noqa: F401  (registers the shopgym envs)
from agents.registry import make_policy


def main(argv: list[str] | None = None) -> str:
    """Record the episode; returns the video's path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="sS", help="built-in policy name or sb3:DIR / dqn:DIR / dqn-sku:DIR")
    parser.add_argument("--scenario", default="seasonal", help="shipped scenario name or path to a .toml file")
    parser.add_argument("--days", type=int, default=None, help="episode length in days (default: the scenario's)")
    parser.add_argument("--seed", type=int, default=0, help="episode seed")
    parser.add_argument("--out", default="videos", help="folder for the video")
    args = parser.parse_args(argv)

    keys = {} if args.days is None else {"horizon": args.days}
    env = gym.make("shopgym/Restock-v0", scenario=args.scenario, render_mode="rgb_array", **keys)
    policy = make_policy(args.policy, env)
    prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{args.policy}-{args.scenario}")
    env = RecordVideo(env, args.out, name_prefix=prefix, episode_trigger=lambda episode: episode == 0,
                      disable_logger=True)
    obs, _ = env.reset(seed=args.seed)
    policy.reset(args.seed)
    terminated = truncated = False
    while not (terminated or truncated):
        obs, _, terminated, truncated, info = env.step(policy.act(obs))
    env.close()
    path = f"{args.out}/{prefix}-episode-0.mp4"
    print(f"{path}: {policy.name} on {args.scenario}, seed {args.seed}, profit {info['episode_kpis']['profit']:,.0f}")
    return path


if __name__ == "__main__":
    main()
