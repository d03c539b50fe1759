"""The Recommend candidates and observation written by compiled calls (see ``RecommendView.session``).

``RecommendView.candidates`` and ``RecommendView.observe`` are the numpy reference (about 40 numpy calls on
arrays of ``K`` elements); ``tests/envs/test_recommend.py`` checks that this path picks the same candidates
and writes the same observation. The layout is ``RecommendView``'s.

The observation is two blocks: the shopper's fields (``shopper_block``) and the ``K`` candidates' fields
(``item_block``). The candidates and their block depend on the shop's day (prices, demand rate, popularity),
its stock and the shopper's last clicked category only, so ``shopgym.envs.recommend_fast`` keeps one item block
per shop and last category and recomputes it only after a sale or a day change; ``session_obs`` writes both
blocks for one session (the single env's reference path).
"""

from __future__ import annotations

import numpy as np

from shopgym.world.kernel import compile_kernel


def _item_block_py(w, lc, k, stock, rate, price, unit_cost, category, static, pop, consts, items, block):
    """Pick world ``w``'s ``k`` candidates for a shopper whose last clicked category is ``lc`` (-1: none) into
    ``items`` and write their fields (``k * (6 + C + d)`` float32, clipped to the bound) into ``block``.

    Args:
        stock: ``(b, n, K)`` units per age bucket; rate: ``(n,)`` expected organic demand today (units/day, > 0);
            price: ``(n,)`` today's price; unit_cost: ``(n,)`` (currency/unit); category: ``(n,)``; static:
            ``(n, C + d)`` category one-hot and embedding; pop: ``(n,)`` popularity in [0, 1].
        consts: ``[median_price, max_absence_days, max_cover_days, obs_bound]``.
    """
    n_items, n_buckets = stock.shape[1], stock.shape[2]
    median, max_cover, bound = consts[0], consts[2], consts[3]
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
    width = 6 + static.shape[1]
    for j in range(k):
        i = items[j]
        at = j * width
        block[at] = np.log(price[i] / median)
        block[at + 1] = (price[i] - unit_cost[i]) / median
        block[at + 2] = min(on_hand[i] / rate[i], max_cover) / max_cover
        block[at + 3] = 1.0 if on_hand[i] > 0 else 0.0
        block[at + 4] = 1.0 if category[i] == lc else 0.0
        block[at + 5] = pop[i]
        for f in range(static.shape[1]):
            block[at + 6 + f] = static[i, f]
    for f in range(k * width):
        block[f] = min(max(block[f], -bound), bound)


#: ``_item_block_py`` compiled (the plain function where numba is missing).
item_block = compile_kernel(_item_block_py) or _item_block_py


def _shopper_block_py(obs, r, w, shopper, segment, bucket, visits, before, clicks, purchases, lc, taste_sum, day,
                      horizon, coupon_share, layout, consts):
    """Write world ``w``'s ``shopper``'s fields into ``obs[r, :n_shopper_fields]`` (float32, clipped to the bound).

    The shopper's memory comes in as numbers (a compiled call pays a reference-count update per array argument):
    ``segment`` and price-sensitivity tertile ``bucket``; ``visits``, the day of the visit before this one
    (``before``, -1: none), ``clicks``, ``purchases`` and the last clicked category ``lc`` (-1: none), from the
    ``ShopperState`` arrays; the clicked items' embeddings come from ``taste_sum[w, shopper]``.

    Args:
        coupon_share: the coupon budget left / budget (written only when ``layout[4] >= 0``).
        layout: ``[n_segments, taste_at, dim, n_shopper_fields, coupon_at]`` (``coupon_at`` -1 without coupons).
        consts: ``[median_price, max_absence_days, max_cover_days, obs_bound]``.
    """
    n_seg, taste_at, dim, n_shop, coupon_at = layout[0], layout[1], layout[2], layout[3], layout[4]
    absence, bound = consts[1], consts[3]
    for f in range(n_shop):
        obs[r, f] = 0.0
    obs[r, segment] = 1.0
    obs[r, n_seg + bucket] = 1.0
    j0 = n_seg + 3
    obs[r, j0] = np.log1p(visits) / 5.0
    obs[r, j0 + 1] = 1.0 if before < 0 else min(day - before, absence) / absence
    obs[r, j0 + 2] = 1.0 if before < 0 else 0.0
    obs[r, j0 + 3] = min(clicks / max(visits, 1), 5.0)
    obs[r, j0 + 4] = min(purchases / max(visits, 1), 5.0)
    if lc >= 0:
        obs[r, j0 + 5 + lc] = 1.0
    if clicks > 0:
        for d in range(dim):
            obs[r, taste_at + d] = taste_sum[w, shopper, d] / clicks
    obs[r, n_shop - 1] = day / horizon
    if coupon_at >= 0:
        obs[r, coupon_at] = coupon_share
    for f in range(n_shop):
        obs[r, f] = min(max(obs[r, f], -bound), bound)


#: ``_shopper_block_py`` compiled (the plain function where numba is missing).
shopper_block = compile_kernel(_shopper_block_py) or _shopper_block_py


def _session(w, shopper, day, horizon, k, stock, rate, price, unit_cost, category, static, pop, segment, sens_bucket,
             visits, previous_visit, clicks, purchases, last_category, taste_sum, coupon_share, layout, consts,
             items, obs):
    """Pick world ``w``'s ``k`` candidates for ``shopper`` into ``items`` and write the observation into ``obs``
    (float32): ``shopper_block`` then ``item_block`` (see them for the arguments)."""
    lc = last_category[w, shopper]
    shopper_block(obs.reshape((1, obs.shape[0])), 0, w, shopper, segment[shopper], sens_bucket[shopper],
                  visits[w, shopper], previous_visit[w, shopper], clicks[w, shopper], purchases[w, shopper], lc,
                  taste_sum, day, horizon, coupon_share, layout, consts)
    item_block(w, lc, k, stock, rate, price, unit_cost, category, static, pop, consts, items,
               obs[layout[3]:])


session_obs = compile_kernel(_session)
#: Whether the compiled candidates and observation are available.
COMPILED = session_obs is not None
