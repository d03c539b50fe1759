"""Structured action modes of ``shopgym/Restock-v0``, as wrappers: days of forecast cover, and a residual (s, S).

Both wrap a Restock env (``gymnasium.make("shopgym/Restock-v0", ...)``, discrete or continuous) and keep
its observation, reward, termination and info; only the action changes. Each wrapper turns its action
into order quantities (units) from the last observation (``RestockView.parse``) and hands the base
env the action that orders them (``RestockView.action_for_orders``: clipped to ``[0, max_order]``,
rounded to ``order_step``). They hold no simulation logic and import nothing from ``agents``, so SB3
and our DQN train on them unchanged.

- ``CoverAction``: action = days of forecast cover per SKU. The order-up-to level is ``cover x`` the
  mean daily forecast over the protection period (``forecast_lead / (lead_time + 1)``, units/day); the
  order is ``max(0, rint(level - inventory position))``. Cover 0 orders nothing.
- ``ResidualSS``: action = per-SKU multiplicative adjustments of a tuned (s, S) in
  ``[1 / max_scale, max_scale]``; the zero action is exactly the (s, S) heuristic
  (``agents.heuristics.SSPolicy`` with the same ``z, cover``; a test keeps them equal), so a learner
  starts from it and can only learn changes to it.

Both cap orders near the end of the horizon as the heuristics do (``agents.heuristics.end_of_horizon_cap``):
never more than the expected demand of the remaining days can absorb, nothing that would arrive after
the last day.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from shopgym.errors import ActionError, ScenarioError

#: Observation fields the wrappers need (``forecast_in_obs = true``, the default).
_NEEDS = ("forecast_today", "forecast_lead")


def _inventory_position(f: dict[str, np.ndarray]) -> np.ndarray:
    """On hand + on order - backorders (units), per SKU."""
    pipe = sum((v for k, v in f.items() if k.startswith("pipeline_")), np.zeros_like(f["on_hand"]))
    return f["on_hand"] + pipe - f["backlog"]


def _horizon_cap(orders: np.ndarray, f: dict[str, np.ndarray], horizon: int) -> np.ndarray:
    """``agents.heuristics.end_of_horizon_cap``: the same rule, here because envs never import agents."""
    remaining = horizon - np.rint(f["elapsed"] * horizon)
    cap = np.maximum(f["forecast_today"] * remaining - _inventory_position(f), 0)
    return np.where(remaining > f["lead_time"], np.minimum(orders, np.ceil(cap)), 0)


def _demand_std(mean: np.ndarray, days: np.ndarray, dispersion: float) -> np.ndarray:
    """``agents.heuristics.demand_std``: standard deviation of negative-binomial demand over ``days`` days."""
    var = mean + (mean**2 / (dispersion * np.maximum(days, 1)) if dispersion > 0 else 0.0)
    return np.sqrt(var)


def ss_levels(f: dict[str, np.ndarray], z: float, cover: float, dispersion: float) -> tuple[np.ndarray, np.ndarray]:
    """The (s, S) heuristic's levels (units, per SKU) from parsed observation fields, exactly as
    ``agents.heuristics.SSPolicy`` computes them: ``s = rint(lead demand + z x std)``,
    ``S = max(rint(s + cover x daily demand), s + 1)``."""
    daily, lead_mean = f["forecast_today"], f["forecast_lead"]
    s = np.rint(lead_mean + z * _demand_std(lead_mean, f["lead_time"] + 1, dispersion))
    return s, np.maximum(np.rint(s + cover * daily), s + 1)


class _OrderWrapper(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Base: remembers the last observation and maps a structured action to the base env's action."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        base = env.unwrapped
        self.view = base.view
        if not all(k in self.view.field_index for k in _NEEDS):
            raise ScenarioError(f"{type(self).__name__} needs the forecast in the observation: set scenario key "
                                "forecast_in_obs = true (the default).")
        self.horizon = base.world.horizon
        self._obs: np.ndarray | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs = obs
        return obs, info

    def step(self, action):
        if self._obs is None:
            raise RuntimeError("call reset() before step().")
        obs, reward, terminated, truncated, info = self.env.step(self.base_action(action))
        self._obs = obs
        return obs, reward, terminated, truncated, info

    def base_action(self, action):
        """The base env's action for ``action`` in the last observed state."""
        return self.view.action_for_orders(self.orders(action, self.view.parse(self._obs)))

    def orders(self, action, f: dict[str, np.ndarray]) -> np.ndarray:
        """Order quantities (units, ``(n_skus,)``) of ``action`` given parsed observation fields ``f``."""
        raise NotImplementedError

    def _checked(self, action) -> np.ndarray:
        space = self.action_space
        a = np.asarray(action)
        if a.size != int(np.prod(space.shape)) and not (isinstance(space, spaces.Discrete) and a.size == 1):
            raise ActionError(f"action must have shape {space.shape}, got shape {a.shape}.")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ActionError(f"action contains NaN or inf: {action!r}.")
        a = a.reshape(space.shape) if space.shape else a.reshape(())
        if not space.contains(a.astype(space.dtype)):
            raise ActionError(f"action {action!r} is outside the action space {space}; clip it (SB3 does so for "
                              "Box spaces).")
        return a


