"""What each world's shoppers remember between sessions: history, fatigue, satisfaction, drifting interests.

One ``ShopperState`` holds the state of every shopper in every world as arrays shaped
``(n_worlds, n_shoppers)`` (plus an item or category axis). It is reset at the start of each episode,
so episodes are independent; within an episode it persists across days. The scenario's
``[shoppers]`` switches turn each effect on (all off by default):

- ``memory_fatigue``: ``seen[w, u, i]`` counts the earlier impressions of item ``i`` to shopper ``u``;
  the response model's examination falls as ``exp(-fatigue_rate x seen)``. Off: ``seen`` is always 0.
- ``memory_satisfaction``: ``satisfaction`` in ``[0, 1]`` starts at ``SATISFACTION_START``, rises by
  ``satisfaction_gain`` per purchase, falls by ``satisfaction_loss`` per shown item that was not clicked
  and by ``stockout_loss`` per shown item that was out of stock. A shopper's chance to visit on a day is
  proportional to it (a satisfied shopper returns sooner) and below ``churn_threshold`` the shopper churns
  (never returns this episode). Off: every shopper visits equally often, nobody churns.
- ``memory_drift``: ``interest[w, u, c]`` (click log-odds added for items of category ``c``) grows by
  ``drift_rate`` per purchase in ``c``, up to ``DRIFT_CAP``. Off: 0.

Always kept (what a recommender may observe): visits, clicks and purchases per shopper, the day of the
last visit, the category of the last click and the sum of the embeddings of the items clicked (``taste_sum``;
over ``clicks`` it is the mean embedding of what the shopper clicked). With ``shoppers.history_clicks`` > 0 the
visits, clicks, purchases, last category and ``taste_sum`` start each episode from the shopper's pre-episode
record (``shopgym.world.history``), so they count the shop's past as well as this episode; without, from zero.
"""

from __future__ import annotations

import numpy as np

from shopgym.config import ShoppersConfig
from shopgym.world.history import ShopperHistory

#: Satisfaction of every shopper at the start of an episode (in [0, 1]).
SATISFACTION_START = 0.5
#: Largest click log-odds that drift can add to one category.
DRIFT_CAP = 2.0
#: Largest number of earlier impressions remembered per (shopper, item): the counter saturates there.
SEEN_CAP = 1000
#: Most (world, shopper, item) exposure counters a world batch may hold with memory_fatigue on.
MAX_SEEN_ENTRIES = 50_000_000


