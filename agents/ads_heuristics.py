"""Bid-pacing baselines of ``shopgym/Ads-v0``: each maps the observation to a bid multiplier per campaign.

Every policy reads only the observation (``parse_obs``: the layout of ``shopgym.envs.ads.AdsEnv``) and the env's
fixed setup (number of campaigns, the action space, the day's traffic curve ``view.elapsed``), and acts on either
action space: a multiplier per campaign with ``continuous=True``, else the nearest discrete level.

- ``truthful``: bid the estimated value (multiplier 1).
- ``fixed_multiplier``: one multiplier for every tick and campaign, tuned on training seeds (``tune_multiplier``).
- ``even_pacing``: bid truthfully while today's spend is at most the share of today's budget that the traffic so
  far (this tick included) stands for, else bid nothing: spend in proportion to elapsed traffic.
- ``pid_pacing``: a PID controller of the multiplier on the pacing error (target spend share - spend share).
- ``dual_pacing``: adaptive dual pacing (Balseiro and Gur 2019, "Learning in repeated auctions with budgets"):
  multiplier ``1 / (1 + mu)``, and after each tick ``mu <- max(0, mu + eta (spend - target) / mean target)``
  (a dual subgradient step: spending ahead of the per-tick target raises ``mu``, lowering the bid); ``mu``
  carries over from day to day.
- ``dual_pacing_stock``: ``dual_pacing`` that stops bidding on a campaign whose SKUs are close to running out
  (stock cover below ``min_cover_days``, or nothing in stock) and scales the others' multiplier by the share of
  their SKUs in stock, since the estimated value ignores stock (``shopgym.world.ads``).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from agents import tuning_cache
from shopgym.envs.ads_view import CAMPAIGN_FIELDS, COVER_DAYS, GLOBAL_FIELDS

#: Training seeds of the tuned multiplier (``shopgym.seeds``: the training range starts at 1_000_000).
TRAIN_SEED_BASE = 1_000_000
#: Candidate multipliers of ``fixed_multiplier`` (then a fine grid of ``FINE_POINTS`` within one step of the best).
MULTIPLIER_GRID = np.round(np.linspace(0.2, 1.6, 15), 4)
FINE_POINTS = 9
TUNE_METHOD = f"mean expected ad profit; coarse grid, then {FINE_POINTS} points within one step of the best"


def parse_obs(obs: np.ndarray, n_campaigns: int) -> dict[str, np.ndarray]:
    """The observation as named arrays: each of ``GLOBAL_FIELDS`` (shape ``obs.shape[:-1]``) and each of
    ``CAMPAIGN_FIELDS`` (``obs.shape[:-1] + (n_campaigns,)``), in the units of ``AdsEnv``'s docstring."""
    obs = np.asarray(obs, dtype=np.float64)
    g = len(GLOBAL_FIELDS)
    want = g + len(CAMPAIGN_FIELDS) * n_campaigns
    if obs.shape[-1] != want:
        raise ValueError(f"an Ads-v0 observation with {n_campaigns} campaigns has {want} entries, got {obs.shape[-1]}.")
    out = {name: obs[..., i] for i, name in enumerate(GLOBAL_FIELDS)}
    camp = obs[..., g:].reshape(*obs.shape[:-1], n_campaigns, len(CAMPAIGN_FIELDS))
    out.update({name: camp[..., j] for j, name in enumerate(CAMPAIGN_FIELDS)})
    return out


def expected_ad_profit(log: dict[str, np.ndarray], n_worlds: int = 1) -> np.ndarray:
    """Per world, the expected margin of the impressions won minus what they cost (currency, ``(n_worlds,)``):
    ``sum over won opportunities of value - price`` from ``World.opportunity_log()``. Its mean over seeds is the
    mean reward (ad margin - spend) without the noise of the shoppers' clicks and purchases, and it is what the
    hindsight bound (``agents.ads_hindsight``) bounds, episode by episode."""
    won = np.asarray(log["won"], dtype=bool)
    gain = np.asarray(log["value"], float) - np.asarray(log["price"], float)
    return np.bincount(np.asarray(log["world"], np.int64)[won], weights=gain[won], minlength=n_worlds)


