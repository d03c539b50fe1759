"""The numpy resolution of an ad tick: the reference that the compiled loop (``shopgym.world.ads_kernel``) matches.

``AdsPhase.tick`` (``shopgym.world.ads``, whose docstring states the rules) calls ``resolve_numpy`` under
``World(engine="numpy")``: values, auctions, the budget rule, responses and the tick's sums as whole-array numpy
operations over the tick's opportunities of every world.
"""

from __future__ import annotations

import numpy as np

from shopgym.world import auctions
from shopgym.world.kpis import ADS_FIELDS


def _allocate(want: np.ndarray, key: np.ndarray, available: np.ndarray) -> np.ndarray:
    """``want`` cut so that each key (world x n_skus + SKU) takes at most ``available[key]`` units, earliest first."""
    idx = np.flatnonzero(want)
    if len(idx) == 0:
        return want
    k = key[idx]
    order = np.argsort(k, kind="stable")
    ks = k[order]
    rank = np.arange(len(ks)) - np.searchsorted(ks, ks)
    ok = np.empty(len(idx), dtype=bool)
    ok[order] = rank < available[ks]
    out = want.copy()
    out[idx] = ok
    return out


def resolve_numpy(phase, world, shopper, campaign, z, u, items, lam, price, unit_cost, on_hand, intensity,
                  spend_flat) -> dict:
    """The tick's values, auctions, responses and sums for ``phase`` (an ``AdsPhase``), as ``AdsPhase._resolve_compiled``
    returns them; ``spend_flat`` (the phase's spend, flat) is updated in place."""
    cfg, b, n, c = phase.cfg, phase.n_worlds, phase.catalog.n_skus, phase.n_campaigns
    m = len(world)
    rows = np.arange(m)
    probs = phase._gather(shopper, items)
    valid = items >= 0
    item = np.maximum(items, 0)
    unit = np.where(valid, probs.prod(-1) * np.maximum(price[world[:, None], item] - unit_cost[item], 0.0), 0.0)
    stocked = valid & (on_hand[world[:, None], item] > 0)
    estimate = unit.max(1) if m else np.zeros(0)
    value = np.where(stocked, unit, 0.0).max(1) if m else np.zeros(0)
    any_stock = stocked.any(1)
    col = np.where(any_stock, np.argmax(np.where(stocked, unit, -1.0), 1), np.argmax(np.where(valid, unit, -1.0), 1)
                   ) if m else np.zeros(0, np.int64)
    shown = item[rows, col]
    competing = auctions.competing_bids(estimate, phase.mean_value[campaign], z, intensity,
                                        cfg.competitor_correlation, cfg.competitor_spread)
    bid = lam[world, campaign] * estimate
    won, paid, to_win = auctions.resolve(bid, competing, cfg.reserve_price, cfg.auction)
    group = world * c + campaign
    won = auctions.within_budget(group, paid, won, spend_flat, phase.budget.reshape(-1))
    paid = np.where(won, paid, 0.0)
    p = probs[rows, col]
    hit = np.cumprod(u < p, axis=1).astype(bool) & won[:, None]
    key = world * n + shown
    purchase = _allocate(hit[:, 2] & any_stock, key, on_hand.ravel())
    sold = np.bincount(key[purchase], minlength=b * n).reshape(b, n)
    revenue = np.where(purchase, price[world, shown], 0.0)
    margin = np.where(purchase, price[world, shown] - unit_cost[shown], 0.0)
    by_camp = np.stack([np.bincount(group, weights=w, minlength=b * c)
                        for w in (np.ones(m), won, paid, margin, to_win, estimate, estimate * estimate)], 1)
    spend_flat += by_camp[:, 2]
    wasted = won & ~any_stock
    values = np.column_stack([np.ones(m), won, hit[:, 0], hit[:, 1], purchase, paid, revenue, margin,
                              np.where(wasted, paid, 0.0), wasted])
    nf = len(ADS_FIELDS)
    flat = (world[:, None] * nf + np.arange(nf)).ravel()
    sums = np.bincount(flat, weights=values.ravel(), minlength=b * nf).reshape(b, nf)
    day_rev = np.bincount(key, weights=revenue, minlength=b * n).reshape(b, n)
    day_cost = np.bincount(key, weights=paid, minlength=b * n).reshape(b, n)
    return {"estimate": estimate, "value": value, "competing": competing, "to_win": to_win, "bid": bid,
            "paid": paid, "revenue": revenue, "margin": margin, "won": won, "click": hit[:, 0], "cart": hit[:, 1],
            "purchase": purchase, "stocked": any_stock, "shown": shown, "sums": sums, "by_camp": by_camp,
            "day_rev": day_rev, "day_cost": day_cost, "sold": sold}
