"""The Recommend candidates and observation written by one compiled call (see ``RecommendView.session``).

``RecommendView.candidates`` and ``RecommendView.observe`` are the numpy reference (about 40 numpy calls on
arrays of ``K`` elements); ``tests/envs/test_recommend.py`` checks that this path picks the same candidates
and writes the same observation. The layout is ``RecommendView``'s.
"""

from __future__ import annotations

import numpy as np

from shopgym.world.kernel import compile_kernel


def _session(w, shopper, day, horizon, k, stock, rate, price, unit_cost, category, static, pop, segment, sens_bucket,
             visits, previous_visit, clicks, purchases, last_category, taste_sum, coupon_share, layout, consts,
             items, obs):
    """Pick world ``w``'s ``k`` candidates for ``shopper`` into ``items`` and write the observation into ``obs``.

    Args:
        stock: ``(b, n, K)`` units per age bucket; rate: ``(n,)`` expected organic demand today (units/day, > 0);
            price: ``(n,)`` today's price; unit_cost: ``(n,)`` (currency/unit); category: ``(n,)``; static:
            ``(n, C + d)`` category one-hot and embedding; pop: ``(n,)`` popularity in [0, 1].
        segment, sens_bucket: ``(U,)`` the shopper's segment and price-sensitivity tertile.
        visits .. taste_sum: the shoppers' memory (``ShopperState`` arrays).
        coupon_share: the coupon budget left / budget (written only when ``layout[4] >= 0``).
        layout: ``[n_segments, taste_at, dim, n_shopper_fields, coupon_at]`` (``coupon_at`` -1 without coupons).
        consts: ``[median_price, max_absence_days, max_cover_days, obs_bound]``.
    """
    n_items, n_buckets = stock.shape[1], stock.shape[2]
    n_seg, taste_at, dim, n_shop, coupon_at = layout[0], layout[1], layout[2], layout[3], layout[4]
    median, absence, max_cover, bound = consts[0], consts[1], consts[2], consts[3]
    lc = last_category[w, shopper]
    on_hand = np.empty(n_items)
    score = np.empty(n_items)
    for i in range(n_items):
        on = 0
        for q in range(n_buckets):
            on += stock[w, i, q]
        on_hand[i] = on
        score[i] = 2.0 * (on > 0) + 1.0 * (category[i] == lc) + pop[i]
    taken = np.zeros(n_items, dtype=np.bool_)
    for j in range(k):  # the stable descending order's first k: highest score, ties by SKU index
        best = -1
        for i in range(n_items):
            if not taken[i] and (best < 0 or score[i] > score[best]):
                best = i
        taken[best] = True
        items[j] = best
    for f in range(len(obs)):
        obs[f] = 0.0
    obs[segment[shopper]] = 1.0
    obs[n_seg + sens_bucket[shopper]] = 1.0
    j0 = n_seg + 3
    v = visits[w, shopper]
    before = previous_visit[w, shopper]
    obs[j0] = np.log1p(v) / 5.0
    obs[j0 + 1] = 1.0 if before < 0 else min(day - before, absence) / absence
    obs[j0 + 2] = 1.0 if before < 0 else 0.0
    obs[j0 + 3] = min(clicks[w, shopper] / max(v, 1), 5.0)
    obs[j0 + 4] = min(purchases[w, shopper] / max(v, 1), 5.0)
    if lc >= 0:
        obs[j0 + 5 + lc] = 1.0
    c = clicks[w, shopper]
    if c > 0:
        for d in range(dim):
            obs[taste_at + d] = taste_sum[w, shopper, d] / c
    obs[n_shop - 1] = day / horizon
    if coupon_at >= 0:
        obs[coupon_at] = coupon_share
    width = 6 + static.shape[1]
    for j in range(k):
        i = items[j]
        at = n_shop + j * width
        obs[at] = np.log(price[i] / median)
        obs[at + 1] = (price[i] - unit_cost[i]) / median
        obs[at + 2] = min(on_hand[i] / rate[i], max_cover) / max_cover
        obs[at + 3] = 1.0 if on_hand[i] > 0 else 0.0
        obs[at + 4] = 1.0 if category[i] == lc else 0.0
        obs[at + 5] = pop[i]
        for f in range(static.shape[1]):
            obs[at + 6 + f] = static[i, f]
    for f in range(len(obs)):
        obs[f] = min(max(obs[f], -bound), bound)


session_obs = compile_kernel(_session)
#: Whether the compiled candidates and observation are available.
COMPILED = session_obs is not None
