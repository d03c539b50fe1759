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
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from shopgym.envs import recommend_obs
from shopgym.world import session_kernel
from shopgym.world.kernel import compile_kernel
from shopgym.world.kpis import SESSION_FIELDS
from shopgym.world.stacked import StackedSessionState

#: Columns of ``FastSteps.ctl`` (int64 per shop).
CTL = ("mode", "ptr", "count", "shopper", "day", "weekend", "ucur", "event", "n_shown", "m", "row")
_MODE, _PTR, _COUNT, _SHOPPER, _DAY, _WEEKEND, _UCUR, _EVENT, _NSHOWN, _M, _ROW = range(len(CTL))
#: ``mode``: skip the shop, serve its action then open its next session, or only observe its current session.
SKIP, SERVE, OBSERVE = 0, 1, 2
#: ``event`` bits set by the kernel: the day's last session was served; the uniforms run low.
DAY_OVER, REFILL = 1, 2
#: Rows of ``FastSteps.figs`` (float64 per shop): the step's figures as ``RecommendEnv`` reports them.
INFO = ("session_revenue", "session_margin", "clicks", "purchases", "stockouts_hit", "ctr", "conversion_rate",
        "revenue", "margin", "coverage", "coupon_spend", "coupon_left", "churned_shoppers")
#: Rows of ``FastSteps.counts`` (int64 per shop): the ``INFO`` figures that are counts.
COUNTS = ("clicks", "purchases", "stockouts_hit", "churned_shoppers")
#: Rows of uniforms drawn ahead per shop (a refill is Python work: 2,048 rows make it about as rare as a day close
#: in the ``recommend`` scenario; the block costs 48 KiB per shop).
UNIFORM_BLOCK = 2048
#: ``SESSION_FIELDS`` columns the info reads, in this order.
_INFO_SUMS = ("impressions", "clicks", "purchases", "rec_revenue", "rec_margin", "coupon_spend")


