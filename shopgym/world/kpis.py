"""The shop's KPIs, each defined once: from the day step's per-world sums to the numbers users read.

Every KPI that an env's ``info``, ``info["episode_kpis"]`` or the benchmark reports is computed
here, from the day sums ``TOTAL_FIELDS`` that the day step writes (the compiled kernel, and
``day_totals`` for the numpy engine). Quantities are in units, money in the scenario's currency,
rates are fractions in [0, 1].

Definitions (a *SKU-day* is one SKU on one day; *wanted* = new demand + substitute demand
arriving from SKUs that ran out + backlog due):

- ``unit_fill_rate``: units of new demand served from stock on the day they were demanded, over
  new demand. With backorders the backlog is served first (as the day step does), so
  ``filled = min(demand, stock left after serving the backlog)``; backlog served on a later day
  does not count. Sales to customers arriving from a SKU that ran out (substitution) do not count
  either: the SKU they wanted was out. 1.0 when there was no demand.
- ``cycle_service_level``: share of SKU-days without a stock-out, a stock-out being a SKU-day on
  which some of what was wanted could not be served from stock. ``stockout_days_per_sku`` is the
  same count per SKU (days).
- ``backordered_units``: units of demand that waited for a later day (backorders mode; 0 with
  lost sales). ``backorder_age_days``: their mean wait in days, by Little's law: the sum over days
  of the end-of-day backlog over ``backordered_units``. This is the exact mean wait of backordered
  units (a unit backordered today and served tomorrow waited 1 day); units still waiting when the
  episode ends count their wait so far. 0 when nothing was backordered.
- ``lost_units`` (walked away unserved, after any substitution) and ``expired_units`` (perishables
  thrown away).
- ``mean_inventory`` (units) and ``mean_inventory_value`` (currency, at unit cost): end-of-day
  stock averaged over days.
- ``inventory_turns``: cost of goods sold over the episode / ``mean_inventory_value`` (turns per
  episode; per year for the default 365-day horizon). Guard: when the mean inventory value is
  below ``MIN_COVER_DAYS`` days of mean demand valued at cost, the shop held next to nothing and the
  ratio only measures how empty it was (a policy that never orders reaches hundreds of turns), so
  turns are ``nan`` (pandas' means skip it). A newsvendor shop, whose stock all perishes each
  night, reports ``nan`` too.
- ``gross_margin``: (revenue - cost of goods sold) / revenue; ``nan`` when nothing was sold.
- ``profit``, ``revenue``, ``costs`` (= revenue - profit: purchases, order, holding, penalty and
  disposal costs), currency.

Recommendation KPIs (``SESSION_KPIS``, from the session phase's day sums ``SESSION_FIELDS``; zero
without sessions): ``sessions``, ``impressions`` (items shown), ``clicks``, ``carts``, ``purchases``
(counts; purchases <= carts <= clicks <= impressions); ``ctr`` = clicks / impressions;
``conversion_rate`` = purchases / clicks (0 without clicks); ``recommendation_revenue`` (currency, price
paid after discounts) and ``recommendation_margin`` (currency: revenue minus the unit cost of the units
sold through recommendations); ``stockouts_hit`` (carts that found no unit left to buy, count);
``churned_shoppers`` (shoppers who left for good by the end, count); with ``shoppers.coupons``,
``coupon_spend`` (currency: today's price x discount of each redeemed coupon; never above the budget),
``coupons_granted`` and ``coupons_refused`` (offers shown, and offers shown at full price because the
budget left could not cover them, counts); with ``shoppers.bundles``, ``bundles_sold`` (count). Recommendation-driven sales are
also in the shop's ``revenue``, ``sold`` and ``demand`` (they are demand served from stock).

Ad KPIs (``ADS_KPIS``, from the ads phase's day sums ``ADS_FIELDS``, ``shopgym.world.ads``; zero without ads):
``opportunities`` (ad slots our campaigns bid for), ``wins`` (impressions won), ``clicks``, ``carts``, ``purchases``
(counts; purchases <= carts <= clicks <= wins <= opportunities); ``win_rate`` = wins / opportunities;
``ad_spend`` (currency paid for won impressions; never above the budgets); ``ad_revenue`` and ``ad_margin``
(currency: today's price, and price minus unit cost, of ad-driven purchases); ``roas`` = ad revenue / ad spend
(0 without spend); ``cpa`` = ad spend / purchases (``inf`` with spend but no purchase, 0 without spend;
neither is ever ``nan``, so infos compare equal across identical runs); ``wasted_spend`` (currency
paid for impressions won while nothing of the campaign was in stock: they cannot sell) and ``wasted_impressions``
(count). Ad-driven sales are also in the shop's ``revenue``, ``sold`` and ``demand``, and the ad spend is one of
its ``costs`` (``DayOutcome.ad_cost``), so ``profit = revenue - costs`` holds with ads.
"""

