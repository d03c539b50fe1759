"""Greedy evaluation of any observation -> action function on a Gymnasium env."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np


@dataclass
class EvalResult:
    """Returns (sum of rewards, the env's reward unit) and lengths (steps) of each evaluation episode."""

    returns: np.ndarray
    lengths: np.ndarray

    @property
    def mean(self) -> float:
        return float(self.returns.mean())

    @property
    def std(self) -> float:
        return float(self.returns.std())


def evaluate(act: Callable[[np.ndarray], object], env: gym.Env, seeds: list[int], max_steps: int = 1_000_000) -> EvalResult:
    """Run one episode per seed (``env.reset(seed=s)``) acting with ``act(obs)``; episodes stop at
    termination, truncation or ``max_steps``."""
    returns, lengths = [], []
    for seed in seeds:
        obs, _ = env.reset(seed=int(seed))
        total, steps, done = 0.0, 0, False
        while not done and steps < max_steps:
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            total += float(reward)
            steps += 1
            done = terminated or truncated
        returns.append(total)
        lengths.append(steps)
    return EvalResult(np.array(returns), np.array(lengths))