def _step(ctl, actions, items, shoppers, ubuf, shown, obs, figs, counts, acc, day_in, stock, visits, previous_visit, clicks,
          purchases, last_category, seen, satisfaction, churned, interest, taste_sum, last_purchase, coupon_left,
          day_sums, day_sold, day_revenue, fconst, iconst, oi, ob, of, sess, sold, spend, cache_items, cache_block):
    """Step every shop whose ``ctl[w, mode]`` is ``SERVE`` (or only observe those in ``OBSERVE``) and set its mode
    back to ``SKIP``; returns how many shops have an ``event`` for Python to handle, or ``-(w + 1)`` when shop ``w``'s
    action has an entry outside ``[0, nvec)`` (then nothing is changed).

    The serving shops' sessions go to ``session_kernel.serve_batch`` together, one call per run of consecutive
    shops on the same side of the weekend (the call has one weekend flag), or one call per shop with coupons (the
    kernel grants coupons against a running sum over the batch; alone, a shop's sum starts at zero as on the
    reference path). A compiled call pays a reference-count update per array argument, so one call for many shops
    costs far less than one each; a shop's session touches only its own rows, so the outcome is the same.

    Args (``N`` shops; per-shop rows are row ``w``):
        ctl: ``(N, len(CTL))`` control columns; actions: ``(N, A)`` int64 actions (candidate positions, then offer
            levels); items: ``(N, K)`` the current candidates (SKU); shoppers: ``(N, S)`` today's shoppers in
            session order; ubuf: ``(N, UNIFORM_BLOCK, 3)`` uniforms (C-contiguous); shown: ``(N, n_skus)`` shown this
            episode; obs: ``(N, obs_size)`` float32; info: ``(N, len(INFO))``; acc: ``(N, len(SESSION_FIELDS))`` the
            closed days' session sums.
        day_in: ``(3, N, n_skus)`` today's price, expected organic demand (units/day) and popularity per shop.
        stock .. day_revenue: the stacked session state (``shopgym.world.stacked``).
        fconst, iconst: the constants, flat (one argument each: a compiled call pays per argument); ``_constants``
            packs them and the first lines below unpack them: list price and unit cost ``(n_skus,)``, item
            embeddings ``(n_skus, d)``, the observation's static item block ``(n_skus, C + d)``, the population's
            preferences ``(n_shoppers, d)`` and price sensitivities, category and complement per SKU, segment and
            sensitivity tertile per shopper; params, flags, sum_cols: the serve's (``SessionPhase.fast_inputs``);
            sizes: ``[horizon, K, slate_size,
            coupons, n_segments, taste_at, dim, n_shopper_fields, coupon_at]``, the ``_INFO_SUMS`` columns, then the
            action space's ``nvec`` (one bound per action entry);
            consts: ``[median_price, max_absence_days, max_cover_days, obs_bound, coupon_step, coupon_budget]``.
        oi, ob, of: ``(N * slate_size, ...)`` the step's impressions (``session_kernel``'s rows; shop ``w``'s are
            ``ctl[w, row]`` on, ``ctl[w, m]`` of them); sess: ``(N, 2)`` scratch; sold: ``(N, n_skus)`` units sold
            by the step's session per shop; spend: ``(N,)`` its coupon spend.
        cache_items, cache_block: ``(N, C + 1, K)`` int64 and ``(N, C + 1, K * (6 + C + d))`` float32, the
            candidates and item block per shop and last clicked category + 1 (``recommend_obs.item_block``);
            ``cache_items[w, c, 0] < 0`` marks one stale (after a sale here, or a new day in ``FastSteps``).
    """
    n_items, dim, width, n_people, n_params, n_flags, n_sums, n_sizes = iconst[0:8]
    o = 8
    category, complements = iconst[o : o + n_items], iconst[o + n_items : o + 2 * n_items]
    o += 2 * n_items
    segment, sens_bucket = iconst[o : o + n_people], iconst[o + n_people : o + 2 * n_people]
    o += 2 * n_people
    flags = iconst[o : o + n_flags]
    sum_cols = iconst[o + n_flags : o + n_flags + n_sums]
    o += n_flags + n_sums
    sizes = iconst[o : o + n_sizes]
    list_price, unit_cost = fconst[0:n_items], fconst[n_items : 2 * n_items]
    o = 2 * n_items
    features = fconst[o : o + n_items * dim].reshape((n_items, dim))
    o += n_items * dim
    static = fconst[o : o + n_items * width].reshape((n_items, width))
    o += n_items * width
    prefs = fconst[o : o + n_people * dim].reshape((n_people, dim))
    o += n_people * dim
    sens = fconst[o : o + n_people]
    o += n_people
    params = fconst[o : o + n_params]
    consts = fconst[o + n_params :]
    price, rate, pop = day_in[0], day_in[1], day_in[2]
    n_shops = stock.shape[0]
    horizon, k, slots, coupons = sizes[0], sizes[1], sizes[2], sizes[3] != 0
    layout = sizes[4:9]
    satisfy = flags[1] != 0
    block = ubuf.shape[1]
    n_act = actions.shape[1]
    for w in range(n_shops):  # every action checked before anything changes
        if ctl[w, _MODE] == SERVE:
            for j in range(n_act):
                if actions[w, j] < 0 or actions[w, j] >= sizes[15 + j]:
                    return -(w + 1)
    # the serving shops' sessions, in shop order: session k is shop sessions[k]'s (s_world, s_shopper by shop)
    sessions = np.empty(n_shops, dtype=np.int64)
    s_world = np.arange(n_shops)
    s_shopper = np.zeros(n_shops, dtype=np.int64)
    u_start = np.zeros(n_shops, dtype=np.int64)
    slate = np.empty((n_shops, slots), dtype=np.int64)
    disc = np.zeros((n_shops, slots))
    n_serve = 0
    for w in range(n_shops):
        if ctl[w, _MODE] != SERVE:
            continue
        for j in range(slots):  # a repeated candidate is shown once (its first slot)
            pos = actions[w, j]
            repeat = False
            for i in range(j):
                if actions[w, i] == pos:
                    repeat = True
            slate[n_serve, j] = -1 if repeat else items[w, pos]
            disc[n_serve, j] = actions[w, slots + j] * consts[4] if coupons else 0.0
        sessions[n_serve] = w
        s_shopper[w] = ctl[w, _SHOPPER]
        u_start[w] = w * block + ctl[w, _UCUR]
        n_serve += 1
    for r in range(n_serve * slots):
        for c in range(ob.shape[1]):
            ob[r, c] = False
    if n_serve:  # the serve's per-shop loops cover every shop from the first serving one to the last
        for w in range(sessions[0], sessions[n_serve - 1] + 1):
            for i in range(n_items):
                sold[w, i] = 0
    u = ubuf.reshape((n_shops * block, 3))
    fl = flags.copy()
    m = 0  # impressions so far
    k0 = 0
    while k0 < n_serve:  # runs of sessions: [k0, k1), shops [w_lo, w_hi)
        w_lo = sessions[k0]
        k1 = k0 + 1
        if not coupons:
            while k1 < n_serve and ctl[sessions[k1], _WEEKEND] == ctl[w_lo, _WEEKEND]:
                k1 += 1
        w_hi = sessions[k1 - 1] + 1
        fl[5] = ctl[w_lo, _WEEKEND]
        m += session_kernel.serve_batch(
            sessions[k0:k1], slate[k0:k1], disc[k0:k1], s_world, s_shopper, stock, price, list_price, unit_cost,
            category, features, prefs, sens, complements, params, fl, sum_cols, u, u_start[w_lo:w_hi], clicks,
            purchases, last_category, seen, satisfaction, churned, interest, taste_sum, last_purchase, coupon_left,
            day_sums, day_sold, day_revenue, oi[m:], ob[m:], of[m:], sess[k0:k1], sold, spend, w_lo, w_hi)
        k0 = k1
    for kk in range(n_serve):
        w = sessions[kk]
        ctl[w, _M] = 0
        figs[0, w], figs[1, w] = sess[kk, 0], sess[kk, 1]
        figs[2, w], figs[3, w], figs[4, w] = 0.0, 0.0, 0.0
    for r in range(m):  # the step's impressions, shop by shop
        w = oi[r, 1]
        if ctl[w, _M] == 0:
            ctl[w, _ROW] = r
        ctl[w, _M] += 1
        item = oi[r, 4]
        if not shown[w, item]:
            shown[w, item] = True
            ctl[w, _NSHOWN] += 1
        figs[2, w] += ob[r, 0]
        figs[3, w] += ob[r, 2]
        figs[4, w] += ob[r, 4]
    events = 0
    todo = np.zeros(n_shops, dtype=np.bool_)  # shops to observe once every shop is served
    tot = np.empty(6)
    for w in range(n_shops):
        mode = ctl[w, _MODE]
        if mode == SKIP:
            continue
        ctl[w, _MODE] = SKIP
        if mode == SERVE:
            ctl[w, _UCUR] += ctl[w, _M]
            if figs[3, w] > 0:  # the stock changed: the cached candidates and item blocks are stale
                for j in range(cache_items.shape[1]):
                    cache_items[w, j, 0] = -1
            for c in range(6):
                tot[c] = acc[w, sizes[9 + c]] + day_sums[w, sizes[9 + c]]
            figs[5, w] = tot[1] / tot[0] if tot[0] > 0 else 0.0
            figs[6, w] = tot[2] / tot[1] if tot[1] > 0 else 0.0
            figs[7, w], figs[8, w] = tot[3], tot[4]
            figs[9, w] = ctl[w, _NSHOWN] / n_items
            figs[10, w], figs[11, w] = tot[5], coupon_left[w]
            n_churned = 0
            if satisfy:
                for v in range(churned.shape[1]):
                    n_churned += churned[w, v]
            figs[12, w] = n_churned
            counts[0, w], counts[1, w], counts[2, w], counts[3, w] = figs[2, w], figs[3, w], figs[4, w], n_churned
            if ctl[w, _UCUR] > block - slots:
                ctl[w, _EVENT] |= REFILL
            ctl[w, _PTR] += 1
            if ctl[w, _PTR] >= ctl[w, _COUNT]:
                ctl[w, _EVENT] |= DAY_OVER
                events += 1
                continue
            ctl[w, _SHOPPER] = shoppers[w, ctl[w, _PTR]]
            if ctl[w, _EVENT] != 0:
                events += 1
        todo[w] = True
    # the next shoppers' memory, read in one short loop first: their cache misses overlap instead of queueing
    touch = 0
    ftouch = 0.0
    for w in range(n_shops):
        if todo[w]:
            v = ctl[w, _SHOPPER]
            touch += visits[w, v] + previous_visit[w, v] + clicks[w, v] + purchases[w, v] + last_category[w, v]
            touch += segment[v] + sens_bucket[v]
            ftouch += sens[v] + (prefs[v, 0] + prefs[v, dim - 1] if dim else 0.0)  # read by this shopper's serve
            if dim and clicks[w, v] > 0:  # the taste block (a pre-episode record gives most shoppers clicks)
                ftouch += taste_sum[w, v, 0] + taste_sum[w, v, dim - 1]
    if touch == -(2**62) or ftouch == -1e300:  # never: keeps the reads above
        events += 1
    n_shop, n_slots, n_block = layout[3], cache_items.shape[1], cache_block.shape[2]
    for w in range(n_shops):
        if not todo[w]:
            continue
        v = ctl[w, _SHOPPER]
        share = 0.0
        if layout[4] >= 0:
            share = coupon_left[w] / consts[5] if consts[5] > 0 else 0.0
        lc = last_category[w, v]
        recommend_obs.shopper_block(obs, w, w, v, segment[v], sens_bucket[v], visits[w, v], previous_visit[w, v],
                                    clicks[w, v], purchases[w, v], lc, taste_sum, ctl[w, _DAY], horizon, share,
                                    layout, consts)
        slot = lc + 1
        if slot < 0 or slot >= n_slots:  # a category the cache has no row for: computed in place
            recommend_obs.item_block(w, lc, k, stock, rate[w], price[w], unit_cost, category, static, pop[w], consts,
                                     items[w], obs[w, n_shop:])
            continue
        if cache_items[w, slot, 0] < 0:  # not computed since the shop's last sale or day change
            recommend_obs.item_block(w, lc, k, stock, rate[w], price[w], unit_cost, category, static, pop[w], consts,
                                     cache_items[w, slot], cache_block[w, slot])
        for j in range(k):
            items[w, j] = cache_items[w, slot, j]
        dst, src = obs[w, n_shop:], cache_block[w, slot]  # indices from 0: a plain copy loop (n_shop + f, which
        for f in range(n_block):  # could be negative to the compiler, made it a scatter with wraparound checks)
            dst[f] = src[f]
    return events


step_shops = compile_kernel(_step)


def _constants(fast, view, sizes: list, consts: list) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's constants as one float64 and one int64 array (the layout ``_step`` unpacks)."""
    static = np.asarray(view._static, dtype=np.float64)
    n, d = fast.features.shape
    ints = [fast.category, fast.complements, view._segment, view._sens_bucket, fast.flags, fast.sum_cols, sizes]
    head = [n, d, static.shape[1], len(fast.sens), len(fast.params), len(fast.flags), len(fast.sum_cols), len(sizes)]
    iconst = np.concatenate([np.asarray(a, dtype=np.int64).ravel() for a in [head, *ints]])
    floats = [fast.list_price, fast.unit_cost, fast.features, static, fast.prefs, fast.sens, fast.params, consts]
    fconst = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in floats])
    return fconst, iconst


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
