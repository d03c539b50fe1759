"""The shopper population: preference vectors, price sensitivity and segments; daily arrivals.

Shoppers live in the catalog's embedding space: a shopper's preference vector is a unit vector of
length ``embedding_dim`` and the affinity to a product is the dot product with the product's
``features`` (in ``[-1, 1]``). Shoppers belong to segments; each segment has a centre in the
embedding space and a typical price sensitivity. The population is drawn once from
``shoppers_seed`` (like the catalog from ``catalog_seed``); arrivals are drawn from the world's
``"shoppers"`` stream (their daily mean and count: ``shopgym.world.arrivals``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopgym.config import ShoppersConfig
from shopgym.world.arrivals import draw_count

#: Spread of a shopper's preference around the segment centre (before normalising to unit length).
PREFERENCE_NOISE = 0.8
#: Log-normal sigma of price sensitivity across shoppers within a segment.
SENSITIVITY_SPREAD = 0.3


@dataclass(frozen=True)
class ShopperPopulation:
    """Shoppers as parallel arrays of length ``n_shoppers``.

    Attributes:
        preferences: unit preference vectors, shape ``(n_shoppers, embedding_dim)``.
        price_sensitivity: how strongly the price paid lowers conversion (per log-price unit, >= 0).
        segment: segment index per shopper (int, ``0 .. n_segments - 1``).
    """

    preferences: np.ndarray
    price_sensitivity: np.ndarray
    segment: np.ndarray

    @property
    def n_shoppers(self) -> int:
        return int(self.segment.shape[0])

    @classmethod
    def generate(cls, cfg: ShoppersConfig, embedding_dim: int) -> ShopperPopulation:
        """Draw a population from ``cfg.shoppers_seed`` (independent of any episode seed)."""
        rng = np.random.default_rng(np.random.SeedSequence([cfg.shoppers_seed, 0x5409]))
        n, k = cfg.n_shoppers, cfg.n_segments
        segment = rng.integers(0, k, n)
        centres = rng.standard_normal((k, embedding_dim))
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        prefs = centres[segment] + PREFERENCE_NOISE * rng.standard_normal((n, embedding_dim)) / np.sqrt(embedding_dim)
        prefs /= np.linalg.norm(prefs, axis=1, keepdims=True)
        # segments differ in price sensitivity: evenly spread multipliers 0.5 .. 1.5 of the mean
        seg_level = np.linspace(0.5, 1.5, k) if k > 1 else np.ones(1)
        sens = cfg.price_sensitivity * seg_level[segment] * np.exp(SENSITIVITY_SPREAD * rng.standard_normal(n))
        return cls(preferences=prefs, price_sensitivity=sens, segment=segment.astype(np.int64))

    def arrivals(self, rng: np.random.Generator, mean_sessions: float, dispersion: float = 0.0) -> np.ndarray:
        """Shoppers who start a session today: indices into the population (int64, with repeats).

        The number of sessions has mean ``mean_sessions`` (sessions/day): Poisson, or negative binomial with
        shape ``dispersion`` when it is > 0 (``shopgym.world.arrivals.draw_count``); each session's shopper is
        drawn uniformly from the population.
        """
        if mean_sessions < 0:
            raise ValueError(f"mean_sessions must be >= 0, got {mean_sessions}.")
        count = draw_count(rng, mean_sessions, dispersion)
        return rng.integers(0, self.n_shoppers, count).astype(np.int64)
