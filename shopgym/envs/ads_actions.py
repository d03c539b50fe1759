"""A residual action mode of ``shopgym/Ads-v0``: bounded per-campaign adjustments of stock-aware dual pacing.

``ResidualPacing`` wraps an Ads env (``gymnasium.make("shopgym/Ads-v0", continuous=True, ...)``) and keeps its
termination and info (and its reward, unless ``expected_reward``); the action and the observation change. ``ResidualPacingVector`` does the same for the
native vector env (``gymnasium.make_vec(..., vectorization_mode="vector_entry_point")``), one row per world, with the
single wrapper's trajectories. Both are registered as ``shopgym/AdsResidual-v0``, so ``shopgym train`` (SB3 and our
DQN) and RL Zoo 3 train on it by env id. They hold no simulation logic and import nothing from ``agents``.

**The base bid** is what ``agents.ads_heuristics.dual_pacing_stock`` (the best pacing baseline) bids, recomputed here
from the observations (``PacingCore``, since envs never import agents; ``tests/envs/test_ads_actions.py`` keeps the
two equal on every ads scenario): adaptive dual pacing (Balseiro and Gur 2019), multiplier ``1 / (1 + mu)`` with
``mu <- max(0, mu + eta (spend of the tick - target) / mean target)`` after each tick (``eta = 0.05``, ``mu`` starts
at 0 and carries over from day to day), then no bid on a campaign with stock cover below 0.1 days or nothing in stock,
and the others' multiplier x the share of their SKUs in stock.

**The action** scales that base per campaign: ``lambda = clip(base x max_scale ** a, 0, max_multiplier)`` with
``a`` in ``[-1, 1]``:

- ``levels=None``: ``Box(-1, 1, (n_campaigns,), float32)``, one ``a`` per campaign (SB3 PPO and SAC);
- ``levels=L`` (odd, >= 3): ``Discrete(L)``, level ``k`` means ``a = -1 + 2k / (L - 1)`` for *every* campaign
  jointly (SB3 DQN and our DQN need ``Discrete``; a joint scale keeps the action set small, and the campaigns
  already differ through their own ``mu`` and stock rule). Level ``L // 2`` is ``a = 0``.

``a = 0`` (zero vector, or level ``L // 2``) bids exactly ``dual_pacing_stock``'s multipliers, so the trajectory is
that baseline's, tick for tick: a learner starts from it and learns only changes to it. A campaign the base does not
bid on (``base = 0``: out of stock) stays at 0, whatever the action.

**The observation** is Ads-v0's (``AdsEnv``'s table), then with ``extra_obs=True`` three entries per campaign
(campaign ``c`` at ``n_base + 3c``): the base multiplier / max_multiplier (``[0, 1]``), the dual multiplier
``1 / (1 + mu)`` before the stock rule (``(0, 1]``), and the pacing error: the share of today's traffic elapsed
minus today's spend / today's budget (``[-1, 1]``; positive: spending behind traffic). Unit-free.

**The reward** is Ads-v0's (ad margin - spend of the tick, x ``reward_scale``), or with ``expected_reward=True`` its
expectation given the impressions won: the sum over them of (value - price paid), where the value is the expected
margin of the ad shown (p(click) x p(cart | click) x p(purchase | cart) x margin of the best SKU in stock, 0 when none
is; ``shopgym.world.ads``). The same expected return (up to purchases that fail because a tick's earlier purchases
took the last units), without the noise of the shoppers' clicks and purchases: a training aid; benchmarks and
``shopgym evaluate`` judge the realised ad profit.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import VectorWrapper
from gymnasium.vector.utils import batch_space

from shopgym.envs.ads_view import CAMPAIGN_FIELDS, COVER_DAYS, GLOBAL_FIELDS
from shopgym.errors import ActionError, ScenarioError

#: Registered id of the residual action mode (``shopgym/__init__.py``).
RESIDUAL_ENV_ID = "shopgym/AdsResidual-v0"
#: Keyword arguments of ``make_residual_env`` that configure the wrapper (the others go to ``AdsEnv``).
WRAPPER_ARGS = ("levels", "max_scale", "extra_obs", "expected_reward")
#: Those of them that shape the action and observation (``ResidualCore``).
CORE_ARGS = ("levels", "max_scale", "extra_obs")
#: Extra observation entries per campaign with ``extra_obs=True``.
EXTRA_FIELDS = ("base_multiplier", "dual_multiplier", "pacing_error")
_G, _F = len(GLOBAL_FIELDS), len(CAMPAIGN_FIELDS)
_IDX = {name: j for j, name in enumerate(CAMPAIGN_FIELDS)}


class PacingCore:
    """``dual_pacing_stock`` for a batch of worlds: the base multipliers ``(n, n_campaigns)`` of each observation.

    Same arithmetic, in the same order, as ``agents.ads_heuristics.DualPacing`` inside ``StockAware`` (float64 on
    the float32 observation), so a batch row equals the heuristic run on that world alone.

    Args:
        view: the env's ``AdsView`` (campaigns, ticks per day, traffic shares, max multiplier).
        n: worlds (rows).
        eta, mu0: the dual step size and starting ``mu`` (``DualPacing``'s defaults).
        min_cover_days: stock cover (days) below which a campaign bids nothing (``StockAware``'s default).
    """

    def __init__(self, view, n: int, eta: float = 0.05, mu0: float = 0.0, min_cover_days: float = 0.1):
        self.n, self.c = int(n), view.n_campaigns
        self.ticks_per_day, self.max_multiplier = view.ticks_per_day, view.max_multiplier
        self.elapsed = np.asarray(view.elapsed, dtype=np.float64)
        self.eta, self.mu0, self.min_cover_days = float(eta), float(mu0), float(min_cover_days)
        self.reset()

    def reset(self) -> None:
        """A new episode in every row: ``mu = mu0``, no previous tick."""
        self.mu = np.full((self.n, self.c), self.mu0)
        self._tick = np.full(self.n, -1, dtype=np.int64)
        self._spend = np.zeros((self.n, self.c))
        self._seen = np.zeros(self.n, dtype=bool)
        self.dual = np.ones((self.n, self.c))
        self.pacing_error = np.zeros((self.n, self.c))

    def step(self, obs: np.ndarray) -> np.ndarray:
        """Update ``mu`` with the tick just run and return the base multipliers ``(n, c)`` for the next tick; call
        once per observation (the reset one included), as a policy's ``act`` is."""
        obs = np.asarray(obs, dtype=np.float64).reshape(self.n, _G + _F * self.c)
        camp = obs[:, _G:].reshape(self.n, self.c, _F)
        budget_left, spend = camp[..., _IDX["budget_left"]], camp[..., _IDX["spend_today"]]
        left = np.rint(obs[:, 0] * self.ticks_per_day).astype(np.int64)
        t = np.clip(self.ticks_per_day - left, 0, self.ticks_per_day - 1)
        budget = budget_left + spend
        update = self._seen & (t == self._tick + 1)
        if update.any():
            spent = spend - self._spend
            target = budget * (self.elapsed[t] - self.elapsed[t - 1])[:, None]
            mean_target = np.maximum(budget / self.ticks_per_day, 1e-12)
            mu = np.maximum(0.0, self.mu + self.eta * (spent - target) / mean_target)
            self.mu = np.where(update[:, None], mu, self.mu)
        self._tick, self._spend, self._seen = t, spend.copy(), np.ones(self.n, dtype=bool)
        self.dual = 1.0 / (1.0 + self.mu)
        share = np.where(budget > 0, spend / np.maximum(budget, 1e-12), 1.0)
        self.pacing_error = self.elapsed[t][:, None] - share
        cover, in_stock = camp[..., _IDX["stock_cover"]], camp[..., _IDX["in_stock_share"]]
        low = (cover * COVER_DAYS < self.min_cover_days) | (in_stock <= 0)
        return np.clip(np.where(low, 0.0, self.dual * in_stock), 0.0, self.max_multiplier)


class ResidualCore:
    """The residual mode's spaces and conversions for ``n`` worlds of one Ads scenario (shared by the single and the
    vector wrapper and by ``ResidualPolicy``).

    Args:
        view: the base env's ``AdsView``.
        n: worlds.
        levels, max_scale, extra_obs: see the module docstring.
    """

    def __init__(self, view, n: int, levels: int | None = None, max_scale: float = 2.0, extra_obs: bool = True):
        if not (isinstance(max_scale, (int, float)) and np.isfinite(max_scale) and max_scale > 1):
            raise ScenarioError(f"max_scale = {max_scale!r} must be a number > 1 (e.g. 2.0: the action scales the "
                                "base multiplier within [1/2, 2]).")
        if levels is not None and (isinstance(levels, bool) or not isinstance(levels, (int, np.integer))
                                   or levels < 3 or levels % 2 == 0):
            raise ScenarioError(f"levels = {levels!r} must be an odd integer >= 3 (the middle level is the base "
                                "policy), or None for a Box action.")
        self.view, self.n, self.c = view, int(n), view.n_campaigns
        self.levels, self.max_scale, self.extra_obs = levels, float(max_scale), bool(extra_obs)
        self.pacing = PacingCore(view, n)
        self.base = np.zeros((self.n, self.c))
        if levels is None:
            self.action_space = spaces.Box(-1.0, 1.0, (self.c,), dtype=np.float32)
            self.zero_action = np.zeros(self.c, dtype=np.float32)
        else:
            self.action_space = spaces.Discrete(int(levels))
            self.zero_action = int(levels) // 2
        self.level_values = None if levels is None else np.linspace(-1.0, 1.0, int(levels))
        base = view.observation_space
        if extra_obs:
            low = np.concatenate([base.low, np.tile(np.array([0.0, 0.0, -1.0], np.float32), self.c)])
            high = np.concatenate([base.high, np.ones(3 * self.c, np.float32)])
            self.observation_space = spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
        else:
            self.observation_space = base

    def reset(self) -> None:
        self.pacing.reset()

    def observe(self, obs: np.ndarray) -> np.ndarray:
        """Base observations ``(n, n_base)`` -> the wrapper's ``(n, size)``; updates the pacing state (once per
        observation)."""
        obs = np.asarray(obs, dtype=np.float32).reshape(self.n, -1)
        self.base = self.pacing.step(obs)
        if not self.extra_obs:
            return obs
        p = self.pacing
        extra = np.stack([self.base / self.view.max_multiplier, p.dual, np.clip(p.pacing_error, -1.0, 1.0)], axis=-1)
        return np.concatenate([obs, extra.reshape(self.n, 3 * self.c).astype(np.float32)], axis=1)

    def exponents(self, actions) -> np.ndarray:
        """The exponents ``a`` ``(n, c)`` of a batch of actions (one row per world); ``ActionError`` naming the
        problem for anything outside the action space."""
        a = np.asarray(actions)
        if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
            raise ActionError(f"residual action must hold numbers, got dtype {a.dtype}.")
        if self.levels is None:
            if a.shape != (self.n, self.c):
                raise ActionError(f"residual action must have shape ({self.c},) (one exponent in [-1, 1] per "
                                  f"campaign), got {a.shape[1:]}; pass an element of env.action_space.")
            a = a.astype(np.float64)
            if not np.isfinite(a).all():
                raise ActionError(f"residual action must be finite, got {a.ravel()[:8]}.")
            if (np.abs(a) > 1 + 1e-6).any():
                raise ActionError(f"residual action must lie in [-1, 1], got values in [{a.min():g}, {a.max():g}]; "
                                  "clip it to the action space (SB3 does so for Box spaces).")
            return np.clip(a, -1.0, 1.0)
        if a.shape not in ((self.n,), (self.n, 1)):
            raise ActionError(f"residual action must be one int level per env, got shape {a.shape[1:]}.")
        a = a.reshape(self.n)
        if np.issubdtype(a.dtype, np.floating) and (~np.isfinite(a) | (a != np.round(a))).any():
            raise ActionError(f"residual levels must be integers in [0, {self.levels - 1}], got {a[:8]}.")
        k = a.astype(np.int64)
        if (k < 0).any() or (k >= self.levels).any():
            raise ActionError(f"residual levels must be integers in [0, {self.levels - 1}] (level {self.levels // 2}"
                              f" is the base policy), got values in [{k.min()}, {k.max()}].")
        return np.repeat(self.level_values[k][:, None], self.c, axis=1)

    def multipliers(self, actions) -> np.ndarray:
        """Bid multipliers ``(n, c)`` float32 of a batch of actions in the last observed state: ``clip(base x
        max_scale ** a, 0, max_multiplier)`` (``a = 0``: the base multipliers exactly)."""
        a = self.exponents(actions)
        lam = np.clip(self.base * self.max_scale**a, 0.0, self.view.max_multiplier)
        return lam.astype(np.float32)


def expected_rewards(world, reward_scale: float) -> np.ndarray:
    """Per world, the expected ad margin of the last tick's impressions won minus their price (currency x
    ``reward_scale``, ``(n_worlds,)``), from the world's public ``last_ad_tick``."""
    tick = world.last_ad_tick
    won = np.asarray(tick.won, dtype=bool)
    gain = (np.asarray(tick.value, np.float64) - np.asarray(tick.price, np.float64))[won]
    return np.bincount(np.asarray(tick.world, np.int64)[won], weights=gain, minlength=world.n_worlds) * reward_scale


def _check_base(env) -> None:
    base = env.unwrapped
    if getattr(base, "kind", None) != "ads" or not getattr(base.view, "continuous", False):
        raise ScenarioError("the residual action mode wraps shopgym/Ads-v0 with continuous=True (a multiplier per "
                            "campaign): gymnasium.make('shopgym/Ads-v0', continuous=True, ...), or use "
                            f"gymnasium.make({RESIDUAL_ENV_ID!r}, ...).")


class ResidualPacing(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Ads-v0 with a residual action around ``dual_pacing_stock`` (see the module docstring).

    Args:
        env: ``gymnasium.make("shopgym/Ads-v0", continuous=True, ...)``.
        levels: ``None`` for ``Box(-1, 1, (n_campaigns,))``; an odd ``L >= 3`` for ``Discrete(L)`` (joint scale).
        max_scale: the largest factor (``> 1``) on the base multiplier; actions scale it within
            ``[1 / max_scale, max_scale]``.
        extra_obs: append the base multiplier, the dual multiplier and the pacing error per campaign.
        expected_reward: reward the expected ad profit of the tick's impressions (module docstring).

    Example:
        >>> import gymnasium as gym, shopgym
        >>> env = gym.make("shopgym/AdsResidual-v0", scenario="ads-steady")
        >>> obs, _ = env.reset(seed=0)
        >>> obs, reward, *_ = env.step(env.action_space.sample())
        >>> obs.shape == env.observation_space.shape
        True
    """

    def __init__(self, env: gym.Env, levels: int | None = None, max_scale: float = 2.0, extra_obs: bool = True,
                 expected_reward: bool = False):
        gym.utils.RecordConstructorArgs.__init__(self, levels=levels, max_scale=max_scale, extra_obs=extra_obs,
                                                 expected_reward=expected_reward)
        _check_base(env)
        super().__init__(env)
        self.core = ResidualCore(env.unwrapped.view, 1, levels, max_scale, extra_obs)
        self.expected_reward = bool(expected_reward)
        self.action_space = self.core.action_space
        self.observation_space = self.core.observation_space
        self._started = False

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self.core.reset()
        self._started = True
        return self.core.observe(obs[None])[0], info

    def step(self, action):
        if not self._started:
            raise RuntimeError("call reset() before step().")
        lam = self.core.multipliers(np.asarray(action)[None])[0]
        obs, reward, terminated, truncated, info = self.env.step(lam)
        if self.expected_reward:
            base = self.env.unwrapped
            reward = float(expected_rewards(base.world, base.scenario.env.reward_scale)[0])
        return self.core.observe(obs[None])[0], reward, terminated, truncated, info


class ResidualPacingVector(VectorWrapper):
    """``ResidualPacing`` over the native vector env (``AdsVectorEnv``): one pacing state per world, reset with the
    worlds (also on Gymnasium's next-step autoreset, whose action is ignored).

    Args:
        env: ``gymnasium.make_vec("shopgym/Ads-v0", num_envs=N, vectorization_mode="vector_entry_point",
            continuous=True, ...)``.
        levels, max_scale, extra_obs, expected_reward: as for ``ResidualPacing``.
    """

    def __init__(self, env, levels: int | None = None, max_scale: float = 2.0, extra_obs: bool = True,
                 expected_reward: bool = False):
        _check_base(env)
        super().__init__(env)
        self.core = ResidualCore(env.unwrapped.view, env.num_envs, levels, max_scale, extra_obs)
        self.expected_reward = bool(expected_reward)
        self.single_action_space = self.core.action_space
        self.single_observation_space = self.core.observation_space
        self.action_space = batch_space(self.single_action_space, env.num_envs)
        self.observation_space = batch_space(self.single_observation_space, env.num_envs)
        self._done = False

    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        self.core.reset()
        self._done = False
        return self.core.observe(obs), info

    def step(self, actions):
        if self._done:  # the autoreset step: the base env ignores the action and returns the new episodes
            lam = np.zeros((self.num_envs, self.core.c), dtype=np.float32)
        else:
            lam = self.core.multipliers(actions)
        obs, rewards, terms, truncs, infos = self.env.step(lam)
        if self.expected_reward and not self._done:
            base = self.env.unwrapped
            rewards = expected_rewards(base.world, base.scenario.env.reward_scale)
        if self._done:
            self.core.reset()
        self._done = bool(np.any(terms) or np.any(truncs))
        return self.core.observe(obs), rewards, terms, truncs, infos


def _split(kwargs: dict[str, Any]) -> tuple[dict, dict]:
    wrapper = {k: kwargs.pop(k) for k in WRAPPER_ARGS if k in kwargs}
    if "continuous" in kwargs and not kwargs.pop("continuous"):
        raise ScenarioError(f"{RESIDUAL_ENV_ID} acts on the continuous Ads-v0; for a discrete action pass levels=L "
                            "(odd), not continuous=False.")
    return wrapper, kwargs


def make_residual_env(**kwargs: Any) -> ResidualPacing:
    """``gymnasium.make("shopgym/AdsResidual-v0", scenario=..., levels=None, max_scale=2.0, extra_obs=True,
    expected_reward=False, **keys)``: ``ResidualPacing`` around ``AdsEnv(continuous=True, **keys)`` (scenario keys
    override by name, as for Ads-v0)."""
    from shopgym.envs.ads import AdsEnv

    wrapper, rest = _split(dict(kwargs))
    return ResidualPacing(AdsEnv(continuous=True, **rest), **wrapper)


def make_residual_vector_env(num_envs: int = 1, **kwargs: Any) -> ResidualPacingVector:
    """``gymnasium.make_vec("shopgym/AdsResidual-v0", num_envs=N, vectorization_mode="vector_entry_point", ...)``:
    ``ResidualPacingVector`` around ``AdsVectorEnv``."""
    from shopgym.envs.ads_vector import AdsVectorEnv

    wrapper, rest = _split(dict(kwargs))
    return ResidualPacingVector(AdsVectorEnv(num_envs=num_envs, continuous=True, **rest), **wrapper)


class ResidualPolicy:
    """A model trained on ``shopgym/AdsResidual-v0`` acting on a plain Ads-v0 env (``Policy`` protocol): it keeps
    the pacing state, feeds the model the residual observation and turns its action into the env's (multipliers,
    or the nearest discrete level, as ``agents.ads_heuristics.AdsHeuristic.to_action`` rounds).

    Args:
        inner: the model's policy (``act(residual obs) -> residual action``), e.g. an ``agents.trained.TrainedPolicy``
            built without an env.
        env: the Ads-v0 env it acts on.
        wrapper_kwargs: the run's env kwargs (``levels``, ``max_scale``, ``extra_obs`` are read; the others ignored).
        observation_space: the model's observation space (checked against the residual one of ``env``).
    """

    def __init__(self, inner, env, wrapper_kwargs: dict[str, Any], observation_space: spaces.Space | None = None,
                 name: str | None = None):
        base = env.unwrapped
        if getattr(base, "kind", None) != "ads":
            raise ScenarioError(f"policy {name or inner} was trained on {RESIDUAL_ENV_ID}; it acts on shopgym/Ads-v0.")
        self.inner, self.view, self.name = inner, base.view, name or getattr(inner, "name", "residual")
        self.core = ResidualCore(self.view, 1, **{k: wrapper_kwargs[k] for k in CORE_ARGS if k in wrapper_kwargs})
        if observation_space is not None and observation_space.shape != self.core.observation_space.shape:
            raise ValueError(f"policy {self.name} was trained on observations of shape {observation_space.shape}, this "
                             f"env gives {self.core.observation_space.shape}; use the scenario it was trained on.")

    def reset(self, seed: int | None = None) -> None:
        self.core.reset()
        self.inner.reset(seed)

    def act(self, obs):
        lam = self.core.multipliers(np.asarray(self.inner.act(self.core.observe(np.asarray(obs)[None])[0]))[None])[0]
        view = self.view
        if view.continuous:
            return lam
        level = np.rint(lam.astype(np.float64) / view.max_multiplier * (view.levels - 1)).astype(np.int64)
        return int(level[0]) if view.n_campaigns == 1 else level
