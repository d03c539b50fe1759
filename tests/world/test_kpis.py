"""The KPI module (``shopgym.world.kpis``) on hand-computed episodes, in lost-sales and backorders modes."""

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401  (registers the envs)
from shopgym.config import load_scenario
from shopgym.world import kernel
from shopgym.world.kpis import DAY_KPIS, EPISODE_KPIS, TOTAL_FIELDS, day_kpis, episode_kpis
from shopgym.world.world import World

ENGINES = ["numpy"] + (["compiled"] if kernel.COMPILED else [])

#: The hand-computed episode: 1 SKU, price 10, unit cost 6, same-day delivery, no holding or order cost,
#: 2 units on hand at the start; demand and orders per day.
DEMAND = [3, 1, 2, 0]
ORDERS = [0, 0, 8, 0]


class ScriptedDemand:
    """A ``DemandModel`` whose demand is a fixed list of days (the same in every world)."""

    n_skus = 1

    def __init__(self, demand):
        self.demand = np.asarray(demand, dtype=np.int64)

    def reset(self, n_worlds):
        self.n_worlds = n_worlds

    def expected(self, ctx):
        return np.full((self.n_worlds, 1), float(self.demand[ctx.day]))

    def forecast(self, ctx, horizon):
        return np.zeros((self.n_worlds, 1, horizon))

    def sample(self, ctx, rngs):
        return np.full((self.n_worlds, 1), self.demand[ctx.day])


def _play(backorders: bool, engine: str) -> tuple[list[dict], dict]:
    scenario = load_scenario("quickstart", price=10.0, margin=0.4, holding_cost=0.0, order_cost=0.0, lead_time=0,
                             initial_stock=2, capacity=0, backorders=backorders, lost_sale_penalty=1.0,
                             backorder_penalty=0.5, horizon=len(DEMAND))
    world = World(scenario, demand_model=ScriptedDemand(DEMAND), engine=engine)
    world.reset([0])
    days = []
    for order in ORDERS:
        world.step(np.array([[order]]))
        days.append({k: float(v[0]) for k, v in world.last_kpis.items()})
    return days, {k: float(v[0]) for k, v in world.kpis.summary().items()}


@pytest.mark.parametrize("engine", ENGINES)
def test_lost_sales_episode_by_hand(engine):
    # day 0: 2 on hand, 3 wanted: 2 sold, 1 lost     day 1: nothing on hand, 1 lost
    # day 2: 8 arrive, 2 sold, 6 left                day 3: no demand, 6 left
    days, ep = _play(backorders=False, engine=engine)
    assert [d["unit_fill_rate"] for d in days] == [2 / 3, 0.0, 1.0, 1.0]  # no demand on day 3: nothing unfilled
    assert [d["stockout_skus"] for d in days] == [1, 1, 0, 0]
    assert ep["unit_fill_rate"] == pytest.approx(4 / 6)
    assert ep["cycle_service_level"] == pytest.approx(2 / 4)
    assert ep["stockout_days_per_sku"] == 2
    assert ep["lost_units"] == 2 and ep["expired_units"] == 0
    assert ep["backordered_units"] == 0 and ep["backorder_age_days"] == 0
    assert ep["mean_inventory"] == pytest.approx((0 + 0 + 6 + 6) / 4)
    assert ep["mean_inventory_value"] == pytest.approx(3 * 6.0)
    # cost of goods sold 4 x 6 = 24 over a mean inventory value of 18 (above 1 day of demand at cost: 6 x 6 / 4)
    assert ep["inventory_turns"] == pytest.approx(24 / 18)
    assert ep["revenue"] == pytest.approx(40.0) and ep["gross_margin"] == pytest.approx((40 - 24) / 40)
    assert ep["profit"] == pytest.approx(40 - 8 * 6 - 2 * 1.0)  # revenue - purchases - lost-sale penalty
    assert ep["costs"] == pytest.approx(ep["revenue"] - ep["profit"])


