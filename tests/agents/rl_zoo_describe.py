"""What RL Zoo 3 builds from our hyperparameter files, described as JSON (used by ``test_rl_zoo.py``).

Importing ``rl_zoo3`` patches Gymnasium's ``TimeLimit`` and registers envs for the whole process, so
the test asks a child process::

    python tests/agents/rl_zoo_describe.py '{"log_folder": DIR, "sections": [[ALGO, ENV_ID, [KEY, ...]], ...]}'

prints ``{"ALGO|ENV_ID": description}``. ``describe`` is shared with the test, which describes the
model ``shopgym train`` builds the same way.
"""

from __future__ import annotations

import argparse
import enum
import json
import sys
from typing import Any

SCHEDULES = ("learning_rate", "clip_range")  #: compared at progress 1.0 and 0.5


def plain(value: Any) -> Any:
    """``value`` as JSON data: classes by name, enums by value, tuples (and named tuples) as lists."""
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def describe(model, keys: list[str]) -> dict[str, Any]:
    """Class, policy, spaces, normalisation and the constructor arguments ``keys`` of an SB3 model."""
    from stable_baselines3.common.vec_env import VecNormalize

    out: dict[str, Any] = {"class": plain(type(model)), "policy": plain(type(model.policy)), "n_envs": model.n_envs,
                           "action_space": repr(model.action_space), "observation_space": repr(model.observation_space),
                           "policy_kwargs": plain(model.policy_kwargs)}
    env = model.get_env()
    out["normalize"] = None
    if isinstance(env, VecNormalize):  # gamma matters only when rewards are normalised
        out["normalize"] = [env.norm_obs, env.norm_reward, env.gamma if env.norm_reward else None]
    for key in keys:
        value = getattr(model, key)
        if key in SCHEDULES:
            value = [float(value(p)) if callable(value) else float(value) for p in (1.0, 0.5)]
        out[key] = plain(value)
    return out


def main(request: dict) -> dict[str, Any]:
    """Set up each requested section with RL Zoo's ``ExperimentManager`` (everything ``rl_zoo3.train`` does
    before learning) and describe the model it built."""
    from rl_zoo3.exp_manager import ExperimentManager

    from agents.hyperparams import hyperparams_path

    out = {}
    for algo, env_id, keys in request["sections"]:
        manager = ExperimentManager(argparse.Namespace(), algo, env_id, request["log_folder"], seed=0, verbose=0,
                                    config=str(hyperparams_path(algo)), device="cpu", eval_freq=-1)
        model, _ = manager.setup_experiment()
        out[f"{algo}|{env_id}"] = {**describe(model, keys), "n_timesteps": manager.n_timesteps,
                                   "env_kwargs": plain(manager.env_kwargs)}
    return out


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
