"""Trained agents as ``Policy`` objects: ``load_policy("sb3:DIR")`` or ``load_policy("dqn:DIR")``.

``DIR`` is a run directory written by ``shopgym train`` (``agents.sb3.train`` or
``agents.dqn.run.train``); the policy is its final model, or its best-evaluated one when the run's
hyperparameters say ``select: best``. The policy acts greedily. A model trained on the continuous restock
variant can act on the discrete one (and back): its order quantities are mapped to the env's action
by ``RestockView.action_for_orders``, which rounds to the order step exactly as the continuous env does.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

import shopgym  # noqa: F401  (registers the shopgym envs)
from agents.dqn.spaces import describe, short
from agents.hyperparams import HyperparameterError, read_run_config


class TrainedPolicy:
    """A greedy trained agent behind the ``Policy`` protocol.

    Args:
        name: the spec it was loaded from (``sb3:DIR`` or ``dqn:DIR``).
        predict: maps one observation to one action of the model's action space.
        model_action_space: the action space the model was trained with.
        env: when given, the env it will act on; its action space may be the restock variant
            (discrete or continuous) of the model's, in which case actions are translated.
    """

    def __init__(self, name: str, predict, observation_space: spaces.Space, model_action_space: spaces.Space,
                 env: gym.Env | None = None):
        self.name = name
        self._predict = predict
        self.translate = None
        if env is not None:
            if describe(env.observation_space) != describe(observation_space):
                raise ValueError(f"policy {name} was trained on observations {short(describe(observation_space))}, "
                                 f"the env has {short(describe(env.observation_space))}; use the scenario it was trained on.")
            if describe(env.action_space) != describe(model_action_space):
                self.translate = _restock_translator(name, env, model_action_space)

    def reset(self, seed: int | None = None) -> None:
        """Trained policies are deterministic and keep no state between episodes."""

    def act(self, obs: np.ndarray) -> Any:
        action = self._predict(obs)
        return self.translate(action) if self.translate else action


def _restock_translator(name: str, env: gym.Env, model_space: spaces.Space):
    """Map a model's restock action (order levels or units) to the env's restock action."""
    view = getattr(env.unwrapped, "view", None)
    if view is None or not hasattr(view, "action_for_orders"):
        raise ValueError(f"policy {name} acts in {model_space}, the env in {env.action_space}; they differ.")
    step = view.order_step
    if isinstance(model_space, spaces.Box):
        def to_orders(a):
            return np.clip(np.asarray(a, dtype=np.float64), model_space.low, model_space.high)
    elif isinstance(model_space, (spaces.Discrete, spaces.MultiDiscrete)):
        def to_orders(a):
            return np.asarray(a, dtype=np.float64) * step
    else:
        raise ValueError(f"policy {name} has action space {model_space}, which no restock env has.")
    return lambda a: view.action_for_orders(np.rint(to_orders(a) / step) * step)


def _run_config(directory: Path) -> dict[str, Any]:
    cfg = read_run_config(directory)
    if cfg is None:
        raise FileNotFoundError(f"{directory} holds no trained run (config.yml is missing); train one with `shopgym train`.")
    return cfg


def load_sb3(directory: str | Path, env: gym.Env | None = None, name: str | None = None) -> TrainedPolicy:
    """A policy from an SB3 run directory (``model.zip`` and, if normalised, ``vecnormalize.pkl``)."""
    from stable_baselines3.common.vec_env import VecNormalize

    from agents.sb3 import make_envs, model_class

    directory = Path(directory)
    cfg = _run_config(directory)
    if cfg["algo"] == "shopgym-dqn":
        raise HyperparameterError(f"{directory} is a shopgym-dqn run; load it as dqn:{directory}.")
    best = cfg.get("select") == "best" and (directory / "best" / "best_model.zip").exists()
    model_path, norm_path = ((directory / "best" / "best_model.zip", directory / "best" / "vecnormalize.pkl") if best
                             else (directory / "model.zip", directory / "vecnormalize.pkl"))
    with warnings.catch_warnings():  # SB3 re-reads a saved n-step buffer's settings and warns; acting needs no buffer
        warnings.filterwarnings("ignore", message="`n_steps=", category=UserWarning)
        model = model_class(cfg).load(model_path, device="cpu")
    norm = None
    if norm_path.exists():
        dummy = make_envs(cfg, 1, seed=0)
        norm = VecNormalize.load(str(norm_path), dummy)
        norm.training = False

    def predict(obs):
        o = np.asarray(obs, dtype=np.float32)[None]
        if norm is not None:
            o = norm.normalize_obs(o)
        action = model.predict(o, deterministic=True)[0][0]
        return int(action) if isinstance(model.action_space, spaces.Discrete) else action

    return TrainedPolicy(name or f"sb3:{directory}", predict, model.observation_space, model.action_space, env)


def load_dqn(directory: str | Path, env: gym.Env | None = None, name: str | None = None) -> TrainedPolicy:
    """A policy from a run directory of our DQN (``model/``), or from a saved model directory itself."""
    from agents.dqn import DQN

    directory = Path(directory)
    cfg = read_run_config(directory) or {}
    if cfg.get("env_id") == "shopgym/RestockPerSKU-v0":
        raise HyperparameterError(f"{directory} is a per-SKU run; load it as dqn-sku:{directory}.")
    sub = "best" if cfg.get("select") == "best" and (directory / "best" / "hyperparameters.json").exists() else "model"
    model_dir = directory / sub if (directory / sub / "hyperparameters.json").exists() else directory
    model = DQN.load(model_dir, load_buffer=False)
    return TrainedPolicy(name or f"dqn:{directory}", model.predict, model.observation_space, model.action_space, env)


def load_policy(spec: str, env: gym.Env | None = None):
    """A trained agent from ``"sb3:DIR"``, ``"dqn:DIR"`` or ``"dqn-sku:DIR"`` (a ``TrainedPolicy``, or an
    ``agents.per_sku.PerSKUPolicy``); with ``env``, its spaces are checked against it."""
    kind, sep, path = spec.partition(":")
    if not sep or kind not in ("sb3", "dqn", "dqn-sku") or not path:
        raise ValueError(f"trained-policy spec {spec!r} must be 'sb3:DIR', 'dqn:DIR' or 'dqn-sku:DIR'.")
    if kind == "dqn-sku":  # the shared per-SKU Q-net of agents.per_sku
        from agents.per_sku import load_per_sku

        return load_per_sku(path, env, name=spec)
    loader = load_sb3 if kind == "sb3" else load_dqn
    return loader(path, env, name=spec)