class ShopperState:
    """Per-world shopper memory (see the module docstring); arrays are public, read-only for callers.

    Attributes (``b`` worlds, ``U`` shoppers, ``n`` items, ``C`` categories):
        visits, clicks, purchases: counts so far (the pre-episode record's, if any, plus this episode's), ``(b, U)``
            int64.
        last_visit: day of the last visit (today's, once today's sessions are drawn), ``(b, U)`` int64, -1 before
            the first; previous_visit: the day of the visit before it (-1 if none).
        last_category: category of the last clicked item (the record's before this episode's first click),
            ``(b, U)`` int64, -1 before the first click.
        satisfaction: ``(b, U)`` float64 in [0, 1] (stays at ``SATISFACTION_START`` with the switch off).
        churned: ``(b, U)`` bool.
        interest: ``(b, U, C)`` float64 click log-odds (zeros unless ``memory_drift``).
        seen: ``(b, U, n)`` int32 impression counts (``memory_fatigue``), else ``None``.
        taste_sum: ``(b, U, d)`` float64 sum of the embeddings (``features``) of the items each shopper clicked
            (the record's and this episode's; ``taste`` is it over ``clicks``); ``d = 0`` when no ``features``.

    Args:
        cfg: the scenario's ``[shoppers]`` section.
        n_worlds, n_items, n_categories: the array sizes.
        features: item embeddings ``(n_items, d)`` (``Catalog.features``), for ``taste_sum``; ``None``: ``d = 0``.
        history: the shoppers' pre-episode record (``shopgym.world.history.draw_history``), where every episode's
            memory starts; ``None``: from zero.
    """

    def __init__(self, cfg: ShoppersConfig, n_worlds: int, n_items: int, n_categories: int,
                 features: np.ndarray | None = None, history: ShopperHistory | None = None):
        self.cfg = cfg
        self.history = history
        self.features = np.zeros((n_items, 0)) if features is None else np.ascontiguousarray(features, dtype=np.float64)
        self.shape = (n_worlds, cfg.n_shoppers)
        self.n_items, self.n_categories = n_items, n_categories
        if cfg.memory_fatigue and n_worlds * cfg.n_shoppers * n_items > MAX_SEEN_ENTRIES:
            from shopgym.errors import ScenarioError

            raise ScenarioError(
                f"shoppers.memory_fatigue keeps one counter per (world, shopper, item): {n_worlds} x {cfg.n_shoppers} "
                f"x {n_items} exceeds {MAX_SEEN_ENTRIES:,}; lower shoppers.n_shoppers, catalog.n_skus or n_worlds, "
                "or set memory_fatigue = false.")
        self.reset()

    def reset(self) -> None:
        """Forget the episode: the state of a new one (counts and taste from the pre-episode record, if any)."""
        b, u = self.shape
        h = self.history
        self.visits = np.zeros((b, u), dtype=np.int64)
        self.clicks = np.zeros((b, u), dtype=np.int64)
        self.purchases = np.zeros((b, u), dtype=np.int64)
        self.last_visit = np.full((b, u), -1, dtype=np.int64)
        self.previous_visit = np.full((b, u), -1, dtype=np.int64)
        self.last_category = np.full((b, u), -1, dtype=np.int64)
        self.satisfaction = np.full((b, u), SATISFACTION_START)
        self.churned = np.zeros((b, u), dtype=bool)
        self.interest = np.zeros((b, u, self.n_categories))
        self.seen = np.zeros((b, u, self.n_items), dtype=np.int32) if self.cfg.memory_fatigue else None
        self.taste_sum = np.zeros((b, u, self.features.shape[1]))
        if h is not None:  # fresh arrays filled in place (the stacked vector state copies them at attach)
            self.visits[:], self.clicks[:], self.purchases[:] = h.visits, h.clicks, h.purchases
            self.last_category[:] = h.last_category
            if self.features.shape[1]:
                self.taste_sum[:] = h.taste_sum

    def taste(self, w: int, shopper: int) -> np.ndarray:
        """Mean embedding of the items shopper ``shopper`` of world ``w`` clicked (pre-episode record included),
        ``(d,)`` (zeros before the first click)."""
        clicks = self.clicks[w, shopper]
        return self.taste_sum[w, shopper] / clicks if clicks > 0 else np.zeros(self.features.shape[1])

    def visit_weights(self, w: int) -> np.ndarray | None:
        """Relative chance of each shopper of world ``w`` to start a session (``None``: all equal, none churned)."""
        if not self.cfg.memory_satisfaction:
            return None
        return np.where(self.churned[w], 0.0, self.satisfaction[w])

    def seen_counts(self, world: np.ndarray, shopper: np.ndarray, item: np.ndarray) -> np.ndarray:
        """Earlier impressions of each (world, shopper, item) row (int64; zeros without ``memory_fatigue``)."""
        if self.seen is None:
            return np.zeros(len(item), dtype=np.int64)
        return self.seen[world, shopper, item].astype(np.int64)

    def click_shift(self, world: np.ndarray, shopper: np.ndarray, category: np.ndarray) -> np.ndarray | None:
        """Click log-odds added by drifted interests per row, or ``None`` without ``memory_drift``."""
        if not self.cfg.memory_drift:
            return None
        return self.interest[world, shopper, category]

    def record_visits(self, world: np.ndarray, shopper: np.ndarray, day: int) -> None:
        """Sessions started today (flat arrays, one row per session)."""
        np.add.at(self.visits, (world, shopper), 1)
        self.previous_visit[world, shopper] = self.last_visit[world, shopper]
        self.last_visit[world, shopper] = day

    def record_impressions(self, world: np.ndarray, shopper: np.ndarray, item: np.ndarray, category: np.ndarray,
                           click: np.ndarray, purchase: np.ndarray, out_of_stock: np.ndarray) -> None:
        """Fold one batch of impressions (flat arrays, one row per impression, in session order) into memory."""
        cfg = self.cfg
        np.add.at(self.clicks, (world, shopper), click)
        np.add.at(self.purchases, (world, shopper), purchase)
        # the last click of each shopper in the batch wins (later rows overwrite earlier ones in fancy assignment)
        self.last_category[world[click], shopper[click]] = category[click]
        if self.features.shape[1] and click.any():
            np.add.at(self.taste_sum, (world[click], shopper[click]), self.features[item[click]])
        if self.seen is not None:
            np.add.at(self.seen, (world, shopper, item), 1)
            np.minimum(self.seen, SEEN_CAP, out=self.seen)
        if cfg.memory_satisfaction:
            delta = (cfg.satisfaction_gain * purchase - cfg.satisfaction_loss * ~click
                     - cfg.stockout_loss * out_of_stock)
            np.add.at(self.satisfaction, (world, shopper), delta)
            np.clip(self.satisfaction, 0.0, 1.0, out=self.satisfaction)
            self.churned |= self.satisfaction < cfg.churn_threshold
        if cfg.memory_drift:
            np.add.at(self.interest, (world[purchase], shopper[purchase], category[purchase]), cfg.drift_rate)
            np.minimum(self.interest, DRIFT_CAP, out=self.interest)
