"""Policies that act on shopgym envs: heuristics, exact optima, our DQN and Stable-Baselines3 glue.

Nothing in the world core or the envs imports this package.
"""

from agents.policy import Policy

__all__ = ["Policy"]
