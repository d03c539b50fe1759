"""One ad tick's auctions, responses and sums as one compiled loop over the opportunities (numba).

The numpy path of ``AdsPhase.tick`` (``shopgym.world.ads``) pays about a microsecond per numpy call whatever the
array size, and a tick is ~80 of them; compiled, the same rules run in one call. This loop follows the
opportunities in arrival order, which is exactly what the vectorised rules mean: the budget rule keeps a prefix of
each campaign's wins (``spend + running sum <= budget``, the same additions in the same order), and the stock goes
to the earliest purchases. Sums are added in the same order as numpy's ``bincount``. The only difference from the
numpy path is ``exp`` in the competitors' bids (numba's and numpy's may differ in the last bit), so a test checks
that both engines take the same decisions and agree on every amount to 1e-12 (``tests/world/test_auctions.py``).
``World(engine="numpy")`` or ``SHOPGYM_ENGINE=numpy`` runs the numpy path.
"""

from __future__ import annotations

import numpy as np

from shopgym.world.kernel import compile_kernel


def _tick(world, shopper, campaign, z, u, table, probs, use_table, items, lam, price, unit_cost, on_hand, mean_value, params, spend, budget,
          f_est, f_value, i_shown, f_comp, f_to_win, f_bid, f_paid, f_rev, f_margin, b_won, b_click, b_cart, b_buy,
          b_stock, sums, by_camp, day_rev, day_cost, sold):
    """Fill the per-opportunity outputs and the sums (see ``AdsPhase.tick``); ``spend`` is updated in place.

    Funnel probabilities of SKU ``items[i, j]`` for opportunity ``i``: ``table[shopper[i], items[i, j]]`` (today's table
    of every shopper and SKU) when ``use_table``, else ``probs[i, j]``.
    ``params``: intensity (x the tick's traffic factor), correlation, spread, reserve, first price (1.0 or 0.0).
    ``sums``: ``(n_worlds, len(ADS_FIELDS))``; ``by_camp``: ``(n_worlds x n_campaigns, 7)`` opportunities, wins,
    spend, ad margin, and the sums of the price to win, the estimated value and its square; ``day_rev``, ``day_cost``, ``sold``: ``(n_worlds, n_skus)``; all zeroed by the caller.
    """
    m, width = items.shape[0], items.shape[1]
    n_campaigns = lam.shape[1]
    k = z.shape[1]
    intensity, rho, sigma, reserve, first = params[0], params[1], params[2], params[3], params[4] > 0.5
    avail = on_hand.copy()
    running = np.zeros(spend.shape[0])
    stopped = np.zeros(spend.shape[0], dtype=np.bool_)
    for i in range(m):
        w, c = world[i], campaign[i]
        est, val = 0.0, 0.0
        best_s, best_v, best_any, best_any_v = -1, -1.0, -1, -1.0
        for j in range(width):
            s = items[i, j]
            if s < 0:
                continue
            mg = price[w, s] - unit_cost[s]
            if use_table:
                unit = table[shopper[i], s, 0] * table[shopper[i], s, 1] * table[shopper[i], s, 2]
            else:
                unit = probs[i, j, 0] * probs[i, j, 1] * probs[i, j, 2]
            unit = unit * (mg if mg > 0.0 else 0.0)
            if unit > est:
                est = unit
            if unit > best_any_v:
                best_any, best_any_v = s, unit
            if on_hand[w, s] > 0:
                if unit > val:
                    val = unit
                if unit > best_v:
                    best_s, best_v = s, unit
        stocked = best_s >= 0
        shown = best_s if stocked else best_any
        col = 0
        for j in range(width):
            if items[i, j] == shown:
                col = j
                break
        if use_table:
            p0, p1, p2 = table[shopper[i], shown, 0], table[shopper[i], shown, 1], table[shopper[i], shown, 2]
        else:
            p0, p1, p2 = probs[i, col, 0], probs[i, col, 1], probs[i, col, 2]
        comp = 0.0
        if k > 0:
            zmax = z[i, 0]
            for q in range(1, k):
                if z[i, q] > zmax:
                    zmax = z[i, q]
            comp = intensity * (rho * est + (1.0 - rho) * mean_value[c]) * np.exp(sigma * zmax - 0.5 * sigma * sigma)
        bid = lam[w, c] * est
        to_win = comp if comp > reserve else reserve
        won = bid > comp and bid >= reserve and bid > 0.0
        paid = 0.0
        g = w * n_campaigns + c
        if won:
            price_i = bid if first else to_win
            if stopped[g]:
                won = False
            else:
                r = running[g] + price_i
                if spend[g] + r <= budget[g]:
                    running[g] = r
                    paid = price_i
                else:
                    stopped[g] = True
                    won = False
        click = won and u[i, 0] < p0
        cart = click and u[i, 1] < p1
        buy = cart and u[i, 2] < p2 and stocked and avail[w, shown] > 0
        rev, mar = 0.0, 0.0
        if buy:
            avail[w, shown] -= 1
            sold[w, shown] += 1
            rev = price[w, shown]
            mar = price[w, shown] - unit_cost[shown]
        wasted = won and not stocked
        f_est[i], f_value[i], i_shown[i], f_comp[i], f_to_win[i], f_bid[i] = est, val, shown, comp, to_win, bid
        f_paid[i], f_rev[i], f_margin[i] = paid, rev, mar
        b_won[i], b_click[i], b_cart[i], b_buy[i], b_stock[i] = won, click, cart, buy, stocked
        sums[w, 0] += 1.0
        sums[w, 1] += 1.0 if won else 0.0
        sums[w, 2] += 1.0 if click else 0.0
        sums[w, 3] += 1.0 if cart else 0.0
        sums[w, 4] += 1.0 if buy else 0.0
        sums[w, 5] += paid
        sums[w, 6] += rev
        sums[w, 7] += mar
        sums[w, 8] += paid if wasted else 0.0
        sums[w, 9] += 1.0 if wasted else 0.0
        by_camp[g, 0] += 1.0
        by_camp[g, 1] += 1.0 if won else 0.0
        by_camp[g, 2] += paid
        by_camp[g, 3] += mar
        by_camp[g, 4] += to_win
        by_camp[g, 5] += est
        by_camp[g, 6] += est * est
        day_rev[w, shown] += rev
        day_cost[w, shown] += paid
    for g in range(spend.shape[0]):
        spend[g] += running[g]


tick_kernel = compile_kernel(_tick)
