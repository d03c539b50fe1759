"""Stock in age buckets: receipt, first-in-first-out removal and expiry, vectorised over worlds and SKUs.

Stock is an integer array ``(n_worlds, n_skus, K)``. For a perishable SKU, bucket ``k < K - 1`` holds
units that can still be sold for ``k`` more days after today (bucket 0 expires at the end of today).
Units of a non-perishable SKU all live in the last bucket ``K - 1``, which never ages. Selling takes
the lowest buckets first, which is first-expiring-first-out (FIFO for perishables).
"""

from __future__ import annotations

import numpy as np


def n_buckets(shelf_life: np.ndarray) -> int:
    """Buckets needed: the longest finite shelf life plus the never-ageing bucket."""
    return int(shelf_life.max(initial=0)) + 1


def arrival_bucket(shelf_life: np.ndarray, k: int) -> np.ndarray:
    """Bucket that a unit of each SKU enters when it arrives."""
    return np.where(shelf_life > 0, shelf_life - 1, k - 1)


def remove_fifo(stock: np.ndarray, qty: np.ndarray) -> np.ndarray:
    """Remove ``qty`` (``(n_worlds, n_skus)``, at most the on-hand) units, lowest buckets first; in place.

    Returns the units removed per bucket.
    """
    before = np.cumsum(stock, axis=-1) - stock  # units in lower buckets
    taken = np.clip(qty[..., None] - before, 0, stock)
    stock -= taken
    return taken


def expire_and_age(stock: np.ndarray, perishable: np.ndarray) -> np.ndarray:
    """End of day: perishable units in bucket 0 expire, the other ageing buckets move down; in place.

    Returns the expired units per world and SKU.
    """
    expired = np.where(perishable, stock[..., 0], 0)
    if stock.shape[-1] > 1:
        stock[..., :-2] = stock[..., 1:-1]
        stock[..., -2] = 0
    else:  # only the never-ageing bucket exists: nothing perishes
        pass
    return expired
