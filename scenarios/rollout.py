"""Kept for imports written before the episode loop moved: ``rollout`` now lives in ``shopgym.rollout``."""

from shopgym.rollout import TRAJECTORY_KEYS, Episode, rollout

__all__ = ["TRAJECTORY_KEYS", "Episode", "rollout"]
