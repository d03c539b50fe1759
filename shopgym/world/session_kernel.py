"""Serving a batch of sessions as one compiled loop (numba): the session phase's fast path.

A session of the Recommend env shows one to a few items. Written as numpy calls
(``shopgym.world.sessions.SessionPhase.serve``, the reference), each of its ~100 operations pays about a
microsecond of call overhead on arrays of a few elements. This module does the same work in one
compiled call: the ground-truth response probabilities (``shopgym.world.response.GroundTruthResponse``),
drifted interests and the complement lift, the nested draw from uniforms drawn beforehand in numpy (from
each world's ``"responses"`` stream, in the same order and number as the numpy path draws them, so the
streams are consumed identically), the stock check, earliest-session-first allocation,
first-expiring-first-out removal, coupons (grant, pay), the shoppers' memory and the day sums.

Scope: the ground-truth response model, with or without memory, coupons and complements. Bundle offers
(a batch with any bundle flag set) and learned response models keep the numpy path (bundles reorder and
tie rows; learned models are torch or sklearn calls anyway). ``tests/world/test_session_kernel.py``
checks that both paths give identical outcomes, stock, memory and day sums.

Like ``shopgym.world.kernel``: numba missing or ``SHOPGYM_ENGINE=numpy`` leaves ``COMPILED`` false and the
numpy path in use. Floating-point results (probabilities) may differ from numpy's in the last bit
(``exp``, ``log`` and the dot product are evaluated by different libraries); an outcome changes only if a
uniform falls within that bit of its probability.
"""

from __future__ import annotations

import numpy as np

from shopgym.world.kernel import compile_kernel

#: Columns of the integer per-impression output ``oi``.
OI_FIELDS = ("session", "world", "shopper", "position", "item", "row")
#: Columns of the boolean per-impression output ``ob``.
OB_FIELDS = ("click", "cart", "purchase", "in_stock", "stockout_hit", "coupon")
#: Columns of the float per-impression output ``of``: discount (fraction), revenue, margin (currency), p1..p3.
OF_FIELDS = ("discount", "revenue", "margin", "p_click", "p_cart", "p_purchase")
#: Scenario constants handed to the kernel (``params``), in this order.
PARAMS = ("logit_ctr", "logit_cart", "logit_purchase", "affinity_weight", "position_decay", "fatigue_rate",
          "reference_price", "click_price_share", "weekend_lift", "discount_lift", "out_of_stock_factor",
          "satisfaction_gain", "satisfaction_loss", "stockout_loss", "churn_threshold", "drift_rate", "drift_cap",
          "complement_lift")
#: Switches handed to the kernel (``flags``), in this order (0/1), then the day's weekend flag and ``SEEN_CAP``.
FLAGS = ("memory_fatigue", "memory_satisfaction", "memory_drift", "coupons", "complements", "weekend", "seen_cap")
#: Day-sum columns the kernel adds to (``shopgym.world.kpis.SESSION_FIELDS`` indices), in this order.
SUM_FIELDS = ("impressions", "clicks", "carts", "purchases", "stockouts_hit", "out_of_stock_shown", "rec_revenue",
              "rec_margin", "coupon_spend", "coupons_granted", "coupons_refused")


def _sigmoid_py(x):
    return 1.0 / (1.0 + np.exp(-x))


#: The logistic function, compiled for ``_serve`` (the plain function where numba is missing).
_sigmoid = compile_kernel(_sigmoid_py) or _sigmoid_py


