"""What one simulated day produced, per world and SKU, and the episode's running KPIs."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass
class DayOutcome:
    """One day's flows, each shaped ``(n_worlds, n_skus)``; quantities in units, money in currency.

    Stock is conserved: ``start_stock + received - sold - expired == end_stock``.
    Demand is accounted for: ``demand + substitute_in == sold + lost + substitute_out + backlog - backlog_before``.
    Profit is revenue minus the listed costs.
    """

    ordered: np.ndarray  # units ordered today (after any capacity cut)
    order_cut: np.ndarray  # units of the requested order cut to fit warehouse capacity
    received: np.ndarray  # units that arrived today
    start_stock: np.ndarray  # on hand at the start of the day, before receipts
    demand: np.ndarray  # new customer demand today (true, uncensored)
    expected_demand: np.ndarray  # the demand model's mean for today
    substitute_out: np.ndarray  # unmet demand that moved on to this SKU's substitute
    substitute_in: np.ndarray  # demand arriving from other SKUs whose stock ran out
    sold: np.ndarray  # units sold (shipped) today, backorders included
    lost: np.ndarray  # demand that walked away unserved
    backlog_before: np.ndarray  # backorders waiting at the start of the day
    backlog: np.ndarray  # backorders waiting at the end of the day
    expired: np.ndarray  # perishable units thrown away at the end of the day
    end_stock: np.ndarray  # on hand at the end of the day
    price: np.ndarray  # selling price today (currency/unit)
    revenue: np.ndarray
    purchase_cost: np.ndarray
    order_cost: np.ndarray
    holding_cost: np.ndarray
    lost_sale_cost: np.ndarray
    backorder_cost: np.ndarray
    disposal_cost: np.ndarray
    profit: np.ndarray

    COST_FIELDS = ("purchase_cost", "order_cost", "holding_cost", "lost_sale_cost", "backorder_cost", "disposal_cost")

    def world(self, w: int) -> DayOutcome:
        """The outcome of world ``w`` alone, arrays shaped ``(1, n_skus)``."""
        return DayOutcome(**{f.name: getattr(self, f.name)[w : w + 1] for f in fields(self)})


class KpiTracker:
    """Running episode KPIs per world (shape ``(n_worlds,)`` each)."""

    def __init__(self, n_worlds: int):
        self.n_worlds = n_worlds
        names = ("days", "revenue", "costs", "profit", "demand", "sold", "lost", "stockout_sku_days",
                 "sku_days", "inventory_units", "cogs", "expired")
        self.totals = {k: np.zeros(n_worlds) for k in names}

    def add(self, out: DayOutcome, unit_cost: np.ndarray) -> dict[str, np.ndarray]:
        """Fold in one day; return that day's KPIs per world."""
        t = self.totals
        costs = sum(getattr(out, c) for c in DayOutcome.COST_FIELDS).sum(-1)
        want = out.demand + out.substitute_in + out.backlog_before
        unmet = (want - out.sold) > 0
        day = {
            "profit": out.profit.sum(-1),
            "revenue": out.revenue.sum(-1),
            "costs": costs,
            "demand": out.demand.sum(-1).astype(float),
            "sold": out.sold.sum(-1).astype(float),
            "lost": out.lost.sum(-1).astype(float),
            "expired": out.expired.sum(-1).astype(float),
            "stockout_skus": unmet.sum(-1).astype(float),
            "inventory": out.end_stock.sum(-1).astype(float),
            "fill_rate": _ratio(out.sold.sum(-1), want.sum(-1)),
        }
        t["days"] += 1
        for k in ("revenue", "costs", "profit", "demand", "sold", "lost", "expired"):
            t[k] += day[k]
        t["stockout_sku_days"] += day["stockout_skus"]
        t["sku_days"] += out.demand.shape[-1]
        t["inventory_units"] += day["inventory"]
        t["cogs"] += (out.sold * unit_cost).sum(-1)
        return day

    def summary(self) -> dict[str, np.ndarray]:
        """Episode KPIs so far: profit (currency), fill rate (sold / (sold + lost)), stock-out days per SKU, ..."""
        t = self.totals
        days = np.maximum(t["days"], 1)
        mean_inv = t["inventory_units"] / days
        return {
            "profit": t["profit"].copy(),
            "revenue": t["revenue"].copy(),
            "costs": t["costs"].copy(),
            "fill_rate": _ratio(t["sold"], t["sold"] + t["lost"]),
            "lost_units": t["lost"].copy(),
            "expired_units": t["expired"].copy(),
            "stockout_days_per_sku": t["stockout_sku_days"] / np.maximum(t["sku_days"] / days, 1),
            "mean_inventory": mean_inv,
            "inventory_turns": _ratio(t["sold"], mean_inv),
        }


def _ratio(num, den) -> np.ndarray:
    num, den = np.asarray(num, float), np.asarray(den, float)
    return np.divide(num, den, out=np.ones_like(num), where=den > 0)
