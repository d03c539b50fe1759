"""The simulated shop: catalog, demand, inventory and accounting, stepped one day at a time.

``World`` simulates ``n_worlds`` independent copies of one scenario in lockstep (arrays shaped
``(n_worlds, n_skus)``), each with its own random streams: a batch of worlds reproduces exactly
the same worlds stepped one at a time. It imports neither gymnasium nor torch.

Order of events on day ``t``:
  1. orders are placed (cut to warehouse capacity if needed) and paid; an order for SKU ``i``
     arrives ``lead_time[i]`` days later (0 = today);
  2. deliveries due today arrive;
  3. customers demand; sales take stock first-expiring-first-out; with backorders the backlog is
     served first; in lost-sales mode a share of unmet demand tries a same-category substitute;
  4. holding cost is charged on the stock left at the end of the day, then perishables that
     reach the end of their shelf life expire.

With ``shoppers.simulate_sessions`` on, a session phase comes first (``shopgym.world.sessions``):
  0. the day's shoppers arrive in sessions and are shown slates (``Decisions.slates``, or earlier
     ``serve`` calls); their purchases take stock from what is on the shelf when the shop opens (what
     last night left, after expiry), first-expiring-first-out, before today's deliveries and organic
     demand. So recommendation-driven sales go first and organic demand gets what they leave; a
     perishable with a one-day shelf life (newsvendor) has nothing on the shelf at opening.
The day's outcome then counts the session purchases in ``sold``, ``demand``, ``filled``, ``start_stock``
(stock at opening), ``revenue`` and ``profit``, so every identity of ``DayOutcome`` still holds; the
session KPIs are in ``kpis.sessions()``. With it off (the default) the world draws nothing for
shoppers and every day is exactly what it was before sessions existed.

With ``ads.simulate_ads`` on, an ads phase (``shopgym.world.ads``) runs ``ticks_per_day`` auction ticks per day
(``ads_tick``; ``step`` runs the ticks not run yet with no bids): won impressions' purchases take stock from the
shelf at once, like session purchases, and the day's outcome counts them in ``sold``, ``revenue`` and ``profit``,
with the ad spend as ``ad_cost``; the ad KPIs are in ``ads_kpis()``. With it off (the default) the world draws
nothing for ads.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shopgym.config import Scenario
from shopgym.errors import ActionError, ScenarioError
from shopgym.world import inventory as inv
from shopgym.world import kernel
from shopgym.world.ads import AdsPhase
from shopgym.world.arrivals import session_means
from shopgym.world.calendar import day_dates
from shopgym.world.catalog import Catalog
from shopgym.world.demand import BLOCK_DAYS, GroundTruthDemand
from shopgym.world.footprint import check_world_memory
from shopgym.world.kpis import KpiTracker
from shopgym.world.kpis import T as TOTAL_COLUMN
from shopgym.world.numpy_engine import step_numpy
from shopgym.world.outcome import DayOutcome
from shopgym.world.protocols import (
    DemandContext,
    DemandModel,
    ExogenousDemandModel,
    ImpressionBatch,
    ResponseModel,
)
from shopgym.world.sessions import Decisions, SessionPhase
from shopgym.world.world_ads import WorldAds
from shopgym.world.world_sessions import WorldSessions

#: Order of the child streams spawned from each world's seed. Append only: a new component gets a
#: new index, so the existing streams do not shift.
STREAMS = ("demand", "promotions", "shoppers", "responses", "auctions")


def spawn_streams(seed: int | None) -> dict[str, np.random.Generator]:
    """One generator per stream in ``STREAMS``, all from ``SeedSequence(seed)``."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)}