from __future__ import annotations

import operator

import numpy as np

#: Per-world sums over SKUs of one day, written by the day step (``kernel.step_worlds``, ``day_totals``):
#: ``profit``, ``revenue``, ``cogs`` (cost of the goods sold: sold x unit cost) in currency; ``demand`` (new
#: demand), ``filled`` (new demand served from stock the same day), ``sold`` (all sales: backlog and substitutes
#: included), ``lost``, ``expired``, ``backordered`` (new backorders), ``backlog`` (waiting at the end of the
#: day), ``inventory`` (end-of-day stock) in units; ``stockout_skus`` (SKUs with unmet wants, a count);
#: ``inventory_value`` (end-of-day stock at unit cost) and ``demand_cost`` (new demand at unit cost), currency.
TOTAL_FIELDS = ("profit", "revenue", "cogs", "demand", "filled", "sold", "lost", "expired", "backordered", "backlog",
                "stockout_skus", "inventory", "inventory_value", "demand_cost")

#: Days of mean demand (at cost) that the mean inventory value must reach for ``inventory_turns`` to be reported.
MIN_COVER_DAYS = 1.0

#: The per-day KPIs of an env's ``info``: name -> unit (all SKUs of one world, one day).
DAY_KPIS = {
    "profit": "currency", "revenue": "currency", "costs": "currency", "demand": "units", "sold": "units",
    "lost": "units", "expired": "units", "stockout_skus": "SKUs", "inventory": "units",
    "unit_fill_rate": "fraction of today's new demand served from stock today, 1.0 without demand",
}

#: The episode KPIs of ``info["episode_kpis"]`` and of the benchmark: name -> unit (see the module docstring).
EPISODE_KPIS = {
    "profit": "currency", "revenue": "currency", "costs": "currency",
    "gross_margin": "fraction of revenue",
    "unit_fill_rate": "fraction of new demand served from stock the day it was demanded",
    "cycle_service_level": "fraction of SKU-days without a stock-out",
    "stockout_days_per_sku": "days",
    "lost_units": "units", "expired_units": "units", "backordered_units": "units",
    "backorder_age_days": "days",
    "mean_inventory": "units", "mean_inventory_value": "currency",
    "inventory_turns": "turns per episode (nan when inventory is near zero)",
}

#: Per-world day sums of the session phase (``shopgym.world.sessions``): ``sessions``, ``impressions``, ``clicks``,
#: ``carts``, ``purchases``, ``stockouts_hit`` and ``out_of_stock_shown`` (counts), ``rec_revenue`` and ``rec_margin``
#: (currency), ``coupon_spend`` (currency), ``coupons_granted``, ``coupons_refused`` and ``bundles_sold`` (counts),
#: ``churned`` (shoppers churned so far: a level at the day's end, not a flow; always the last column).
SESSION_FIELDS = ("sessions", "impressions", "clicks", "carts", "purchases", "stockouts_hit", "out_of_stock_shown",
                  "rec_revenue", "rec_margin", "coupon_spend", "coupons_granted", "coupons_refused", "bundles_sold",
                  "churned")

#: The recommendation KPIs (``session_kpis``): name -> unit (see the module docstring).
SESSION_KPIS = {
    "sessions": "sessions", "impressions": "items shown", "clicks": "clicks", "carts": "add-to-carts",
    "purchases": "units bought through recommendations",
    "ctr": "clicks per impression (fraction)", "conversion_rate": "purchases per click (fraction)",
    "recommendation_revenue": "currency", "recommendation_margin": "currency (revenue - unit cost of units sold)",
    "stockouts_hit": "carts that found the item out of stock (count)",
    "churned_shoppers": "shoppers who left for good (count, at the end)",
    "coupon_spend": "currency paid for redeemed coupons", "coupons_granted": "coupon offers shown (count)",
    "coupons_refused": "coupon offers not granted: the budget could not cover them (count)",
    "bundles_sold": "bundles bought (count; each is two units)",
}

#: Per-world day sums of the ads phase (``shopgym.world.ads``): ``opportunities``, ``wins``, ``clicks``, ``carts``,
#: ``purchases`` (counts), ``spend``, ``ad_revenue``, ``ad_margin``, ``wasted_spend`` (currency),
#: ``wasted_impressions`` (count).
ADS_FIELDS = ("opportunities", "wins", "clicks", "carts", "purchases", "spend", "ad_revenue", "ad_margin",
              "wasted_spend", "wasted_impressions")

