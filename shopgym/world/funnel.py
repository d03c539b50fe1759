"""The funnel probabilities of a batch of impressions: what a served session draws its outcomes from.

One place for step 2 of serving a batch (``shopgym.world.sessions``): the response model's p(click),
p(cart | click), p(purchase | cart) for each impression (its position, the shopper's seen count of the item, whether
the item is in stock, the day), then the shopper's memory's click shift (``memory_drift``: the interest in the
item's category added to the click log-odds) and the complement lift (``shoppers.complements``: the cart lift of an
item shown after a purchase of the item it complements). ``SessionPhase.serve`` draws from these probabilities;
``scenarios.expected_margin.session_expectation`` takes their expectation, so the two cannot drift apart. (The
compiled path, ``shopgym.world.session_kernel``, computes the same numbers inside its loop, and its tests compare it
with this reference.)
"""

from __future__ import annotations

import numpy as np

from shopgym.world.protocols import ImpressionBatch
from shopgym.world.response import lift_cart


def funnel_probabilities(phase, response_model, world: np.ndarray, shopper: np.ndarray, item: np.ndarray,
                         position: np.ndarray, discount: np.ndarray, in_stock: np.ndarray, day: int) -> np.ndarray:
    """p(click), p(cart | click), p(purchase | cart) per impression, ``(m, 3)`` float64, exactly as served.

    Args:
        phase: the world's ``SessionPhase`` (its shoppers' memory ``state``, ``cfg``, ``catalog``, ``last_purchase``
            and ``complements``, read as they are now: before the batch's own outcomes are recorded).
        response_model: the world's ``ResponseModel`` (ground truth or learned).
        world, shopper, item, position: per impression, ``(m,)`` int64: world index, shopper index, SKU and slot
            (0 = top).
        discount: price cut per impression, a fraction of the list price in ``[0, 1)``, ``(m,)`` float64.
        in_stock: whether the world has the item on hand, ``(m,)`` bool.
        day: the day (days since the episode start).
    """
    m = len(item)
    if m == 0:
        return np.zeros((0, 3))
    cfg = phase.cfg
    batch = ImpressionBatch(shopper=shopper, item=item, position=position,
                            seen=phase.state.seen_counts(world, shopper, item), discount=discount,
                            in_stock=in_stock, day=np.full(m, day, dtype=np.int64))
    probs = np.array(response_model.probabilities(batch), dtype=np.float64).reshape(m, 3)
    shift = phase.state.click_shift(world, shopper, phase.catalog.category[item])
    if shift is not None:  # drifting interests: the shopper's interest in the category, in log-odds
        p = np.clip(probs[:, 0], 1e-12, 1 - 1e-12)
        probs[:, 0] = 1.0 / (1.0 + np.exp(-(np.log(p) - np.log1p(-p) + shift)))
    if cfg.complements:  # a cart lift for the complement of the shopper's last purchase
        before = phase.last_purchase[world, shopper]
        lift_cart(probs, (before >= 0) & (phase.complements[np.maximum(before, 0)] == item), cfg.complement_lift)
    return probs
