"""Trained agents as ``Policy`` objects: ``load_policy("sb3:DIR")`` or ``load_policy("dqn:DIR")``.

``DIR`` is a run directory written by ``shopgym train`` (``agents.sb3.train`` or
``agents.dqn.run.train``); the policy is its final model, or its best-evaluated one when the run's
hyperparameters say ``select: best``. The policy acts greedily. A model trained on the continuous restock
variant can act on the discrete one (and back): its order quantities are mapped to the env's action
by ``RestockView.action_for_orders``, which rounds to the order step exactly as the continuous env does.
"""

from __future__ import annotations

import io
import json
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

import shopgym  # noqa: F401  (registers the shopgym envs)
from agents.dqn.spaces import describe, short
from agents.hyperparams import HyperparameterError, read_run_config
from shopgym.errors import ModelFileError, ShopgymError


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
        self.observation_space, self.action_space = observation_space, model_action_space
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
    """Map a model's restock action (order levels or units) to the env's restock action (Ads-v0: bid multipliers
    or levels, ``_ads_translator``)."""
    view = getattr(env.unwrapped, "view", None)
    if getattr(env.unwrapped, "kind", None) == "ads":
        return _ads_translator(name, env, model_space)
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


def _ads_translator(name: str, env: gym.Env, model_space: spaces.Space):
    """Map a model's Ads-v0 action to the env's variant: multipliers (``Box``) to the nearest discrete level, or
    levels to their multipliers (``AdsView.multiplier_of_level``)."""
    view = env.unwrapped.view
    if isinstance(model_space, spaces.Box) and not view.continuous:
        def to_levels(a):
            lam = np.clip(np.asarray(a, dtype=np.float64), 0.0, view.max_multiplier)
            level = np.rint(lam / view.max_multiplier * (view.levels - 1)).astype(np.int64)
            return int(level.ravel()[0]) if view.n_campaigns == 1 else level
        return to_levels
    if isinstance(model_space, (spaces.Discrete, spaces.MultiDiscrete)) and view.continuous:
        return lambda a: view.multiplier_of_level[np.asarray(a, dtype=np.int64)].reshape(view.n_campaigns).astype(
            np.float32)
    raise ValueError(f"policy {name} acts in {model_space}, the env in {env.action_space}; they differ.")


def _run_config(directory: Path) -> dict[str, Any]:
    cfg = read_run_config(directory)
    if cfg is None:
        raise FileNotFoundError(f"{directory} holds no trained run (config.yml is missing); train one with `shopgym train`.")
    return cfg


def load_sb3(directory: str | Path, env: gym.Env | None = None, name: str | None = None) -> TrainedPolicy:
    """A policy from an SB3 run directory (``model.zip`` and, if normalised, ``vecnormalize.pkl``), loaded
    without running code from the files (``agents.sb3_safe_load``: SB3's own loads unpickle)."""
    from agents.sb3 import make_envs, model_class
    from agents.sb3_safe_load import load_model, load_vecnormalize

    directory = Path(directory)
    cfg = _run_config(directory)
    if cfg["algo"] == "shopgym-dqn":
        raise HyperparameterError(f"{directory} is a shopgym-dqn run; load it as dqn:{directory}.")
    best = cfg.get("select") == "best" and (directory / "best" / "best_model.zip").exists()
    model_path, norm_path = ((directory / "best" / "best_model.zip", directory / "best" / "vecnormalize.pkl") if best
                             else (directory / "model.zip", directory / "vecnormalize.pkl"))
    with warnings.catch_warnings():  # SB3 re-reads a saved n-step buffer's settings and warns; acting needs no buffer
        warnings.filterwarnings("ignore", message="`n_steps=", category=UserWarning)
        model = load_model(model_class(cfg), model_path, device="cpu", for_acting=True)
    norm = None
    if norm_path.exists():
        dummy = make_envs(cfg, 1, seed=0)
        norm = load_vecnormalize(norm_path, dummy)
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
    try:
        model = DQN.load(model_dir, load_buffer=False)
    except (OSError, ValueError, KeyError, TypeError, EOFError, RuntimeError, pickle.UnpicklingError) as e:
        if isinstance(e, ShopgymError):
            raise
        fault = (f"{str(model_dir / 'model.pt')!r} holds objects other than tensors and plain data, so it was not "
                 "loaded (loading it could run code)" if isinstance(e, pickle.UnpicklingError) else _dqn_fault(model_dir))
        if fault is None:  # every file reads: not a file fault (e.g. the env's spaces changed)
            raise
        raise ModelFileError(f"{fault} ({type(e).__name__}); re-run the training command in "
                             f"{str(directory / 'run.json')!r} (it resumes from the last checkpoint) to write it again.") from e
    return TrainedPolicy(name or f"dqn:{directory}", model.predict, model.observation_space, model.action_space, env)


#: Keys that ``DQN.load`` reads from each JSON file of a saved model.
_DQN_KEYS = {
    "hyperparameters.json": ("format", "algo", "config", "seed", "env_id", "env_kwargs", "observation_space",
                             "action_space"),
    "state.json": ("num_timesteps", "n_updates", "n_episodes", "total_timesteps", "steps_since_train",
                   "last_target_update", "rng"),
}


def _dqn_fault(model_dir: Path) -> str | None:
    """Which file of a saved DQN folder is broken, and how (called once its load has failed); ``None`` if
    each file is present and parses."""
    for name in ("hyperparameters.json", "model.pt", "state.json"):
        path = model_dir / name
        if not path.is_file():
            return f"{str(path)!r} is missing"
        data = path.read_bytes()
        if not data:
            return f"{str(path)!r} is empty (0 bytes: the save was interrupted)"
        if name.endswith(".json"):
            try:
                obj = json.loads(data)
            except (ValueError, UnicodeDecodeError):
                return f"{str(path)!r} is not valid JSON (corrupt or truncated)"
            missing = [k for k in _DQN_KEYS[name] if k not in obj] if isinstance(obj, dict) else ["(a JSON object)"]
            if missing:
                return f"{str(path)!r} lacks {missing}"
        elif not zipfile.is_zipfile(io.BytesIO(data)):
            return f"{str(path)!r} is not a torch model file (corrupt, truncated or another kind of file)"
    return None


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
    cfg = read_run_config(path) if env is not None else None
    if (cfg is not None and cfg.get("env_id") == "shopgym/AdsResidual-v0"
            and env.action_space == env.unwrapped.action_space):  # a plain Ads-v0 env: the policy keeps the pacing
        from shopgym.envs.ads_actions import ResidualPolicy

        inner = loader(path, None, name=spec)
        return ResidualPolicy(inner, env, cfg["env_kwargs"], inner.observation_space, name=spec)
    return loader(path, env, name=spec)
