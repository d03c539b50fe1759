"""``shopgym/Restock-v0``: decide each day how much of each product to order."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from shopgym.config import Scenario, load_scenario
from shopgym.envs.render import RENDER_FPS, RENDER_MODES, check_render_mode, warn_no_render_mode
from shopgym.envs.restock_render import RestockRenderer
from shopgym.envs.restock_view import RestockView
from shopgym.plugins import build_world


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
    Structured action modes are wrappers in ``shopgym.envs.restock_actions``: ``CoverAction`` (days of
    forecast cover per SKU) and ``ResidualSS`` (per-SKU adjustments of a tuned (s, S); zero = the heuristic).

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
    The day's KPIs (``shopgym.world.kpis.DAY_KPIS``): ``profit, revenue, costs`` (currency), ``inventory``
    (units, all SKUs, end of day), ``stockout_skus`` (SKUs with unmet wants today), ``unit_fill_rate`` (share of
    today's new demand served from stock today, in [0, 1]); per-SKU arrays ``ordered, demand, sold, lost,
    received, expired, on_hand`` (units); ``demand_clipped``: SKUs whose learned demand draw was cut to the
    model's ceiling today (count; 0 for the ground truth). At the episode's end, ``episode_kpis`` holds the episode KPIs
    (``shopgym.world.kpis.EPISODE_KPIS``, each defined there): profit, revenue, costs (currency), gross
    margin, unit fill rate, cycle service level, stock-out days per SKU, lost, expired and backordered units,
    mean backorder age (days), mean inventory (units and currency) and inventory turns.

    ## Rendering
    ``render_mode="ansi"``: ``render()`` returns a string, a title and the latest day's stock, pipeline,
    demand, sales (units) and profit (currency) per SKU (the first 5 SKUs, ``+k`` more, ``Σ`` totals).
    ``render_mode="rgb_array"``: a 480x320 ``uint8`` RGB frame charting the last 60 days, all SKUs
    summed (units on hand, in the pipeline, ordered, demanded, sold; profit per day), for
    ``gymnasium.wrappers.RecordVideo`` (``render_fps`` days per second). Without a render mode
    nothing is recorded.

    ## Arguments
    ``gymnasium.make("shopgym/Restock-v0", scenario="quickstart", continuous=False, render_mode=None, **keys)``:
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

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": RENDER_FPS}

    def __init__(self, scenario: str | Scenario = "quickstart", continuous: bool = False, render_mode: str | None = None,
                 **scenario_keys: Any):
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.scenario = load_scenario(scenario, **scenario_keys)
        self.world = build_world(self.scenario, n_worlds=1)
        self.view = RestockView(self.world, continuous=continuous)
        self.renderer = RestockRenderer(self.world, render_mode) if render_mode is not None else None
        self.observation_space = self.view.observation_space
        self.action_space = self.view.action_space

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.world.reset([world_seed(self.np_random, seed)])
        if self.renderer is not None:
            self.renderer.on_reset()
        return self.view.observe()[0], {}

    def step(self, action):
        orders = self.view.orders_from_actions(action)
        out = self.world.step(orders)
        info = self.view.world_info(out, 0)
        if self.renderer is not None:
            self.renderer.on_step(info, out)
        terminated = self.world.day >= self.world.horizon
        if terminated:
            info["episode_kpis"] = {k: float(v[0]) for k, v in self.world.kpis.summary().items()}
        return self.view.observe()[0], info["profit"] * self.view.reward_scale, terminated, False, info

    def render(self):
        """The env in its render mode: a string (``"ansi"``) or an ``(H, W, 3)`` uint8 frame (``"rgb_array"``)."""
        if self.renderer is None:
            warn_no_render_mode(self.spec.id if self.spec is not None else "shopgym/Restock-v0")
            return None
        return self.renderer.render(0)
