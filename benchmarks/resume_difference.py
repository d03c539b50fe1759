"""How much a killed-and-resumed SB3 run differs from an uninterrupted one when its env cannot be restored.

Envs with a native vector version (``shopgym/Restock-v0``) resume exactly (``agents/sb3_resume.py``,
``tests/agents/test_resume_identical.py``). Other envs (e.g. ``CartPole-v1`` under ``DummyVecEnv``) restart
their training episodes on resume; this script measures what that changes: per seed, it trains once
uninterrupted and once killed at the first rollout start at or after ``--kill-at`` steps then re-run, and
reports the greedy evaluation mean of both final models (episodes with seeds 0..``--episodes``-1).

    python benchmarks/resume_difference.py            # PPO on CartPole-v1, 20000 steps, killed at 10000, seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
import yaml

from agents import sb3

#: RL Zoo's PPO section for CartPole-v1 (agents/hyperparams/ppo.yml), checkpoints every 4096 steps.
SECTION = {"n_envs": 8, "n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.98, "n_epochs": 20,
           "ent_coef": 0.0, "learning_rate": 0.001, "clip_range": 0.2, "eval_freq": 10**9, "n_eval_episodes": 1,
           "checkpoint_freq": 4096}


class Killed(Exception):
    """Stands for ``kill -9`` at a rollout start."""


def evaluate(model, env_id: str, episodes: int) -> float:
    """Mean greedy episode return on seeds ``0..episodes-1``."""
    env, returns = gym.make(env_id), []
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, _ = env.step(int(model.predict(obs, deterministic=True)[0]))
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def one_seed(env_id: str, steps: int, kill_at: int, seed: int, episodes: int, root: Path) -> dict:
    hp = root / "hp.yml"
    hp.write_text(yaml.safe_dump({env_id: SECTION}))
    kw = dict(timesteps=steps, seed=seed, hyperparams_file=hp, progress_bar=False, command=["resume_difference"])
    whole = sb3.train("ppo", env_id, root / "whole", **kw)
    start = sb3.LatestCheckpoint._on_rollout_start

    def killing(self):
        if self.model.num_timesteps >= kill_at:
            raise Killed
        start(self)

    sb3.LatestCheckpoint._on_rollout_start = killing
    try:
        sb3.train("ppo", env_id, root / "resumed", **kw)
    except Killed:
        pass
    finally:
        sb3.LatestCheckpoint._on_rollout_start = start
    resumed = sb3.train("ppo", env_id, root / "resumed", **kw)
    same = all(torch.equal(a, b) for a, b in zip(whole.policy.state_dict().values(),
                                                  resumed.policy.state_dict().values(), strict=True))
    return {"seed": seed, "uninterrupted": evaluate(whole, env_id, episodes),
            "resumed": evaluate(resumed, env_id, episodes), "identical_weights": same}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--kill-at", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--episodes", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # the expected "episodes restart on resume" warning
    rows = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(one_seed(args.env, args.steps, args.kill_at, seed, args.episodes, Path(tmp)))
        print(json.dumps(rows[-1]), flush=True)
    for key in ("uninterrupted", "resumed"):
        print(f"{key}: mean {np.mean([r[key] for r in rows]):.2f} over seeds {args.seeds}")


if __name__ == "__main__":
    main()
