"""Exact references: the optimal restocking policy of a small single-SKU world by backward induction,
and the closed-form newsvendor optimum.

The dynamic programme reproduces ``shopgym.world.World`` event for event (orders cut to capacity,
same-day delivery for lead time 0, lost sales, holding cost on the stock left at the end of the day,
stock perishing at day end when ``shelf_life == 1``), so its value is the exact expected profit of
an episode from the scenario's starting state, and the policy it yields is optimal for the env.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from shopgym.config import Scenario, load_scenario
from shopgym.errors import ScenarioError
from shopgym.plugins import build_world

MAX_STATES = 400_000


@dataclass
class ExactSolution:
    """The optimum of a small restocking instance.

    Attributes:
        value: expected episode profit of the optimal policy from the starting state (currency).
        levels: optimal order level per day and state, shape ``(horizon, C + 1, ..., C + 1)`` over
            ``(on_hand, pipeline_1, ..., pipeline_L)`` (units); -1 marks infeasible states.
        lead_time: the instance's lead time (days).
        capacity: the warehouse capacity that bounds the state space (units).
    """

    value: float
    levels: np.ndarray
    lead_time: int
    capacity: int


def exact_reason(scenario: Scenario) -> str | None:
    """Why the scenario cannot be solved exactly, or ``None`` if it can."""
    c, d, i, s = scenario.catalog, scenario.demand, scenario.inventory, scenario.supply
    checks = [
        (c.n_skus == 1, "it has more than one SKU"),
        (c.lead_time <= 2 and c.lead_time_spread == 0, "its lead time is over 2 days or varies"),
        (s.shock_day < 0, "it has a supply shock"),
        (i.capacity > 0, "it has no warehouse capacity to bound the stock"),
        (not i.backorders, "it uses backorders"),
        (d.promo_prob == 0, "it has random promotions"),
        (c.shelf_life == 0 or (c.shelf_life == 1 and c.lead_time == 0), "its shelf life is not 0 (never perishes) or 1 with lead time 0"),
        (d.demand_model == "ground_truth", "its demand is not the ground truth"),
    ]
    for ok, why in checks:
        if not ok:
            return why
    states = (i.capacity + 1) ** (c.lead_time + 1)
    if states > MAX_STATES:
        return f"its state space ({states:,} states) is too large; lower capacity"
    return None


def solve(scenario: Scenario | str) -> ExactSolution:
    """Backward induction over the episode; raises ``ScenarioError`` if the instance is not exact-solvable."""
    scenario = load_scenario(scenario)
    why = exact_reason(scenario)
    if why:
        raise ScenarioError(f"scenario {scenario.name!r} has no exact reference: {why}.")
    world = build_world(scenario)
    cat, inv, env = world.catalog, scenario.inventory, scenario.env
    C, L, T = inv.capacity, int(cat.lead_time[0]), env.horizon
    price, cost = float(cat.price[0]), float(cat.unit_cost[0])
    hold, fixed = float(cat.holding_cost[0]), float(cat.order_cost[0])
    penalty, disposal = inv.lost_sale_penalty, inv.disposal_cost
    perish = cat.shelf_life[0] == 1
    if inv.initial_stock > C:
        raise ScenarioError(f"initial_stock ({inv.initial_stock}) exceeds capacity ({C}).")
    grid = np.arange(0, env.max_order + 1, env.order_step)
    q_all = np.arange(C + 1)
    order_cost = cost * q_all + fixed * (q_all > 0)
    y = np.arange(C + 1)  # units available for sale today
    means = np.array([world.demand_model.expected(world.context(t))[0, 0] for t in range(T)])

    value = np.zeros((C + 1,) * (L + 1))  # V_T = 0: stock left at the end has no value
    levels = np.full((T,) + value.shape, -1, dtype=np.int16)
    for t in range(T - 1, -1, -1):
        pmf = world.demand_model.pmf(means[t], C + 1)  # demand 0..C, tail lumped at C (>= any y)
        sold = np.minimum(y[:, None], np.arange(C + 1)[None, :])  # (y, D)
        left = y[:, None] - sold
        exp_sold = (pmf * sold).sum(1)
        exp_left = (pmf * left).sum(1)
        reward = price * exp_sold - hold * exp_left - penalty * (means[t] - exp_sold) - (disposal * exp_left if perish else 0.0)
        # M[y, h']: probability of ending the day with h' on hand given y available
        trans = np.zeros((C + 1, C + 1))
        if perish:
            trans[:, 0] = 1.0
        else:
            np.add.at(trans, (np.repeat(y, C + 1), left.ravel()), np.tile(pmf, C + 1))
        value, levels[t] = _bellman(value, reward, trans, order_cost, grid, C, L)
    start = (min(inv.initial_stock, C),) + (0,) * L
    return ExactSolution(value=float(value[start]), levels=levels, lead_time=L, capacity=C)


def _bellman(v_next, reward, trans, order_cost, grid, C, L):
    """One backward step: value and optimal order level per state for one day."""
    n = C + 1
    on_grid = np.zeros(n, dtype=bool)
    on_grid[grid[grid <= C]] = True
    q = np.arange(n)
    if L == 0:
        # state h; y = h + q; next on hand from y
        w = reward + trans @ v_next  # (y,)
        h = q[:, None]
        yy = h + q[None, :]
        cand = np.where(yy <= C, w[np.minimum(yy, C)] - order_cost[None, :], -np.inf)  # (h, q)
        room = C - np.arange(n)
        return _best(cand, room, on_grid, grid, n)
    # L >= 1: state (h, a1, rest...), y = h + a1, next state (h', rest..., q)
    w = reward.reshape((n,) + (1,) * L) + np.tensordot(trans, v_next, axes=(1, 0))  # (y, rest..., q)
    w = w - order_cost  # broadcast over q, the last axis
    idx = np.indices((n,) * (L + 1))
    h, a1, rest = idx[0], idx[1], idx[2:]
    yy = h + a1
    feasible = yy + sum(rest) <= C
    cand = w[(np.minimum(yy, C),) + tuple(rest)]  # (h, a1, rest..., q)
    room = np.where(feasible, C - yy - sum(rest), -1)
    return _best(cand, room, on_grid, grid, n)


def _best(cand, room, on_grid, grid, n):
    """Maximise over the reachable order quantities: grid points up to ``min(room, max_order)``, and
    ``room`` itself when a larger grid point exists (an over-sized order is cut to the room)."""
    qmax = int(grid.max())
    masked = np.where(on_grid, cand, -np.inf)
    best_val = np.maximum.accumulate(masked, axis=-1)
    idx = np.where(masked == best_val, np.arange(n), 0)
    best_q = np.maximum.accumulate(idx, axis=-1)
    r = np.clip(room, 0, None)
    r_cap = np.minimum(r, qmax)
    v = np.take_along_axis(best_val, r_cap[..., None], -1)[..., 0]
    q = np.take_along_axis(best_q, r_cap[..., None], -1)[..., 0]
    room_val = np.take_along_axis(cand, np.minimum(r, n - 1)[..., None], -1)[..., 0]
    use_room = (r < qmax) & ~np.take(on_grid, np.minimum(r, n - 1)) & (room_val > v)
    v = np.where(use_room, room_val, v)
    step = int(grid[1] - grid[0]) if len(grid) > 1 else 1
    level = np.where(use_room, -(-r // step), q // step)
    infeasible = room < 0
    return np.where(infeasible, 0.0, v), np.where(infeasible, -1, level).astype(np.int16)


# ---------------------------------------------------------------------- newsvendor
def newsvendor_terms(scenario: Scenario) -> dict[str, float]:
    """Price, cost, underage and overage cost of a newsvendor scenario (currency/unit)."""
    c, i = scenario.catalog, scenario.inventory
    cost = round(c.price * (1 - c.margin), 2)
    return {
        "price": c.price, "cost": cost, "holding": c.holding_cost, "penalty": i.lost_sale_penalty,
        "disposal": i.disposal_cost, "underage": c.price - cost + i.lost_sale_penalty,
        "overage": cost + c.holding_cost + i.disposal_cost,
    }


def is_newsvendor(scenario: Scenario) -> bool:
    """One SKU, same-day delivery, stock perishing at day end, stationary Poisson demand, no order cost."""
    c, d = scenario.catalog, scenario.demand
    return (c.n_skus == 1 and c.lead_time == 0 and c.lead_time_spread == 0 and c.shelf_life == 1 and c.order_cost == 0
            and d.dispersion == 0 and d.promo_prob == 0 and d.yearly_amplitude == 0 and d.trend == 0 and not d.holidays
            and len(set(d.weekly)) == 1 and scenario.inventory.capacity == 0 and d.demand_model == "ground_truth"
            and scenario.supply.shock_day < 0)


def newsvendor_expected_profit(q: int, mean: float, terms: dict[str, float]) -> float:
    """Expected one-day profit of ordering ``q`` units against Poisson(``mean``) demand (closed form).

    ``E[min(q, D)] = sum_{k<q} P(D > k)``; profit = price E[min] - cost q - (holding + disposal) E[(q-D)+]
    - penalty E[(D-q)+].
    """
    k = np.arange(q)
    e_min = float(stats.poisson.sf(k, mean).sum())
    left, short = q - e_min, mean - e_min
    return (terms["price"] * e_min - terms["cost"] * q - (terms["holding"] + terms["disposal"]) * left
            - terms["penalty"] * short)


def newsvendor_optimum(scenario: Scenario) -> tuple[int, float]:
    """The optimal daily order (critical fractile) and its expected episode profit (currency)."""
    if not is_newsvendor(scenario):
        raise ScenarioError(f"scenario {scenario.name!r} is not a newsvendor instance (see exact.is_newsvendor).")
    terms = newsvendor_terms(scenario)
    mean = scenario.demand.base_rate
    ratio = terms["underage"] / (terms["underage"] + terms["overage"])
    q = int(stats.poisson.ppf(ratio, mean))
    q = min(q, scenario.env.max_order // scenario.env.order_step * scenario.env.order_step)
    return q, newsvendor_expected_profit(q, mean, terms) * scenario.env.horizon
