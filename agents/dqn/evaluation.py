"""Greedy evaluation of any observation -> action function on a Gymnasium env (episodes by ``shopgym.rollout``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from shopgym.rollout import ActPolicy, rollout


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
    episodes = [rollout(env, ActPolicy(act), int(seed), max_steps=max_steps) for seed in seeds]
    return EvalResult(np.array([e.episode_return for e in episodes]), np.array([e.length for e in episodes]))
