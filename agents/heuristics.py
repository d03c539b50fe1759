"""Restocking heuristics: random, base-stock, (s, S), critical fractile, and the exact optima as policies.

Each heuristic computes orders from the named fields of a Restock observation
(``RestockView.parse``) with numpy over SKUs and over any batch of worlds, so that one set of
array operations evaluates many worlds or parameter settings at once (see ``agents.tuning``).
Parameters broadcast against ``(batch, n_skus)``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from agents.exact import ExactSolution, newsvendor_optimum, solve
from shopgym.envs.restock_view import RestockView


def inventory_position(f: dict[str, np.ndarray]) -> np.ndarray:
    """On hand + on order - backorders (units)."""
    pipe = sum((v for k, v in f.items() if k.startswith("pipeline_")), np.zeros_like(f["on_hand"]))
    return f["on_hand"] + pipe - f["backlog"]


def demand_over_lead(f: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean demand per day and over the protection period (lead time + 1 days), in units.

    Uses the forecast fields when the observation has them, else the mean of the recent sales.
    """
    if "forecast_lead" in f:
        return f["forecast_today"], f["forecast_lead"]
    lags = [v for k, v in f.items() if k.startswith("sales_lag_")]
    daily = np.mean(lags, axis=0)
    return daily, daily * (f["lead_time"] + 1)


def demand_std(mean: np.ndarray, days: np.ndarray, dispersion: float) -> np.ndarray:
    """Standard deviation of demand summed over ``days`` days with total ``mean`` (negative binomial)."""
    var = mean + (mean**2 / (dispersion * np.maximum(days, 1)) if dispersion > 0 else 0.0)
    return np.sqrt(var)


def end_of_horizon_cap(orders: np.ndarray, f: dict[str, np.ndarray], horizon: int) -> np.ndarray:
    """Stock left when the episode ends is worth nothing: never order more than the expected demand
    of the remaining days can absorb, and nothing that would arrive after the last day."""
    remaining = horizon - np.rint(f["elapsed"] * horizon)
    remaining = np.asarray(remaining)[..., None] if np.ndim(remaining) < np.ndim(orders) else remaining
    daily, _ = demand_over_lead(f)
    cap = np.maximum(daily * remaining - inventory_position(f), 0)
    return np.where(remaining > f["lead_time"], np.minimum(orders, np.ceil(cap)), 0)


class RestockHeuristic:
    """Base class: parse the observation, compute orders, turn them into an action."""

    name = "heuristic"

    def __init__(self, view: RestockView):
        self.view = view
        self.dispersion = view.world.scenario.demand.dispersion

    def reset(self, seed: int | None = None) -> None:
        """Heuristics keep no state between episodes."""

    def orders(self, f: dict[str, np.ndarray]) -> np.ndarray:
        """Order quantities (units) for parsed observations, capped near the episode's end."""
        return end_of_horizon_cap(self.raw_orders(f), f, self.view.world.horizon)

    def raw_orders(self, f: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def act(self, obs: np.ndarray):
        return self.view.action_for_orders(self.orders(self.view.parse(obs)))


class BaseStockPolicy(RestockHeuristic):
    """Order up to ``S = mean demand over lead time + 1 days + z x its standard deviation``."""

    name = "base_stock"

    def __init__(self, view: RestockView, z: float | np.ndarray = 1.0):
        super().__init__(view)
        self.z = z

    def raw_orders(self, f):
        daily, lead_mean = demand_over_lead(f)
        level = lead_mean + self.z * demand_std(lead_mean, f["lead_time"] + 1, self.dispersion)
        return np.maximum(np.rint(level - inventory_position(f)), 0)


class SSPolicy(RestockHeuristic):
    """(s, S): when the inventory position falls to ``s`` or below, order up to ``S``.

    ``s = mean demand over lead time + 1 days + z x std`` and ``S = s + cover x mean daily demand``,
    so one pair ``(z, cover)`` (safety factor, days of cover) serves SKUs of any size.
    """

    name = "sS"

    def __init__(self, view: RestockView, z: float | np.ndarray = 1.0, cover: float | np.ndarray = 5.0):
        super().__init__(view)
        self.z, self.cover = z, cover

    def raw_orders(self, f):
        daily, lead_mean = demand_over_lead(f)
        s = np.rint(lead_mean + self.z * demand_std(lead_mean, f["lead_time"] + 1, self.dispersion))
        big_s = np.maximum(np.rint(s + self.cover * daily), s + 1)
        pos = inventory_position(f)
        return np.where(pos <= s, big_s - pos, 0.0)


class CriticalFractilePolicy(RestockHeuristic):
    """Order up to the critical-fractile quantile of demand over the lead time + 1 days.

    Fractile = underage / (underage + overage) with underage = price - cost + lost-sale penalty and
    overage = holding cost per day (or cost + holding + disposal for stock that perishes in a day).
    Quantiles are negative binomial (Poisson without dispersion).
    """

    name = "critical_fractile"

    def __init__(self, view: RestockView):
        super().__init__(view)
        sc = view.world.scenario
        cat = view.world.catalog
        under = cat.price - cat.unit_cost + sc.inventory.lost_sale_penalty
        over = cat.holding_cost + np.where(cat.shelf_life == 1, cat.unit_cost + sc.inventory.disposal_cost, 0.0)
        self.fractile = under / (under + np.maximum(over, 1e-9))

    def raw_orders(self, f):
        _, lead_mean = demand_over_lead(f)
        lead_mean = np.maximum(lead_mean, 1e-9)
        if self.dispersion > 0:
            k = self.dispersion * (f["lead_time"] + 1)
            level = stats.nbinom.ppf(self.fractile, k, k / (k + lead_mean))
        else:
            level = stats.poisson.ppf(self.fractile, lead_mean)
        return np.maximum(level - inventory_position(f), 0)


class RandomPolicy:
    """Uniformly random actions from the env's action space (seeded by ``reset``)."""

    name = "random"

    def __init__(self, view: RestockView):
        self.space = view.action_space
        self.space.seed(0)

    def reset(self, seed: int | None = None) -> None:
        self.space.seed(seed)

    def act(self, obs):
        return self.space.sample()


class NewsvendorOptimum(RestockHeuristic):
    """The closed-form newsvendor order, every day (newsvendor scenarios only)."""

    name = "newsvendor_optimum"

    def __init__(self, view: RestockView):
        super().__init__(view)
        self.q, self.expected_profit = newsvendor_optimum(view.world.scenario)

    def orders(self, f):  # the closed-form optimum needs no end-of-horizon cap: stock perishes daily
        return np.full_like(f["on_hand"], self.q)


class OptimalPolicy(RestockHeuristic):
    """The exact optimum of a small single-SKU instance, by backward induction (``agents.exact``)."""

    name = "optimal"

    def __init__(self, view: RestockView, solution: ExactSolution | None = None):
        super().__init__(view)
        self.solution = solution or solve(view.world.scenario)
        self.expected_profit = self.solution.value

    def act(self, obs):
        f = self.view.parse(obs)
        horizon = self.view.world.horizon
        day = min(int(round(float(f["elapsed"]) * horizon)), horizon - 1)
        state = [int(f["on_hand"][0])] + [int(f[f"pipeline_{k}"][0]) for k in range(1, self.solution.lead_time + 1)]
        level = int(self.solution.levels[(day, *state)])
        if level < 0:
            raise RuntimeError(f"state {state} on day {day} is outside the solved state space.")
        return self.view.action_for_orders(np.array([level * self.view.order_step]))