def _serve(sessions, slates, discounts, s_world, s_shopper, stock, price, list_price, unit_cost, category, features,
           prefs, sens, complements, params, flags, sum_cols, u, u_start,
           clicks, purchases, last_category, seen, satisfaction, churned, interest, taste_sum, last_purchase,
           coupon_left, day_sums, day_sold, day_revenue, oi, ob, of, sess_sums, sold, spend, w_lo, w_hi):
    """Serve ``slates[k]`` to session ``sessions[k]`` (see ``shopgym.world.sessions`` for the rules), in place.

    Writes one row per impression into ``oi``/``ob``/``of`` (``OI_FIELDS``, ``OB_FIELDS``, ``OF_FIELDS``),
    each session's revenue and margin into ``sess_sums``, units sold per world and SKU into ``sold`` and the
    coupon spend per world into ``spend``; updates the stock, the memory arrays, the coupon budget and the
    day sums. ``u`` holds three uniforms per impression, world ``w``'s impressions taking rows from
    ``u_start[w - w_lo]`` on in impression order. Only worlds ``w_lo .. w_hi - 1`` may have sessions in the batch
    (the per-world loops cover those alone: ``shopgym.envs.recommend_fast`` serves one world's session of many
    this way without slicing every array). Returns the number of impressions.
    """
    n_items, n_buckets = stock.shape[1], stock.shape[2]
    slots = slates.shape[1]
    dim = features.shape[1]
    fatigue, satisfy, drift = flags[0] != 0, flags[1] != 0, flags[2] != 0
    coupons, complement_on, weekend, seen_cap = flags[3] != 0, flags[4] != 0, flags[5] != 0, flags[6]
    # pass 1: rows, coupons, what the shoppers saw and how they respond (everything read before any update)
    m = 0
    for k in range(len(sessions)):
        s = sessions[k]
        for j in range(slots):
            item = slates[k, j]
            if item < 0:
                continue
            oi[m, 0] = s
            oi[m, 1] = s_world[s]
            oi[m, 2] = s_shopper[s]
            oi[m, 3] = j
            oi[m, 4] = item
            oi[m, 5] = k
            of[m, 0] = discounts[k, j]
            m += 1
    if coupons:  # grant in row order per world, as offers.grant_coupons (global running sum minus the world's base)
        total = 0.0
        for w in range(w_lo, w_hi):
            base = total
            for r in range(m):
                if oi[r, 1] != w:
                    continue
                worth = price[w, oi[r, 4]] * of[r, 0]
                total += worth
                ob[r, 5] = worth > 0 and (total - base) <= coupon_left[w]
                if not ob[r, 5]:
                    of[r, 0] = 0.0
    nxt = u_start.copy()
    for r in range(m):
        w, shopper, item = oi[r, 1], oi[r, 2], oi[r, 4]
        on = 0
        for q in range(n_buckets):
            on += stock[w, item, q]
        in_stock = on > 0
        ob[r, 3] = in_stock
        aff = 0.0
        for d in range(dim):
            aff += prefs[shopper, d] * features[item, d]
        disc = of[r, 0]
        rel = np.log(list_price[item] * (1.0 - disc) / params[6])
        b = sens[shopper]
        seen_now = seen[w, shopper, item] if fatigue else 0
        examine = (1.0 + oi[r, 3]) ** -params[4] * np.exp(-params[5] * seen_now)
        aw = params[3]
        x = params[0] + aw * aff - params[7] * b * rel
        if weekend:
            x = x + params[8]
        p0 = examine * _sigmoid(x)
        p1 = _sigmoid(params[1] + 0.5 * aw * aff - b * rel + params[9] * disc)
        p2 = _sigmoid(params[2] + 0.5 * aw * aff - b * rel) * (1.0 if in_stock else params[10])
        if drift:
            c = min(max(p0, 1e-12), 1 - 1e-12)
            p0 = 1.0 / (1.0 + np.exp(-(np.log(c) - np.log1p(-c) + interest[w, shopper, category[item]])))
        if complement_on and params[17] != 0:
            before = last_purchase[w, shopper]
            if before >= 0 and complements[before] == item:
                c = min(max(p1, 1e-12), 1 - 1e-12)
                p1 = _sigmoid(np.log(c) - np.log1p(-c) + params[17])
        of[r, 3], of[r, 4], of[r, 5] = p0, p1, p2
        i = nxt[w - w_lo]
        nxt[w - w_lo] += 1
        click = u[i, 0] < p0
        cart = click and u[i, 1] < p1
        hit2 = cart and u[i, 2] < p2
        ob[r, 0], ob[r, 1] = click, cart
        ob[r, 2] = hit2 and in_stock
        ob[r, 4] = hit2  # kept for the stock-out rule below
    # pass 2: earliest rows get the units on hand when the batch started; they leave first-expiring-first-out
    for r in range(m):
        w, item = oi[r, 1], oi[r, 4]
        if ob[r, 2]:
            on = 0
            for q in range(n_buckets):
                on += stock[w, item, q]
            if on - sold[w, item] > 0:
                sold[w, item] += 1
            else:
                ob[r, 2] = False
        ob[r, 4] = ob[r, 1] and not ob[r, 2] and (not ob[r, 3] or ob[r, 4])
    for w in range(w_lo, w_hi):
        for i in range(n_items):
            left = sold[w, i]
            for q in range(n_buckets):
                if left == 0:
                    break
                take = min(left, stock[w, i, q])
                stock[w, i, q] -= take
                left -= take
    # pass 3: money, memory and sums, in row order
    part = np.zeros((w_hi - w_lo, 11))
    rev_item = np.zeros((w_hi - w_lo, n_items))
    for k in range(len(sessions)):
        sess_sums[k, 0] = 0.0
        sess_sums[k, 1] = 0.0
    for r in range(m):
        w, shopper, item = oi[r, 1], oi[r, 2], oi[r, 4]
        click, cart, purchase, in_stock = ob[r, 0], ob[r, 1], ob[r, 2], ob[r, 3]
        paid = price[w, item] * (1.0 - of[r, 0])
        revenue = paid if purchase else 0.0
        margin = paid - unit_cost[item] if purchase else 0.0
        of[r, 1], of[r, 2] = revenue, margin
        sess_sums[oi[r, 5], 0] += revenue
        sess_sums[oi[r, 5], 1] += margin
        clicks[w, shopper] += click
        purchases[w, shopper] += purchase
        if click:
            last_category[w, shopper] = category[item]
            for d in range(dim):
                taste_sum[w, shopper, d] += features[item, d]
        if fatigue:
            seen[w, shopper, item] = min(seen[w, shopper, item] + 1, seen_cap)
        if satisfy:
            satisfaction[w, shopper] += (params[11] * purchase - params[12] * (not click)
                                         - params[13] * (not in_stock))
        if drift and purchase:
            interest[w, shopper, category[item]] += params[15]
        part[w - w_lo, 0] += 1.0
        part[w - w_lo, 1] += click
        part[w - w_lo, 2] += cart
        part[w - w_lo, 3] += purchase
        part[w - w_lo, 4] += ob[r, 4]
        part[w - w_lo, 5] += not in_stock
        part[w - w_lo, 6] += revenue
        part[w - w_lo, 7] += margin
        rev_item[w - w_lo, item] += revenue
        if coupons:
            worth = price[w, item] * discounts[oi[r, 5], oi[r, 3]]
            part[w - w_lo, 8] += worth if (ob[r, 5] and purchase) else 0.0
            part[w - w_lo, 9] += ob[r, 5]
            part[w - w_lo, 10] += worth > 0 and not ob[r, 5]
    for r in range(m):  # clip and cap after the whole batch, as the numpy path does
        w, shopper, item = oi[r, 1], oi[r, 2], oi[r, 4]
        if satisfy:
            satisfaction[w, shopper] = min(max(satisfaction[w, shopper], 0.0), 1.0)
        if drift:
            c = category[item]
            interest[w, shopper, c] = min(interest[w, shopper, c], params[16])
        if complement_on and ob[r, 2]:
            last_purchase[w, shopper] = item
    if satisfy:
        for w in range(w_lo, w_hi):
            for v in range(satisfaction.shape[1]):
                if satisfaction[w, v] < params[14]:
                    churned[w, v] = True
    for w in range(w_lo, w_hi):
        for c in range(8):
            day_sums[w, sum_cols[c]] += part[w - w_lo, c]
        for i in range(n_items):
            day_sold[w, i] += sold[w, i]
            day_revenue[w, i] += rev_item[w - w_lo, i]
        if coupons:
            spend[w] = part[w - w_lo, 8]
            coupon_left[w] = max(coupon_left[w] - part[w - w_lo, 8], 0.0)
            for c in range(8, 11):
                day_sums[w, sum_cols[c]] += part[w - w_lo, c]
    return m


serve_batch = compile_kernel(_serve)
#: Whether the compiled session path is available (numba installed and ``SHOPGYM_ENGINE`` is not ``numpy``).
COMPILED = serve_batch is not None
