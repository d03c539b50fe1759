"""What Ads-v0 shows and takes, for one world or a batch: spaces, actions -> bid multipliers, observation, reward, infos.

Shared by ``AdsEnv`` (one world) and ``AdsVectorEnv`` (a batched world), so both compute the same numbers with
the same numpy operations (rows are worlds). It reads the world's public state only.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from shopgym.errors import ActionError
from shopgym.world.kpis import ADS_FIELDS
from shopgym.world.restock_rule import SALES_WINDOW

#: Largest value of any observation entry (ratios are capped there).
OBS_MAX = 10.0
#: Days of stock cover at which the cover entry saturates (cover / COVER_DAYS, capped at 1).
COVER_DAYS = 30.0
#: Observation entries of the whole world, then of each campaign (see ``AdsEnv``'s docstring for units).
GLOBAL_FIELDS = ("time_left_in_day", "episode_left", "next_traffic")
_COL = {name: i for i, name in enumerate(ADS_FIELDS)}
CAMPAIGN_FIELDS = ("budget_left", "spend_today", "win_rate", "clearing_price", "price_to_win", "value_mean",
                   "value_std", "stock_cover", "in_stock_share")


class AdsView:
    """Spaces and conversions of Ads-v0 over ``world`` (any ``n_worlds``).

    Args:
        world: a ``World`` with ``ads.simulate_ads`` on (reset at least once).
        continuous: ``Box`` multipliers instead of discrete levels.
    """

    def __init__(self, world, continuous: bool = False):
        self.world = world
        cfg = world.scenario.ads
        setup = world.ads_setup
        self.n_campaigns = c = setup.n_campaigns
        self.levels, self.max_multiplier, self.continuous = cfg.bid_levels, cfg.max_multiplier, continuous
        self.ticks_per_day = cfg.ticks_per_day
        self.traffic = setup.traffic
        self.value_scale = setup.value_scale
        self.campaign_skus = setup.campaign_skus
        self.member = setup.member.astype(np.float64)
        self.sku_count = np.maximum(self.member.sum(1), 1.0)
        self.daily_budget = max(setup.daily_budget, 1e-12)
        #: Share of the day's traffic before tick ``t`` (``t = 0 .. ticks_per_day``).
        self.elapsed = np.concatenate([[0.0], np.cumsum(self.traffic)]) / self.traffic.sum()
        self.on_reset()
        self.size = len(GLOBAL_FIELDS) + len(CAMPAIGN_FIELDS) * c
        self.observation_space = spaces.Box(0.0, OBS_MAX, (self.size,), dtype=np.float32)
        if continuous:
            self.action_space = spaces.Box(0.0, np.float32(self.max_multiplier), (c,), dtype=np.float32)
        elif c == 1:
            self.action_space = spaces.Discrete(self.levels)
        else:
            self.action_space = spaces.MultiDiscrete([self.levels] * c)
        self.multiplier_of_level = np.linspace(0.0, self.max_multiplier, self.levels)

    # ------------------------------------------------------------------ actions
    def multipliers(self, actions) -> np.ndarray:
        """Bid multipliers ``(n_worlds, n_campaigns)`` float64 from a batch of actions (one row per world);
        ``ActionError`` naming the problem and the fix for anything outside the action space."""
        b, c = self.world.n_worlds, self.n_campaigns
        a = np.asarray(actions)
        want = (b, c) if (self.continuous or c > 1) else (b,)
        if a.shape != want:
            one = "a float per campaign" if self.continuous else ("an int level" if c == 1 else "an int level per campaign")
            raise ActionError(f"action must have shape {want[1:]} ({one}; {c} campaigns), got {a.shape[1:] if a.ndim else ()}"
                              f" per env: pass an element of env.action_space.")
        if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
            raise ActionError(f"action must hold numbers, got dtype {a.dtype}.")
        if self.continuous:
            lam = a.astype(np.float64)
            if not np.isfinite(lam).all():
                raise ActionError(f"bid multipliers must be finite, got {lam.ravel()[:8]}: NaN or inf is no bid.")
            if (lam < 0).any() or (lam > self.max_multiplier * (1 + 1e-6)).any():
                raise ActionError(f"bid multipliers must lie in [0, max_multiplier = {self.max_multiplier}], got values "
                                  f"in [{lam.min():g}, {lam.max():g}]; clip them to the action space.")
            return np.minimum(lam, self.max_multiplier).reshape(b, c)
        if np.issubdtype(a.dtype, np.floating):
            if not np.isfinite(a).all() or (a != np.round(a)).any():
                raise ActionError(f"discrete bid levels must be integers in [0, {self.levels - 1}], got {a.ravel()[:8]}; "
                                  "use continuous=True for real-valued multipliers.")
        lev = a.astype(np.int64)
        if (lev < 0).any() or (lev >= self.levels).any():
            raise ActionError(f"bid levels must be integers in [0, {self.levels - 1}] (level k bids k / "
                              f"{self.levels - 1} x {self.max_multiplier} x value), got values in "
                              f"[{lev.min()}, {lev.max()}].")
        return self.multiplier_of_level[lev].reshape(b, c)

    # ------------------------------------------------------------------ observation
    def on_reset(self) -> None:
        """A new episode: forget the cached demand rates (they depend on the episode's prices and sales)."""
        self._rate_day, self._rate_c = -1, None

    def _campaign_rates(self) -> np.ndarray:
        """Daily demand rate of each campaign's SKUs (units/day, ``(n_worlds, n_campaigns)``): the larger of today's
        forecast and the last 7 days' mean sales per SKU, summed; fixed within a day, so computed once a day."""
        world = self.world
        if self._rate_day != world.day:
            rate = np.maximum(world.forecast_rows(1)[..., 0], world.sales_history[..., -SALES_WINDOW:].mean(-1))
            self._rate_c = rate @ self.member.T
            self._rate_day = world.day
        return self._rate_c

    def observe(self, state=None) -> np.ndarray:
        """The observation of every world, ``(n_worlds, size)`` float32 (layout: ``AdsEnv``); ``state``: the world's
        ``ads_state`` if the caller has it."""
        world, b, c = self.world, self.world.n_worlds, self.n_campaigns
        obs = np.zeros((b, self.size), dtype=np.float64)
        if world.day >= world.horizon:  # the episode is over: all zeros
            return obs.astype(np.float32)
        state = world.ads_state if state is None else state
        t = state.tick
        obs[:, 0] = state.ticks_left / self.ticks_per_day
        obs[:, 1] = 1.0 - (world.day * self.ticks_per_day + t) / (world.horizon * self.ticks_per_day)
        obs[:, 2] = self.traffic[t] / self.traffic.max() if t < self.ticks_per_day else 0.0
        camp = obs[:, len(GLOBAL_FIELDS):].reshape(b, c, len(CAMPAIGN_FIELDS))  # a view: filled in place
        camp[..., 0] = state.budget_left / self.daily_budget
        camp[..., 1] = state.spend / self.daily_budget
        last = world.last_ad_tick
        if last is not None:
            n = np.maximum(last.opportunities, 1)
            mean_v = last.market[..., 1] / n
            var = np.maximum(last.market[..., 2] / n - mean_v**2, 0.0)
            camp[..., 2] = last.wins / n
            camp[..., 3] = last.spend / np.maximum(last.wins, 1) / self.value_scale
            camp[..., 4] = last.market[..., 0] / n / self.value_scale
            camp[..., 5] = mean_v / self.value_scale
            camp[..., 6] = np.sqrt(var) / self.value_scale
        on_hand = world.on_hand.astype(np.float64)
        stock_c, rate_c = on_hand @ self.member.T, self._campaign_rates()
        cover = np.where(rate_c > 0, stock_c / np.maximum(rate_c, 1e-12), np.where(stock_c > 0, COVER_DAYS, 0.0))
        camp[..., 7] = np.minimum(cover / COVER_DAYS, 1.0)
        camp[..., 8] = ((on_hand > 0) @ self.member.T) / self.sku_count
        np.clip(obs, 0.0, OBS_MAX, out=obs)
        return obs.astype(np.float32)

    # ------------------------------------------------------------------ reward and infos
    def rewards(self, tick, reward_scale: float) -> np.ndarray:
        """Ad margin minus ad spend of ``tick`` per world (currency) x ``reward_scale``, ``(n_worlds,)``."""
        return (tick.ad_margin.sum(1) - tick.spend.sum(1)) * reward_scale

    def infos(self, tick, state=None) -> dict[str, np.ndarray]:
        """Per-world infos of the step that ran ``tick``, before the day closes (units: ``AdsEnv``'s docstring);
        ``state``: the world's ``ads_state`` if the caller has it."""
        world = self.world
        state = world.ads_state if state is None else state
        totals = world.ads_totals()
        opportunities, wins, purchases, spend, revenue, margin, wasted = (
            totals[:, _COL[f]] for f in ("opportunities", "wins", "purchases", "spend", "ad_revenue", "ad_margin",
                                         "wasted_spend"))
        elapsed = self.elapsed[state.tick]
        budget = state.budget.sum(1)
        pacing = np.where(budget > 0, state.spend.sum(1) / np.maximum(budget * elapsed, 1e-12), 0.0)
        return {
            "day": np.full(world.n_worlds, world.day), "tick": np.full(world.n_worlds, state.tick - 1),
            "spend": tick.spend.sum(1), "ad_margin": tick.ad_margin.sum(1), "wins": tick.wins.sum(1),
            "purchases": np.bincount(tick.world[tick.purchase], minlength=world.n_worlds),
            "budget_left": state.budget_left.sum(1), "pacing": pacing,
            "roas": np.where(spend > 0, revenue / np.where(spend > 0, spend, 1.0), 0.0),
            "cpa": np.where(spend > 0, np.where(purchases > 0, spend / np.maximum(purchases, 1.0), np.inf), 0.0),
            "win_rate": wins / np.maximum(opportunities, 1.0), "wasted_spend": wasted, "ad_spend": spend,
            "episode_ad_margin": margin,
        }
