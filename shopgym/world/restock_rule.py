"""The restocking rule that runs under envs which do not expose the order (Recommend): order up to a cover.

A plain function of the world's public state (numpy only, no agents): each day, per SKU, order what
brings stock on hand plus on order up to the expected demand of the lead time, today and
``cover_days`` more days. The daily demand rate is the larger of the demand model's forecast for today
and the mean of the last 7 days' sales (which include recommendation-driven sales), so traffic that
recommendations add is restocked too. Orders are capped at ``env.max_order``.
"""

from __future__ import annotations

import numpy as np

from shopgym.errors import ScenarioError

#: Restocking rules a scenario can name in ``recommend.restock_policy``.
RESTOCK_POLICIES = ("order_up_to", "none")
#: Days of sales history averaged for the demand rate.
SALES_WINDOW = 7


def check_restock_policy(name: str) -> str:
    """``name`` if it is a known rule, else a ``ScenarioError`` listing them."""
    if name not in RESTOCK_POLICIES:
        raise ScenarioError(f"recommend.restock_policy = {name!r} is not a restocking rule; use one of "
                            f"{list(RESTOCK_POLICIES)}.")
    return name


def order_up_to(world, cover_days: float, max_order: int) -> np.ndarray:
    """Today's orders (units, ``(n_worlds, n_skus)`` int64) of the order-up-to rule described above."""
    rate = np.maximum(world.forecast_rows(1)[..., 0], world.sales_history[..., -SALES_WINDOW:].mean(-1))
    days = world.lead_time_on(world.day) + 1 + cover_days
    target = np.ceil(rate * days)
    position = world.on_hand + world.pipeline.sum(-1) - world.backlog
    return np.clip(target - position, 0, max_order).astype(np.int64)


def restock_orders(world, policy: str, cover_days: float, max_order: int) -> np.ndarray:
    """Orders of rule ``policy`` (``RESTOCK_POLICIES``) for today, ``(n_worlds, n_skus)`` units."""
    if check_restock_policy(policy) == "none":
        return np.zeros((world.n_worlds, world.catalog.n_skus), dtype=np.int64)
    return order_up_to(world, cover_days, max_order)
