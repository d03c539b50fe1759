"""Play one episode of a Gymnasium env with a policy: its return, length, KPIs and (optionally) trajectory.

The one episode loop of the project: the benchmark runner, our DQN's evaluation during training and
``shopgym evaluate`` all call ``rollout``, so an episode means the same thing everywhere (reset with
the seed, reset the policy with the same seed, act until termination or truncation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Per-SKU daily flows (units) of a Restock env's ``info`` that a recorded trajectory keeps.
TRAJECTORY_KEYS = ("on_hand", "ordered", "received", "demand", "sold", "lost", "expired")
#: Per-session outcomes of a Recommend env's ``info`` that a recorded trajectory sums per day (counts, then currency).
SESSION_KEYS = ("clicks", "purchases", "stockouts_hit", "session_revenue", "session_margin")
#: Per-tick outcomes of an Ads env's ``info`` that a recorded trajectory keeps (after ``day, tick``): counts, then
#: currency, then the pacing ratio.
ADS_KEYS = ("wins", "purchases", "spend", "ad_margin", "budget_left", "pacing")


@dataclass
class Episode:
    """One episode's results.

    ``episode_return``: sum of the rewards (the env's reward unit, e.g. profit x ``reward_scale``);
    ``length``: steps taken; ``kpis``: the env's ``info["episode_kpis"]`` at the last step (empty when the
    env reports none, e.g. CartPole); ``profit``: ``kpis["profit"]`` (currency, unscaled; ``nan`` without
    KPIs); ``trajectory``: one row per day and SKU when recorded (see ``rollout``).
    """

    seed: int
    profit: float
    kpis: dict[str, float]
    trajectory: pd.DataFrame | None = None
    episode_return: float = 0.0
    length: int = 0


class ActPolicy:
    """A ``Policy`` around a bare ``act(obs) -> action`` function (nothing to reset), e.g. a model's ``predict``."""

    def __init__(self, act: Callable[[np.ndarray], object]):
        self.act = act

    def reset(self, seed: int | None = None) -> None:
        """Nothing to reset: the function has no state."""


def rollout(env, policy, seed: int, record: bool = False, max_steps: int | None = None) -> Episode:
    """Play one episode with ``policy`` (``reset(seed)``, ``act(obs)``) from ``env.reset(seed=seed)``.

    The episode ends at termination, truncation or after ``max_steps`` steps (no limit by default).
    The trajectory (when ``record``) of a Restock env has one row per day and SKU: ``day, sku`` and the
    per-SKU flows of ``TRAJECTORY_KEYS`` in units; of a Recommend env (``kind == "recommend"``) one row per
    day: ``day, sessions`` and the day's sums of ``SESSION_KEYS`` (``_session_days``); of an Ads env (``kind ==
    "ads"``) one row per tick: ``day, tick`` and ``ADS_KEYS``.
    """
    obs, _ = env.reset(seed=int(seed))
    policy.reset(seed)
    rows: list[np.ndarray] = []
    total, steps, done = 0.0, 0, False
    info: dict = {}
    sessions = record and getattr(env.unwrapped, "kind", "restock") == "recommend"
    ticks = record and getattr(env.unwrapped, "kind", "restock") == "ads"  # one row per tick
    while not done and (max_steps is None or steps < max_steps):
        day = env.unwrapped.world.day if sessions else 0  # the day of the session served next (public state)
        obs, reward, terminated, truncated, info = env.step(policy.act(obs))
        total += float(reward)
        steps += 1
        done = terminated or truncated
        if sessions:
            rows.append(np.array([day, *(info[k] for k in SESSION_KEYS)], dtype=float))
        elif ticks:
            rows.append(np.array([info["day"], info["tick"], *(info[k] for k in ADS_KEYS)], dtype=float))
        elif record:
            rows.append(np.stack([np.asarray(info[k], dtype=float) for k in TRAJECTORY_KEYS], axis=-1))
    kpis = info.get("episode_kpis", {})
    if ticks:
        traj = pd.DataFrame(np.stack(rows), columns=["day", "tick", *ADS_KEYS]).astype({"day": int, "tick": int})
    else:
        traj = (_session_days(rows) if sessions else _trajectory(rows)) if record else None
    return Episode(seed=seed, profit=float(kpis.get("profit", np.nan)), kpis=kpis, trajectory=traj,
                   episode_return=total, length=steps)


def _trajectory(rows: list[np.ndarray]) -> pd.DataFrame:
    """The recorded per-day ``(sku, key)`` arrays as a long frame: ``day, sku`` then ``TRAJECTORY_KEYS``."""
    arr = np.stack(rows)  # (day, sku, key)
    days, skus = np.meshgrid(np.arange(arr.shape[0]), np.arange(arr.shape[1]), indexing="ij")
    traj = pd.DataFrame(arr.reshape(-1, len(TRAJECTORY_KEYS)), columns=list(TRAJECTORY_KEYS))
    traj.insert(0, "sku", skus.ravel())
    traj.insert(0, "day", days.ravel())
    return traj


def _session_days(rows: list[np.ndarray]) -> pd.DataFrame:
    """The recorded sessions (``day`` then ``SESSION_KEYS``) summed per day, every day up to the last session's:
    ``day, sessions, clicks, purchases, stockouts_hit`` (counts), ``revenue, margin`` (recommendation-driven,
    currency)."""
    per = pd.DataFrame(np.stack(rows), columns=["day", *SESSION_KEYS]).astype({k: int for k in ("day", *SESSION_KEYS[:3])})
    days = per.groupby("day").sum().rename(columns={"session_revenue": "revenue", "session_margin": "margin"})
    days.insert(0, "sessions", per.groupby("day").size())
    return days.reindex(range(int(per["day"].max()) + 1), fill_value=0).rename_axis("day").reset_index()