class World(WorldSessions, WorldAds):
    """A batch of ``n_worlds`` simulated shops of one scenario.

    Args:
        scenario: the validated scenario.
        n_worlds: number of independent worlds stepped together.
        demand_model: overrides the ground truth (any ``DemandModel``); default built from the scenario. The
            core loads no files: for a scenario naming ``learned:PATH`` models use ``shopgym.plugins.build_world``.
        response_model: overrides the shoppers' ground-truth responses (any ``ResponseModel``); default
            built from the scenario's ``[shoppers]`` section when first used.
        engine: how a day is computed: ``"compiled"`` (one numba-compiled loop, ``shopgym.world.kernel``;
            the default) or ``"numpy"`` (the vectorised reference implementation; the default where numba
            is missing or ``SHOPGYM_ENGINE=numpy``). Both give identical days.

    Public state, read by envs and agents (never the ``_``-prefixed attributes; write none of it): ``day``
    (days simulated so far); ``stock`` (``(n_worlds, n_skus, K)`` units per age bucket, ``shopgym.world.inventory``)
    and ``on_hand``; ``backlog`` (``(n_worlds, n_skus)`` units waiting); ``pipeline`` (``(n_worlds, n_skus, L + 1)``
    units on order: between days slot ``k`` arrives at the start of day ``day + k``); ``sales_history``,
    ``demand_history``; ``price_on(day)``, ``lead_time_on(day)``, ``unit_cost``, ``catalog``; ``forecast``; ``kpis``
    (``shopgym.world.kpis.KpiTracker``) and ``last_kpis``. The session accessors (``serve``, ``sessions_today``,
    ``session_kpis``, ...) are ``shopgym.world.world_sessions.WorldSessions``'s, the ad accessors (``ads_tick``,
    ``ads_kpis``, ...) ``shopgym.world.world_ads.WorldAds``'s: mixins of this class.
    """

    def __init__(self, scenario: Scenario, n_worlds: int = 1, demand_model: DemandModel | None = None,
                 response_model: ResponseModel | None = None, engine: str | None = None):
        if n_worlds < 1:
            raise ValueError(f"n_worlds must be >= 1, got {n_worlds}.")
        check_world_memory(scenario, n_worlds)  # refuse absurd sizes before allocating anything
        if engine is None:
            engine = "compiled" if kernel.COMPILED else "numpy"
        if engine not in ("compiled", "numpy"):
            raise ValueError(f"engine must be 'compiled' or 'numpy', got {engine!r}.")
        if engine == "compiled" and not kernel.COMPILED:
            raise ValueError("the compiled engine needs numba (pip install numba) and SHOPGYM_ENGINE unset; "
                             "use engine='numpy'.")
        self.engine = engine
        self.scenario = scenario
        self.n_worlds = n_worlds
        self.catalog = Catalog.generate(scenario.catalog, scenario.demand)
        self.horizon = scenario.env.horizon
        cat, sup = self.catalog, scenario.supply
        self.max_lead_time = int(cat.lead_time.max()) + (sup.shock_lead_time_add if sup.shock_day >= 0 else 0)
        self.n_calendar_days = self.horizon + self.max_lead_time + 2
        self.dates = day_dates(scenario.env.start_date, self.n_calendar_days)
        if demand_model is None:
            demand_model = _build_demand_model(scenario, cat, self.n_calendar_days)
        if getattr(demand_model, "n_skus", cat.n_skus) != cat.n_skus:
            raise ScenarioError(f"the demand model has {demand_model.n_skus} SKUs, the catalog (catalog.n_skus) "
                                f"{cat.n_skus}: build the model for this catalog or change catalog.n_skus.")
        self.demand_model = demand_model
        self._response_model = response_model
        self._shoppers = None
        #: Whether shoppers visit in sessions each day (``shoppers.simulate_sessions``).
        self.sessions_on = bool(scenario.shoppers.simulate_sessions)
        self._phase: SessionPhase | None = None
        #: Whether campaigns bid in ad auctions each day (``ads.simulate_ads``; ``shopgym.world.ads``).
        self.ads_on = bool(scenario.ads.simulate_ads)
        self._ads = None
        self.n_buckets = inv.n_buckets(cat.shelf_life)
        self.arrival_bucket = inv.arrival_bucket(cat.shelf_life, self.n_buckets)
        self.perishable = cat.shelf_life > 0
        self.substitute = cat.substitutes()
        self.history_len = max(scenario.env.history_window, 28)
        self._sku_index = np.arange(self.catalog.n_skus)
        self._zeros = np.zeros((n_worlds, self.catalog.n_skus), dtype=np.int64)
        self._zeros.flags.writeable = False
        self._has_order_cost = bool(self.catalog.order_cost.any())
        icfg = scenario.inventory
        n = cat.n_skus
        self._shape = (n_worlds, n)
        self._q_shape = (n_worlds, len(kernel.Q_FIELDS), n)
        self._m_shape = (n_worlds, len(kernel.M_FIELDS), n)
        self._totals_shape = (n_worlds, len(kernel.KPI_COLUMNS))
        self._catf = np.ascontiguousarray(np.stack([cat.unit_cost, cat.order_cost, cat.holding_cost]), dtype=np.float64)
        self._cati = np.ascontiguousarray(np.stack([self.arrival_bucket, self.perishable, self.substitute]),
                                          dtype=np.int64)
        self._params = np.array([icfg.capacity, icfg.backorders, scenario.demand.substitution, icfg.lost_sale_penalty,
                                 icfg.backorder_penalty, icfg.disposal_cost], dtype=np.float64)
        days = np.arange(self.n_calendar_days)
        shocked = (scenario.supply.shock_day >= 0) & (days >= scenario.supply.shock_day)
        #: Lead time (days) of an order placed on each calendar day, per SKU: ``(n_calendar_days, n_skus)``.
        self._lead_table = (cat.lead_time[None, :] + np.where(shocked, scenario.supply.shock_lead_time_add, 0)[:, None]
                            ).astype(np.int64)
        same = (self._lead_table == self._lead_table[:, :1]).all(1)
        self._uniform_lead = np.where(same, self._lead_table[:, 0], -1).tolist()
        # Demand that depends only on the day and the price is drawn a block of days ahead (one call per block).
        self._exogenous = isinstance(demand_model, ExogenousDemandModel)
        self._forecast_table = getattr(demand_model, "forecast_table", None) if self._exogenous else None
        # Days per block: whole 32-day blocks, as many as keep a block's tables under ~2M entries.
        per_block = BLOCK_DAYS * n_worlds * cat.n_skus
        self._block_days = BLOCK_DAYS * int(np.clip(2**21 // per_block, 1, -(-self.horizon // BLOCK_DAYS)))
        self.day = 0
        self.reset([None] * n_worlds)

    # ------------------------------------------------------------------ state
    def reset(self, seeds: Sequence[int | None]) -> None:
        """Start a new episode in every world; ``seeds[w]`` seeds world ``w``'s streams."""
        if len(seeds) != self.n_worlds:
            raise ValueError(f"need {self.n_worlds} seeds, got {len(seeds)}.")
        b, n, cfg = self.n_worlds, self.catalog.n_skus, self.scenario
        streams = [spawn_streams(s) for s in seeds]
        self.rngs = {name: [s[name] for s in streams] for name in STREAMS}
        self.day = 0
        self.stock = np.zeros((b, n, self.n_buckets), dtype=np.int64)
        self.stock[:, np.arange(n), self.arrival_bucket] = cfg.inventory.initial_stock
        self.pipeline = np.zeros((b, n, self.max_lead_time + 1), dtype=np.int64)
        self.backlog = np.zeros((b, n), dtype=np.int64)
        # Histories live in buffers long enough for the whole episode; the window is a view (no copies).
        h = self.history_len
        self._demand_buf = np.empty((b, n, h + self.horizon))
        warm_history = getattr(self.demand_model, "warm_history", None)  # a learned model's own past
        if warm_history is not None:
            self._demand_buf[..., :h] = warm_history(b, h)
        else:
            self._demand_buf[..., :h] = (self.catalog.base_rate * self.demand_model_profile_mean())[None, :, None]
        self._sales_buf = self._demand_buf.copy()
        self.promo = self._draw_promotions()
        cut = 1.0 - cfg.demand.promo_discount * self.promo  # (b, days, n)
        self._price_table = self.catalog.price * cut
        self._price_by_day = np.ascontiguousarray(self._price_table.transpose(1, 0, 2))  # (days, b, n)
        self._block_start, self._block_len = 0, 0
        self._expected_block = self._demand_block = None
        self._ctx: DemandContext | None = None
        self.kpis = KpiTracker(b)
        self.demand_model.reset(b)
        if self.sessions_on:
            if self._phase is None:
                means = session_means(cfg.shoppers, cfg.env.start_date, self.n_calendar_days)
                self._phase = SessionPhase(cfg.shoppers, self.catalog, self.shoppers, b, session_means=means,
                                           compiled=self.engine == "compiled")
            self._phase.reset()
        if self.ads_on:
            if self._ads is None:
                self._ads = AdsPhase(cfg.ads, self.catalog, self.shoppers, self.response_model, b,
                                     compiled=self.engine == "compiled")
            self._ads.reset()

    @property
    def last_kpis(self) -> dict[str, np.ndarray]:
        """The last simulated day's KPIs per world (see ``shopgym.world.kpis.day_kpis``)."""
        return self.kpis.day()

    @property
    def demand_history(self) -> np.ndarray:
        """True daily demand of the last ``history_len`` days, ``(n_worlds, n_skus, H)``, most recent last."""
        return self._demand_buf[..., self.day : self.day + self.history_len]

    @property
    def sales_history(self) -> np.ndarray:
        """Units sold on each of the last ``history_len`` days, ``(n_worlds, n_skus, H)``, most recent last
        (a view of the world's buffer: read it, never write it; until ``H`` days have passed the oldest columns
        hold the warm-up history set at reset)."""
        return self._sales_buf[..., self.day : self.day + self.history_len]

    def demand_model_profile_mean(self) -> float:
        profile = getattr(self.demand_model, "profile", None)
        return float(np.mean(profile[: min(len(profile), 365)])) if profile is not None else 1.0

    def _draw_promotions(self) -> np.ndarray:
        """Promotion calendar ``(n_worlds, n_days, n_skus)``, bool, from each world's promotions stream."""
        p = self.scenario.demand.promo_prob
        shape = (self.n_calendar_days, self.catalog.n_skus)
        if p <= 0:
            return np.zeros((self.n_worlds, *shape), dtype=bool)
        return np.stack([rng.random(shape) < p for rng in self.rngs["promotions"]])

    @property
    def on_hand(self) -> np.ndarray:
        """Units on hand per world and SKU, ``(n_worlds, n_skus)``."""
        return self.stock.sum(-1)

    def price_on(self, day: int) -> np.ndarray:
        """Selling price (currency/unit) per world and SKU on ``day`` (list price, cut while on promotion),
        ``(n_worlds, n_skus)`` float64, C-contiguous; a view of the world's price table: read it, never write it."""
        return self._price_by_day[min(day, self.n_calendar_days - 1)]

    def lead_time_on(self, day: int) -> np.ndarray:
        """Lead time (days) of an order placed on ``day``, per SKU (a fresh ``(n_skus,)`` int64 array)."""
        return self._lead_table[min(day, self.n_calendar_days - 1)].copy()

    @property
    def unit_cost(self) -> np.ndarray:
        """Purchase cost per SKU (currency/unit), ``(n_skus,)`` float64, C-contiguous; read it, never write it."""
        return self._catf[0]

    def context(self, day: int | None = None) -> DemandContext:
        """The demand model's view of ``day`` (default: today; built once per day)."""
        if day is None:
            if self._ctx is None or self._ctx.day != self.day:
                self._ctx = self.context(self.day)
            return self._ctx
        return DemandContext(
            day=day,
            date=self.dates[min(day, self.n_calendar_days - 1)],
            price=self.price_on(day),
            promo=self.promo[:, min(day, self.n_calendar_days - 1)],
            demand_history=self.demand_history,
        )

    def forecast_rows(self, horizon: int) -> np.ndarray:
        """``forecast(horizon)``, or, when every world has the same forecast, one read-only row of it
        ``(1, n_skus, horizon)`` without a copy (the observation's fast path)."""
        if self._forecast_table is not None:
            table = self._forecast_table(horizon)
            if table is not None:
                return table[min(self.day, len(table) - 1)][None]
        return self.forecast(horizon)

    def forecast(self, horizon: int) -> np.ndarray:
        """The demand model's expected demand for today and the next days, ``(n_worlds, n_skus, horizon)``."""
        if self._exogenous:  # no context needed
            return self.demand_model.forecast_on(self.day, self._price_by_day[min(self.day, self.n_calendar_days - 1)],
                                                 horizon)
        return self.demand_model.forecast(self.context(), horizon)

    # ------------------------------------------------------------------ shoppers
    @property
    def shoppers(self):
        """The shopper population (``ShopperPopulation``), drawn once from the scenario's ``shoppers_seed``."""
        if self._shoppers is None:
            from shopgym.world.shoppers import ShopperPopulation

            self._shoppers = ShopperPopulation.generate(self.scenario.shoppers, self.scenario.catalog.embedding_dim)
        return self._shoppers

    @property
    def response_model(self) -> ResponseModel:
        """How shoppers respond to shown items: the scenario's ground truth or learned model (built on first use)."""
        if self._response_model is None:
            from shopgym.world.response import build_response_model

            self._response_model = build_response_model(self.scenario, self.catalog, self.shoppers)
        return self._response_model

    def respond(self, w: int, batch: ImpressionBatch) -> np.ndarray:
        """Nested click / add-to-cart / purchase of world ``w``'s shoppers to ``batch``, from its responses stream."""
        return self.response_model.sample(batch, self.rngs["responses"][w])

    # ------------------------------------------------------------------ dynamics
    def step(self, decisions: Decisions | np.ndarray) -> DayOutcome:
        """Simulate today with all of its decisions: a ``Decisions`` record, or just the orders
        (non-negative integers, ``(n_worlds, n_skus)``, units; what Restock passes).

        With sessions on, the sessions of today not yet served (``serve``) are shown ``decisions.slates``
        (nothing when ``None``) before the day's deliveries and organic demand.
        """
        if self.day >= self.horizon:
            raise RuntimeError("the episode is over (day == horizon); call reset() first.")
        orders = decisions.orders if isinstance(decisions, Decisions) else decisions
        if np.size(orders) != self._shape[0] * self._shape[1]:  # refuse before sessions or ad ticks change any state
            raise ActionError(f"orders must have shape (n_worlds, n_skus) = {self._shape} (units per world and SKU), "
                              f"got shape {np.shape(orders)}.")
        if (self.sessions_on or self._ads is not None) and np.min(orders, initial=0) < 0:
            raise ValueError("orders must be non-negative.")
        if isinstance(decisions, Decisions):
            if self.sessions_on:
                rest = self.sessions_today().unserved()
                if decisions.slates is not None or len(rest):
                    slates = decisions.slates if decisions.slates is not None else np.zeros((len(rest), 0), np.int64)
                    self.serve(slates, decisions.discounts, rest, decisions.bundles)
            elif decisions.slates is not None:
                self._session_phase()  # raises: sessions are off
        else:
            if self.sessions_on:
                rest = self.sessions_today().unserved()
                if len(rest):
                    self.serve(np.zeros((len(rest), 0), np.int64), None, rest)
        if self._ads is not None:
            self._finish_ad_ticks(orders)
        b, n = self._shape
        orders = np.ascontiguousarray(orders, dtype=np.int64)
        if orders.shape != self._shape:
            orders = orders.reshape(b, n)
        if self.engine == "numpy":
            if orders.min() < 0:
                raise ValueError("orders must be non-negative.")
            expected, demand = self._todays_demand()
            out, totals = step_numpy(self, orders, expected, demand)
            self.kpis.acc += totals
        else:
            expected, demand = self._todays_demand()
            day = self.day
            q = np.empty(self._q_shape, dtype=np.int64)
            m = np.empty(self._m_shape)
            m[:, kernel.AD_COST] = 0.0  # the kernel does not write it (see _merge_ads)
            totals = np.empty(self._totals_shape)
            if not kernel.step_worlds(self.stock, self.pipeline, self.backlog, orders, self._lead_table[day], demand,
                                      expected, self._price_by_day[day], self._catf, self._cati, self._params, q, m,
                                      totals, self.kpis.acc, self._demand_buf, self._sales_buf, self.history_len + day):
                raise ValueError("orders must be non-negative.")
            out = DayOutcome(q, m)
        if self._phase is not None:
            self._merge_sessions(out, totals)
        if self._ads is not None:
            self._merge_ads(out, totals)
        self.kpis.record(totals, n)
        self.day += 1
        return out

    def _merge_sales(self, out: DayOutcome, totals: np.ndarray, sold: np.ndarray, revenue: np.ndarray,
                     cost: np.ndarray | None = None) -> None:
        """Count a phase's sales of today (session or ad purchases: ``sold`` units and ``revenue`` currency per world
        and SKU, taken from the stock at opening) in the outcome, the day's KPI ``totals``, the episode's sums and
        the histories; ``cost``: the phase's spend per world and SKU (currency, the ads' ``ad_cost``), or ``None``."""
        for name in ("start_stock", "sold", "demand", "filled"):
            getattr(out, name)[...] += sold
        out.revenue[...] += revenue
        if cost is None:
            out.profit[...] += revenue
        else:
            out.ad_cost[...] += cost
            out.profit[...] += revenue - cost
        adj = np.zeros_like(totals)
        rev, units, cogs = revenue.sum(-1), sold.sum(-1), sold @ self.unit_cost
        profit = rev if cost is None else rev - cost.sum(-1)
        for name, value in (("profit", profit), ("revenue", rev), ("cogs", cogs), ("demand", units),
                            ("filled", units), ("sold", units), ("demand_cost", cogs)):
            adj[:, TOTAL_COLUMN[name]] = value
        totals += adj
        self.kpis.acc += adj
        col = self.history_len + self.day
        self._demand_buf[..., col] += sold
        self._sales_buf[..., col] += sold

    def _todays_demand(self) -> tuple[np.ndarray, np.ndarray]:
        """Today's expected demand (float64 units) and demand (int64 units), each ``(n_worlds, n_skus)``."""
        day = self.day
        if not self._exogenous:
            ctx = self.context()
            return (np.ascontiguousarray(self.demand_model.expected(ctx), dtype=np.float64),
                    np.ascontiguousarray(self.demand_model.sample(ctx, self.rngs["demand"]), dtype=np.int64))
        j = day - self._block_start
        if j >= self._block_len:  # draw the next block of days
            days = min(self._block_days, self.horizon - day)
            self._expected_block, self._demand_block = self.demand_model.sample_days(
                day, days, self._price_by_day[day : day + days], self.rngs["demand"])
            self._block_start, self._block_len, j = day, days, 0
        return self._expected_block[j], self._demand_block[j]


def _build_demand_model(scenario: Scenario, catalog: Catalog, n_days: int) -> DemandModel:
    """The scenario's ground-truth demand model. The core loads no files: a ``learned:PATH`` model is
    resolved above it (``shopgym.plugins.build_world``) and passed in as an object."""
    name = scenario.demand.demand_model
    if name == "ground_truth":
        return GroundTruthDemand(catalog, scenario.demand, scenario.env.start_date, n_days)
    raise ScenarioError(
        f"demand.demand_model = {name!r} names a saved model, which World does not load. Build the world with "
        "shopgym.plugins.build_world(scenario, n_worlds) (it loads and checks the file), or pass "
        "demand_model=<a DemandModel object>."
    )
