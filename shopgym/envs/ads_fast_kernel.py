"""The compiled step of ``shopgym.envs.ads_fast`` (one Ads-v0 step for ``N`` worlds) and its observation row.

``step_kernel`` checks the actions, draws each world's tick from its replayed generator (``shopgym.world.exact_rng``),
runs the auctions and responses (``shopgym.world.ads_kernel.tick_kernel``, the reference's own loop), takes the
purchases from the stock first-expiring-first-out, adds the day sums, appends the opportunity log and writes the
observation (``observe_row``: ``AdsView.observe``'s numbers in its order of operations), the reward and the info
figures. ``FastAds`` (``shopgym.envs.ads_fast``) owns the arrays and calls it.
"""

from __future__ import annotations

import numpy as np

from shopgym.envs.ads_view import CAMPAIGN_FIELDS, COVER_DAYS, GLOBAL_FIELDS, OBS_MAX
from shopgym.world import exact_rng
from shopgym.world.ads_kernel import tick_kernel
from shopgym.world.kernel import compile_kernel

#: Columns of ``FastAds.ctl`` (int64).
CTL = ("mode", "day", "tick", "ticks_per_day", "horizon", "log_n", "m", "has_last", "need", "levels", "n_shoppers")
_MODE, _DAY, _TICK, _TPD, _HORIZON, _LOG_N, _M, _HAS_LAST, _NEED, _LEVELS, _NSHOP = range(len(CTL))
#: ``mode``: only observe; step with discrete levels; with continuous multipliers (checked); with multipliers as given.
OBSERVE, LEVELS, CONTINUOUS, RAW = 0, 1, 2, 3
#: Float info figures (``info_f`` columns) and int ones (``info_i``), as ``AdsEnv`` reports them.
INFO_F = ("spend", "ad_margin", "budget_left", "pacing", "roas", "cpa", "win_rate", "wasted_spend", "ad_spend",
          "episode_ad_margin")
INFO_I = ("day", "tick", "wins", "purchases")
#: Per-opportunity float scratch rows (``sf``), in ``tick_kernel``'s output order.
SF_FIELDS = ("estimate", "value", "competing", "to_win", "bid", "paid", "revenue", "margin")
SB_FIELDS = ("won", "click", "cart", "purchase", "stocked")
#: Most campaigns the compiled step takes (its sums follow numpy's order up to this length).
MAX_CAMPAIGNS = 128


def _pw_sum(a):
    """``numpy.sum`` of a 1-D array of at most ``MAX_CAMPAIGNS`` numbers, in numpy's order (8 partial sums from 8
    terms on; numpy splits longer arrays in halves first)."""
    n = a.shape[0]
    res = 0.0
    if n < 8:
        for i in range(n):
            res += a[i]
        return res
    r = np.empty(8)
    for j in range(8):
        r[j] = a[j]
    i = 8
    while i < n - (n % 8):
        for j in range(8):
            r[j] += a[i + j]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        res += a[i]
        i += 1
    return res


pw_sum = compile_kernel(_pw_sum)


def _observe(w, ctl, fpar, traffic, spend, budget, by_camp, stock, rate_c, member, value_scale, obs):
    """Row ``w`` of the observation (``AdsView.observe``'s numbers, in its order of operations)."""
    n_camp, n_skus = member.shape
    n_fields = len(CAMPAIGN_FIELDS)
    g0 = len(GLOBAL_FIELDS)
    day, t, tpd, horizon = ctl[_DAY], ctl[_TICK], ctl[_TPD], ctl[_HORIZON]
    if day >= horizon:
        for j in range(obs.shape[1]):
            obs[w, j] = 0.0
        return
    daily_budget, traffic_max = fpar[0], fpar[1]
    row = np.zeros(obs.shape[1])
    row[0] = (tpd - t) / tpd
    row[1] = 1.0 - (day * tpd + t) / (horizon * tpd)
    row[2] = traffic[t] / traffic_max if t < tpd else 0.0
    for c in range(n_camp):
        g = w * n_camp + c
        o = g0 + n_fields * c
        left = budget[w, c] - spend[w, c]
        row[o] = (left if left > 0.0 else 0.0) / daily_budget
        row[o + 1] = spend[w, c] / daily_budget
        if ctl[_HAS_LAST]:
            n = by_camp[g, 0] if by_camp[g, 0] > 1.0 else 1.0
            mean_v = by_camp[g, 5] / n
            var = by_camp[g, 6] / n - mean_v * mean_v
            var = var if var > 0.0 else 0.0
            row[o + 2] = by_camp[g, 1] / n
            row[o + 3] = by_camp[g, 2] / (by_camp[g, 1] if by_camp[g, 1] > 1.0 else 1.0) / value_scale[c]
            row[o + 4] = by_camp[g, 4] / n / value_scale[c]
            row[o + 5] = mean_v / value_scale[c]
            row[o + 6] = np.sqrt(var) / value_scale[c]
        stock_c, stocked, count = 0.0, 0.0, 0.0
        for s in range(n_skus):
            if member[c, s] > 0.0:
                units = 0
                for k in range(stock.shape[2]):
                    units += stock[w, s, k]
                stock_c += units
                stocked += 1.0 if units > 0 else 0.0
                count += 1.0
        rate = rate_c[w, c]
        if rate > 0:
            cover = stock_c / (rate if rate > 1e-12 else 1e-12)
        else:
            cover = COVER_DAYS if stock_c > 0 else 0.0
        cover = cover / COVER_DAYS
        row[o + 7] = cover if cover < 1.0 else 1.0
        row[o + 8] = stocked / (count if count > 1.0 else 1.0)
    for j in range(obs.shape[1]):
        v = row[j]
        obs[w, j] = 0.0 if v < 0.0 else (OBS_MAX if v > OBS_MAX else v)


