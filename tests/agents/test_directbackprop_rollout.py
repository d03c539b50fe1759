"""The torch rollout (``agents.directbackprop.rollout``) equals the compiled engine, day by day, on the same demand
paths; its relaxations keep exact values forward and give useful gradients; unsupported scenarios are refused."""

import numpy as np
import pytest
import torch

from agents.directbackprop.rollout import check_supported, draw_paths, rollout, smooth_min
from shopgym.config import load_scenario
from shopgym.errors import ScenarioError
from shopgym.plugins import build_world

CASES = [
    ("quickstart", {}, 16),  # capacity 30 (binding with these orders), lead time 2, fixed order cost
    ("quickstart", {"lead_time": 0}, 16),  # an order arrives the same day
    ("seasonal", {}, 80),  # promotions, substitution, lead times 2..4
    ("supply-shock", {}, 60),  # lead times +7 days from day 180
    ("supply-shock", {"backorders": True, "capacity": 400}, 60),  # backorders, capacity over 10 SKUs
]


def _engine_days(scenario, seeds, orders):
    world = build_world(scenario, n_worlds=len(seeds), engine="compiled")
    world.reset(list(seeds))
    rows = []
    for t in range(len(orders)):
        out = world.step(orders[t].astype(np.int64))
        rows.append({k: getattr(out, k).astype(float).copy()
                     for k in ("ordered", "received", "sold", "lost", "backlog", "end_stock", "profit")})
    return rows


@pytest.mark.parametrize("name,keys,max_order", CASES, ids=[f"{c[0]}{c[1] or ''}" for c in CASES])
def test_torch_rollout_equals_the_compiled_engine_on_the_same_demand_paths(name, keys, max_order):
    horizon = 220 if name == "supply-shock" else 120  # supply-shock: cross the day-180 lead-time shock
    scenario = load_scenario(name, horizon=horizon, **keys)
    seeds = [3, 10_001, 77]
    n = scenario.catalog.n_skus
    rng = np.random.default_rng(0)
    # sparse, lumpy orders: some days nothing (no fixed cost), some large (capacity cuts, stock-outs, leftovers)
    orders = rng.integers(0, max_order + 1, (horizon, len(seeds), n)) * (rng.random((horizon, len(seeds), n)) < 0.3)
    want = _engine_days(scenario, seeds, orders)
    paths, consts = draw_paths(scenario, seeds)
    t = iter(range(horizon))
    _, got = rollout(lambda f: torch.as_tensor(orders[next(t)], dtype=torch.float64), paths, consts, tau=0.5,
                     record=True)
    assert len(got) == horizon
    for day, (w, g) in enumerate(zip(want, got, strict=True)):
        for key in ("ordered", "received", "sold", "lost", "backlog", "end_stock"):
            np.testing.assert_array_equal(getattr(g, key).detach().numpy(), w[key], err_msg=f"{key}, day {day}")
        np.testing.assert_allclose(g.profit.detach().numpy(), w["profit"], rtol=1e-12, atol=1e-9,
                                   err_msg=f"profit, day {day}")
    sold = np.array([w["sold"] for w in want])
    unmet = np.array([w["backlog" if keys.get("backorders") else "lost"] for w in want])
    assert sold.sum() > 0 and unmet.sum() > 0 and sold.min() == 0  # sales, stock-outs and idle days all occurred
    if name == "quickstart" and not keys:
        assert any((w["ordered"] < o).any() for w, o in zip(want, orders, strict=True))  # the capacity cut happened


def test_demand_paths_are_the_worlds_own_draws():
    """The paths drawn ahead equal the demand the world meets when stepped (same seeds, same stream)."""
    scenario = load_scenario("seasonal", horizon=100)
    paths, _ = draw_paths(scenario, [5, 6])
    world = build_world(scenario, n_worlds=2)
    world.reset([5, 6])
    seen = [world.step(np.zeros((2, 10), np.int64)).demand.copy() for _ in range(100)]
    np.testing.assert_array_equal(paths.demand.numpy(), np.array(seen))


def test_relaxations_keep_exact_values_and_give_gradients():
    a = torch.tensor([1.0, 5.0, 3.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([4.0, 2.0, 3.0], dtype=torch.float64)
    out = smooth_min(a, b, tau=1.0)
    np.testing.assert_array_equal(out.detach().numpy(), [1.0, 2.0, 3.0])
    out.sum().backward()
    g = a.grad.numpy()
    assert 0.9 < g[0] < 1.0 and 0.0 < g[1] < 0.1 and g[2] == pytest.approx(0.5)


def test_profit_gradient_points_to_ordering_when_out_of_stock():
    """With no stock and margin on every unit, ordering a little more each day raises profit: d profit / d order > 0."""
    scenario = load_scenario("quickstart", horizon=40, initial_stock=0, capacity=0)
    paths, consts = draw_paths(scenario, [1, 2])
    q = torch.full((1,), 2.0, dtype=torch.float64, requires_grad=True)
    profit, _ = rollout(lambda f: q.expand(2, 1), paths, consts, tau=1.0)
    profit.sum().backward()
    assert q.grad.item() > 0


@pytest.mark.parametrize("name,keys,why", [("perishable", {}, "perishable"), ("newsvendor", {}, "perishable"),
                                           ("quickstart", {"simulate_sessions": True}, "sessions")])
def test_unsupported_scenarios_are_refused_by_name(name, keys, why):
    with pytest.raises(ScenarioError, match=why):
        check_supported(build_world(load_scenario(name, **keys)))
    with pytest.raises(ScenarioError, match="does not cover"):
        draw_paths(load_scenario(name, horizon=10, **keys), [0])
