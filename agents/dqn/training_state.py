"""The part of a DQN checkpoint that lets training resume exactly: the episodes in progress.

A resumed run must continue, not restart, what it was doing: the envs' episodes (``get_state`` of a
vector env that has one: ``RestockVectorEnv``, ``PerSKUVectorEnv``), the current observations, which
copies are at their autoreset step, each copy's return and length so far, the n-step transitions not
yet complete, and the observations collected for the observation scaling before learning starts.
They are saved as ``episode.json`` (small values, generator states) and ``episode.npz`` (arrays):
plain data, nothing pickled. Counters, the RNG, the reward mean, networks, optimizer and replay
buffer are saved by ``DQN.save``.

An env without ``get_state``/``set_state`` (a ``SyncVectorEnv`` of Gymnasium envs, e.g. CartPole) cannot
be put back mid-episode: its training episodes restart on resume (from seed ``seed + steps taken``),
with a warning, and the resumed run differs from an uninterrupted one.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from agents.dqn.buffer import NStepAccumulator
from shopgym.envs.episode_state import env_state_from, write_state_files

if TYPE_CHECKING:
    from agents.dqn.dqn import DQN

JSON, NPZ = "episode.json", "episode.npz"


def save_episode(model: DQN, path: Path) -> None:
    """Write ``episode.json`` and ``episode.npz`` of ``model``'s training in progress into folder ``path``."""
    meta: dict[str, Any] = {"started": model._obs is not None}
    arrays: dict[str, np.ndarray] = {}
    env_state = None
    if model._obs is not None:
        pending = [list(acc.pending) for acc in model._nstep]
        arrays.update(obs=np.asarray(model._obs), prev_done=np.asarray(model._prev_done),
                      ep_return=np.asarray(model._ep_return), ep_len=np.asarray(model._ep_len),
                      nstep_counts=np.array([len(p) for p in pending], dtype=np.int64),
                      nstep_obs=_stack([t[0] for p in pending for t in p], (0, model.obs_dim), np.float32),
                      nstep_actions=np.array([t[1] for p in pending for t in p], dtype=np.int64),
                      nstep_rewards=np.array([t[2] for p in pending for t in p], dtype=np.float64),
                      warmup_obs=_stack(model._warmup_obs, (0, model.obs_dim), np.float32, concat=True))
        get_state = getattr(model.envs.unwrapped, "get_state", None)
        if get_state is not None:
            env_state = get_state()
    write_state_files(path / JSON, path / NPZ, meta, arrays, env_state)


def load_episode(model: DQN, path: Path) -> None:
    """Put back the training in progress saved in folder ``path`` (if any; see the module docstring)."""
    if not (path / JSON).exists():
        return
    meta = json.loads((path / JSON).read_text())
    if not meta["started"]:
        return
    set_state = getattr(model.envs.unwrapped, "set_state", None)
    if meta["env_state"] is None or set_state is None:
        warnings.warn(f"{path}: the env cannot save or restore its episodes (no get_state/set_state), so training "
                      "episodes restart on resume and the resumed run differs from an uninterrupted one.",
                      UserWarning, stacklevel=3)
        return
    with np.load(path / NPZ) as data:
        arrays = dict(data)
    set_state(env_state_from(meta, arrays))
    c, n_envs = model.config, model.envs.num_envs
    model._obs = arrays["obs"]
    model._prev_done = arrays["prev_done"]
    model._ep_return, model._ep_len = arrays["ep_return"], arrays["ep_len"]
    model._nstep = [NStepAccumulator(c.n_step, c.gamma) for _ in range(n_envs)]
    start = 0
    for acc, count in zip(model._nstep, arrays["nstep_counts"], strict=True):
        for j in range(start, start + int(count)):
            acc.pending.append((arrays["nstep_obs"][j], arrays["nstep_actions"][j], float(arrays["nstep_rewards"][j])))
        start += int(count)
    warmup = arrays["warmup_obs"]
    model._warmup_obs = [warmup] if len(warmup) else []


def _stack(items: list, empty_shape: tuple[int, ...], dtype, concat: bool = False) -> np.ndarray:
    if not items:
        return np.zeros(empty_shape, dtype=dtype)
    return (np.concatenate if concat else np.stack)(items).astype(dtype)