#: The ad KPIs (``ads_kpis``): name -> unit (see the module docstring).
ADS_KPIS = {
    "opportunities": "ad opportunities (count)", "wins": "impressions won (count)", "clicks": "clicks",
    "carts": "add-to-carts", "purchases": "units bought through ads",
    "win_rate": "impressions won per opportunity (fraction)", "ad_spend": "currency",
    "ad_revenue": "currency", "ad_margin": "currency (revenue - unit cost of units sold through ads)",
    "roas": "ad revenue per unit of ad spend (0 without spend)",
    "cpa": "currency of ad spend per ad-driven purchase (inf with spend but no purchase; 0 without spend)",
    "wasted_spend": "currency paid for impressions won while nothing of the campaign was in stock",
    "wasted_impressions": "impressions won while nothing of the campaign was in stock (count)",
}

#: Column of each day sum in a totals row.
T = {name: i for i, name in enumerate(TOTAL_FIELDS)}


def ads_kpis(acc: np.ndarray) -> dict[str, np.ndarray]:
    """The ad KPIs (``ADS_KPIS``) per world, each ``(n_worlds,)``, from ``(n_worlds, len(ADS_FIELDS))`` sums."""
    t = dict(zip(ADS_FIELDS, np.asarray(acc, float).T.copy(), strict=True))
    return {
        "opportunities": t["opportunities"], "wins": t["wins"], "clicks": t["clicks"], "carts": t["carts"],
        "purchases": t["purchases"], "win_rate": _ratio(t["wins"], t["opportunities"], 0.0),
        "ad_spend": t["spend"], "ad_revenue": t["ad_revenue"], "ad_margin": t["ad_margin"],
        "roas": _ratio(t["ad_revenue"], t["spend"], 0.0),
        "cpa": np.where(t["spend"] > 0, _ratio(t["spend"], t["purchases"], np.inf), 0.0),
        "wasted_spend": t["wasted_spend"], "wasted_impressions": t["wasted_impressions"],
    }


def day_totals(out, unit_cost: np.ndarray) -> np.ndarray:
    """One day's ``TOTAL_FIELDS`` per world, ``(n_worlds, len(TOTAL_FIELDS))``, from a ``DayOutcome`` (numpy engine).

    ``unit_cost``: ``(n_skus,)`` currency/unit. The compiled kernel writes the same sums.
    """
    wanted = out.demand + out.substitute_in + out.backlog_before
    backordered = out.backlog - out.backlog_before + np.minimum(out.backlog_before, out.sold)
    cols = {
        "profit": out.profit, "revenue": out.revenue, "cogs": out.sold * unit_cost, "demand": out.demand,
        "filled": out.filled, "sold": out.sold, "lost": out.lost, "expired": out.expired, "backordered": backordered,
        "backlog": out.backlog, "stockout_skus": wanted > out.sold, "inventory": out.end_stock,
        "inventory_value": out.end_stock * unit_cost, "demand_cost": out.demand * unit_cost,
    }
    return np.stack([cols[f] for f in TOTAL_FIELDS], axis=1).sum(-1)


def _ratio(num, den, empty: float):
    """``num / den``, or ``empty`` where ``den <= 0``; for floats or arrays alike."""
    if isinstance(den, float):
        return num / den if den > 0 else empty
    num, den = np.asarray(num, float), np.asarray(den, float)
    return np.divide(num, den, out=np.full(np.broadcast_shapes(num.shape, den.shape), empty), where=den > 0)


def day_kpis(totals) -> dict:
    """The per-day KPIs (``DAY_KPIS``) from one day's sums.

    ``totals``: a ``(n_worlds, len(TOTAL_FIELDS))`` array (gives arrays ``(n_worlds,)``) or one world's row as a
    list of floats (gives floats: the single env's fast path).
    """
    if isinstance(totals, np.ndarray):
        totals = totals.T  # one row per field
    profit, revenue, demand, filled, sold, lost, expired, stockout_skus, inventory = _day_fields(totals)
    return {
        "profit": profit, "revenue": revenue, "costs": revenue - profit, "demand": demand, "sold": sold, "lost": lost,
        "expired": expired, "stockout_skus": stockout_skus, "inventory": inventory,
        "unit_fill_rate": _ratio(filled, demand, 1.0),
    }


_day_fields = operator.itemgetter(*(T[f] for f in ("profit", "revenue", "demand", "filled", "sold", "lost", "expired",
                                                   "stockout_skus", "inventory")))