class CoverAction(_OrderWrapper):
    """Order up to ``cover`` days of forecast demand, per SKU.

    Action: ``Box(0, max_cover, (n_skus,), float32)`` in days, or with ``levels`` (cover days, e.g.
    ``[0, 3, 7, 14, 21]``) one level index per SKU: ``Discrete(len(levels))`` for one SKU,
    ``MultiDiscrete`` for more. Order per SKU (units): ``max(0, rint(cover x forecast_lead / (lead_time + 1)
    - inventory position))``, capped near the horizon's end, clipped to ``max_order``.

    Args:
        env: a Restock env (``forecast_in_obs = true``).
        max_cover: the largest cover (days) of the Box action.
        levels: discrete cover levels (days, non-negative); ``None`` for the Box action.
    """

    def __init__(self, env: gym.Env, max_cover: float = 35.0, levels: Sequence[float] | None = None):
        gym.utils.RecordConstructorArgs.__init__(self, max_cover=max_cover, levels=levels)
        super().__init__(env)
        n = self.view.n_skus
        if levels is not None:
            self.levels = np.asarray(levels, dtype=np.float64)
            if self.levels.ndim != 1 or len(self.levels) < 2 or (self.levels < 0).any() or \
                    not np.isfinite(self.levels).all():
                raise ScenarioError(f"levels = {list(levels)!r} must be at least two finite cover days >= 0.")
            k = len(self.levels)
            self.action_space = spaces.Discrete(k) if n == 1 else spaces.MultiDiscrete(np.full(n, k))
        else:
            if not (np.isfinite(max_cover) and max_cover > 0):
                raise ScenarioError(f"max_cover = {max_cover!r} must be a positive number of days.")
            self.levels = None
            self.action_space = spaces.Box(0.0, float(max_cover), (n,), dtype=np.float32)

    def cover_days(self, action) -> np.ndarray:
        """Cover (days, ``(n_skus,)``) of ``action``."""
        a = self._checked(action)
        if self.levels is not None:
            return self.levels[np.asarray(a, dtype=np.int64).reshape(-1)]
        return np.asarray(a, dtype=np.float64).reshape(-1)

    def orders(self, action, f):
        daily = f["forecast_lead"] / (f["lead_time"] + 1)
        raw = np.maximum(np.rint(self.cover_days(action) * daily - _inventory_position(f)), 0)
        return _horizon_cap(raw, f, self.horizon)


class ResidualSS(_OrderWrapper):
    """A residual policy around a tuned (s, S): per-SKU multiplicative adjustments of ``s`` and ``S``.

    Action: ``Box(-1, 1, (2 x n_skus,), float32)``: the first ``n_skus`` entries ``a_s`` adjust ``s``, the
    next ``a_S`` adjust ``S``: ``s' = rint(s x max_scale ** a_s)``, ``S' = max(rint(S x max_scale ** a_S),
    s' + 1)`` (units), then the (s, S) rule: when the inventory position is at most ``s'``, order up to
    ``S'``. The zero action reproduces ``agents.heuristics.SSPolicy(view, z, cover)`` exactly (same orders,
    same trajectory), end-of-horizon cap included.

    Args:
        env: a Restock env (``forecast_in_obs = true``).
        z, cover: the (s, S) parameters (safety factor; days of cover), e.g. tuned by
            ``agents.tuning.tune(scenario, "sS")``.
        max_scale: the largest factor (``> 1``); actions scale ``s`` and ``S`` within ``[1 / max_scale, max_scale]``.
    """

    def __init__(self, env: gym.Env, z: float, cover: float, max_scale: float = 2.0):
        gym.utils.RecordConstructorArgs.__init__(self, z=z, cover=cover, max_scale=max_scale)
        super().__init__(env)
        for name, value in (("z", z), ("cover", cover)):
            if not np.isfinite(value):
                raise ScenarioError(f"{name} = {value!r} must be a finite number (tune it: agents.tuning.tune).")
        if not (np.isfinite(max_scale) and max_scale > 1):
            raise ScenarioError(f"max_scale = {max_scale!r} must be a number > 1 (e.g. 2.0).")
        self.z, self.cover, self.max_scale = float(z), float(cover), float(max_scale)
        self.dispersion = env.unwrapped.scenario.demand.dispersion
        self.action_space = spaces.Box(-1.0, 1.0, (2 * self.view.n_skus,), dtype=np.float32)

    def orders(self, action, f):
        a = np.asarray(self._checked(action), dtype=np.float64).reshape(2, -1)
        s, big_s = ss_levels(f, self.z, self.cover, self.dispersion)
        s2 = np.rint(s * self.max_scale ** a[0])
        big_s2 = np.maximum(np.rint(big_s * self.max_scale ** a[1]), s2 + 1)
        pos = _inventory_position(f)
        return _horizon_cap(np.where(pos <= s2, big_s2 - pos, 0.0), f, self.horizon)
