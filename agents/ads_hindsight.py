"""The hindsight bound of Ads-v0: the best spend of each day's budget had every opportunity been known in advance.

Given an episode's opportunity log (``World.opportunity_log()``: per opportunity its campaign, day, estimated value
``v_i`` and price to win ``p_i = max(highest competing bid, reserve)``), the bound is the LP relaxation of the
knapsack over impressions, per campaign ``c`` and day ``d`` with budget ``B_cd``::

    maximise  sum_i x_i (v_i - p_i)   subject to   sum_i x_i p_i <= B_cd,   0 <= x_i <= 1,

solved exactly by the fractional-knapsack greedy: take the opportunities with ``v_i > p_i`` by decreasing
``(v_i - p_i) / p_i`` (free ones first) until the budget is spent, the last one fractionally.

Why it bounds the expected reward of any policy (for the same seed; compare means over seeds):
  * the opportunities, their shoppers and the competitors' bids do not depend on what we bid
    (``shopgym.world.ads`` draws them first), so every policy faces the same ``(v_i, p_i)``;
  * a policy wins impression ``i`` only by paying at least ``p_i`` (second price: exactly ``p_i``; first price: its
    bid, which beat ``p_i``), and its spend per campaign and day is at most ``B_cd`` (the budget rule);
  * given what a policy knows when it bids, a won impression's expected margin is the value of the best SKU in
    stock, at most the estimated value ``v_i`` (which ignores stock), and purchases can only be cut further by
    stock running out. So its expected reward is at most ``E[sum_i x_i (v_i - p_i)]`` for some feasible 0/1 ``x``,
    which the LP optimum bounds for every realisation.
The bound ignores stock limits (and uses the stock-blind estimated value), which only loosens it: on
``ads-stockout`` no policy can come close. ``value="value"`` uses the logged in-stock value instead: tighter, but
a bound only for policies that do not change the stock path (it is logged under the policy that ran).
"""

from __future__ import annotations

import numpy as np


def knapsack_lp(value: np.ndarray, price: np.ndarray, group: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """The LP optimum ``x`` (``(n,)`` in [0, 1]) of the fractional knapsacks above, one per group.

    Args:
        value, price: ``v_i`` and ``p_i`` per item (currency, ``p_i >= 0``).
        group: knapsack of each item, ``(n,)`` int in ``[0, len(budget))``.
        budget: each knapsack's budget (currency, >= 0).
    """
    value, price = np.asarray(value, float), np.asarray(price, float)
    group, budget = np.asarray(group, np.int64), np.asarray(budget, float)
    if (price < 0).any() or (budget < 0).any():
        raise ValueError("prices and budgets must be >= 0.")
    x = np.zeros(len(value))
    gain = value - price
    idx = np.flatnonzero(gain > 0)
    if len(idx) == 0:
        return x
    ratio = np.where(price[idx] > 0, gain[idx] / np.where(price[idx] > 0, price[idx], 1.0), np.inf)
    order = idx[np.lexsort((-ratio, group[idx]))]  # by group, then best ratio first
    g, p = group[order], price[order]
    start = np.searchsorted(g, g)
    csum = np.cumsum(p)
    before = csum - p - np.where(start > 0, csum[start - 1], 0.0)  # spend of the group's better items
    left = budget[g] - before
    x[order] = np.clip(np.where(p > 0, left / np.where(p > 0, p, 1.0), np.where(left >= 0, 1.0, 0.0)), 0.0, 1.0)
    return x


def hindsight_bound(log: dict[str, np.ndarray], budgets: np.ndarray, world: int = 0, value: str = "estimate"
                    ) -> float:
    """The bound (currency) for world ``world`` of an episode's opportunity log.

    Args:
        log: ``World.opportunity_log()`` (``day``, ``world``, ``campaign``, ``estimate``, ``value``, ``price_to_win``).
        budgets: budget per day and campaign, ``(days, n_campaigns)`` currency (``hindsight_budgets``).
        world: which world of the log.
        value: ``"estimate"`` (the bound for every policy) or ``"value"`` (module docstring).
    """
    if value not in ("estimate", "value"):
        raise ValueError(f"value must be 'estimate' or 'value', got {value!r}.")
    budgets = np.asarray(budgets, float)
    mine = np.asarray(log["world"]) == world
    day, camp = np.asarray(log["day"])[mine].astype(np.int64), np.asarray(log["campaign"])[mine].astype(np.int64)
    if len(day) and (day.max() >= budgets.shape[0] or camp.max() >= budgets.shape[1]):
        raise ValueError(f"budgets has shape {budgets.shape}; the log has days up to {day.max()} and campaigns up to "
                         f"{camp.max()}.")
    v, p = np.asarray(log[value])[mine], np.asarray(log["price_to_win"])[mine]
    x = knapsack_lp(v, p, day * budgets.shape[1] + camp, budgets.ravel())
    return float(np.sum(x * (v - p)))


def hindsight_budgets(world) -> np.ndarray:
    """Each campaign's budget per day of ``world``'s episode, ``(horizon, n_campaigns)`` currency (cuts included)."""
    cfg = world.scenario.ads
    days = np.arange(world.horizon)
    cut = (cfg.budget_cut_day >= 0) & (days >= cfg.budget_cut_day)
    per_day = cfg.daily_budget * np.where(cut, cfg.budget_cut_factor, 1.0)
    return np.repeat(per_day[:, None], world.ads_setup.n_campaigns, axis=1)
