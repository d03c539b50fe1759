"""The ads phase of a day: campaigns bid for ad opportunities tick by tick; won impressions sell from the shared stock.

With ``ads.simulate_ads`` on, each day is split into ``ticks_per_day`` ticks. ``AdsPhase.tick`` runs one tick
for every world at once: the random draws loop over worlds (each world draws from its own ``"auctions"`` stream, so
a batch of worlds reproduces the same worlds stepped one at a time); the rest is one pass over the tick's
opportunities of all worlds, either one compiled loop (``shopgym.world.ads_kernel``, the default where numba is
installed) or vectorised numpy (``shopgym.world.ads_numpy``, ``World(engine="numpy")``, the reference); both take
the same decisions. ``shopgym.envs.ads_fast`` runs the same ticks from the envs in one compiled call per step
(``fast``: it replays each world's generator exactly and hands the log and the last outcome back whenever this
class's ``tick`` runs).

  1. **Opportunities**: world ``w`` draws, in this order, a Poisson count (mean ``opportunities_per_day x
     traffic[t] / ticks_per_day``), then five uniforms per opportunity (its shopper, uniform over the population; the
     campaign it targets, uniform over the campaigns; and the shopper's three funnel stages if shown), then ``K``
     standard normals per opportunity (the competitors). The draws never depend on bids or stock, so every
     policy faces the same opportunities and competitors for a seed (what makes the hindsight bound a bound).
  2. **Values** (currency/impression): for each SKU ``s`` of the targeted campaign, ``p(click) x p(cart | click) x
     p(purchase | cart) x max(today's price - unit cost, 0)`` under the world's response model (slot 0, never seen
     before, no discount, in stock). The **estimated value** ``estimate`` is the best of them: what the ad
     platform's click and conversion models predict; they know the catalog and the shopper, not the warehouse. The
     **value** is the best over the SKUs in stock at the tick's start (0 when nothing of the campaign is in stock):
     the expected margin of showing the ad. The ad shows the SKU that gives the value (the best in-stock one), or
     the estimate's SKU when nothing is in stock (it cannot be bought: that spend is *wasted*).
  3. **Auction** (``shopgym.world.auctions``): our bid is ``multiplier[w, campaign] x estimate``; competitors bid
     around the shopper's estimate; second price (default) or first price, with the reserve price; then the
     budget rule (a campaign's wins are paid in arrival order; the first that would overspend, and the rest of
     the tick's, are withdrawn).
  4. **Response**: a won impression's funnel is nested (``u < p`` stage by stage with the tick's uniforms); a
     purchase needs the shown SKU in stock, and when a tick wants more units of an item than are on hand, the
     earliest opportunities get them. Units leave the stock first-expiring-first-out (``inventory.remove_fifo``),
     paid at today's price.

Money: ``spend`` is what the won auctions cost (currency); ad revenue and margin (price - unit cost) are of the
ad-driven purchases. ``World.step`` runs the day's ticks not run yet with no bids (their opportunities are still
drawn), then merges the day's ad sales into the day's outcome (``sold``, ``revenue``, ``profit``) and charges the
spend as ``ad_cost`` on the SKUs shown, so ``profit = revenue - costs`` still holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopgym.world import auctions
from shopgym.world import inventory as inv
from shopgym.world.ads_kernel import tick_kernel
from shopgym.world.ads_numpy import resolve_numpy
from shopgym.world.kpis import ADS_FIELDS
from shopgym.world.protocols import ImpressionBatch

#: Shoppers (the first of the population) whose mean estimated value sets each campaign's value scale.
VALUE_SAMPLE = 1000
#: Largest ``n_shoppers x n_skus`` for which the day's funnel probabilities of every shopper and SKU are tabled once
#: a day (24M floats, 192 MB at most) instead of asked of the response model every tick.
TABLE_MAX_ROWS = 8_000_000
#: Most rows (shopper x SKU) of the daily tables kept across episodes (``AdsPhase._day_table``; 48 MB).
TABLE_CACHE_ROWS = 2_000_000
#: Fields of the opportunity log, one entry per opportunity (``AdsPhase.opportunity_log``).
LOG_FIELDS = ("day", "tick", "world", "campaign", "estimate", "value", "price_to_win", "won", "price")
#: The dtype of each ``LOG_FIELDS`` column (also of an empty log's).
LOG_DTYPES = {"day": np.int64, "tick": np.int64, "world": np.int64, "campaign": np.int64, "won": np.bool_}


def campaign_table(category: np.ndarray, mode: str) -> np.ndarray:
    """SKUs of each campaign, ``(n_campaigns, width)`` int64 padded with -1 (``ads.campaigns``)."""
    n = len(category)
    if mode == "sku":
        return np.arange(n, dtype=np.int64)[:, None]
    if mode == "catalog":
        return np.arange(n, dtype=np.int64)[None, :]
    if mode != "category":
        raise ValueError(f"ads.campaigns must be 'category', 'sku' or 'catalog', got {mode!r}.")
    n_cat = int(category.max()) + 1
    counts = np.bincount(category, minlength=n_cat)
    table = np.full((n_cat, int(counts.max())), -1, dtype=np.int64)
    order = np.argsort(category, kind="stable")
    rank = np.arange(n) - np.searchsorted(category[order], category[order])
    table[category[order], rank] = order
    return table


@dataclass(frozen=True)
class AdTickOutcome:
    """What one tick did, in every world.

    Per opportunity (flat, world after world, in arrival order; ``m`` of them): ``world``, ``campaign``, ``shopper``,
    ``item`` (SKU the ad shows), ``estimate`` and ``value`` (currency/impression, module docstring), ``bid``,
    ``competing`` (highest competing bid), ``price_to_win`` (``max(competing, reserve)``) and ``price`` (paid, 0
    unless won), all currency; ``won`` (after the budget rule), ``click``, ``cart``, ``purchase`` (bool, nested:
    purchase <= cart <= click <= won), ``in_stock`` (the shown SKU had stock at the tick's start), ``revenue`` and
    ``margin`` (currency, of purchases). Per world and campaign, ``(n_worlds, n_campaigns)``: ``opportunities``,
    ``wins`` (counts), ``spend``, ``ad_margin`` (currency, this tick); ``market``, ``(n_worlds, n_campaigns, 3)``: the
    sums of ``price_to_win``, ``estimate`` and ``estimate ** 2`` over the campaign's opportunities (currency,
    currency squared). ``sold``: units taken per world and SKU.
    """

    world: np.ndarray
    campaign: np.ndarray
    shopper: np.ndarray
    item: np.ndarray
    estimate: np.ndarray
    value: np.ndarray
    bid: np.ndarray
    competing: np.ndarray
    price_to_win: np.ndarray
    won: np.ndarray
    price: np.ndarray
    click: np.ndarray
    cart: np.ndarray
    purchase: np.ndarray
    in_stock: np.ndarray
    revenue: np.ndarray
    margin: np.ndarray
    opportunities: np.ndarray
    wins: np.ndarray
    spend: np.ndarray
    ad_margin: np.ndarray
    sold: np.ndarray
    market: np.ndarray


@dataclass(frozen=True)
class AdsSetup:
    """The campaigns and the day's traffic of a scenario (fixed for it; copies).

    ``campaign_skus``: SKUs of each campaign, ``(n_campaigns, width)`` int64 padded with -1; ``member``: whether SKU
    ``s`` belongs to campaign ``c``, ``(n_campaigns, n_skus)`` bool; ``traffic``: relative traffic of each tick
    (mean 1); ``value_scale``: each campaign's mean estimated value (currency/impression, > 0: the unit of the
    observation's prices and values); ``daily_budget`` (currency/day per campaign, before any cut).
    """

    campaign_skus: np.ndarray
    member: np.ndarray
    traffic: np.ndarray
    value_scale: np.ndarray
    daily_budget: float

    @property
    def n_campaigns(self) -> int:
        return len(self.campaign_skus)


@dataclass(frozen=True)
class AdsState:
    """Today's ad budgets per world and campaign (copies; read by envs and policies).

    ``budget`` (today's budget), ``spend`` (spent today) and ``budget_left`` (``budget - spend``, never negative),
    each ``(n_worlds, n_campaigns)`` currency; ``tick`` (ticks run today), ``ticks_left`` and ``ticks_per_day``.
    """

    budget: np.ndarray
    spend: np.ndarray
    budget_left: np.ndarray
    tick: int
    ticks_left: int
    ticks_per_day: int


class AdsPhase:
    """Per-world campaign budgets and spend, the tick counter, the day's ad sums and the episode's opportunity log.

    Args:
        cfg: the scenario's ``[ads]`` section.
        catalog: the world's catalog (``category``, ``price``, ``unit_cost``).
        population: the shopper population.
        response_model: the world's response model (ground truth or learned).
        n_worlds: worlds stepped together.
        compiled: resolve ticks in the compiled loop (``shopgym.world.ads_kernel``; needs numba), else in numpy.
    """

    def __init__(self, cfg, catalog, population, response_model, n_worlds: int, compiled: bool = False):
        self.cfg, self.catalog, self.population, self.model = cfg, catalog, population, response_model
        self.n_worlds = n_worlds
        self.compiled = bool(compiled) and tick_kernel is not None
        #: SKUs of each campaign, ``(n_campaigns, width)``, -1 padded.
        self.campaign_skus = campaign_table(catalog.category, cfg.campaigns)
        self.n_campaigns = len(self.campaign_skus)
        self.member = np.zeros((self.n_campaigns, catalog.n_skus), dtype=bool)
        rows, cols = np.nonzero(self.campaign_skus >= 0)
        self.member[rows, self.campaign_skus[rows, cols]] = True
        #: Relative traffic of each tick (mean 1).
        self.traffic = auctions.traffic_profile(cfg.ticks_per_day, cfg.traffic, cfg.traffic_multipliers)
        #: Mean estimated value of each campaign (currency/impression) over the first ``VALUE_SAMPLE`` shoppers at
        #: list price on day 0: the campaign's value scale (competitors' uncorrelated part; observation units).
        self._table: np.ndarray | None = None  # today's funnel probabilities, (n_shoppers, n_skus, 3)
        self._table_day = -1
        self._tables: dict[int, np.ndarray] = {}  # tables of the days seen so far (``day_table``)
        self.mean_value = self._mean_values()
        shape = (n_worlds, self.n_campaigns)
        self.budget = np.zeros(shape)
        self.spend = np.zeros(shape)
        self.tick_of_day = 0
        self.day = 0
        n = catalog.n_skus
        self.day_sums = np.zeros((n_worlds, len(ADS_FIELDS)))
        self.acc = np.zeros((n_worlds, len(ADS_FIELDS)))
        self.day_sold = np.zeros((n_worlds, n), dtype=np.int64)
        self.day_revenue = np.zeros((n_worlds, n))
        self.day_cost = np.zeros((n_worlds, n))
        self._last: AdTickOutcome | None = None
        self._log: list[tuple[np.ndarray, ...]] = []
        #: The compiled steps running this phase's ticks (``shopgym.envs.ads_fast.FastAds``), or ``None``.
        self.fast = None

    # ------------------------------------------------------------------ episode and days
    def reset(self) -> None:
        """A new episode: day 0, fresh budgets, empty sums and log."""
        self.acc[:] = 0.0
        self._log = []
        self._last = None
        self.fast = None
        self.open_day(0)

    def budget_on(self, day: int) -> float:
        """Each campaign's budget on ``day`` (currency): ``daily_budget``, x ``budget_cut_factor`` from ``budget_cut_day``."""
        cfg = self.cfg
        cut = cfg.budget_cut_day >= 0 and day >= cfg.budget_cut_day
        return cfg.daily_budget * (cfg.budget_cut_factor if cut else 1.0)

    def open_day(self, day: int) -> None:
        """Start ``day``: budgets refilled (unspent money does not carry over), tick 0, empty day sums."""
        self.day = day
        self.budget[:] = self.budget_on(day)
        self.spend[:] = 0.0
        self.tick_of_day = 0
        self.day_sums[:] = 0.0
        self.day_sold[:] = 0
        self.day_revenue[:] = 0.0
        self.day_cost[:] = 0.0

    @property
    def ticks_left(self) -> int:
        """Ticks of today not run yet."""
        return self.cfg.ticks_per_day - self.tick_of_day

    def setup(self) -> AdsSetup:
        """The campaigns and traffic (``AdsSetup``)."""
        return AdsSetup(campaign_skus=self.campaign_skus.copy(), member=self.member.copy(), traffic=self.traffic.copy(),
                        value_scale=np.maximum(self.mean_value, 1e-12), daily_budget=float(self.cfg.daily_budget))

    def state(self) -> AdsState:
        """Today's budgets and ticks (``AdsState``)."""
        return AdsState(budget=self.budget.copy(), spend=self.spend.copy(),
                        budget_left=np.maximum(self.budget - self.spend, 0.0), tick=self.tick_of_day,
                        ticks_left=self.ticks_left, ticks_per_day=self.cfg.ticks_per_day)

    def totals(self) -> np.ndarray:
        """The episode's ``ADS_FIELDS`` sums so far per world, today's ticks included, ``(n_worlds, len(ADS_FIELDS))``."""
        return self.acc + self.day_sums

    def hand_back(self, log: tuple | None, last: AdTickOutcome | None) -> None:
        """The compiled steps (``fast``) stop running the ticks: their opportunities so far (``LOG_FIELDS`` columns) join
        the log and their last outcome becomes ``last``."""
        if log is not None:
            self._log.append(log)
        if last is not None:
            self._last = last
        self.fast = None

    @property
    def last(self) -> AdTickOutcome | None:
        """The last tick's outcome (``None`` before the episode's first tick)."""
        if self.fast is not None:
            last = self.fast.last_tick()
            if last is not None:
                return last
        return self._last

    def opportunity_log(self) -> dict[str, np.ndarray]:
        """Every opportunity of the episode so far (``LOG_FIELDS``), flat arrays in tick order then world order."""
        parts = list(self._log)
        if self.fast is not None:
            fast = self.fast.log_columns()
            if len(fast["day"]):
                parts.append(tuple(fast[f] for f in LOG_FIELDS))
        if not parts:
            return {f: np.zeros(0, dtype=LOG_DTYPES.get(f, np.float64)) for f in LOG_FIELDS}
        cols = list(zip(*parts, strict=True))
        return {f: np.concatenate(c) for f, c in zip(LOG_FIELDS, cols, strict=True)}

    # ------------------------------------------------------------------ values
    def tabled(self) -> bool:
        """Whether funnel probabilities come from a daily table of every shopper and SKU (``TABLE_MAX_ROWS``)."""
        return self.population.n_shoppers * self.catalog.n_skus <= TABLE_MAX_ROWS

    def day_table(self, day: int) -> np.ndarray:
        """``(n_shoppers, n_skus, 3)`` funnel probabilities of every shopper and SKU on ``day``: one model call per
        calendar day, kept across episodes (the probabilities depend on the shopper, the SKU and the day only) while
        the kept tables hold at most ``TABLE_CACHE_ROWS`` rows."""
        if self._table_day != day:
            table = self._tables.get(day)
            if table is None:
                n_shoppers, n = self.population.n_shoppers, self.catalog.n_skus
                table = self._call(np.repeat(np.arange(n_shoppers), n), np.tile(np.arange(n), n_shoppers),
                                   day).reshape(n_shoppers, n, 3)
                if (len(self._tables) + 1) * n_shoppers * n <= TABLE_CACHE_ROWS:
                    self._tables[day] = table
            self._table, self._table_day = table, day
        return self._table

    def _gather(self, shopper: np.ndarray, items: np.ndarray) -> np.ndarray:
        """``(m, width, 3)`` funnel probabilities of each campaign SKU (``items``, -1 padded) for each opportunity."""
        m, width = items.shape
        return self._probabilities(np.repeat(shopper, width), np.maximum(items, 0).ravel(), self.day).reshape(m, width, 3)

    def _probabilities(self, shopper: np.ndarray, item: np.ndarray, day: int) -> np.ndarray:
        """``(m, 3)`` funnel probabilities of showing ``item[j]`` to ``shopper[j]`` on ``day`` (slot 0, never seen, no
        discount, in stock) under the response model: a lookup in today's table (``day_table``) when ``tabled()``,
        else one call."""
        if self.tabled():
            return self.day_table(day)[shopper, item]
        return self._call(shopper, item, day)

    def _call(self, shopper: np.ndarray, item: np.ndarray, day: int) -> np.ndarray:
        m = len(shopper)
        if m == 0:
            return np.zeros((0, 3))
        batch = ImpressionBatch(shopper=shopper, item=item, position=np.zeros(m, np.int64), seen=np.zeros(m, np.int64),
                                discount=np.zeros(m), in_stock=np.ones(m, dtype=bool), day=np.full(m, day, np.int64))
        return np.asarray(self.model.probabilities(batch), dtype=np.float64).reshape(m, 3)

    def _unit_values(self, shopper: np.ndarray, campaign: np.ndarray, day: int, margin_of) -> tuple:
        """Funnel probabilities ``(m, width, 3)`` and expected margins ``(m, width)`` of each campaign SKU per row."""
        items = self.campaign_skus[campaign]
        valid = items >= 0
        item = np.maximum(items, 0)
        m, width = items.shape
        probs = self._probabilities(np.repeat(shopper, width), item.ravel(), day).reshape(m, width, 3)
        unit = np.where(valid, probs.prod(-1) * np.maximum(margin_of(item), 0.0), 0.0)
        return probs, unit, item, valid

    def _mean_values(self) -> np.ndarray:
        k = min(VALUE_SAMPLE, self.population.n_shoppers)
        shopper = np.repeat(np.arange(k), self.n_campaigns)
        campaign = np.tile(np.arange(self.n_campaigns), k)
        cat = self.catalog
        _, unit, _, _ = self._unit_values(shopper, campaign, 0, lambda item: cat.price[item] - cat.unit_cost[item])
        return unit.max(1).reshape(k, self.n_campaigns).mean(0)

    # ------------------------------------------------------------------ one tick
    def _draw(self, rngs, mean: float) -> tuple[np.ndarray, ...]:
        """The tick's random draws, world after world (module docstring, step 1): per world a Poisson count, then
        five uniforms per opportunity (shopper, campaign, the three funnel stages), then ``K`` standard normals."""
        k, n_shoppers, c = self.cfg.competitors, self.population.n_shoppers, self.n_campaigns
        counts = np.zeros(self.n_worlds, dtype=np.int64)
        us, zs = [], []
        for w, rng in enumerate(rngs):  # one stream per world
            counts[w] = rng.poisson(mean)
            us.append(rng.random((counts[w], 5)))
            zs.append(rng.standard_normal((counts[w], k)))
        u, z = (us[0], zs[0]) if self.n_worlds == 1 else (np.concatenate(us), np.concatenate(zs))
        world = np.repeat(np.arange(self.n_worlds), counts)
        shopper = np.minimum((u[:, 0] * n_shoppers).astype(np.int64), n_shoppers - 1)
        campaign = np.minimum((u[:, 1] * c).astype(np.int64), c - 1)
        return world, shopper, campaign, z, np.ascontiguousarray(u[:, 2:])

    def tick(self, multipliers: np.ndarray, *, stock: np.ndarray, price: np.ndarray, unit_cost: np.ndarray,
             rngs) -> AdTickOutcome:
        """Run today's next tick (validated ``multipliers``, ``(n_worlds, n_campaigns)``, >= 0): draw, value, auction,
        respond; purchases leave ``stock`` (``(n_worlds, n_skus, K)``, in place) at ``price`` (``(n_worlds, n_skus)``,
        currency/unit). ``rngs[w]`` is world ``w``'s auctions stream."""
        if self.ticks_left <= 0:
            raise RuntimeError("every tick of today has run; close the day (World.step) first.")
        if self.fast is not None:  # the compiled steps hand the generators, log and last outcome back
            self.fast.detach()
        cfg, b, c = self.cfg, self.n_worlds, self.n_campaigns
        t = self.tick_of_day
        world, shopper, campaign, z, u = self._draw(rngs, cfg.opportunities_per_day * self.traffic[t] / cfg.ticks_per_day)
        m = len(world)
        items = self.campaign_skus[campaign]
        on_hand = stock.sum(-1)
        intensity = cfg.competitor_intensity * self.traffic[t] ** auctions.COMPETITOR_TRAFFIC_EXPONENT
        spend_flat = self.spend.reshape(-1)  # a view: updated in place
        if self.compiled:
            r = self._resolve_compiled(world, shopper, campaign, z, u, items, multipliers, price, unit_cost, on_hand,
                                       intensity, spend_flat)
        else:
            r = self._resolve_numpy(world, shopper, campaign, z, u, items, multipliers, price, unit_cost, on_hand,
                                    intensity, spend_flat)
        sold, by_camp = r["sold"], r["by_camp"]
        inv.remove_fifo(stock, sold)
        self.day_sums += r["sums"]
        self.day_sold += sold
        self.day_revenue += r["day_rev"]
        self.day_cost += r["day_cost"]
        self._log.append((np.full(m, self.day, np.int64), np.full(m, t, np.int64), world, campaign, r["estimate"],
                          r["value"], r["to_win"], r["won"], r["paid"]))
        self.tick_of_day += 1
        out = AdTickOutcome(
            world=world, campaign=campaign, shopper=shopper, item=r["shown"], estimate=r["estimate"], value=r["value"],
            bid=r["bid"], competing=r["competing"], price_to_win=r["to_win"], won=r["won"], price=r["paid"],
            click=r["click"], cart=r["cart"], purchase=r["purchase"], in_stock=r["stocked"], revenue=r["revenue"],
            margin=r["margin"], opportunities=by_camp[:, 0].astype(np.int64).reshape(b, c),
            wins=by_camp[:, 1].astype(np.int64).reshape(b, c), spend=by_camp[:, 2].reshape(b, c),
            ad_margin=by_camp[:, 3].reshape(b, c), sold=sold, market=by_camp[:, 4:].reshape(b, c, 3))
        self._last = out
        return out

    def _resolve_compiled(self, world, shopper, campaign, z, u, items, lam, price, unit_cost, on_hand, intensity,
                          spend_flat) -> dict:
        """The auctions, responses and sums of the tick in one compiled loop (``shopgym.world.ads_kernel``)."""
        cfg, b, n, c = self.cfg, self.n_worlds, self.catalog.n_skus, self.n_campaigns
        m = len(world)
        f = {k: np.zeros(m) for k in ("estimate", "value", "competing", "to_win", "bid", "paid", "revenue", "margin")}
        flags = {k: np.zeros(m, dtype=bool) for k in ("won", "click", "cart", "purchase", "stocked")}
        shown = np.zeros(m, dtype=np.int64)
        sums, by_camp = np.zeros((b, len(ADS_FIELDS))), np.zeros((b * c, 7))
        day_rev, day_cost, sold = np.zeros((b, n)), np.zeros((b, n)), np.zeros((b, n), dtype=np.int64)
        if self.tabled():
            table, probs, use_table = self.day_table(self.day), np.zeros((1, 1, 3)), True
        else:
            table, probs, use_table = np.zeros((1, 1, 3)), self._gather(shopper, items), False
        params = np.array([intensity, cfg.competitor_correlation, cfg.competitor_spread, cfg.reserve_price,
                           1.0 if cfg.auction == "first" else 0.0])
        tick_kernel(world, shopper, campaign, np.ascontiguousarray(z), u, table, probs, use_table, items, lam, price, unit_cost, on_hand,
                    self.mean_value, params, spend_flat, self.budget.reshape(-1), f["estimate"], f["value"], shown,
                    f["competing"], f["to_win"], f["bid"], f["paid"], f["revenue"], f["margin"], flags["won"],
                    flags["click"], flags["cart"], flags["purchase"], flags["stocked"], sums, by_camp, day_rev,
                    day_cost, sold)
        return {**f, **flags, "shown": shown, "sums": sums, "by_camp": by_camp, "day_rev": day_rev,
                "day_cost": day_cost, "sold": sold}

    def _resolve_numpy(self, world, shopper, campaign, z, u, items, lam, price, unit_cost, on_hand, intensity,
                       spend_flat) -> dict:
        """The same as ``_resolve_compiled`` in vectorised numpy (the reference; ``World(engine="numpy")``)."""
        return resolve_numpy(self, world, shopper, campaign, z, u, items, lam, price, unit_cost, on_hand, intensity,
                             spend_flat)

    def close_day(self) -> np.ndarray:
        """Fold today's sums into the episode's and return them (``(n_worlds, len(ADS_FIELDS))``); open the next day."""
        sums = self.day_sums.copy()
        self.acc += sums
        self.open_day(self.day + 1)
        return sums
