"""What a Stable-Baselines3 checkpoint needs beyond ``model.zip`` for a resume identical to an uninterrupted run.

SB3's ``save`` keeps the networks, the optimizers, the counters and ``_last_obs`` (the observations the
next step acts on), and ``save_replay_buffer``/``VecNormalize.save`` keep the replay buffer and the
observation statistics. Four things are lost, and ``save_state``/``restore_state`` keep them as plain
data (``sb3_state.json`` and ``sb3_state.npz``, nothing pickled):

- the random generators: loading a model re-seeds python's ``random``, numpy's global generator and
  torch's CPU generator with the run's seed (``_setup_model`` calls ``set_random_seed``), so a resumed
  run would replay the random numbers of the run's start (PPO's action sampling, DQN's exploration and
  replay sampling); their states, and the action space's generator, are restored;
- the episodes in progress: a training env is rebuilt fresh, so the envs' episodes restart. Envs with a
  native vector version (``RestockVectorEnv`` under ``NativeVecEnv``) save and restore them
  (``get_state``/``set_state``); other envs restart their episodes on resume, with a warning, and such
  a run then differs from an uninterrupted one;
- ``VecNormalize.returns`` (the running discounted return that scales rewards), which SB3 does not pickle;
- ``VecMonitor``'s episode returns and lengths so far (logs only).

Checkpoints are taken where a rollout starts (``agents.sb3.LatestCheckpoint``): there the rollout buffer
is empty (PPO, A2C) and no partial ``train_freq`` count is pending (DQN, SAC), so nothing else is needed.
On ``shopgym/Restock-v0`` a killed and re-run PPO, A2C, DQN (Double-DQN too) or SAC run ends with the
weights of an uninterrupted one, tensor for tensor (``tests/agents/test_resume_identical.py`` for PPO and DQN).

What is not exact: envs without ``get_state`` (Gymnasium's own, e.g. CartPole, under ``DummyVecEnv``). Their
state (physics, ``TimeLimit`` counters, generators) lives in objects SB3 and Gymnasium offer no way to save,
so their episodes restart on resume (seeded ``train seed + steps done``) and the run continues as a different,
equally valid, run. Measured with ``python benchmarks/resume_difference.py`` (PPO, RL Zoo's CartPole-v1
settings, 20000 steps, killed at 10000, greedy mean return over 20 episodes): seed 0 305.55 uninterrupted vs
500.00 resumed, seed 1 483.00 vs 373.65, seed 2 500.00 vs 500.00; means 429.52 vs 457.88. The difference is
of the size of the seed-to-seed spread: a resumed run is another training run, not a worse one.
"""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecMonitor, VecNormalize

from shopgym.envs.episode_state import env_state_from, write_state_files

JSON, NPZ = "sb3_state.json", "sb3_state.npz"


def _layers(venv: VecEnv) -> list[VecEnv]:
    """``venv`` and every vector env it wraps, outermost first."""
    out = [venv]
    while hasattr(out[-1], "venv"):
        out.append(out[-1].venv)
    return out


def _native(venv: VecEnv):
    """The Gymnasium vector env under ``NativeVecEnv`` when it can save its episodes (``get_state``), else ``None``."""
    inner = _layers(venv)[-1]
    return inner if hasattr(getattr(inner, "unwrapped", inner), "get_state") else None


def save_state(model: BaseAlgorithm, folder: Path) -> None:
    """Write ``sb3_state.json``/``.npz`` of ``model`` into ``folder`` (see the module docstring)."""
    py = random.getstate()
    np_state = np.random.get_state(legacy=False)  # noqa: NPY002  (SB3 draws from numpy's global generator)
    meta: dict[str, Any] = {
        "python": [py[0], list(py[1]), py[2]], "numpy": {**np_state, "state": {"pos": np_state["state"]["pos"]}},
        "action_space": model.action_space.np_random.bit_generator.state,
    }
    arrays: dict[str, np.ndarray] = {"numpy_key": np.asarray(np_state["state"]["key"]),
                                     "torch": torch.get_rng_state().numpy()}
    venv = model.get_env()
    for layer in _layers(venv):
        if isinstance(layer, VecNormalize):
            arrays["vecnormalize_returns"] = np.asarray(layer.returns)
        if isinstance(layer, VecMonitor):
            arrays["monitor_returns"], arrays["monitor_lengths"] = layer.episode_returns, layer.episode_lengths
    native = _native(venv)
    env_state = native.unwrapped.get_state() if native is not None else None
    write_state_files(folder / JSON, folder / NPZ, meta, arrays, env_state)


def restore_state(model: BaseAlgorithm, folder: Path) -> bool:
    """Put back what ``save_state`` kept; call it after loading, just before ``learn``. Returns whether
    the episodes in progress were restored (if not, the envs are reset on ``learn``, with a warning)."""
    if not (folder / JSON).exists():
        model._last_obs = None  # a checkpoint of an older version: let learn() reset the envs
        warnings.warn(f"{folder} holds no {JSON}: training episodes restart on resume.", UserWarning, stacklevel=2)
        return False
    meta = json.loads((folder / JSON).read_text())
    with np.load(folder / NPZ) as data:
        arrays = dict(data)
    py = meta["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    np_state = meta["numpy"]
    np_state["state"]["key"] = arrays["numpy_key"]
    np.random.set_state(np_state)  # noqa: NPY002
    torch.set_rng_state(torch.from_numpy(arrays["torch"]))
    model.action_space.np_random.bit_generator.state = meta["action_space"]
    venv = model.get_env()
    for layer in _layers(venv):
        if isinstance(layer, VecNormalize) and "vecnormalize_returns" in arrays:
            layer.returns = arrays["vecnormalize_returns"]
        if isinstance(layer, VecMonitor) and "monitor_returns" in arrays:
            layer.episode_returns, layer.episode_lengths = arrays["monitor_returns"], arrays["monitor_lengths"]
    native = _native(venv)
    if meta["env_state"] is None or native is None:
        model._last_obs = None  # SB3's learn() then resets the envs
        warnings.warn(f"{folder}: the env cannot save or restore its episodes (no get_state/set_state), so training "
                      "episodes restart on resume and the resumed run differs from an uninterrupted one.",
                      UserWarning, stacklevel=2)
        return False
    native.unwrapped.set_state(env_state_from(meta, arrays))
    return True
