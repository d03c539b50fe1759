"""A differentiable restocking rollout in torch: the World's day step for gradient ascent on episode profit.

The contract with the world (``shopgym.world.world.World``; its compiled day is ``shopgym.world.kernel``)
------------------------------------------------------------------------------------------------------
Covered: non-perishable SKUs (``shelf_life = 0``), lost sales (with same-category substitution) or
backorders, warehouse capacity, fixed order cost, per-day lead times (supply shocks), promotions, an
exogenous demand model (``ExogenousDemandModel``, e.g. the ground truth). Refused with a
``ScenarioError`` naming the feature: perishables, shopper sessions, ad auctions, a demand model that
reacts to history (a learned one). ``check_supported`` says which.

Order of events on day ``t`` (the kernel's, kept in this order here):
  1. orders are cut to capacity (every SKU in proportion: ``o x room // total``), paid, and put in the
     pipeline ``lead_time_on(t)[i]`` days ahead (0 = today);
  2. the pipeline's slot 0 arrives; the pipeline moves one day on;
  3. sales = ``min(stock, demand [+ backlog])``; unmet demand becomes the backlog (backorders) or is lost;
     with lost sales ``floor(lost x substitution)`` units try the SKU's substitute, which sells
     ``min(those, its stock left)``;
  4. holding cost on the stock left at the end of the day; money: revenue - purchase cost - fixed order
     cost - holding - lost-sale penalty - backorder penalty (no disposal: nothing expires).

Shared tables, not copies: prices (``World.price_on``), lead times (``lead_time_on``), costs
(``unit_cost``, ``catalog.order_cost``, ``catalog.holding_cost``), substitutes (``catalog.substitutes``) and
scenario constants are read from a ``World`` built for the episodes' seeds; demand paths are drawn by the
world's own demand model (``sample_days`` on the world's ``"demand"`` streams, exactly the draws the world
makes when stepped), and forecasts by its ``forecast_on``. A test (tests/agents/test_directbackprop_rollout.py)
keeps this step equal to the compiled engine on the same demand paths, day by day.

Gradients: every non-smooth operation (``min``, ``floor``, the order-cost indicator) has its exact value
forward; with ``tau > 0`` its gradient is that of a smooth relaxation (straight-through: ``hard + soft -
soft.detach()``; ``min(a, b)`` relaxed as ``a - tau softplus((a - b) / tau)``, ``1[o > 0]`` as
``sigmoid((o - 0.5) / tau)``, ``floor`` as the identity). With ``tau = 0`` gradients are torch's own
subgradients. So the profit the optimiser sees is always the world's profit, to float rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from shopgym.config import Scenario
from shopgym.envs.restock_view import RestockView
from shopgym.errors import ScenarioError
from shopgym.plugins import build_world
from shopgym.world.protocols import ExogenousDemandModel
from shopgym.world.world import World

DTYPE = torch.float64


def unsupported(world: World) -> list[str]:
    """The features of ``world``'s scenario that this rollout does not simulate (empty when covered)."""
    why = []
    if world.perishable.any():
        why.append("perishable SKUs (catalog.shelf_life > 0)")
    if world.sessions_on:
        why.append("shopper sessions (shoppers.simulate_sessions)")
    if getattr(world, "ads_on", False):
        why.append("ad auctions (ads.simulate_ads)")
    if not isinstance(world.demand_model, ExogenousDemandModel):
        why.append(f"a demand model that depends on history ({type(world.demand_model).__name__})")
    return why


def check_supported(world: World) -> None:
    """Raise a ``ScenarioError`` naming every feature of the scenario the rollout does not cover."""
    why = unsupported(world)
    if why:
        raise ScenarioError(f"scenario {world.scenario.name!r}: the differentiable rollout does not cover "
                            f"{'; '.join(why)}. Use a non-perishable scenario with the ground-truth demand "
                            "(e.g. quickstart, seasonal, supply-shock), or train an RL agent (shopgym train).")


@dataclass
class Paths:
    """The exogenous inputs of ``B`` episodes (torch float64 unless said): what no policy changes.

    ``demand``, ``price``, ``forecast_today``, ``forecast_lead``: ``(T, B, n)`` units, currency/unit, units,
    units (``forecast_lead``: expected demand of the lead time + 1 days, as in the Restock observation);
    ``lead``: ``(T, n)`` int64 days; ``calendar``: ``(T, 5)`` the observation's calendar features
    (``dow_sin, dow_cos, doy_sin, doy_cos, elapsed``); ``seeds``: the episodes' world seeds.
    """

    demand: torch.Tensor
    price: torch.Tensor
    forecast_today: torch.Tensor
    forecast_lead: torch.Tensor
    lead: torch.Tensor
    calendar: torch.Tensor
    seeds: list[int]