observe_row = compile_kernel(_observe)


def _step(ctl, act, lam, rng, saved, fpar, mean_count, intensity, levels, traffic, elapsed, table, campaign_skus,
          price, unit_cost, stock, mean_value, spend, budget, day_sums, acc, day_sold, day_revenue, day_cost, rate_c,
          member, value_scale, si, sf, sb, items, u, z, on_hand, tsums, by_camp, t_rev, t_cost, t_sold, log_i, log_f,
          log_b, obs, reward, info_f, info_i):
    """Step every world (``ctl[mode]`` ``LEVELS``, ``CONTINUOUS`` or ``RAW``: ``act`` is ``(N, n_campaigns)``) or only
    observe them (``OBSERVE``); returns 0, or ``-(w + 1)`` when world ``w``'s action is outside the action space, or
    ``-(N + 1)`` when the scratch or log arrays are too small (``ctl[need]`` opportunities: grow them and call
    again). In both refusals nothing has changed.

    ``fpar``: daily budget (observation unit), peak traffic, max multiplier, correlation, spread, reserve, first
    price (1/0), reward scale; ``mean_count``, ``intensity``: per tick of the day (the reference's Python figures).
    The rest: the phase's and world's arrays (updated in place), the tick's scratch (``si``: world, shopper,
    campaign, shown; ``sf``: ``SF_FIELDS``; ``sb``: ``SB_FIELDS``; per opportunity) and the outputs.
    """
    n_worlds, n_camp = lam.shape
    mode = ctl[_MODE]
    if mode != OBSERVE:
        top = fpar[2]
        for w in range(n_worlds):  # every action checked before anything changes
            for c in range(n_camp):
                x = act[w, c]
                if mode == LEVELS:
                    if not (x >= 0 and x < ctl[_LEVELS]) or x != np.floor(x):
                        return -(w + 1)
                    lam[w, c] = levels[np.int64(x)]
                elif mode == CONTINUOUS:
                    if not np.isfinite(x) or x < 0 or x > top * (1 + 1e-6):
                        return -(w + 1)
                    lam[w, c] = x if x < top else top
                else:
                    lam[w, c] = x
        t = ctl[_TICK]
        n_shoppers, k = ctl[_NSHOP], z.shape[1]
        cap = si.shape[1]
        log_cap = log_i.shape[0]
        saved[:] = rng
        m = 0
        for w in range(n_worlds):  # the draws, world after world, each from its own stream
            st = rng[w]
            cnt = exact_rng.poisson(st, mean_count[t])
            if m + cnt > cap or ctl[_LOG_N] + m + cnt > log_cap:
                rng[:] = saved
                ctl[_NEED] = m + cnt
                return -(n_worlds + 1)
            for i in range(m, m + cnt):
                u0, u1 = exact_rng.next_double(st), exact_rng.next_double(st)
                u[i, 0], u[i, 1], u[i, 2] = exact_rng.next_double(st), exact_rng.next_double(st), exact_rng.next_double(st)
                s = np.int64(u0 * n_shoppers)
                c = np.int64(u1 * n_camp)
                si[0, i], si[1, i], si[2, i] = w, s if s < n_shoppers - 1 else n_shoppers - 1, c if c < n_camp - 1 else n_camp - 1
                for j in range(items.shape[1]):
                    items[i, j] = campaign_skus[si[2, i], j]
            for i in range(m, m + cnt):
                for q in range(k):
                    z[i, q] = exact_rng.standard_normal(st)
            m += cnt
        for w in range(n_worlds):
            for s in range(on_hand.shape[1]):
                units = 0
                for b in range(stock.shape[2]):
                    units += stock[w, s, b]
                on_hand[w, s] = units
        tsums[:] = 0.0
        by_camp[:] = 0.0
        t_rev[:] = 0.0
        t_cost[:] = 0.0
        t_sold[:] = 0
        params = np.array([intensity[t], fpar[3], fpar[4], fpar[5], fpar[6]])
        probs = np.zeros((1, 1, 3))
        tick_kernel(si[0, :m], si[1, :m], si[2, :m], z[:m], u[:m], table, probs, True, items[:m], lam, price, unit_cost,
                    on_hand, mean_value, params, spend.reshape(-1), budget.reshape(-1), sf[0, :m], sf[1, :m],
                    si[3, :m], sf[2, :m], sf[3, :m], sf[4, :m], sf[5, :m], sf[6, :m], sf[7, :m], sb[0, :m], sb[1, :m],
                    sb[2, :m], sb[3, :m], sb[4, :m], tsums, by_camp, t_rev, t_cost, t_sold)
        for w in range(n_worlds):  # the purchases leave the stock first-expiring-first-out (inventory.remove_fifo)
            for s in range(t_sold.shape[1]):
                q = t_sold[w, s]
                b = 0
                while q > 0:
                    take = stock[w, s, b] if stock[w, s, b] < q else q
                    stock[w, s, b] -= take
                    q -= take
                    b += 1
        day_sums += tsums
        day_sold += t_sold
        day_revenue += t_rev
        day_cost += t_cost
        n0 = ctl[_LOG_N]
        for i in range(m):
            j = n0 + i
            log_i[j, 0], log_i[j, 1], log_i[j, 2], log_i[j, 3] = ctl[_DAY], t, si[0, i], si[2, i]
            log_f[j, 0], log_f[j, 1], log_f[j, 2], log_f[j, 3] = sf[0, i], sf[1, i], sf[3, i], sf[5, i]
            log_b[j] = sb[0, i]
        ctl[_LOG_N] = n0 + m
        ctl[_M] = m
        ctl[_TICK] = t + 1
        ctl[_HAS_LAST] = 1
        buys = np.zeros(n_worlds, dtype=np.int64)
        for i in range(m):
            if sb[3, i]:
                buys[si[0, i]] += 1
        for w in range(n_worlds):
            g0 = w * n_camp
            tick_spend, tick_margin = pw_sum(by_camp[g0 : g0 + n_camp, 2]), pw_sum(by_camp[g0 : g0 + n_camp, 3])
            reward[w] = (tick_margin - tick_spend) * fpar[7]
            wins = 0
            for c in range(n_camp):
                wins += np.int64(by_camp[g0 + c, 1])
            left = np.maximum(budget[w] - spend[w], 0.0)
            budget_sum, spend_sum = pw_sum(budget[w]), pw_sum(spend[w])
            scale = budget_sum * elapsed[t + 1]
            pacing = spend_sum / (scale if scale > 1e-12 else 1e-12) if budget_sum > 0 else 0.0
            opp = acc[w, 0] + day_sums[w, 0]
            won = acc[w, 1] + day_sums[w, 1]
            bought = acc[w, 4] + day_sums[w, 4]
            paid = acc[w, 5] + day_sums[w, 5]
            revenue = acc[w, 6] + day_sums[w, 6]
            margin = acc[w, 7] + day_sums[w, 7]
            wasted = acc[w, 8] + day_sums[w, 8]
            roas = revenue / paid if paid > 0 else 0.0
            cpa = (paid / (bought if bought > 1.0 else 1.0) if bought > 0 else np.inf) if paid > 0 else 0.0
            info_f[w, 0], info_f[w, 1], info_f[w, 2], info_f[w, 3] = tick_spend, tick_margin, pw_sum(left), pacing
            info_f[w, 4], info_f[w, 5], info_f[w, 6] = roas, cpa, won / (opp if opp > 1.0 else 1.0)
            info_f[w, 7], info_f[w, 8], info_f[w, 9] = wasted, paid, margin
            info_i[w, 0], info_i[w, 1], info_i[w, 2], info_i[w, 3] = ctl[_DAY], t, wins, buys[w]
    for w in range(n_worlds):
        observe_row(w, ctl, fpar, traffic, spend, budget, by_camp, stock, rate_c, member, value_scale, obs)
    return 0


step_kernel = compile_kernel(_step) if tick_kernel is not None else None
