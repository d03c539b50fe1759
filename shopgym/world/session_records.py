"""What the session phase takes and gives: a day's decisions, its sessions, a served batch's outcome.

The records of ``shopgym.world.sessions`` (re-exported there, so ``from shopgym.world.sessions import Decisions``
keeps working), the checks of the slates, discounts and bundle flags a caller hands in (``ActionError`` naming the
problem), and ``SESSION_COLUMN``, the column of each per-world day sum of the phase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopgym.errors import ActionError
from shopgym.world.kpis import SESSION_FIELDS

#: Column of each per-world day sum of the session phase (``shopgym.world.kpis.SESSION_FIELDS`` defines them).
SESSION_COLUMN = {name: i for i, name in enumerate(SESSION_FIELDS)}


@dataclass(frozen=True)
class Decisions:
    """All of one day's decisions for ``World.step``.

    Attributes:
        orders: units ordered per world and SKU, ``(n_worlds, n_skus)`` non-negative integers.
        slates: what each of today's not yet served sessions is shown, ``(n_sessions, slots)`` item (SKU)
            indices in slot order (slot 0 = top), ``-1`` for an empty slot; rows follow
            ``World.sessions_today()`` order (world after world) restricted to unserved sessions.
            ``None``: those sessions are shown nothing (they still visit).
        discounts: price cut per shown item, a fraction of the list price in ``[0, 1)``, same shape as
            ``slates``; ``None`` for no discounts. With ``shoppers.coupons`` they are coupons paid from the
            coupon budget (``shopgym.world.offers``).
        bundles: whether each shown item is offered as a bundle with its complement (``shoppers.bundles``), bool,
            same shape as ``slates``; ``None`` for no bundles.
    """

    orders: np.ndarray
    slates: np.ndarray | None = None
    discounts: np.ndarray | None = None
    bundles: np.ndarray | None = None


@dataclass(frozen=True)
class Sessions:
    """One day's sessions of every world, world after world.

    Attributes:
        world: world index per session, ``(S,)`` int64 (non-decreasing).
        shopper: shopper index (into the population) per session, ``(S,)`` int64.
        offsets: sessions of world ``w`` are ``offsets[w]:offsets[w + 1]``, ``(n_worlds + 1,)``.
        served: whether each session was served yet today, ``(S,)`` bool (updated in place by the phase).
    """

    world: np.ndarray
    shopper: np.ndarray
    offsets: np.ndarray
    served: np.ndarray

    def __len__(self) -> int:
        return len(self.world)

    def unserved(self) -> np.ndarray:
        """Indices of the sessions not served yet, in order."""
        return np.flatnonzero(~self.served)


@dataclass(frozen=True)
class SessionOutcome:
    """What one served batch of sessions did.

    Per impression (flat, in session then slot order; ``m`` impressions): ``session`` (index into today's
    ``Sessions``), ``world``, ``shopper``, ``position`` (slot), ``item`` (SKU), ``discount`` (fraction),
    ``click``, ``cart``, ``purchase`` (bool; purchase <= cart <= click), ``in_stock`` (bool, when the batch
    started), ``stockout_hit`` (bool: carted but no unit left to buy), ``revenue`` and ``margin`` (currency:
    price paid, and price paid minus unit cost, for purchases; 0 otherwise).
    Per served session, in the order given: ``sessions`` (their indices), ``session_revenue`` and
    ``session_margin`` (currency). ``sold``: units taken from stock per world and SKU, ``(n_worlds, n_skus)``.
    Offers, per impression: ``coupon`` (bool: a coupon was granted on it), ``bundle`` (bool: part of a bundle offer),
    ``complement`` (bool: the complement row of a bundle); ``coupon_spend``: currency paid for coupons per world.
    """

    session: np.ndarray
    world: np.ndarray
    shopper: np.ndarray
    position: np.ndarray
    item: np.ndarray
    discount: np.ndarray
    click: np.ndarray
    cart: np.ndarray
    purchase: np.ndarray
    in_stock: np.ndarray
    stockout_hit: np.ndarray
    revenue: np.ndarray
    margin: np.ndarray
    sessions: np.ndarray
    session_revenue: np.ndarray
    session_margin: np.ndarray
    sold: np.ndarray
    coupon: np.ndarray | None = None
    bundle: np.ndarray | None = None
    complement: np.ndarray | None = None
    coupon_spend: np.ndarray | None = None


def check_bundles(bundles, shape: tuple[int, ...]) -> np.ndarray | None:
    """Validated bundle flags (bool, ``shape``) or ``None``; ``ActionError`` naming the problem."""
    if bundles is None:
        return None
    bundles = np.asarray(bundles)
    if bundles.shape != shape:
        raise ActionError(f"bundles must have the slates' shape {shape}, got {bundles.shape}.")
    if bundles.size and not (np.issubdtype(bundles.dtype, np.bool_) or np.isin(bundles, (0, 1)).all()):
        raise ActionError("bundles must be booleans (or 0/1): whether each shown item is offered as a bundle.")
    return bundles.astype(bool)


def check_slates(slates, discounts, n_sessions: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(n_sessions, slots)`` int64 slates and float64 discounts; ``ActionError`` naming the problem."""
    slates = np.asarray(slates)
    if slates.ndim == 1 and n_sessions == 1:
        slates = slates[None]
    if slates.ndim != 2 or slates.shape[0] != n_sessions:
        raise ActionError(f"slates must have shape (n_sessions={n_sessions}, slots), got {slates.shape}: one row "
                          "of item indices per unserved session (World.sessions_today()).")
    if slates.size and not np.issubdtype(slates.dtype, np.integer):
        raise ActionError(f"slates must hold integer item indices, got dtype {slates.dtype}.")
    slates = slates.astype(np.int64, copy=False)
    if slates.size and (slates.min() < -1 or slates.max() >= n_items):
        raise ActionError(f"slate entries must be item indices in [0, {n_items - 1}] or -1 (empty slot), got values "
                          f"in [{slates.min()}, {slates.max()}].")
    if discounts is None:
        return slates, np.zeros(slates.shape)
    discounts = np.asarray(discounts, dtype=np.float64)
    if discounts.shape != slates.shape:
        raise ActionError(f"discounts must have the slates' shape {slates.shape}, got {discounts.shape}.")
    if discounts.size and not ((discounts >= 0) & (discounts < 1)).all():
        raise ActionError("discounts must be fractions of the list price in [0, 1).")
    return slates, discounts
