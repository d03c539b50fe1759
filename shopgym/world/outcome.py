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
    """Running episode KPIs per world.

    Each day's flows are summed over SKUs in one reduction and added to per-world totals.
    """

    COLUMNS = ("profit", "revenue", "demand", "sold", "lost", "expired", "stockout_skus", "inventory", "cogs", "wanted")

    def __init__(self, n_worlds: int):
        self.n_worlds = n_worlds
        self.days = 0
        self.sku_days = 0
        self.acc = np.zeros((n_worlds, len(self.COLUMNS)))

    def add(self, out: DayOutcome, unit_cost: np.ndarray) -> dict[str, np.ndarray]:
        """Fold in one day; return that day's KPIs per world (each shaped ``(n_worlds,)``)."""
        want = out.demand + out.substitute_in + out.backlog_before
        day = np.stack([out.profit, out.revenue, out.demand, out.sold, out.lost, out.expired, want > out.sold,
                        out.end_stock, out.sold * unit_cost, want], axis=1).sum(-1)
        self.acc += day
        self.days += 1
        self.sku_days += out.demand.shape[-1]
        c = dict(zip(self.COLUMNS, day.T, strict=True))
        return {
            "profit": c["profit"], "revenue": c["revenue"], "costs": c["revenue"] - c["profit"],
            "demand": c["demand"], "sold": c["sold"], "lost": c["lost"], "expired": c["expired"],
            "stockout_skus": c["stockout_skus"], "inventory": c["inventory"],
            "fill_rate": _ratio(c["sold"], c["wanted"]),
        }

    def summary(self) -> dict[str, np.ndarray]:
        """Episode KPIs so far per world: profit, revenue, costs (currency); fill rate = sold / (sold + lost);
        lost and expired units; stock-out days per SKU (days with unmet demand); mean inventory (units);
        inventory turns (units sold / mean units on hand)."""
        t = dict(zip(self.COLUMNS, self.acc.T.copy(), strict=True))
        days = max(self.days, 1)
        mean_inv = t["inventory"] / days
        n_skus = self.sku_days / days if self.days else 1
        return {
            "profit": t["profit"],
            "revenue": t["revenue"],
            "costs": t["revenue"] - t["profit"],
            "fill_rate": _ratio(t["sold"], t["sold"] + t["lost"]),
            "lost_units": t["lost"],
            "expired_units": t["expired"],
            "stockout_days_per_sku": t["stockout_skus"] / n_skus,
            "mean_inventory": mean_inv,
            "inventory_turns": _ratio(t["sold"], mean_inv),
        }


def _ratio(num, den) -> np.ndarray:
    num, den = np.asarray(num, float), np.asarray(den, float)
    return np.divide(num, den, out=np.ones_like(num), where=den > 0)
