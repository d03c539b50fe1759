"""What one simulated day produced, per world and SKU, and the episode's running KPIs."""

from __future__ import annotations

import numpy as np

from shopgym.world.kernel import KPI_COLUMNS, M_FIELDS, Q_FIELDS


class DayOutcome:
    """One day's flows, each shaped ``(n_worlds, n_skus)``; quantities in units, money in currency.

    Stock is conserved: ``start_stock + received - sold - expired == end_stock``.
    Demand is accounted for: ``demand + substitute_in == sold + lost + substitute_out + backlog - backlog_before``.
    Profit is revenue minus the listed costs.

    The fields are views into two ledgers written by the day step: ``q`` (int64 units,
    ``(n_worlds, len(Q_FIELDS), n_skus)``) and ``m`` (float64, ``(n_worlds, len(M_FIELDS), n_skus)``).
    Each day gets fresh ledgers, so an outcome kept by a caller never changes.

    Quantities (units): ``ordered`` (after any capacity cut), ``order_cut`` (units of the request cut to fit
    warehouse capacity), ``received``, ``start_stock`` (on hand before receipts), ``demand`` (new customer
    demand, true and uncensored), ``substitute_out`` (unmet demand that moved on to this SKU's substitute),
    ``substitute_in`` (demand arriving from other SKUs that ran out), ``sold`` (backorders included),
    ``lost`` (walked away unserved), ``backlog_before`` / ``backlog`` (backorders waiting at the start / end of
    the day), ``expired`` (perishables thrown away tonight), ``end_stock``.
    Reals: ``expected_demand`` (units, the demand model's mean), ``price`` (currency/unit), and the money
    (currency) ``revenue``, ``purchase_cost``, ``order_cost``, ``holding_cost``, ``lost_sale_cost``,
    ``backorder_cost``, ``disposal_cost``, ``profit``.
    """

    __slots__ = ("q", "m")
    FIELDS = Q_FIELDS + M_FIELDS
    COST_FIELDS = ("purchase_cost", "order_cost", "holding_cost", "lost_sale_cost", "backorder_cost", "disposal_cost")

    def __init__(self, q: np.ndarray, m: np.ndarray):
        self.q, self.m = q, m

    @classmethod
    def from_arrays(cls, **arrays: np.ndarray) -> DayOutcome:
        """An outcome from one ``(n_worlds, n_skus)`` array per field (all of ``FIELDS``)."""
        missing = set(cls.FIELDS) - set(arrays)
        if missing:
            raise ValueError(f"missing fields: {sorted(missing)}")
        q = np.stack([np.asarray(arrays[f], dtype=np.int64) for f in Q_FIELDS], axis=1)
        m = np.stack([np.asarray(arrays[f], dtype=np.float64) for f in M_FIELDS], axis=1)
        return cls(q, m)

    def world(self, w: int) -> DayOutcome:
        """The outcome of world ``w`` alone, arrays shaped ``(1, n_skus)``."""
        return DayOutcome(self.q[w : w + 1], self.m[w : w + 1])

    def as_dict(self) -> dict[str, np.ndarray]:
        """Every field by name."""
        return {f: getattr(self, f) for f in self.FIELDS}


def _field(ledger: str, index: int, name: str) -> property:
    if ledger == "q":
        return property(lambda self: self.q[:, index], doc=f"{name} per world and SKU (units).")
    return property(lambda self: self.m[:, index], doc=f"{name} per world and SKU.")


for _i, _name in enumerate(Q_FIELDS):
    setattr(DayOutcome, _name, _field("q", _i, _name))
for _i, _name in enumerate(M_FIELDS):
    setattr(DayOutcome, _name, _field("m", _i, _name))


class KpiTracker:
    """Running episode KPIs per world, folded in from each day's per-world totals (``KPI_COLUMNS``)."""

    COLUMNS = KPI_COLUMNS

    def __init__(self, n_worlds: int):
        self.n_worlds = n_worlds
        self.days = 0
        self.sku_days = 0
        self.acc = np.zeros((n_worlds, len(self.COLUMNS)))
        self.last = np.zeros((n_worlds, len(self.COLUMNS)))

    @staticmethod
    def totals(out: DayOutcome, unit_cost: np.ndarray) -> np.ndarray:
        """One day's ``KPI_COLUMNS`` summed over SKUs, ``(n_worlds, len(KPI_COLUMNS))`` (the numpy engine's way)."""
        want = out.demand + out.substitute_in + out.backlog_before
        return np.stack([out.profit, out.revenue, out.demand, out.sold, out.lost, out.expired, want > out.sold,
                         out.end_stock, out.sold * unit_cost, want], axis=1).sum(-1)

    def record(self, totals: np.ndarray, n_skus: int) -> None:
        """Note one day whose totals (``(n_worlds, len(KPI_COLUMNS))``) the caller has already added to ``acc``."""
        self.last = totals
        self.days += 1
        self.sku_days += n_skus

    def day(self) -> dict[str, np.ndarray]:
        """The last day's KPIs per world (each ``(n_worlds,)``): money in currency, flows in units."""
        c = dict(zip(self.COLUMNS, self.last.T, strict=True))
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