class AdsHeuristic:
    """Shared plumbing: the env's setup, the tick of an observation, and multipliers -> action.

    Args:
        env: an Ads-v0 env (``gymnasium.make`` result or unwrapped).
    """

    name = "ads"

    def __init__(self, env):
        view = env.unwrapped.view
        self.n_campaigns, self.max_multiplier = view.n_campaigns, view.max_multiplier
        self.levels, self.continuous = view.levels, view.continuous
        self.ticks_per_day = view.ticks_per_day
        #: Share of the day's traffic before tick ``t`` (``t = 0 .. ticks_per_day``).
        self.elapsed = np.asarray(view.elapsed, dtype=np.float64)

    def reset(self, seed: int | None = None) -> None:
        """Nothing to reset (subclasses with state override it)."""

    def tick_of(self, o: dict[str, np.ndarray]) -> int:
        """The tick about to run (0 .. ticks_per_day - 1) from the observation's time left in the day."""
        left = int(np.rint(float(o["time_left_in_day"]) * self.ticks_per_day))
        return int(np.clip(self.ticks_per_day - left, 0, self.ticks_per_day - 1))

    def to_action(self, lam: np.ndarray):
        """Multipliers ``(n_campaigns,)`` as an element of the action space (clipped to ``[0, max_multiplier]``;
        discrete: the nearest level)."""
        lam = np.clip(np.asarray(lam, dtype=np.float64).reshape(self.n_campaigns), 0.0, self.max_multiplier)
        if self.continuous:
            return lam.astype(np.float32)
        level = np.rint(lam / self.max_multiplier * (self.levels - 1)).astype(np.int64)
        return int(level[0]) if self.n_campaigns == 1 else level

    def multipliers(self, o: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def act(self, obs: np.ndarray):
        return self.to_action(self.multipliers(parse_obs(obs, self.n_campaigns)))


class Truthful(AdsHeuristic):
    """Bid the estimated value: multiplier 1 on every campaign, whatever the budget."""

    name = "truthful"

    def multipliers(self, o):
        return np.ones(self.n_campaigns)


class FixedMultiplier(AdsHeuristic):
    """One multiplier ``multiplier`` for every tick and campaign (``make_fixed`` tunes it on training seeds)."""

    name = "fixed_multiplier"

    def __init__(self, env, multiplier: float = 1.0):
        super().__init__(env)
        if not np.isfinite(multiplier) or multiplier < 0:
            raise ValueError(f"multiplier must be a finite number >= 0, got {multiplier!r}.")
        self.multiplier = float(multiplier)
        self.params = {"multiplier": self.multiplier}

    def multipliers(self, o):
        return np.full(self.n_campaigns, self.multiplier)


class EvenPacing(AdsHeuristic):
    """Bid ``multiplier`` (1: truthful) while today's spend share (spend / today's budget) is at most the share of
    the day's traffic up to the end of the coming tick; bid nothing on a campaign that is ahead."""

    name = "even_pacing"

    def __init__(self, env, multiplier: float = 1.0):
        super().__init__(env)
        self.multiplier = float(multiplier)

    def multipliers(self, o):
        budget = o["budget_left"] + o["spend_today"]  # today's budget / daily_budget (a cut shows here)
        share = np.where(budget > 0, o["spend_today"] / np.maximum(budget, 1e-12), 1.0)
        target = self.elapsed[self.tick_of(o) + 1]
        return np.where(share <= target, self.multiplier, 0.0)


class PIDPacing(AdsHeuristic):
    """Multiplier ``base + kp e + ki sum(e) + kd (e - e_prev)`` per campaign, clipped to ``[0, cap]``, where ``e`` =
    the share of the day's traffic elapsed - today's spend share (positive: under-spending, bid higher); the integral
    restarts each day. ``cap`` 1: never bid above the estimated value (above it, a win can only lose money)."""

    name = "pid_pacing"

    def __init__(self, env, kp: float = 2.0, ki: float = 0.3, kd: float = 0.0, base: float = 1.0, cap: float = 1.0):
        super().__init__(env)
        self.kp, self.ki, self.kd, self.base = float(kp), float(ki), float(kd), float(base)
        self.cap = min(float(cap), self.max_multiplier)
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        self._sum = np.zeros(self.n_campaigns)
        self._prev = np.zeros(self.n_campaigns)
        self._tick = -1

    def multipliers(self, o):
        t = self.tick_of(o)
        if t <= self._tick:  # a new day
            self._sum[:], self._prev[:] = 0.0, 0.0
        self._tick = t
        budget = o["budget_left"] + o["spend_today"]
        share = np.where(budget > 0, o["spend_today"] / np.maximum(budget, 1e-12), 1.0)
        err = self.elapsed[t] - share
        self._sum += err
        lam = self.base + self.kp * err + self.ki * self._sum + self.kd * (err - self._prev)
        self._prev = err
        return np.where(budget > 0, np.clip(lam, 0.0, self.cap), 0.0)


class DualPacing(AdsHeuristic):
    """Adaptive dual pacing (Balseiro and Gur 2019): multiplier ``1 / (1 + mu)`` per campaign.

    After each tick, ``mu <- max(0, mu + eta x (spend of the tick - target) / mean target per tick)``, where the
    target of tick ``t`` is today's budget x its share of the day's traffic, and the mean target is today's budget
    / ticks_per_day (so ``eta`` is unit-free). ``mu`` starts at ``mu0`` and carries over from day to day (the
    market of one day teaches the next); the first tick of a day makes no update (the previous day's last tick
    is not observed after the day closes).
    """

    name = "dual_pacing"

    def __init__(self, env, eta: float = 0.05, mu0: float = 0.0):
        super().__init__(env)
        self.eta, self.mu0 = float(eta), float(mu0)
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        self.mu = np.full(self.n_campaigns, self.mu0)
        self._tick, self._spend = -1, None

    def update(self, o) -> None:
        """The dual step for the tick just run (called by ``multipliers`` with the new observation)."""
        t = self.tick_of(o)
        budget = o["budget_left"] + o["spend_today"]
        if self._spend is not None and t == self._tick + 1:
            spent = o["spend_today"] - self._spend
            target = budget * (self.elapsed[t] - self.elapsed[t - 1])
            mean_target = np.maximum(budget / self.ticks_per_day, 1e-12)
            self.mu = np.maximum(0.0, self.mu + self.eta * (spent - target) / mean_target)
        self._tick, self._spend = t, np.array(o["spend_today"], dtype=np.float64)

    def multipliers(self, o):
        self.update(o)
        return 1.0 / (1.0 + self.mu)


class StockAware(AdsHeuristic):
    """Wraps a policy: no bid on a campaign with stock cover below ``min_cover_days`` (days of its daily demand
    rate; the observation's cover x ``COVER_DAYS``) or nothing in stock, and the others' multipliers x the share of
    their SKUs in stock (the estimated value is that of the best SKU, in stock or not)."""

    def __init__(self, env, inner: AdsHeuristic, min_cover_days: float = 0.1):
        super().__init__(env)
        self.inner, self.min_cover_days = inner, float(min_cover_days)
        self.name = f"{inner.name}_stock"

    def reset(self, seed: int | None = None) -> None:
        self.inner.reset(seed)

    def multipliers(self, o):
        lam = self.inner.multipliers(o)
        low = (o["stock_cover"] * COVER_DAYS < self.min_cover_days) | (o["in_stock_share"] <= 0)
        return np.where(low, 0.0, lam * o["in_stock_share"])


def dual_pacing_stock(env) -> StockAware:
    """``dual_pacing`` with the stock rule of ``StockAware``."""
    return StockAware(env, DualPacing(env))


# ---------------------------------------------------------------------- tuning the fixed multiplier
def simulate_multipliers(scenario, multipliers: np.ndarray, seeds: list[int]) -> np.ndarray:
    """Expected ad profit (``expected_ad_profit``, currency) of every (multiplier, seed) pair, ``(n_mult, n_seeds)``:
    every pair is one world of one batched Ads-v0 (``shopgym.envs.ads_vector``)."""
    from shopgym.envs.ads_vector import AdsVectorEnv

    mult = np.asarray(multipliers, dtype=np.float64)
    env = AdsVectorEnv(num_envs=len(mult) * len(seeds), scenario=scenario, continuous=True)
    env.reset(seed=[int(s) for _ in mult for s in seeds])
    lam = np.repeat(np.minimum(mult, env.view.max_multiplier), len(seeds))[:, None]
    action = np.repeat(lam, env.view.n_campaigns, axis=1).astype(np.float32)
    done = False
    while not done:
        _, _, term, trunc, _ = env.step(action)
        done = bool(term[0] or trunc[0])
    profit = expected_ad_profit(env.world.opportunity_log(), env.num_envs)
    return profit.reshape(len(mult), len(seeds))


def tune_multiplier(scenario, n_seeds: int = 8, progress: bool = True, cache: bool = True,
                    levels: np.ndarray | None = None) -> dict[str, float]:
    """The multiplier with the highest mean expected ad profit on training seeds ``TRAIN_SEED_BASE ..``: a coarse
    grid (``MULTIPLIER_GRID``), then ``FINE_POINTS`` points within one step of the best; or, given ``levels`` (the
    multipliers a discrete Ads-v0 can play), the best of those, so the tuned value is the one played. Cached by
    scenario content (``agents.tuning_cache``), so a scenario is tuned once per grid."""
    seeds = [TRAIN_SEED_BASE + i for i in range(n_seeds)]
    grid = MULTIPLIER_GRID if levels is None else np.round(np.asarray(levels, dtype=np.float64), 6)
    method = TUNE_METHOD if levels is None else "mean expected ad profit; the discrete env's bid levels"
    key = tuning_cache.cache_key(scenario, "ads:fixed_multiplier", seeds, {"multiplier": grid.tolist()},
                                 method) if cache else ""
    if cache and (params := tuning_cache.read_params(key, ["multiplier"])) is not None:
        return params
    t0 = time.perf_counter()
    coarse = simulate_multipliers(scenario, grid, seeds).mean(1)
    best = float(grid[int(np.argmax(coarse))])
    if levels is None:
        step = float(MULTIPLIER_GRID[1] - MULTIPLIER_GRID[0])
        fine = np.maximum(best + np.linspace(-step, step, FINE_POINTS), 0.0)
        best = float(fine[int(np.argmax(simulate_multipliers(scenario, fine, seeds).mean(1)))])
    params = {"multiplier": round(best, 6)}
    if cache:
        info = {"policy": "ads:fixed_multiplier", "scenario": scenario.name, "seeds": seeds, "method": method,
                "seconds": round(time.perf_counter() - t0, 2)}
        path = tuning_cache.write_params(key, params, info)
        if progress and path is not None:
            print(f"tuned fixed_multiplier on {scenario.name} in {info['seconds']:.1f} s: {params}; cached in {path}",
                  file=sys.stderr)
    return params


def make_fixed(env, params: dict | None = None) -> FixedMultiplier:
    """``fixed_multiplier`` with ``params`` (``{"multiplier": x}``), else tuned on training seeds."""
    if params is None:
        view = env.unwrapped.view  # a discrete env plays only its levels: tune among them
        playable = None if view.continuous else np.arange(view.levels) / (view.levels - 1) * view.max_multiplier
        params = tune_multiplier(env.unwrapped.scenario, levels=playable)
    return FixedMultiplier(env, **params)


#: The Ads baselines: name -> (builder taking the env (and ``params`` for tuned ones), description).
ADS_POLICIES: dict[str, tuple] = {
    "truthful": (Truthful, "bid the estimated value (multiplier 1)"),
    "fixed_multiplier": (make_fixed, "one multiplier tuned on training seeds (expected ad profit)"),
    "even_pacing": (EvenPacing, "truthful bids while spend share <= elapsed traffic share, else no bid"),
    "pid_pacing": (PIDPacing, "PID control of the multiplier on the pacing error"),
    "dual_pacing": (DualPacing, "adaptive dual pacing, multiplier 1 / (1 + mu) (Balseiro and Gur 2019)"),
    "dual_pacing_stock": (dual_pacing_stock, "dual_pacing, no bid on campaigns close to running out of stock"),
}
#: Ads baselines with tuned parameters (``make_policy`` passes ``params``).
ADS_TUNED = ("fixed_multiplier",)
