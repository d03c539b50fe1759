"""What the Recommend env shows and accepts: candidate retrieval, the observation and the action -> slate map.

The observation is what a real recommender can see: the shopper's observable features and history
(never the true preference vector, the price sensitivity value or the satisfaction) and ``K``
candidate items. ``RecommendView.parse`` returns its fields by name.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from shopgym.envs import recommend_obs
from shopgym.errors import ActionError
from shopgym.world.world import World

#: Days of sales that measure an item's popularity.
POPULARITY_DAYS = 7
#: Stock cover (days) at which the observed cover saturates (observed as cover / MAX_COVER_DAYS, in [0, 1]).
MAX_COVER_DAYS = 30.0
#: Days since the last visit at which the observed value saturates.
MAX_ABSENCE_DAYS = 30.0
#: Observation bound (every field is clipped to [-OBS_BOUND, OBS_BOUND]).
OBS_BOUND = 10.0


class RecommendView:
    """Candidates, observations and slates of one session per world.

    Args:
        world: the world (sessions on).
        n_candidates: ``K`` wanted (capped at the number of SKUs).
        slate_size: items shown per session; 1 gives ``Discrete(K)``, more ``MultiDiscrete([K] * slate_size)``.
    """

    def __init__(self, world: World, n_candidates: int, slate_size: int = 1):
        if slate_size < 1:
            raise ValueError(f"slate_size must be >= 1, got {slate_size}.")
        cat, pop = world.catalog, world.shoppers
        self.world = world
        self.k = min(int(n_candidates), cat.n_skus)
        if slate_size > self.k:
            raise ValueError(f"slate_size = {slate_size} exceeds the {self.k} candidates; lower it or raise "
                             "recommend.candidates (at most catalog.n_skus).")
        self.slate_size = slate_size
        self.n_categories = int(cat.category.max()) + 1
        self.n_segments = int(world.scenario.shoppers.n_segments)
        self.median_price = float(np.median(cat.price))
        # price-sensitivity buckets: tertiles of the population (low, mid, high)
        self._sens_edges = np.quantile(pop.price_sensitivity, [1 / 3, 2 / 3])
        dim = cat.features.shape[1]
        self.shopper_fields = ([f"segment_{s}" for s in range(self.n_segments)]
                               + ["sensitivity_low", "sensitivity_mid", "sensitivity_high", "visits_log",
                                  "days_since_visit", "first_visit", "clicks_per_visit", "purchases_per_visit"]
                               + [f"last_category_{c}" for c in range(self.n_categories)]
                               + [f"taste_{d}" for d in range(dim)] + ["elapsed"])
        self.dim = dim
        #: Where the ``taste`` block starts in the shopper block (``parse`` returns it whole as ``"taste"``).
        self._taste_at = self.shopper_fields.index("taste_0") if dim else 0
        self.item_fields = (["log_price", "margin", "cover", "in_stock", "category_match", "popularity"]
                            + [f"category_{c}" for c in range(self.n_categories)] + [f"e_{d}" for d in range(dim)])
        size = len(self.shopper_fields) + self.k * len(self.item_fields)
        self.observation_space = gym.spaces.Box(-OBS_BOUND, OBS_BOUND, (size,), np.float32)
        shop = world.scenario.shoppers
        #: Offer parts of the action (``shoppers.coupons``: an offer level per slot; ``shoppers.bundles``: a bundle
        #: flag per slot), after the slate's candidate positions.
        self.coupons, self.bundles = bool(shop.coupons), bool(shop.bundles)
        self.coupon_levels, self.coupon_step = int(shop.coupon_levels), float(shop.coupon_step)
        if self.coupons:
            self.shopper_fields.insert(len(self.shopper_fields) - 1, "coupon_left")
            size += 1
            self.observation_space = gym.spaces.Box(-OBS_BOUND, OBS_BOUND, (size,), np.float32)
        if self.coupons or self.bundles:
            nvec = ([self.k] * slate_size + [self.coupon_levels] * slate_size * self.coupons
                    + [2] * slate_size * self.bundles)
            self.action_space = gym.spaces.MultiDiscrete(nvec)
        else:
            self.action_space = (gym.spaces.Discrete(self.k) if slate_size == 1
                                 else gym.spaces.MultiDiscrete([self.k] * slate_size))
        self._cat_onehot = np.eye(self.n_categories)[cat.category]
        self._static = np.concatenate([self._cat_onehot, cat.features], axis=1)  # (n_skus, C + dim)
        # inputs of the compiled path (``session``): constant ones once, the day's ones in ``refresh``
        self._sens_bucket = np.searchsorted(self._sens_edges, pop.price_sensitivity).astype(np.int64)
        self._segment = np.ascontiguousarray(pop.segment, dtype=np.int64)
        self._category = np.ascontiguousarray(cat.category, dtype=np.int64)
        coupon_at = self.shopper_fields.index("coupon_left") if self.coupons else -1
        self._layout = np.array([self.n_segments, self._taste_at, dim, len(self.shopper_fields), coupon_at], np.int64)
        self._consts = np.array([self.median_price, MAX_ABSENCE_DAYS, MAX_COVER_DAYS, OBS_BOUND])
        self._day_inputs: tuple | None = None

    # ------------------------------------------------------------------ candidates
    def candidates(self, w: int, shopper: int) -> np.ndarray:
        """The ``K`` items offered for world ``w``'s shopper: top by in stock, category match, popularity."""
        pop = self.popularity(w)
        state = self.world.shopper_state
        match = self.world.catalog.category == state.last_category[w, shopper]
        score = 2.0 * (self.world.on_hand[w] > 0) + 1.0 * match + pop
        return np.argsort(-score, kind="stable")[: self.k]

    def popularity(self, w: int) -> np.ndarray:
        """Units sold per SKU over the last ``POPULARITY_DAYS`` days over the best seller's, in [0, 1]."""
        sold = self.world.sales_history[w, :, -POPULARITY_DAYS:].sum(-1)
        top = sold.max()
        return sold / top if top > 0 else np.zeros_like(sold)

    # ------------------------------------------------------------------ the compiled path
    def refresh(self) -> None:
        """Forget the day's cached inputs of ``session`` (popularity, demand rate, prices): call it after every
        ``World.reset`` and ``World.step`` (the env does)."""
        self._day_inputs = None

    def session(self, w: int, shopper: int, obs: np.ndarray) -> np.ndarray:
        """``candidates(w, shopper)`` (returned) and ``observe(w, shopper, those items)`` (written into ``obs``,
        float32 of the observation's shape) in one compiled call (``shopgym.envs.recommend_obs``); the same values
        (tested). Needs ``refresh()`` after each day change; falls back to the numpy methods without numba."""
        world = self.world
        if not recommend_obs.COMPILED:
            items = self.candidates(w, shopper)
            obs[:] = self.observe(w, shopper, items)
            return items
        if self._day_inputs is None:
            rows = world.forecast_rows(1)
            rate = np.maximum(rows[:, :, 0], 1e-6)
            price = world.price_on(world.day)
            pops = [np.ascontiguousarray(self.popularity(v), dtype=np.float64) for v in range(world.n_worlds)]
            self._day_inputs = (rate, price, pops, world.day)
        rate, price, pops, day = self._day_inputs
        state = world.shopper_state
        share = 0.0
        if self.coupons:
            budget = world.scenario.shoppers.coupon_budget
            share = world.coupon_left[w] / budget if budget > 0 else 0.0
        items = np.empty(self.k, dtype=np.int64)
        recommend_obs.session_obs(
            w, shopper, day, world.horizon, self.k, world.stock, rate[min(w, rate.shape[0] - 1)], price[w],
            world.unit_cost, self._category, self._static, pops[w], self._segment, self._sens_bucket, state.visits,
            state.previous_visit, state.clicks, state.purchases, state.last_category, state.taste_sum, share,
            self._layout, self._consts, items, obs)
        return items

    # ------------------------------------------------------------------ observation
    def observe(self, w: int, shopper: int | None, items: np.ndarray) -> np.ndarray:
        """The observation of world ``w``'s session of ``shopper`` (``None``: no session, zeros) offered ``items``."""
        obs = np.zeros(self.observation_space.shape, dtype=np.float32)
        if shopper is None:
            return obs
        world, state, cat = self.world, self.world.shopper_state, self.world.catalog
        pop = world.shoppers
        s = np.zeros(len(self.shopper_fields))
        s[pop.segment[shopper]] = 1.0
        s[self.n_segments + int(np.searchsorted(self._sens_edges, pop.price_sensitivity[shopper]))] = 1.0
        j = self.n_segments + 3
        visits = state.visits[w, shopper]
        before = state.previous_visit[w, shopper]
        s[j] = np.log1p(visits) / 5.0
        s[j + 1] = 1.0 if before < 0 else min(world.day - before, MAX_ABSENCE_DAYS) / MAX_ABSENCE_DAYS
        s[j + 2] = float(before < 0)
        s[j + 3] = min(state.clicks[w, shopper] / max(visits, 1), 5.0)
        s[j + 4] = min(state.purchases[w, shopper] / max(visits, 1), 5.0)
        lc = state.last_category[w, shopper]
        if lc >= 0:
            s[j + 5 + lc] = 1.0
        s[self._taste_at : self._taste_at + self.dim] = state.taste(w, shopper)
        s[-1] = world.day / world.horizon
        if self.coupons:  # coupon budget left, as a share of the episode's budget
            budget = world.scenario.shoppers.coupon_budget
            s[-2] = world.coupon_left[w] / budget if budget > 0 else 0.0
        rows = world.forecast_rows(1)
        rate = np.maximum(rows[min(w, rows.shape[0] - 1), :, 0], 1e-6)
        on_hand = world.on_hand[w]
        price = world.price_on(world.day)[w]
        per_item = np.column_stack([
            np.log(price[items] / self.median_price),
            (price[items] - cat.unit_cost[items]) / self.median_price,
            np.minimum(on_hand[items] / rate[items], MAX_COVER_DAYS) / MAX_COVER_DAYS,
            on_hand[items] > 0,
            cat.category[items] == lc,
            self.popularity(w)[items],
            self._static[items],
        ])
        obs[: len(s)] = s
        obs[len(s):] = per_item.ravel()
        np.clip(obs, -OBS_BOUND, OBS_BOUND, out=obs)
        return obs

    def parse(self, obs: np.ndarray) -> dict[str, np.ndarray]:
        """The observation's fields by name: shopper fields as scalars (but ``taste``, the ``(d,)`` mean embedding of
        the shopper's clicked items), item fields as ``(K,)`` arrays."""
        obs = np.asarray(obs)
        n = len(self.shopper_fields)
        out = {name: obs[i] for i, name in enumerate(self.shopper_fields) if not name.startswith("taste_")}
        out["taste"] = obs[self._taste_at : self._taste_at + self.dim]
        items = obs[n:].reshape(self.k, len(self.item_fields))
        out.update({name: items[:, i] for i, name in enumerate(self.item_fields)})
        return out

    # ------------------------------------------------------------------ action
    def slate(self, action, items: np.ndarray) -> np.ndarray:
        """The items shown for ``action`` (candidate positions): ``(slate_size,)`` SKUs, a repeat shown once (-1)."""
        a = np.asarray(action)
        if not self.action_space.contains(a.astype(np.int64) if a.dtype.kind in "iu" else a):
            raise ActionError(f"action {action!r} is not in the action space {self.action_space}: give "
                              + ("one candidate position in [0, K-1]" if self.slate_size == 1 else
                                 f"{self.slate_size} candidate positions, each in [0, K-1]") + f" (K = {self.k})"
                              + (f", then {self.slate_size} offer levels in [0, {self.coupon_levels - 1}]"
                                 if self.coupons else "")
                              + (f", then {self.slate_size} bundle flags in {{0, 1}}" if self.bundles else "") + ".")
        pos = a.astype(np.int64).reshape(-1)[: self.slate_size]
        first = np.zeros(len(pos), dtype=bool)
        _, keep = np.unique(pos, return_index=True)
        first[keep] = True
        return np.where(first, items[pos], -1)

    def offers(self, action) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The offer parts of a valid ``action`` (``slate`` checked it): discounts (offer level x ``coupon_step``,
        fraction) and bundle flags per slot, each ``(slate_size,)`` or ``None`` when the scenario has no such offer."""
        a = np.asarray(action, dtype=np.int64).reshape(-1)
        m, j = self.slate_size, self.slate_size
        discounts = bundles = None
        if self.coupons:
            discounts = a[j : j + m] * self.coupon_step
            j += m
        if self.bundles:
            bundles = a[j : j + m].astype(bool)
        return discounts, bundles
