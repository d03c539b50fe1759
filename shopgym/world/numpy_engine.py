"""The numpy engine: one simulated day in vectorised numpy, the reference implementation of the compiled
``kernel.step_worlds`` (a property test keeps the two identical). ``World(engine="numpy")`` or
``SHOPGYM_ENGINE=numpy`` runs it; part of the world core, it reads the world's internal buffers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from shopgym.world import inventory as inv
from shopgym.world.kpis import day_totals
from shopgym.world.outcome import DayOutcome

if TYPE_CHECKING:
    from shopgym.world.world import World


def step_numpy(world: World, orders: np.ndarray, expected: np.ndarray, demand: np.ndarray
                ) -> tuple[DayOutcome, np.ndarray]:
    """The day in vectorised numpy: the reference implementation of ``kernel.step_worlds``."""
    cat, icfg = world.catalog, world.scenario.inventory
    b, n = world.n_worlds, cat.n_skus
    single_bucket = world.n_buckets == 1
    stock2d = world.stock[..., 0] if single_bucket else None
    start_stock = stock2d.copy() if single_bucket else world.stock.sum(-1)
    wanted = orders
    if icfg.capacity > 0:
        room = np.maximum(icfg.capacity - start_stock.sum(-1) - world.pipeline.sum((1, 2)), 0)
        total = orders.sum(-1)
        over = total > room  # cut every SKU's order in proportion, in exact integer arithmetic
        orders = np.where(over[:, None], orders * room[:, None] // np.maximum(total, 1)[:, None], orders)

    # 1-2. place orders, receive deliveries due today
    if world.max_lead_time == 0:
        received = orders
    else:
        lead = world._uniform_lead[world.day]
        if lead >= 0:  # every SKU has the same lead time today: a plain slice, no fancy indexing
            world.pipeline[:, :, lead] += orders
        else:
            world.pipeline[:, world._sku_index, world._lead_table[world.day]] += orders
        received = world.pipeline[..., 0].copy()
        world.pipeline[..., :-1] = world.pipeline[..., 1:]
        world.pipeline[..., -1] = 0
    # 3. demand and sales
    backlog_before = world.backlog.copy()
    want = demand + backlog_before if icfg.backorders else demand
    if single_bucket:
        stock2d += received
        sold = np.minimum(want, stock2d)
        stock2d -= sold
    else:
        world.stock[:, world._sku_index, world.arrival_bucket] += received
        sold = np.minimum(want, world.stock.sum(-1))
        inv.remove_fifo(world.stock, sold)
    # today's demand is served after the backlog: what the backlog did not take (substitute sales excluded)
    filled = sold - np.minimum(backlog_before, sold) if icfg.backorders else sold
    unmet = want - sold
    sub_out = sub_in = world._zeros
    if icfg.backorders:
        world.backlog[...] = unmet
        lost = world._zeros
    else:
        lost = unmet
        share = world.scenario.demand.substitution
        if share > 0 and n > 1:
            sub_out = np.floor(unmet * share).astype(np.int64)
            flat = (np.arange(b)[:, None] * n + world.substitute[None, :]).ravel()
            sub_in = np.bincount(flat, weights=sub_out.ravel(), minlength=b * n).reshape(b, n).astype(np.int64)
            extra = np.minimum(sub_in, world.stock.sum(-1))
            inv.remove_fifo(world.stock, extra)
            sold = sold + extra
            lost = unmet - sub_out + (sub_in - extra)
    # 4. holding cost on the stock left tonight, then expiry
    if single_bucket:
        end_stock = stock2d.copy()
        held, expired = end_stock, world._zeros
    else:
        held = world.stock.sum(-1)
        expired = inv.expire_and_age(world.stock, world.perishable)
        end_stock = held - expired

    price = world._price_by_day[world.day]
    revenue = price * sold
    purchase_cost = cat.unit_cost * orders
    order_cost = cat.order_cost * (orders > 0) if world._has_order_cost else world._zeros
    holding_cost = cat.holding_cost * held
    lost_sale_cost = icfg.lost_sale_penalty * lost
    backorder_cost = icfg.backorder_penalty * world.backlog
    disposal_cost = icfg.disposal_cost * expired
    out = DayOutcome.from_arrays(
        ordered=orders, order_cut=wanted - orders, received=received, start_stock=start_stock,
        demand=demand, expected_demand=expected, substitute_out=sub_out, substitute_in=sub_in,
        sold=sold, filled=filled, lost=lost, backlog_before=backlog_before, backlog=world.backlog, expired=expired,
        end_stock=end_stock, price=price, revenue=revenue, purchase_cost=purchase_cost, order_cost=order_cost,
        holding_cost=holding_cost, lost_sale_cost=lost_sale_cost, backorder_cost=backorder_cost,
        disposal_cost=disposal_cost, ad_cost=world._zeros,
        profit=revenue - purchase_cost - order_cost - holding_cost - lost_sale_cost - backorder_cost - disposal_cost,
    )
    col = world.history_len + world.day
    world._demand_buf[..., col] = demand
    world._sales_buf[..., col] = out.sold
    return out, day_totals(out, cat.unit_cost)
