"""SlateQ's settings (``agents.slateq``): the hyperparameters, their defaults, types and ranges, and their check.

``check_hyperparams`` is the one place a SlateQ hyperparameter is validated, whichever way it arrives
(``shopgym train --algo slateq`` reading ``agents/hyperparams/slateq.yml``, ``python -m agents.slateq --set``,
``agents.slateq.train``): an unknown key, a value of the wrong type or out of range is one ``HyperparameterError``
line naming the key, the value, where it came from and the fix, raised before anything is trained or written.
Numbers are parsed by ``agents.hyperparams.numbers`` (exponent text such as ``1e4`` accepted), like every algo's.
"""

from __future__ import annotations

from typing import Any

from agents.hyperparams.numbers import number as parse_number
from agents.hyperparams.numbers import step_count
from shopgym.errors import HyperparameterError

ENV_ID = "shopgym/Recommend-v0"
#: Hyperparameters of ``agents.slateq.train`` (units: env steps, i.e. sessions, unless said otherwise).
DEFAULTS: dict[str, Any] = {
    "gamma": 0.995,  # discount per session (on recommend-exact 0.98 reached 73% of the optimum, 0.995 89%:
    # docs/recommend.md, agents section)
    "learning_rate": 1e-3,
    "hidden": 64,  # width of the two hidden layers of the item network and the null network
    "batch_size": 128,
    "buffer_size": 100_000,  # sessions kept for replay
    "learning_starts": 1_000,
    "train_freq": 4,  # one gradient step every train_freq sessions
    "target_update_interval": 500,  # sessions between copies of the network into the target network
    "exploration_fraction": 0.3,  # share of the run over which epsilon falls linearly ...
    "exploration_initial_eps": 1.0,
    "exploration_final_eps": 0.05,  # ... to this (a uniformly random slate with probability epsilon)
    "reward_scale": 0.1,  # margins (currency) x this in the TD targets
    "target": "sarsa",  # "sarsa": bootstrap on the next slate shown (the paper); "q": on the best next slate
}
#: Keys of an ``agents/hyperparams/slateq.yml`` section besides the hyperparameters (``DEFAULTS``).
RUN_KEYS = ("n_timesteps", "env_kwargs")
#: Sessions to train for when neither ``--timesteps`` nor the section's ``n_timesteps`` (``shopgym train``) says.
TIMESTEPS = 50_000
#: Type and valid range of each numeric hyperparameter of ``DEFAULTS``: (int or float, test, range in words).
CHECKS: dict[str, tuple[type, Any, str]] = {
    "gamma": (float, lambda v: 0 < v <= 1, "in (0, 1]"),
    "learning_rate": (float, lambda v: v > 0, "> 0"),
    "hidden": (int, lambda v: v >= 1, ">= 1"),
    "batch_size": (int, lambda v: v >= 1, ">= 1"),
    "buffer_size": (int, lambda v: v >= 1, ">= 1"),
    "learning_starts": (int, lambda v: v >= 0, ">= 0"),
    "train_freq": (int, lambda v: v >= 1, ">= 1"),
    "target_update_interval": (int, lambda v: v >= 1, ">= 1"),
    "exploration_fraction": (float, lambda v: 0 <= v <= 1, "in [0, 1]"),
    "exploration_initial_eps": (float, lambda v: 0 <= v <= 1, "in [0, 1]"),
    "exploration_final_eps": (float, lambda v: 0 <= v <= 1, "in [0, 1]"),
    "reward_scale": (float, lambda v: v > 0, "> 0"),
}


def number(key: str, value: Any, kind: type, where: str) -> int | float:
    """``value`` of SlateQ hyperparameter ``key`` as a finite ``int`` or ``float`` (``kind``), parsed by
    ``agents.hyperparams.numbers.number`` (``1e4`` text accepted); the error names the key's default."""
    return parse_number(key, value, kind, where, DEFAULTS.get(key, TIMESTEPS), owner="SlateQ ")


def check_hyperparams(hp: dict[str, Any] | None, where: str = "the SlateQ hyperparameters") -> dict[str, Any]:
    """``DEFAULTS`` updated by ``hp``, each value checked for type and range (``CHECKS``); ``HyperparameterError``
    for an unknown key, a value of the wrong type or out of range (naming the key, the value and the valid range),
    or a bad ``target``."""
    hp = dict(hp or {})
    unknown = sorted(set(hp) - set(DEFAULTS))
    if unknown:
        raise HyperparameterError(f"unknown SlateQ hyperparameters {unknown}; the known ones: {sorted(DEFAULTS)}.")
    hp = {**DEFAULTS, **hp}
    for key, (kind, ok, valid) in CHECKS.items():
        hp[key] = number(key, hp[key], kind, where)
        if not ok(hp[key]):
            raise HyperparameterError(f"SlateQ {key}={hp[key]!r} in {where} is out of range: it must be {valid} "
                                      f"(the default is {key}: {DEFAULTS[key]}).")
    if hp["target"] not in ("sarsa", "q"):
        raise HyperparameterError(f"target {hp['target']!r}: use 'sarsa' (the next slate shown) or 'q' (the best).")
    return hp


def sessions(value: Any, key: str, where: str) -> int:
    """A number of training sessions (``n_timesteps``, ``--timesteps``) as an ``int`` >= 1 (``step_count``)."""
    return step_count(key, value, where, "session", TIMESTEPS, owner="SlateQ ")
