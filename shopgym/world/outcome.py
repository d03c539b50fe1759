"""What one simulated day produced, per world and SKU (the KPIs built from it: ``shopgym.world.kpis``)."""

from __future__ import annotations

import numpy as np

from shopgym.world.kernel import M_FIELDS, Q_FIELDS


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
    ``substitute_in`` (demand arriving from other SKUs that ran out), ``sold`` (backorders and substitutes
    included), ``filled`` (units of today's ``demand`` served from stock today: with backorders, what the
    backlog, served first, left; substitute sales excluded), ``lost`` (walked away unserved), ``backlog_before`` / ``backlog`` (backorders waiting at the start / end of
    the day), ``expired`` (perishables thrown away tonight), ``end_stock``.
    Reals: ``expected_demand`` (units, the demand model's mean), ``price`` (currency/unit), and the money
    (currency) ``revenue``, ``purchase_cost``, ``order_cost``, ``holding_cost``, ``lost_sale_cost``,
    ``backorder_cost``, ``disposal_cost``, ``ad_cost`` (ad spend, charged on the SKU each won impression showed; 0
    without ads, ``shopgym.world.ads``), ``profit``.
    """

    __slots__ = ("q", "m")
    FIELDS = Q_FIELDS + M_FIELDS
    COST_FIELDS = ("purchase_cost", "order_cost", "holding_cost", "lost_sale_cost", "backorder_cost", "disposal_cost",
                   "ad_cost")

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
