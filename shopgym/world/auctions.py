"""Auction mechanics of one tick, vectorised over opportunities, campaigns and worlds (numpy only).

An *opportunity* is one ad slot shown to one shopper; it is sold by one sealed-bid auction between
our campaign that targets it and ``K`` competitors. Every function here works on flat arrays of the
tick's opportunities of all worlds at once; nothing loops over opportunities.

Rules (``shopgym.world.ads`` calls them in this order):

- **Traffic** (``traffic_profile``): the mean number of opportunities of tick ``t`` is
  ``opportunities_per_day x traffic[t] / ticks_per_day``; ``traffic`` has mean 1 over the day.
- **Competitors** (``competing_bids``): competitor ``k``'s bid on opportunity ``i`` of campaign ``c`` is
  ``intensity x traffic[t] ** COMPETITOR_TRAFFIC_EXPONENT x (rho x e_i + (1 - rho) x mean_c) x
  exp(sigma z_ik - sigma^2 / 2)``: it correlates with the shopper's estimated value ``e_i`` (weight ``rho``),
  follows the daily pattern, and has mean ``intensity x`` the value at ``sigma``'s log-normal spread. Only the
  highest competing bid matters.
- **Winner and price** (``resolve``): we win when our bid is above the highest competing bid and at least the
  reserve (and above 0). The *price to win* is ``max(highest competing bid, reserve)``. Second price: the
  winner pays the price to win (never more than its bid). First price: the winner pays its bid.
- **Budget** (``within_budget``): a campaign's wins of a tick are paid in arrival order. The first won
  auction whose price would take the campaign's spend over its budget is not taken: our bid is withdrawn
  from it (the highest competitor wins it instead, at no cost to us) and from every later auction of the
  campaign in the same tick. The next tick the campaign bids again with what is left. So spend never
  exceeds the budget, and the rule is a prefix per campaign (exact and vectorised: one cumulative sum).
"""

from __future__ import annotations

import numpy as np

#: Competitors' bids scale with ``traffic[t] ** COMPETITOR_TRAFFIC_EXPONENT``: busier hours, keener bidders.
COMPETITOR_TRAFFIC_EXPONENT = 0.5
#: The default daily traffic curve: relative traffic of each hour 00:00 .. 23:00 (a stylised e-commerce day:
#: a night trough at 03:00-04:00, a morning rise, a lunch bump and an evening peak at 20:00, about 10x the trough).
DIURNAL_HOURLY = (0.35, 0.25, 0.18, 0.15, 0.15, 0.2, 0.35, 0.55, 0.75, 0.9, 1.0, 1.05, 1.1, 1.05, 1.0, 1.0, 1.05,
                  1.1, 1.25, 1.45, 1.6, 1.55, 1.2, 0.7)
#: Auction formats of ``ads.auction``.
AUCTIONS = ("second", "first")


def traffic_profile(ticks_per_day: int, shape: str = "diurnal", multipliers=()) -> np.ndarray:
    """Relative traffic of each tick, ``(ticks_per_day,)`` float64 with mean 1.

    ``multipliers`` (one per tick) win over ``shape``. ``"flat"`` is all ones. ``"diurnal"`` is ``DIURNAL_HOURLY``
    read (periodic linear interpolation) at each tick's middle hour, rescaled to mean 1.
    """
    if len(multipliers):
        m = np.asarray(multipliers, dtype=np.float64)
        if m.shape != (ticks_per_day,) or not np.isfinite(m).all() or (m < 0).any() or m.sum() <= 0:
            raise ValueError(f"multipliers must be {ticks_per_day} finite non-negative numbers, not all 0.")
    elif shape == "flat":
        m = np.ones(ticks_per_day)
    elif shape == "diurnal":
        hour = (np.arange(ticks_per_day) + 0.5) * 24.0 / ticks_per_day - 0.5  # DIURNAL_HOURLY[h] is at h + 0.5
        m = np.interp(hour, np.arange(-1, 25), np.r_[DIURNAL_HOURLY[-1], DIURNAL_HOURLY, DIURNAL_HOURLY[0]])
    else:
        raise ValueError(f"traffic shape must be 'diurnal' or 'flat', got {shape!r}.")
    return m / m.mean()


def competing_bids(value: np.ndarray, mean_value: np.ndarray, z: np.ndarray, intensity: float, correlation: float,
                   spread: float) -> np.ndarray:
    """Highest competing bid per opportunity (currency/impression), ``(n,)``; 0 without competitors.

    Args:
        value: the shopper's estimated value for the targeted campaign, ``(n,)`` currency.
        mean_value: the campaign's mean estimated value, ``(n,)`` currency.
        z: standard normal draws, ``(n, K)``, one per competitor.
        intensity: competitors' mean value relative to ours (already x the tick's traffic factor).
        correlation: weight ``rho`` of the shopper's value; spread: log-normal sigma.
    """
    if z.shape[1] == 0:
        return np.zeros(len(value))
    base = intensity * (correlation * value + (1.0 - correlation) * mean_value)
    return base * np.exp(spread * z.max(axis=1) - 0.5 * spread * spread)


def resolve(bid: np.ndarray, competing: np.ndarray, reserve: float, auction: str = "second"
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Winner and price of each auction: ``(won, price, price_to_win)``, each ``(n,)``.

    ``won``: our bid beats the highest competing bid, reaches the reserve and is positive. ``price_to_win``:
    ``max(competing, reserve)`` (currency). ``price``: what we pay if we won (second price: ``price_to_win``;
    first price: our bid), 0 where we lost.
    """
    if auction not in AUCTIONS:
        raise ValueError(f"auction must be one of {list(AUCTIONS)}, got {auction!r}.")
    to_win = np.maximum(competing, reserve)
    won = (bid > competing) & (bid >= reserve) & (bid > 0)
    paid = to_win if auction == "second" else bid
    return won, np.where(won, paid, 0.0), to_win


def within_budget(group: np.ndarray, price: np.ndarray, won: np.ndarray, spend: np.ndarray, budget: np.ndarray
                  ) -> np.ndarray:
    """Which wins are kept under the budget rule (module docstring): bool ``(n,)``.

    Args:
        group: campaign slot of each auction (``world x n_campaigns + campaign``), ``(n,)`` int64; auctions are in
            arrival order within a group.
        price: price of each auction (0 where lost), ``(n,)`` currency.
        won: whether we won it, ``(n,)`` bool.
        spend, budget: money spent so far today and the day's budget per group (currency), ``(n_groups,)``.

    A win is kept when ``spend + `` the running sum of the group's prices up to it is at most ``budget``: the
    very sum that becomes the new spend, so spend never exceeds the budget, not even by a rounding error. Each
    group's running sum is taken in its own row (a padded 2-D cumulative sum), so the result for a campaign does
    not depend on what other campaigns or worlds are in the batch.
    """
    idx = np.flatnonzero(won)
    if len(idx) == 0:
        return won.copy()
    g = group[idx]
    order = np.argsort(g, kind="stable")
    gs = g[order]
    rank = np.arange(len(gs)) - np.searchsorted(gs, gs)
    uniq, row = np.unique(gs, return_inverse=True)
    table = np.zeros((len(uniq), int(rank.max()) + 1))
    table[row, rank] = price[idx][order]
    running = np.cumsum(table, axis=1)[row, rank]
    ok = np.empty(len(idx), dtype=bool)
    ok[order] = spend[gs] + running <= budget[gs]
    kept = np.zeros_like(won)
    kept[idx] = ok
    return kept