@dataclass
class Constants:
    """Per-SKU costs and scenario constants, read from the world (torch float64 tensors ``(n,)`` and floats)."""

    unit_cost: torch.Tensor
    order_cost: torch.Tensor
    holding_cost: torch.Tensor
    list_price: torch.Tensor
    substitute: torch.Tensor  # (n, n) one-hot: row i has a 1 at SKU i's substitute
    capacity: float
    backorders: bool
    substitution: float
    lost_sale_penalty: float
    backorder_penalty: float
    initial_stock: float
    n_slots: int  # pipeline slots: max lead time + 1
    horizon: int
    order_step: int
    max_order: int


def constants_of(world: World) -> Constants:
    """The ``Constants`` of a world (shared tables: nothing is re-derived from the scenario file)."""
    cat, sc = world.catalog, world.scenario
    n = cat.n_skus
    t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    sub = np.zeros((n, n))
    sub[np.arange(n), cat.substitutes()] = 1.0
    return Constants(unit_cost=t(world.unit_cost), order_cost=t(cat.order_cost), holding_cost=t(cat.holding_cost),
                     list_price=t(cat.price), substitute=t(sub), capacity=float(sc.inventory.capacity),
                     backorders=bool(sc.inventory.backorders), substitution=float(sc.demand.substitution),
                     lost_sale_penalty=float(sc.inventory.lost_sale_penalty),
                     backorder_penalty=float(sc.inventory.backorder_penalty),
                     initial_stock=float(sc.inventory.initial_stock), n_slots=world.max_lead_time + 1,
                     horizon=world.horizon, order_step=int(sc.env.order_step), max_order=int(sc.env.max_order))


def draw_paths(scenario: Scenario, seeds: Sequence[int]) -> tuple[Paths, Constants]:
    """Demand paths, prices, lead times and forecasts of the episodes ``seeds`` (the world seeds that
    ``env.reset(seed=s)`` uses), drawn ahead by a ``World`` of ``scenario`` through its own models."""
    seeds = [int(s) for s in seeds]
    world = build_world(scenario, n_worlds=len(seeds))
    check_supported(world)
    world.reset(seeds)
    horizon = world.horizon
    price = np.stack([world.price_on(d) for d in range(horizon)])  # (T, B, n)
    _, demand = world.demand_model.sample_days(0, horizon, price, world.rngs["demand"])
    lead = np.stack([world.lead_time_on(d) for d in range(horizon)])  # (T, n)
    days = world.max_lead_time + 1
    fc = np.stack([world.demand_model.forecast_on(d, price[d], days) for d in range(horizon)])  # (T, B, n, days)
    fc_lead = np.take_along_axis(np.cumsum(fc, -1), np.broadcast_to(lead[:, None, :, None], (*fc.shape[:3], 1)), -1)
    calendar = RestockView(world).calendar[:horizon]
    t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    return (Paths(demand=t(demand), price=t(price), forecast_today=t(fc[..., 0]), forecast_lead=t(fc_lead[..., 0]),
                  lead=torch.as_tensor(lead, dtype=torch.int64), calendar=t(calendar), seeds=seeds),
            constants_of(world))


