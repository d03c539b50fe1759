"""Run a policy for one episode of an env and collect its return, KPIs and (optionally) its trajectory."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TRAJECTORY_KEYS = ("on_hand", "ordered", "received", "demand", "sold", "lost", "expired")


@dataclass
class Episode:
    """One episode's results: ``profit`` (currency, unscaled), episode KPIs, optional daily trajectory."""

    seed: int
    profit: float
    kpis: dict[str, float]
    trajectory: pd.DataFrame | None = None


def rollout(env, policy, seed: int, record: bool = False) -> Episode:
    """Play one episode with ``policy`` from ``env.reset(seed=seed)``.

    The trajectory (when ``record``) has one row per day and SKU: ``day, sku`` and the per-SKU flows
    of ``TRAJECTORY_KEYS`` in units.
    """
    obs, _ = env.reset(seed=seed)
    policy.reset(seed)
    rows: list[np.ndarray] = []
    done = False
    info: dict = {}
    while not done:
        obs, _, terminated, truncated, info = env.step(policy.act(obs))
        done = terminated or truncated
        if record:
            rows.append(np.stack([np.asarray(info[k], dtype=float) for k in TRAJECTORY_KEYS], axis=-1))
    kpis = info["episode_kpis"]
    traj = None
    if record:
        arr = np.stack(rows)  # (day, sku, key)
        days, skus = np.meshgrid(np.arange(arr.shape[0]), np.arange(arr.shape[1]), indexing="ij")
        traj = pd.DataFrame(arr.reshape(-1, len(TRAJECTORY_KEYS)), columns=list(TRAJECTORY_KEYS))
        traj.insert(0, "sku", skus.ravel())
        traj.insert(0, "day", days.ravel())
    return Episode(seed=seed, profit=float(kpis["profit"]), kpis=kpis, trajectory=traj)
