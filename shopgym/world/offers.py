"""Coupons and bundles: the offers a recommender attaches to shown items (``shoppers.coupons``, ``shoppers.bundles``).

**Coupons.** With ``shoppers.coupons`` on, each world has a coupon budget (``coupon_budget``: currency per
world and episode, restored at every reset). A shown discount ``d`` on item ``i`` is a coupon worth
``price_today[i] x d`` (currency). The rule that keeps the budget from going negative: within a served
batch, each world's coupon offers are taken in impression order (session, then slot) and granted while
the running total of the offers' worth fits in the budget left; the first offer that does not fit, and
every later offer of that world in the batch, is refused: the item is shown at full price (the response
model sees no discount). Only redeemed coupons (purchases) are paid, at their full worth; the worth of
granted but unredeemed offers stays in the budget. So spent <= granted worth <= budget left, and the
budget left is never negative. With coupons off, discounts are free price cuts (the first part's rule).

**Bundles.** With ``shoppers.bundles`` on, a shown item flagged as a bundle offer comes with its
complement ``j = catalog.complements()[i]``: both are shown (two impressions; the complement's row comes
right after its main item's, at the same slot), both at ``bundle_discount`` off (the main item at the
larger of that and its granted coupon). The shopper takes or leaves the bundle as one: the complement's
row copies the main row's click, cart and purchase. A bundle is bought only when both items have a unit
for it (in stock when the batch starts, and left after earlier sessions of the batch); otherwise neither
is bought (a stock-out hit on both rows) and the other item's unit stays on the shelf.

Everything is vectorised over the batch's impressions (numpy, no per-row Python loop).
"""

from __future__ import annotations

import numpy as np


def grant_coupons(world: np.ndarray, worth: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Which coupon offers are granted (bool per row; see the module docstring's rule).

    Args:
        world: world index per row (rows in impression order).
        worth: currency each offer would cost if redeemed (0: no coupon offered on that row).
        left: coupon budget left per world (currency).
    """
    offered = worth > 0
    if not offered.any():
        return offered
    order = np.argsort(world, kind="stable")
    w, v = world[order], worth[order]
    total = np.cumsum(v)
    start = np.searchsorted(w, w)  # first row of each world's run
    running = total - np.concatenate([[0.0], total])[start]
    ok = np.empty(len(world), dtype=bool)
    ok[order] = running <= left[w]
    return ok & offered


def pay_coupons(world: np.ndarray, worth: np.ndarray, redeemed: np.ndarray, left: np.ndarray) -> np.ndarray:
    """Take the redeemed coupons' worth from ``left`` (in place); returns the spend per world (currency).

    The granted worth never exceeds ``left`` (``grant_coupons``), so only float rounding of the sums could cross
    zero: the budget left is floored at 0."""
    spent = np.bincount(world, weights=np.where(redeemed, worth, 0.0), minlength=len(left))
    np.maximum(left - spent, 0.0, out=left)
    return spent


def expand_bundles(flag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows after adding one complement row right after each flagged row.

    Returns ``source`` (for each new row, the index of the row it comes from) and ``is_complement`` (bool)."""
    flag = flag.astype(bool)
    reps = 1 + flag.astype(np.int64)
    source = np.repeat(np.arange(len(flag)), reps)
    is_complement = np.zeros(len(source), dtype=bool)
    is_complement[(np.cumsum(reps) - 1)[flag]] = True
    return source, is_complement


def tie_bundles(purchase: np.ndarray, is_complement: np.ndarray) -> np.ndarray:
    """Purchases with each bundle bought whole or not at all (the complement row follows its main row)."""
    comp = np.flatnonzero(is_complement)
    if len(comp) == 0:
        return purchase
    both = purchase[comp - 1] & purchase[comp]
    out = purchase.copy()
    out[comp - 1] = both
    out[comp] = both
    return out
