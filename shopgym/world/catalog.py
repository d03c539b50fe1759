"""The product catalog: one array per attribute, indexed by SKU."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopgym.config import CatalogConfig, DemandConfig


@dataclass(frozen=True)
class Catalog:
    """Products as parallel arrays of length ``n_skus``.

    Attributes:
        category: category index per SKU (int).
        price: list selling price (currency/unit).
        unit_cost: purchase cost (currency/unit).
        holding_cost: cost of one unit on hand at the end of a day (currency/unit/day).
        order_cost: fixed cost of a non-zero order (currency/order).
        lead_time: supplier lead time (days; 0 = available the same day).
        shelf_life: days a unit can be sold after arrival; 0 = never perishes.
        base_rate: median demand level (units/day) before seasonality and price effects.
        features: product feature/embedding vectors, shape ``(n_skus, embedding_dim)``.
    """

    category: np.ndarray
    price: np.ndarray
    unit_cost: np.ndarray
    holding_cost: np.ndarray
    order_cost: np.ndarray
    lead_time: np.ndarray
    shelf_life: np.ndarray
    base_rate: np.ndarray
    features: np.ndarray

    @property
    def n_skus(self) -> int:
        return int(self.price.shape[0])

    @classmethod
    def generate(cls, cfg: CatalogConfig, demand: DemandConfig) -> Catalog:
        """Draw a catalog from ``cfg.catalog_seed`` (independent of any episode seed)."""
        rng = np.random.default_rng(np.random.SeedSequence([cfg.catalog_seed, 0xCA7A]))
        n = cfg.n_skus
        category = np.arange(n) % cfg.n_categories
        price = cfg.price * np.exp(cfg.price_spread * rng.standard_normal(n)) if cfg.price_spread else np.full(n, cfg.price)
        spread = rng.integers(-cfg.lead_time_spread, cfg.lead_time_spread + 1, n) if cfg.lead_time_spread else np.zeros(n, np.int64)
        lead = np.clip(cfg.lead_time + spread, 0, None).astype(np.int64)
        base = demand.base_rate * np.exp(demand.base_rate_spread * rng.standard_normal(n)) if demand.base_rate_spread else np.full(n, demand.base_rate)
        # Explicit per-SKU values (``shopgym calibrate``) replace the draws after them, so no other attribute shifts.
        price = np.asarray(cfg.prices, dtype=float) if cfg.prices else price
        base = np.asarray(cfg.base_rates, dtype=float) if cfg.base_rates else base
        # Features: a category centre plus a per-product offset, unit length.
        centres = rng.standard_normal((cfg.n_categories, cfg.embedding_dim))
        feats = centres[category] + 0.5 * rng.standard_normal((n, cfg.embedding_dim))
        feats /= np.linalg.norm(feats, axis=1, keepdims=True)
        return cls(
            category=category.astype(np.int64),
            price=np.round(price, 2),
            unit_cost=np.round(price * (1.0 - cfg.margin), 2),
            holding_cost=np.full(n, cfg.holding_cost),
            order_cost=np.full(n, cfg.order_cost),
            lead_time=lead,
            shelf_life=np.full(n, cfg.shelf_life, dtype=np.int64),
            base_rate=base,
            features=feats,
        )

    def complements(self) -> np.ndarray:
        """For each SKU, the index of its complement: the item of the next category (round-robin) whose feature
        vector is closest to its own (ties by SKU index), so a function of the catalog seed alone (no draw, so
        adding it shifted no other attribute). With one category: the closest other SKU (itself if alone).

        Complement pairs are directed (``j = complements()[i]`` need not map back to ``i``): buying ``i``
        lifts ``j``, and a bundle offer of ``i`` comes with ``j`` (``shopgym.world.offers``)."""
        n = self.n_skus
        n_categories = int(self.category.max()) + 1
        target = (self.category + 1) % n_categories
        similarity = self.features @ self.features.T  # (n, n)
        allowed = self.category[None, :] == target[:, None]
        if n_categories == 1:
            allowed = ~np.eye(n, dtype=bool) if n > 1 else np.ones((1, 1), dtype=bool)
        return np.argmax(np.where(allowed, similarity, -np.inf), axis=1).astype(np.int64)

    def substitutes(self) -> np.ndarray:
        """For each SKU, the index of its substitute: the next SKU of the same category (itself if alone)."""
        n = self.n_skus
        sub = np.arange(n)
        order = np.lexsort((np.arange(n), self.category))
        cats = self.category[order]
        nxt = np.roll(order, -1)
        same = np.roll(cats, -1) == cats
        # wrap around to the first SKU of the category
        first = order[np.searchsorted(cats, cats)]
        sub[order] = np.where(same, nxt, first)
        return sub
