"""``shopgym/Restock-v0``: decide each day how much of each product to order."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from shopgym.config import Scenario, load_scenario
from shopgym.envs.restock_view import RestockView
from shopgym.world.world import World


def world_seed(np_random: np.random.Generator, seed: int | None) -> int:
    """The integer that seeds a world: ``seed`` itself when given, else a draw from the env's generator."""
    return int(seed) if seed is not None else int(np_random.integers(2**63 - 1))


class RestockEnv(gym.Env):
    """Restocking a shop: each day, order stock for every product; customers buy what is on the shelf.

    ## Description
    One step is one day of a simulated shop (``shopgym.world.World``): the order is placed and paid,
    deliveries due today arrive, customers demand (seasonality, holidays, promotions and
    negative-binomial noise from the scenario), sales take the oldest stock first, unmet demand is
    lost (or backordered, or partly moves to a substitute), and perishables expire.

    ## Action space
    One order level per SKU; level ``k`` orders ``k x order_step`` units, ``0 <= k <= max_order / order_step``.
    - 1 SKU: ``Discrete(n_levels)`` (a DQN trains on it without wrappers);
    - ``n_skus > 1``: ``MultiDiscrete([n_levels] * n_skus)``;
    - ``continuous=True``: ``Box(0, max_order, (n_skus,), float32)`` in units, rounded to ``order_step``.
    Out-of-range, wrongly shaped and NaN actions raise ``shopgym.errors.ActionError``.

    ## Observation space
    A flat ``float32`` vector: for each SKU a block of the fields below, SKU after SKU, then five
    calendar features. ``env.unwrapped.view.parse(obs)`` returns them by name.

    | field | meaning | unit | range |
    |---|---|---|---|
    | on_hand | stock on the shelf now | units | >= 0 |
    | backlog | backorders waiting (0 in lost-sales mode) | units | >= 0 |
    | pipeline_k (k = 1..max lead time) | ordered units arriving at the start of the day k days from now (``pipeline_1`` = tomorrow, before the next decision's sales) | units | >= 0 |
    | sales_lag_k (k = window..1) | units sold k days ago (``sales_lag_1`` = yesterday) | units/day | >= 0 |
    | price | selling price for the coming day (promotions cut it) | currency/unit | >= 0 |
    | unit_cost | purchase cost | currency/unit | >= 0 |
    | lead_time | days until an order placed now is on the shelf (0 = the same day) | days | >= 0 |
    | forecast_today | demand model's expected demand for the coming day (if ``forecast_in_obs``) | units | >= 0 |
    | forecast_lead | expected demand from the coming day through the lead time (lead_time + 1 days) | units | >= 0 |

    Calendar: ``dow_sin, dow_cos, doy_sin, doy_cos`` (day of week and of year, in [-1, 1]) and
    ``elapsed`` (day / horizon, in [0, 1]).

    ## Rewards
    The day's profit (currency, times ``reward_scale``): revenue - purchase cost - fixed order cost -
    holding cost - lost-sale penalty - backorder penalty - disposal cost.

    ## Starting state
    ``initial_stock`` units of every SKU on hand, nothing in the pipeline, on the scenario's start date.

    ## Episode end
    Terminated after ``horizon`` days (default 365); never truncated by the env itself. The horizon is
    part of the task, not a time limit outside it: the objective is the profit of these ``horizon``
    days, the exact optimum (``agents/exact.py``) is a finite-horizon value, stock left at the end is
    worth nothing, and ``elapsed`` is observed. So learners must not bootstrap past the last day
    (Pardo et al., 2018, "Time Limits in Reinforcement Learning"); a learner that does keeps ordering
    until the end as if the shop went on.

    ## Info
    The day's KPIs: ``profit, revenue, costs`` (currency), ``demand, sold, lost, expired, inventory``
    (units, all SKUs), ``stockout_skus`` (SKUs with unmet demand today), ``fill_rate`` (sold / wanted,
    in [0, 1]); per-SKU arrays ``ordered, demand, sold, lost, received, expired, on_hand`` (units).
    At the episode's end, ``episode_kpis`` holds episode KPIs (profit, fill rate, stock-out days per SKU,
    lost units, mean inventory, inventory turns).

    ## Arguments
    ``gymnasium.make("shopgym/Restock-v0", scenario="quickstart", continuous=False, **keys)``:
    ``scenario`` is a shipped scenario name (``shopgym scenarios`` lists them), a path to a ``.toml``
    file or a ``Scenario``; any scenario key overrides its value by name (e.g. ``n_skus=10``).

    ## Version history
    - v0: initial version.

    ## Example
    >>> import gymnasium as gym, shopgym
    >>> env = gym.make("shopgym/Restock-v0", scenario="quickstart")
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(4)
    >>> bool(info["sold"][0] <= info["demand"][0])
    True
    """

    metadata = {"render_modes": []}

    def __init__(self, scenario: str | Scenario = "quickstart", continuous: bool = False, render_mode: str | None = None,
                 **scenario_keys: Any):
        self.render_mode = None  # no rendering (accepted because wrappers such as SB3's pass it); plots: shopgym run
        self.scenario = load_scenario(scenario, **scenario_keys)
        self.world = World(self.scenario, n_worlds=1)
        self.view = RestockView(self.world, continuous=continuous)
        self.observation_space = self.view.observation_space
        self.action_space = self.view.action_space

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.world.reset([world_seed(self.np_random, seed)])
        return self.view.observe()[0], {}

    def step(self, action):
        orders = self.view.orders_from_actions(action)
        out = self.world.step(orders)
        info = self.view.world_info(out, 0)
        terminated = self.world.day >= self.world.horizon
        if terminated:
            info["episode_kpis"] = {k: float(v[0]) for k, v in self.world.kpis.summary().items()}
        return self.view.observe()[0], info["profit"] * self.view.reward_scale, terminated, False, info
