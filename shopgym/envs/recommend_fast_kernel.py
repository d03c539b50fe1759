"""The compiled kernel of ``shopgym.envs.recommend_fast``: one Recommend step for ``N`` shops, and its layout.

``step_shops`` serves the stepping shops' actions (``shopgym.world.session_kernel.serve_batch``), opens their next
sessions and writes their observations (``shopgym.envs.recommend_obs``) and info figures; ``FastSteps``
(``shopgym.envs.recommend_fast``, where all of these names stay importable) owns the arrays and calls it. Here: the
control columns (``CTL``), modes and event bits, the info rows (``INFO``, ``COUNTS``), the kernel and the packing of
its constants (``_constants``).
"""

from __future__ import annotations

import numpy as np

from shopgym.envs import recommend_obs
from shopgym.world import session_kernel
from shopgym.world.kernel import compile_kernel

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