# ---------------------------------------------------------------------- relaxed operations (exact forward)
def straight_through(hard: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
    """``hard``'s value with ``soft``'s gradient (only)."""
    return hard.detach() + (soft - soft.detach())


def smooth_min(a: torch.Tensor, b: torch.Tensor, tau: float) -> torch.Tensor:
    """``min(a, b)`` exactly; gradient of ``a - tau softplus((a - b) / tau)`` when ``tau > 0``."""
    hard = torch.minimum(a, b)
    if tau <= 0:
        return hard
    return straight_through(hard, a - tau * torch.nn.functional.softplus((a - b) / tau))


def st_floor(x: torch.Tensor) -> torch.Tensor:
    """``floor(x)`` with the identity's gradient."""
    return straight_through(torch.floor(x), x)


def indicator_positive(x: torch.Tensor, tau: float) -> torch.Tensor:
    """``1[x > 0]`` for whole-unit ``x >= 0``; gradient of ``sigmoid((x - 0.5) / tau)`` when ``tau > 0``."""
    hard = (x > 0).to(x.dtype)
    if tau <= 0:
        return hard
    return straight_through(hard, torch.sigmoid((x - 0.5) / tau))


# ---------------------------------------------------------------------- the day
@dataclass
class State:
    """Between days: ``on_hand``, ``backlog`` ``(B, n)`` units; ``pipeline`` ``(B, n, n_slots)`` units, slot ``k``
    arriving at the start of the day ``k`` days after the next one's start (slot 0: the next day, before sales)."""

    on_hand: torch.Tensor
    backlog: torch.Tensor
    pipeline: torch.Tensor


def initial_state(c: Constants, batch: int) -> State:
    """``initial_stock`` on hand of every SKU, nothing on order or backordered."""
    n = len(c.unit_cost)
    return State(on_hand=torch.full((batch, n), c.initial_stock, dtype=DTYPE),
                 backlog=torch.zeros(batch, n, dtype=DTYPE), pipeline=torch.zeros(batch, n, c.n_slots, dtype=DTYPE))


@dataclass
class Day:
    """One day's flows ``(B, n)``: ``ordered, received, sold, lost, backlog`` and ``end_stock`` (units); ``profit``
    (currency)."""

    ordered: torch.Tensor
    received: torch.Tensor
    sold: torch.Tensor
    lost: torch.Tensor
    backlog: torch.Tensor
    end_stock: torch.Tensor
    profit: torch.Tensor


def step(state: State, orders: torch.Tensor, t: int, p: Paths, c: Constants, tau: float = 0.0,
         flag: torch.Tensor | None = None) -> tuple[State, Day]:
    """Day ``t`` with ``orders`` (``(B, n)`` whole units >= 0), in the world's order of events (module docstring).

    ``flag``: the policy's relaxed "an order is placed" (e.g. an (s, S) trigger): when given, the fixed order
    cost's gradient is ``flag``'s (its value is still ``order_cost x 1[order > 0]``), so a policy that decides
    *whether* to order apart from *how much* gets the fixed cost's gradient on the first only.
    """
    o = orders
    if c.capacity > 0:  # cut every SKU's order in proportion when the warehouse would overflow
        room = torch.clamp(c.capacity - state.on_hand.sum(-1) - state.pipeline.sum((1, 2)), min=0.0)
        total = o.sum(-1)
        cut = st_floor(o * room[:, None] / torch.clamp(total, min=1.0)[:, None])  # = o x room // total
        o = torch.where((total > room)[:, None], cut, o)
    slot = torch.nn.functional.one_hot(p.lead[t], c.n_slots).to(DTYPE)  # (n, n_slots)
    pipeline = state.pipeline + o[..., None] * slot
    received = pipeline[..., 0]
    pipeline = torch.cat([pipeline[..., 1:], torch.zeros_like(pipeline[..., :1])], -1)
    stock = state.on_hand + received
    demand = p.demand[t]
    want = demand + state.backlog if c.backorders else demand
    sold = smooth_min(want, stock, tau)
    unmet = want - sold
    if c.backorders:
        backlog, lost = unmet, torch.zeros_like(unmet)
    else:
        backlog, lost = state.backlog, unmet
        if c.substitution > 0 and len(c.unit_cost) > 1:
            sub_out = st_floor(lost * c.substitution)
            sub_in = sub_out @ c.substitute
            extra = smooth_min(sub_in, stock - sold, tau)
            sold = sold + extra
            lost = lost - sub_out + (sub_in - extra)
    held = stock - sold
    placed = indicator_positive(o, tau) if flag is None else straight_through((o > 0).to(o.dtype), flag)
    profit = (p.price[t] * sold - c.unit_cost * o - c.order_cost * placed
              - c.holding_cost * held - c.lost_sale_penalty * lost - c.backorder_penalty * backlog)
    return State(held, backlog, pipeline), Day(o, received, sold, lost, backlog, held, profit)


def observe(state: State, t: int, p: Paths, c: Constants) -> dict[str, torch.Tensor]:
    """What the Restock observation shows before day ``t``'s decision, as named ``(B, n)`` tensors (the
    calendar features ``(B, 1)``): ``on_hand, backlog, on_order`` (units; ``on_order`` = the pipeline fields
    summed), ``forecast_today, forecast_lead`` (units), ``lead_time`` (days), ``price`` (currency/unit) and
    ``dow_sin, dow_cos, doy_sin, doy_cos, elapsed``. ``agents.directbackprop.agent.fields_from_obs`` builds the
    same dict from an env observation, so one policy function serves both."""
    b = state.on_hand.shape[0]
    f = {"on_hand": state.on_hand, "backlog": state.backlog, "on_order": state.pipeline[..., :-1].sum(-1),
         "forecast_today": p.forecast_today[t], "forecast_lead": p.forecast_lead[t],
         "lead_time": p.lead[t].to(DTYPE).expand(b, -1), "price": p.price[t]}
    for k, name in enumerate(("dow_sin", "dow_cos", "doy_sin", "doy_cos", "elapsed")):
        f[name] = p.calendar[t, k].expand(b, 1)
    return f


def rollout(policy: Callable[[dict[str, torch.Tensor]], torch.Tensor | tuple[torch.Tensor, torch.Tensor]], p: Paths,
            c: Constants, tau: float = 0.0, record: bool = False) -> tuple[torch.Tensor, list[Day]]:
    """Play every episode of ``p`` with ``policy`` (named fields -> orders ``(B, n)``, whole units, or ``(orders,
    flag)``: see ``step``); returns the episode profits ``(B,)`` (currency, differentiable) and, with ``record``,
    every ``Day``."""
    state = initial_state(c, p.demand.shape[1])
    total = torch.zeros(p.demand.shape[1], dtype=DTYPE)
    days: list[Day] = []
    for t in range(p.demand.shape[0]):
        act = policy(observe(state, t, p, c))
        orders, flag = act if isinstance(act, tuple) else (act, None)
        state, day = step(state, orders, t, p, c, tau, flag)
        total = total + day.profit.sum(-1)
        if record:
            days.append(day)
    return total, days
