"""Hyperparameters of our DQN: one typed dataclass, validated in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from agents.hyperparams import HyperparameterError
from shopgym.errors import did_you_mean


@dataclass
class DQNConfig:
    """Everything that defines a DQN run besides the env and the seed.

    Steps count env transitions summed over the vector env's copies.
    """

    learning_rate: float = 1e-3  #: Adam step size at the start
    lr_final_fraction: float = 1.0  #: the step size falls linearly to learning_rate x this at the end (1 = constant)
    buffer_size: int = 100_000  #: replay capacity (transitions)
    learning_starts: int = 1_000  #: env steps of pure exploration before the first update
    batch_size: int = 64  #: transitions per gradient step
    gamma: float = 0.99  #: discount per env step
    n_step: int = 1  #: n of the n-step return (1 = plain TD)
    train_freq: int = 4  #: env steps between update rounds (summed over copies)
    gradient_steps: int = 1  #: gradient steps per update round
    target_update_interval: int = 1_000  #: env steps between target updates
    tau: float = 1.0  #: target update weight (1 = hard copy)
    double_q: bool = True  #: Double DQN target (online net picks, target net values)
    dueling: bool = True  #: dueling value/advantage head
    net_arch: list[int] = field(default_factory=lambda: [64, 64])  #: hidden layer widths
    prioritized: bool = False  #: prioritized replay (proportional)
    per_alpha: float = 0.6  #: priority exponent
    per_beta0: float = 0.4  #: initial importance-sampling exponent, annealed to 1
    per_eps: float = 1e-6  #: added to |TD error| so every priority is positive
    huber_delta: float = 1.0  #: Huber loss threshold (in reward units)
    max_grad_norm: float = 10.0  #: gradient clipping (L2 norm)
    exploration_fraction: float = 0.1  #: share of the run over which epsilon falls linearly
    exploration_initial_eps: float = 1.0  #: epsilon at step 0
    exploration_final_eps: float = 0.05  #: epsilon after the fall
    normalize_obs: bool = True  #: standardise observations with statistics frozen after learning_starts
    n_envs: int = 1  #: copies of the env stepped together
    reward_centering: bool = False  #: subtract the running mean reward from TD targets (see ``DQN``)
    reward_centering_window: int = 100_000  #: the running mean weighs about the last this many rewards (transitions)
    advantage_learning: float = 0.0  #: advantage-learning weight alpha in [0, 1): widens the action gap (0 = off)

    def __post_init__(self) -> None:
        self.net_arch = [int(w) for w in self.net_arch]
        positive = ["learning_rate", "buffer_size", "batch_size", "n_step", "train_freq", "gradient_steps",
                    "target_update_interval", "huber_delta", "max_grad_norm", "n_envs", "reward_centering_window"]
        for name in positive:
            if getattr(self, name) <= 0:
                raise HyperparameterError(f"DQN hyperparameter {name}={getattr(self, name)!r} must be > 0.")
        for name in ["lr_final_fraction", "gamma", "tau", "per_alpha", "per_beta0", "exploration_fraction",
                     "exploration_initial_eps", "exploration_final_eps"]:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise HyperparameterError(f"DQN hyperparameter {name}={getattr(self, name)!r} must be in [0, 1].")
        if not 0.0 <= self.advantage_learning < 1.0:
            raise HyperparameterError(f"DQN hyperparameter advantage_learning={self.advantage_learning!r} must be in "
                                      "[0, 1) (0 is off).")
        if self.learning_starts < 0:
            raise HyperparameterError(f"DQN hyperparameter learning_starts={self.learning_starts!r} must be >= 0.")
        if self.reward_centering and self.gamma >= 1.0:
            raise HyperparameterError(f"reward_centering needs gamma < 1 (got gamma={self.gamma!r}): with gamma = 1 "
                                      "a constant subtracted from every reward grows without bound in the return.")
        if any(w <= 0 for w in self.net_arch):
            raise HyperparameterError(f"DQN hyperparameter net_arch={self.net_arch!r} must hold positive widths.")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DQNConfig:
        """Build from a mapping; an unknown key or a value of the wrong type raises ``HyperparameterError``."""
        known = {f.name: f for f in fields(cls)}
        for key in values:
            if key not in known:
                raise HyperparameterError(
                    f"unknown DQN hyperparameter {key!r}.{did_you_mean(key, known)} Valid keys: {', '.join(known)}."
                )
        out = {}
        for key, value in values.items():
            default = getattr(cls(), key)
            if isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif isinstance(default, float):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                value = float(value) if ok else value
            else:
                ok = isinstance(value, list)
            if not ok:
                raise HyperparameterError(
                    f"DQN hyperparameter {key}={value!r} has type {type(value).__name__}; "
                    f"expected {type(default).__name__} (like the default {default!r})."
                )
            out[key] = value
        return cls(**out)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON and YAML."""
        return asdict(self)
