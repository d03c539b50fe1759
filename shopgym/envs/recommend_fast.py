"""One compiled Recommend step for one or many shops: serve the action, move to the next session, observe.

``RecommendEnv.step`` on the reference path is about a hundred Python-level operations: the action
check, ``World.serve`` (validation, the served check, allocations, the compiled serve), the next session,
the compiled observation and the info dict. ``FastSteps`` does the same work for ``N`` shops (one for
the single env, ``num_envs`` for the native vector env) in one compiled call per step: for each shop
that steps, the slate from the action, the serve (``shopgym.world.session_kernel.serve_batch`` over the
stacked state, ``shopgym.world.stacked``: one call for a run of shops on the same side of the weekend, as
a compiled call pays a reference-count update per array argument), the next session's candidates and
observation (``shopgym.envs.recommend_obs``) and the step's info figures. Python only runs when a shop's
day ends (the day close: restocking, ``World.step``, the next day's sessions) or its buffer of uniforms
runs low.

Candidates and the observation's item block: they depend on the shop's day (prices, demand rate,
popularity), its stock and the shopper's last clicked category only, so each shop keeps them per last
category (``recommend_obs.item_block``, computed on first use) and a step copies them; a sale (the stock
changed) or a new day marks the shop's rows stale. The shopper block is written per session.

Uniforms: the serve draws three uniforms per impression from the shop's ``"responses"`` stream. Here
they are drawn ahead, ``UNIFORM_BLOCK`` rows at a time, and used in order; ``Generator.random`` gives
the same numbers in one call of ``k`` rows as in ``k`` calls of one row, so the trajectories are the
reference path's (tested: ``tests/envs/test_recommend_vector_fast.py``).
The stream itself is further ahead than on the reference path; nothing else draws from it.

Scope: what ``SessionPhase.fast_inputs`` accepts (numba, the ground-truth response model), without
bundle offers and without a renderer; the envs keep the reference path otherwise.

The compiled kernel itself (``step_shops``), its control columns, modes, event bits and info rows live in
``shopgym.envs.recommend_fast_kernel``; they stay importable from here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from shopgym.envs import recommend_obs
from shopgym.envs.recommend_fast_kernel import (
    _COUNT,
    _DAY,
    _EVENT,
    _M,
    _MODE,
    _PTR,
    _ROW,
    _SHOPPER,
    _UCUR,
    _WEEKEND,
    COUNTS,
    CTL,
    DAY_OVER,
    INFO,
    OBSERVE,
    REFILL,
    SERVE,
    SKIP,
    _constants,
    step_shops,
)
from shopgym.world import session_kernel
from shopgym.world.kpis import SESSION_FIELDS
from shopgym.world.stacked import StackedSessionState

#: Rows of uniforms drawn ahead per shop (a refill is Python work: 2,048 rows make it about as rare as a day close
#: in the ``recommend`` scenario; the block costs 48 KiB per shop).
UNIFORM_BLOCK = 2048
#: ``SESSION_FIELDS`` columns the info reads, in this order.
_INFO_SUMS = ("impressions", "clicks", "purchases", "rec_revenue", "rec_margin", "coupon_spend")


class FastSteps:
    """The compiled steps of ``N`` Recommend shops (see the module docstring); ``None`` from ``build`` where it does
    not apply.

    Args:
        worlds: one-world ``World``s of one scenario (sessions on), one per shop.
        views: their ``RecommendView``s.
        close_day: ``close_day(w)`` closes shop ``w``'s day (restocking, ``World.step``, ``view.refresh``).
    """

    def __init__(self, worlds, views, close_day: Callable[[int], None]):
        self.worlds, self.views, self.close_day = worlds, views, close_day
        n, view, world = len(worlds), views[0], worlds[0]
        self.n = n
        self.state = StackedSessionState(worlds)
        phase = world.session_phase
        self.model = world.response_model
        fast = phase.fast_inputs(self.model)
        self._fast = fast
        cat = world.catalog
        n_skus = cat.n_skus
        self.ctl = np.zeros((n, len(CTL)), dtype=np.int64)
        m = view.slate_size
        self.actions = np.zeros((n, int(np.prod(view.action_space.shape)) or 1), dtype=np.int64)
        self.items = np.zeros((n, view.k), dtype=np.int64)
        self.shoppers = np.zeros((n, 1), dtype=np.int64)
        self.ubuf = np.zeros((n, UNIFORM_BLOCK, 3))
        self.shown = np.zeros((n, n_skus), dtype=bool)
        self.obs = np.zeros((n, *view.observation_space.shape), dtype=np.float32)
        #: The last step's info figures, ``(len(INFO), N)`` float64 and ``(len(COUNTS), N)`` int64 (one row per key: a
        #: copy of either is one block to return).
        self.figs = np.zeros((len(INFO), n))
        self.counts = np.zeros((len(COUNTS), n), dtype=np.int64)
        self.acc = np.zeros((n, len(SESSION_FIELDS)))
        #: Today's price, expected organic demand and popularity per shop, ``(3, N, n_skus)``.
        self.day_in = np.ones((3, n, n_skus))
        self.terminated = np.zeros(n, dtype=bool)
        #: How many shops are terminated (``terminated.sum()``, kept by ``start`` and ``_open``).
        self.n_ended = 0
        cols = [SESSION_FIELDS.index(f) for f in _INFO_SUMS]
        space = view.action_space
        nvec = [space.n] if hasattr(space, "n") else space.nvec.tolist()
        sizes = [world.horizon, view.k, m, int(view.coupons), *view._layout.tolist(), *cols, *nvec]
        consts = [*view._consts.tolist(), view.coupon_step, world.scenario.shoppers.coupon_budget]
        self._fconst, self._iconst = _constants(fast, view, sizes, consts)
        # the step's impressions, every shop's in one table (shop w's: ctl[w, row] on, ctl[w, m] of them)
        self._oi = np.zeros((n * m, len(session_kernel.OI_FIELDS)), dtype=np.int64)
        self._ob = np.zeros((n * m, len(session_kernel.OB_FIELDS)), dtype=np.bool_)
        self._of = np.zeros((n * m, len(session_kernel.OF_FIELDS)))
        self._sess = np.zeros((n, 2))
        self._sold = np.zeros((n, n_skus), dtype=np.int64)
        self._spend = np.zeros(n)
        #: Per shop and last clicked category (-1 first): the candidates (``(N, C + 1, K)``, row 0 -1 while stale) and
        #: the observation's item block (``(N, C + 1, K * (6 + C + d))`` float32) of ``recommend_obs.item_block``.
        self._cache_items = np.full((n, view.n_categories + 1, view.k), -1, dtype=np.int64)
        self._cache_block = np.zeros((n, view.n_categories + 1, self.obs.shape[1] - view._layout[3]), dtype=np.float32)
        self._args: tuple | None = None

    @staticmethod
    def build(worlds, views, close_day: Callable[[int], None], renderer=None) -> FastSteps | None:
        """``FastSteps`` for these shops, or ``None`` where the compiled step does not apply (numba missing or the
        numpy engine, a learned response model, bundle offers, a renderer)."""
        world = worlds[0]
        if renderer is not None or step_shops is None or not recommend_obs.COMPILED or world.scenario.shoppers.bundles:
            return None
        if world.session_phase.fast_inputs(world.response_model) is None:
            return None
        return FastSteps(worlds, views, close_day)

    # ------------------------------------------------------------------ episodes and days
    def start(self, w: int) -> None:
        """Shop ``w`` was just reset (``World.reset``, ``view.refresh``): take in its state, open its first session."""
        self.state.attach(w)
        self._args = None
        ctl = self.ctl[w]
        ctl[:] = 0
        self.ubuf[w] = self.worlds[w].rngs["responses"][0].random((UNIFORM_BLOCK, 3))
        self.shown[w] = False
        self.n_ended -= bool(self.terminated[w])
        self.terminated[w] = False
        self._open(w)

    def _open(self, w: int) -> None:
        """Open shop ``w``'s next day with sessions (closing empty days) and set it to be observed; at the horizon,
        mark it terminated (its observation zeros)."""
        world = self.worlds[w]
        while world.day < world.horizon:
            today = world.sessions_today()
            if len(today):
                count = len(today)
                if count > self.shoppers.shape[1]:
                    grown = np.zeros((self.n, max(count, 2 * self.shoppers.shape[1])), dtype=np.int64)
                    grown[:, : self.shoppers.shape[1]] = self.shoppers
                    self.shoppers = grown
                    self._args = None
                self.shoppers[w, :count] = today.shopper
                self._day_inputs(w)
                ctl = self.ctl[w]
                ctl[_PTR], ctl[_COUNT], ctl[_SHOPPER] = 0, count, today.shopper[0]
                ctl[_MODE] = OBSERVE
                return
            self.close_day(w)
        self.n_ended += not self.terminated[w]
        self.terminated[w] = True
        self.ctl[w, _MODE] = SKIP
        self.ctl[w, _DAY] = world.day
        self.obs[w] = 0.0

    def _day_inputs(self, w: int) -> None:
        world, view = self.worlds[w], self.views[w]
        day = world.day
        self.day_in[0, w] = world.price_on(day)[0]
        self.day_in[1, w] = np.maximum(world.forecast_rows(1)[0, :, 0], 1e-6)
        self.day_in[2, w] = view.popularity(0)
        self.acc[w] = world.kpis.session_acc[0]
        self._cache_items[w, :, 0] = -1  # a new day (prices, demand rate, popularity, stock): recompute the blocks
        self.ctl[w, _DAY] = day
        self.ctl[w, _WEEKEND] = ((self.model.start_weekday + day) % 7) >= 5

    def _handle(self) -> None:
        """The events of the last kernel call: day ends (mark the day served, close it, open the next day) and
        uniforms running low (keep the unused ones in order, draw the rest)."""
        ctl = self.ctl
        reopened = False
        for w in np.flatnonzero(ctl[:, _EVENT]):
            event = ctl[w, _EVENT]
            ctl[w, _EVENT] = 0
            if event & REFILL:
                cur = ctl[w, _UCUR]
                left = UNIFORM_BLOCK - cur
                self.ubuf[w, :left] = self.ubuf[w, cur:]
                self.ubuf[w, left:] = self.worlds[w].rngs["responses"][0].random((UNIFORM_BLOCK - left, 3))
                ctl[w, _UCUR] = 0
            if event & DAY_OVER:
                self.worlds[w].sessions_today().served[:] = True  # served here, in order, one per step
                self.close_day(w)
                self._open(w)
                reopened = True
        if reopened:  # observe the shops whose next day just opened
            self.run()

    # ------------------------------------------------------------------ steps
    def run(self) -> int | None:
        """One kernel call for the shops in ``SERVE`` or ``OBSERVE`` mode (rows of ``actions`` set for the former),
        then the day ends and refills it reports; leaves every shop in ``SKIP`` mode. Each shop's day (``World.day``,
        days closed so far) is then in ``days``. Returns ``None``, or the first shop whose action is out of range
        (then nothing was stepped)."""
        if self._args is None:  # the arguments change only when a world's arrays do (a reset) or shoppers grows
            self._args = self._arguments()
        events = step_shops(*self._args)
        if events > 0:
            self._handle()
        elif events < 0:
            self.ctl[:, _MODE] = SKIP
            return -events - 1
        return None

    def _arguments(self) -> tuple:
        s = self.state
        return (self.ctl, self.actions, self.items, self.shoppers, self.ubuf, self.shown, self.obs, self.figs,
            self.counts, self.acc,
            self.day_in, s.stock, s.visits, s.previous_visit, s.clicks, s.purchases, s.last_category, s.seen,
            s.satisfaction, s.churned, s.interest, s.taste_sum, s.last_purchase, s.coupon_left, s.day_sums,
            s.day_sold, s.day_revenue, self._fconst, self._iconst, self._oi, self._ob, self._of, self._sess, self._sold, self._spend,
            self._cache_items, self._cache_block)

    @property
    def info(self) -> np.ndarray:
        """The last step's info figures per shop, ``(N, len(INFO))`` float64 (a view of ``figs``)."""
        return self.figs.T

    @property
    def days(self) -> np.ndarray:
        """Days closed so far per shop (``World.day``), ``(N,)`` int64 (a view: copy it to keep it)."""
        return self.ctl[:, _DAY]

    def serve(self, w: int) -> None:
        """Set shop ``w`` to serve its row of ``actions`` at the next ``run``."""
        self.ctl[w, _MODE] = SERVE

    def serve_every(self) -> None:
        """Set every shop to serve its row of ``actions`` at the next ``run``."""
        self.ctl[:, _MODE] = SERVE

    def serve_all(self, mask: np.ndarray) -> None:
        """Set the shops of ``mask`` (bool, ``(N,)``) to serve their rows of ``actions`` at the next ``run``."""
        self.ctl[mask, _MODE] = SERVE

    def session(self, w: int) -> int | None:
        """Index (into ``World.sessions_today()``) of shop ``w``'s current session, ``None`` once it terminated."""
        return None if self.terminated[w] else int(self.ctl[w, _PTR])

    def shopper(self, w: int) -> int | None:
        """Population index of shop ``w``'s current shopper, ``None`` once it terminated."""
        return None if self.terminated[w] else int(self.ctl[w, _SHOPPER])

    def outcome(self, w: int, session: int):
        """Shop ``w``'s last served session (index ``session``) as a ``SessionOutcome`` (copies of the scratch rows)."""
        from shopgym.world.sessions import SessionOutcome

        m, row = int(self.ctl[w, _M]), int(self.ctl[w, _ROW])
        oi, ob, of = (self._oi[row : row + m].copy(), self._ob[row : row + m].copy(),
                      self._of[row : row + m].copy())
        oi[:, 0] = session
        coupons = bool(self.views[w].coupons)
        return SessionOutcome(
            session=oi[:, 0], world=np.zeros(m, dtype=np.int64), shopper=oi[:, 2], position=oi[:, 3], item=oi[:, 4],
            discount=of[:, 0], click=ob[:, 0], cart=ob[:, 1], purchase=ob[:, 2], in_stock=ob[:, 3],
            stockout_hit=ob[:, 4], revenue=of[:, 1], margin=of[:, 2], sessions=np.array([session]),
            session_revenue=self.figs[0, w : w + 1].copy(), session_margin=self.figs[1, w : w + 1].copy(),
            sold=self._sold[w : w + 1].copy(), coupon=ob[:, 5] if coupons else None,
            coupon_spend=self._spend[w : w + 1].copy() if coupons else None)
