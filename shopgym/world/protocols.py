"""Plug points of the world: what a demand model must provide.

The world core calls these once per simulated day for every SKU of every parallel world at
once (arrays are shaped ``(n_worlds, n_skus)``; SKUs along the last axis). Ground-truth generators
and learned models (``forecasters.LearnedDemand``) satisfy them structurally: nothing here has to be
subclassed. The world receives model objects; ``shopgym.plugins`` turns a scenario's ``learned:PATH``
into one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class DemandContext:
    """What a demand model may look at for one simulated day.

    Attributes:
        day: day index since the episode started (0-based, days).
        dates: calendar date of ``day`` as ``numpy.datetime64[D]``.
        price: today's selling price per SKU, shape ``(n_worlds, n_skus)``, currency units.
        promo: whether each SKU is on promotion today, shape ``(n_worlds, n_skus)``, bool.
        demand_history: true (uncensored) daily demand of the last ``H`` days, shape
            ``(n_worlds, n_skus, H)``, units; the most recent day is last. Days before the episode
            start hold the model's warm-up values (see ``World``).
    """

    day: int
    date: np.datetime64
    price: np.ndarray
    promo: np.ndarray
    demand_history: np.ndarray


@runtime_checkable
class DemandModel(Protocol):
    """Daily customer demand per SKU (units/day), batched over worlds and SKUs."""

    n_skus: int

    def reset(self, n_worlds: int) -> None:
        """Forget any per-episode state (e.g. a recurrent model's hidden state)."""

    def expected(self, ctx: DemandContext) -> np.ndarray:
        """Expected demand for ``ctx.day``, shape ``(n_worlds, n_skus)``, units/day (float)."""

    def forecast(self, ctx: DemandContext, horizon: int) -> np.ndarray:
        """Expected demand for days ``ctx.day .. ctx.day + horizon - 1``.

        Shape ``(n_worlds, n_skus, horizon)``, units/day. Used for observations and heuristics;
        it must not consume random numbers.
        """

    def sample(self, ctx: DemandContext, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        """Realised demand for ``ctx.day``: non-negative integers, shape ``(n_worlds, n_skus)``.

        ``rngs[w]`` is world ``w``'s own demand generator; world ``w``'s draw must use only it, so
        that a batch of worlds reproduces the same worlds stepped one at a time.
        """


@runtime_checkable
class ExogenousDemandModel(DemandModel, Protocol):
    """A ``DemandModel`` whose demand depends only on the day and the price, never on what happened.

    The world then draws demand a block of days ahead and forecasts without building a context:
    both are fast paths that must give what the per-day methods give.
    """

    def sample_days(self, day0: int, n_days: int, price: np.ndarray, rngs: Sequence[np.random.Generator]
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Expected (float64) and sampled (int64) demand of days ``day0 ..``, each ``(n_days, n_worlds, n_skus)``;
        ``price`` is ``(n_days, n_worlds, n_skus)``."""

    def forecast_on(self, day: int, price: np.ndarray, horizon: int) -> np.ndarray:
        """``forecast`` for ``day`` at today's ``price`` (``(n_worlds, n_skus)``)."""


@dataclass(frozen=True)
class ImpressionBatch:
    """A batch of impressions: shopper ``shopper[j]`` is shown item ``item[j]``; all arrays length ``n``.

    Attributes:
        shopper: index into the shopper population (int).
        item: SKU index into the catalog (int).
        position: slot in the session's list, 0 = top (int).
        seen: how many times this shopper was shown this item before (int, >= 0; drives fatigue).
        discount: price cut from a discount or coupon, fraction of the list price in ``[0, 1)``.
        in_stock: whether the item can be bought now (bool).
        day: day index of the impression (days since the episode's start date; its weekday is
            ``calendar.day_of_week(start_date + day)``, which equals ``day % 7`` only when the start date is a Monday).
    """

    shopper: np.ndarray
    item: np.ndarray
    position: np.ndarray
    seen: np.ndarray
    discount: np.ndarray
    in_stock: np.ndarray
    day: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.shopper)
        for name in ("item", "position", "seen", "discount", "in_stock", "day"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"ImpressionBatch.{name} has length {len(getattr(self, name))}, shopper has {n}.")

    def __len__(self) -> int:
        return len(self.shopper)


@runtime_checkable
class ResponseModel(Protocol):
    """What a shopper does with a shown item: click, add to cart, purchase (a nested funnel).

    Batched: one call for all impressions of a session (or of a day).
    """

    def probabilities(self, batch: ImpressionBatch) -> np.ndarray:
        """Funnel probabilities, shape ``(n, 3)``: p(click), p(cart | click), p(purchase | cart)."""

    def sample(self, batch: ImpressionBatch, rng: np.random.Generator) -> np.ndarray:
        """Nested outcomes, bool ``(n, 3)``: click, cart, purchase with purchase <= cart <= click.

        Draws exactly ``3 n`` uniforms from ``rng`` whatever the outcomes, so that the stream does
        not depend on the model.
        """