def episode_kpis(acc: np.ndarray, days: int, n_skus: int) -> dict[str, np.ndarray]:
    """The episode KPIs (``EPISODE_KPIS``) per world, each ``(n_worlds,)``.

    Args:
        acc: ``(n_worlds, len(TOTAL_FIELDS))`` day sums added over the episode's days so far.
        days: days simulated so far; n_skus: SKUs per world.
    """
    t = dict(zip(TOTAL_FIELDS, np.asarray(acc, float).T.copy(), strict=True))
    d = max(days, 1)
    mean_value = t["inventory_value"] / d
    enough_stock = (mean_value > 0) & (mean_value >= MIN_COVER_DAYS * t["demand_cost"] / d)
    stockout_days = t["stockout_skus"] / n_skus
    return {
        "profit": t["profit"],
        "revenue": t["revenue"],
        "costs": t["revenue"] - t["profit"],
        "gross_margin": _ratio(t["revenue"] - t["cogs"], t["revenue"], np.nan),
        "unit_fill_rate": _ratio(t["filled"], t["demand"], 1.0),
        "cycle_service_level": 1.0 - stockout_days / d,
        "stockout_days_per_sku": stockout_days,
        "lost_units": t["lost"],
        "expired_units": t["expired"],
        "backordered_units": t["backordered"],
        "backorder_age_days": _ratio(t["backlog"], t["backordered"], 0.0),
        "mean_inventory": t["inventory"] / d,
        "mean_inventory_value": mean_value,
        "inventory_turns": np.where(enough_stock, _ratio(t["cogs"], mean_value, np.nan), np.nan),
    }


def session_kpis(acc: np.ndarray, last: np.ndarray) -> dict[str, np.ndarray]:
    """The recommendation KPIs (``SESSION_KPIS``) per world, each ``(n_worlds,)``.

    Args:
        acc: ``(n_worlds, len(SESSION_FIELDS))`` session day sums added over the days so far.
        last: the last day's sums (``churned`` is read from it: a level, not a flow).
    """
    t = dict(zip(SESSION_FIELDS, np.asarray(acc, float).T.copy(), strict=True))
    return {
        "sessions": t["sessions"], "impressions": t["impressions"], "clicks": t["clicks"], "carts": t["carts"],
        "purchases": t["purchases"],
        "ctr": _ratio(t["clicks"], t["impressions"], 0.0),
        "conversion_rate": _ratio(t["purchases"], t["clicks"], 0.0),
        "recommendation_revenue": t["rec_revenue"], "recommendation_margin": t["rec_margin"],
        "stockouts_hit": t["stockouts_hit"],
        "churned_shoppers": np.asarray(last, float)[:, SESSION_FIELDS.index("churned")].copy(),
        "coupon_spend": t["coupon_spend"], "coupons_granted": t["coupons_granted"],
        "coupons_refused": t["coupons_refused"], "bundles_sold": t["bundles_sold"],
    }


class KpiTracker:
    """Running episode sums per world, folded in from each day's ``TOTAL_FIELDS`` (see ``episode_kpis``)."""

    COLUMNS = TOTAL_FIELDS

    def __init__(self, n_worlds: int):
        self.n_worlds = n_worlds
        self.days = 0
        self.sku_days = 0
        #: ``(n_worlds, len(TOTAL_FIELDS))`` sums over the episode so far (the day step adds to it).
        self.acc = np.zeros((n_worlds, len(TOTAL_FIELDS)))
        #: ``(n_worlds, len(TOTAL_FIELDS))`` sums of the last simulated day.
        self.last = np.zeros((n_worlds, len(TOTAL_FIELDS)))
        #: ``(n_worlds, len(SESSION_FIELDS))`` session sums over the episode so far, and of the last day.
        self.session_acc = np.zeros((n_worlds, len(SESSION_FIELDS)))
        self.session_last = np.zeros((n_worlds, len(SESSION_FIELDS)))

    def record_sessions(self, sums: np.ndarray) -> None:
        """Add one day's session sums (``(n_worlds, len(SESSION_FIELDS))``)."""
        self.session_acc += sums
        self.session_last = sums

    def sessions(self) -> dict[str, np.ndarray]:
        """The recommendation KPIs of the episode so far per world (``session_kpis``)."""
        return session_kpis(self.session_acc, self.session_last)

    def record(self, totals: np.ndarray, n_skus: int) -> None:
        """Note one day of ``n_skus`` SKUs whose totals (``(n_worlds, len(TOTAL_FIELDS))``) the caller has already
        added to ``acc``."""
        self.last = totals
        self.days += 1
        self.sku_days += n_skus

    def day(self) -> dict[str, np.ndarray]:
        """The last day's KPIs per world (``day_kpis``), each ``(n_worlds,)``."""
        return day_kpis(self.last)

    def summary(self) -> dict[str, np.ndarray]:
        """The episode's KPIs so far per world (``episode_kpis``), each ``(n_worlds,)``."""
        n_skus = self.sku_days // self.days if self.days else 1
        return episode_kpis(self.acc, self.days, n_skus)