@pytest.mark.parametrize("engine", ENGINES)
def test_backorders_episode_by_hand(engine):
    # day 0: 2 on hand, 3 wanted: 2 sold, 1 backordered          day 1: nothing on hand, 1 more backordered
    # day 2: 8 arrive; the 2 backorders are served first, then today's 2: 4 sold, 4 left      day 3: 4 left
    days, ep = _play(backorders=True, engine=engine)
    assert [d["unit_fill_rate"] for d in days] == [2 / 3, 0.0, 1.0, 1.0]  # backlog served on day 2 is not day 2's
    assert [d["sold"] for d in days] == [2, 0, 4, 0]
    assert ep["unit_fill_rate"] == pytest.approx(4 / 6)
    assert ep["cycle_service_level"] == pytest.approx(2 / 4)
    assert ep["lost_units"] == 0
    assert ep["backordered_units"] == 2
    # the day-0 unit waited 2 days, the day-1 unit 1 day; end-of-day backlogs 1 + 2 + 0 + 0 = 3 unit-days
    assert ep["backorder_age_days"] == pytest.approx(1.5)
    assert ep["mean_inventory"] == pytest.approx((0 + 0 + 4 + 4) / 4)
    assert ep["inventory_turns"] == pytest.approx(6 * 6.0 / (2 * 6.0))
    assert ep["gross_margin"] == pytest.approx(0.4)
    assert ep["profit"] == pytest.approx(60 - 48 - 0.5 * 3)  # backorder penalty per unit waiting at a day's end


def test_empty_episode_and_degenerate_ratios():
    zero = np.zeros((2, len(TOTAL_FIELDS)))
    ep = episode_kpis(zero, days=0, n_skus=3)
    assert set(ep) == set(EPISODE_KPIS)
    assert (ep["unit_fill_rate"] == 1).all() and (ep["cycle_service_level"] == 1).all()  # no demand: none unmet
    assert np.isnan(ep["inventory_turns"]).all() and np.isnan(ep["gross_margin"]).all()  # nothing held, nothing sold
    assert (ep["backorder_age_days"] == 0).all()
    day = day_kpis([0.0] * len(TOTAL_FIELDS))
    assert set(day) == set(DAY_KPIS) and day["unit_fill_rate"] == 1.0


def test_turns_guard_applies_below_one_day_of_demand_at_cost():
    t = dict.fromkeys(TOTAL_FIELDS, 0.0)
    t.update(cogs=100.0, demand_cost=100.0, revenue=150.0)  # 10 days: 10 currency of demand at cost a day
    for value_sum, turns in ((99.0, np.nan), (100.0, 10.0), (500.0, 2.0)):  # mean inventory value 9.9, 10, 50
        t["inventory_value"] = value_sum
        got = episode_kpis(np.array([[t[f] for f in TOTAL_FIELDS]]), days=10, n_skus=1)["inventory_turns"][0]
        np.testing.assert_equal(got, turns)


@pytest.mark.parametrize("backorders", [True, False])
def test_a_policy_that_never_orders_has_unit_fill_rate_near_zero(backorders):
    env = gym.make("shopgym/Restock-v0", scenario="steady", backorders=backorders, horizon=200)
    env.reset(seed=0)
    done = False
    while not done:
        _, _, done, _, info = env.step(np.zeros(10, dtype=np.int64))
    ep = info["episode_kpis"]
    assert set(ep) == set(EPISODE_KPIS)
    assert ep["unit_fill_rate"] < 0.03 and ep["cycle_service_level"] < 0.05
    assert np.isnan(ep["inventory_turns"])  # it held next to nothing: no turns to report
    if backorders:
        assert ep["lost_units"] == 0 and ep["backordered_units"] > 0
        assert ep["backorder_age_days"] > 50  # most backorders are never served
    else:
        assert ep["backordered_units"] == 0 and ep["lost_units"] > 0


@pytest.mark.parametrize("backorders", [True, False])
def test_ample_stock_fills_nearly_all_demand(backorders):
    env = gym.make("shopgym/Restock-v0", scenario="quickstart", backorders=backorders, horizon=120, capacity=0,
                   max_order=16)
    env.reset(seed=1)
    done = False
    while not done:
        _, _, done, _, info = env.step(6)  # 6 units a day (order_step 1), above the mean demand of 4
    ep = info["episode_kpis"]
    assert ep["unit_fill_rate"] > 0.95 and ep["cycle_service_level"] > 0.9
    assert np.isfinite(ep["inventory_turns"]) and ep["inventory_turns"] > 0
