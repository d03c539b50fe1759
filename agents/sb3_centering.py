"""Reward centering for Stable-Baselines3's off-policy algorithms (``normalize: {center_reward: true}``).

A discounted learner with ``gamma`` near 1 on rewards with a large mean ``r̄`` estimates values near
``r̄ / (1 - gamma)``; the differences between actions that matter (an order's fixed cost, a few
units of margin) are a small fraction of that, and TD noise on the common part swamps them. Reward
centering (Naik et al., 2024, "Reward Centering") learns from ``r - r̄`` instead. Subtracting one
constant from every reward shifts every action value of the discounted problem by the same
``r̄ / (1 - gamma)`` (time limits are bootstrapped through, as SB3 does), so the greedy policy is
unchanged.

``CenteringVecNormalize`` is SB3's ``VecNormalize`` plus that: ``r̄`` is the running mean of the
raw rewards seen while training (env reward units, e.g. currency x ``reward_scale`` per day),
updated on every step while ``training`` is on and saved with the statistics. SB3's replay buffers
normalise rewards when they sample, so every sampled reward (and every term of an n-step return)
is centred with the current ``r̄``; evaluation and the logged episode returns stay raw. On-policy
algorithms (PPO, A2C) learn from the rollout's rewards instead, so ``resolve`` refuses the key for them.
"""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecEnv, VecNormalize


class CenteringVecNormalize(VecNormalize):
    """``VecNormalize`` that can also centre rewards; with ``center_reward=False`` it is ``VecNormalize``.

    Args:
        venv: the vector env to wrap.
        center_reward: subtract the running mean reward (before any ``norm_reward`` scaling).
        **kwargs: ``VecNormalize``'s arguments (``norm_obs``, ``norm_reward``, ``training``, ...).
    """

    def __init__(self, venv: VecEnv, center_reward: bool = False, **kwargs):
        super().__init__(venv, **kwargs)
        self.center_reward = center_reward
        self.reward_mean = RunningMeanStd(shape=())  #: running mean of the raw rewards (env units)

    def _update_reward(self, reward: np.ndarray) -> None:
        super()._update_reward(reward)
        if self.center_reward:
            self.reward_mean.update(np.asarray(reward, dtype=np.float64).reshape(-1))

    def normalize_reward(self, reward: np.ndarray) -> np.ndarray:
        """``reward - r̄`` when centering, then ``VecNormalize``'s scaling (if ``norm_reward``)."""
        if self.center_reward:
            reward = reward - self.reward_mean.mean
        return super().normalize_reward(reward)
