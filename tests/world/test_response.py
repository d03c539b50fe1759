"""The ground-truth response model: probabilities, nested sampling, effects of position, fatigue, price."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopgym.config import Scenario
from shopgym.errors import ScenarioError
from shopgym.world.catalog import Catalog
from shopgym.world.protocols import ImpressionBatch, ResponseModel
from shopgym.world.response import (
    GroundTruthResponse,
    build_response_model,
    funnel_to_joint,
    joint_to_funnel,
    nested_sample,
)
from shopgym.world.shoppers import ShopperPopulation
from shopgym.world.world import spawn_streams

SCEN = Scenario().replace(n_skus=20, n_categories=4, price_spread=0.4, n_shoppers=50)


@pytest.fixture(scope="module")
def world_parts():
    cat = Catalog.generate(SCEN.catalog, SCEN.demand)
    pop = ShopperPopulation.generate(SCEN.shoppers, SCEN.catalog.embedding_dim)
    return cat, pop, GroundTruthResponse(cat, pop, SCEN.shoppers)


def batch(n, shopper=0, item=0, position=0, seen=0, discount=0.0, in_stock=True, day=0):
    full = lambda v, dt: np.full(n, v, dtype=dt)  # noqa: E731
    return ImpressionBatch(shopper=full(shopper, int), item=full(item, int), position=full(position, int),
                           seen=full(seen, int), discount=full(discount, float), in_stock=full(in_stock, bool),
                           day=full(day, int))


def random_batch(rng, n, cat, pop):
    return ImpressionBatch(shopper=rng.integers(0, pop.n_shoppers, n), item=rng.integers(0, cat.n_skus, n),
                           position=rng.integers(0, 10, n), seen=rng.integers(0, 5, n),
                           discount=rng.choice([0.0, 0.1, 0.3], n), in_stock=rng.random(n) > 0.1, day=rng.integers(0, 30, n))


def test_population_shapes_and_determinism():
    a = ShopperPopulation.generate(SCEN.shoppers, 8)
    b = ShopperPopulation.generate(SCEN.shoppers, 8)
    np.testing.assert_array_equal(a.preferences, b.preferences)
    assert a.preferences.shape == (50, 8) and np.allclose(np.linalg.norm(a.preferences, axis=1), 1)
    assert (a.price_sensitivity > 0).all() and set(np.unique(a.segment)) <= set(range(4))
    arrivals = a.arrivals(np.random.default_rng(0), 30.0)
    assert arrivals.dtype == np.int64 and ((arrivals >= 0) & (arrivals < 50)).all()
    with pytest.raises(ValueError, match="mean_sessions"):
        a.arrivals(np.random.default_rng(0), -1.0)


def test_protocol_and_probabilities(world_parts):
    cat, pop, gt = world_parts
    assert isinstance(gt, ResponseModel)
    p = gt.probabilities(random_batch(np.random.default_rng(0), 500, cat, pop))
    assert p.shape == (500, 3) and ((p > 0) & (p < 1)).all()


def test_effects_have_the_documented_sign(world_parts):
    cat, pop, gt = world_parts
    pos = gt.probabilities(ImpressionBatch(**{**batch(3).__dict__, "position": np.array([0, 1, 5])}))
    assert pos[0, 0] > pos[1, 0] > pos[2, 0] and np.allclose(pos[:, 1:], pos[0, 1:])
    fat = gt.probabilities(ImpressionBatch(**{**batch(2).__dict__, "seen": np.array([0, 3])}))
    assert fat[0, 0] > fat[1, 0]
    disc = gt.probabilities(ImpressionBatch(**{**batch(2).__dict__, "discount": np.array([0.0, 0.3])}))
    assert (disc[1] > disc[0]).all()
    stock = gt.probabilities(ImpressionBatch(**{**batch(2).__dict__, "in_stock": np.array([True, False])}))
    assert stock[1, 2] == pytest.approx(0.1 * stock[0, 2])
    # a shopper's best-matching item is clicked more than their worst-matching one
    aff = pop.preferences[0] @ cat.features.T
    best, worst = int(aff.argmax()), int(aff.argmin())
    pb = gt.probabilities(ImpressionBatch(**{**batch(2).__dict__, "item": np.array([best, worst])}))
    expected_price_effect = np.log(cat.price[best] / cat.price[worst]) * pop.price_sensitivity[0]
    if expected_price_effect < 1.0:  # price does not overturn the affinity effect
        assert pb[0, 0] > pb[1, 0]


def test_bad_input(world_parts):
    cat, pop, gt = world_parts
    with pytest.raises(ValueError, match="discount"):
        gt.probabilities(batch(2, discount=1.0))
    with pytest.raises(ValueError, match="length"):
        ImpressionBatch(shopper=np.zeros(2, int), item=np.zeros(3, int), position=np.zeros(2, int), seen=np.zeros(2, int),
                        discount=np.zeros(2), in_stock=np.ones(2, bool), day=np.zeros(2, int))
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        nested_sample(np.zeros((2, 2)), np.random.default_rng(0))


def test_nested_sample_rates_and_determinism(world_parts):
    cat, pop, gt = world_parts
    b = random_batch(np.random.default_rng(1), 20_000, cat, pop)
    s1 = gt.sample(b, spawn_streams(3)["responses"])
    s2 = gt.sample(b, spawn_streams(3)["responses"])
    np.testing.assert_array_equal(s1, s2)
    assert (s1[:, 2] <= s1[:, 1]).all() and (s1[:, 1] <= s1[:, 0]).all()
    joint = funnel_to_joint(gt.probabilities(b)).mean(0)
    assert (np.abs(s1.mean(0) - joint) < 4 * np.sqrt(joint / 20_000)).all()


def test_stream_use_does_not_depend_on_outcomes():
    r1, r2 = np.random.default_rng(0), np.random.default_rng(0)
    nested_sample(np.zeros((7, 3)), r1)
    nested_sample(np.ones((7, 3)), r2)
    assert r1.random() == r2.random()


@settings(max_examples=50, deadline=None)
@given(p=st.lists(st.tuples(*[st.floats(0, 1)] * 3), min_size=1, max_size=50), seed=st.integers(0, 2**32 - 1))
def test_sample_is_nested_for_any_probabilities(p, seed):
    s = nested_sample(np.array(p), np.random.default_rng(seed))
    assert (s[:, 2] <= s[:, 1]).all() and (s[:, 1] <= s[:, 0]).all()


@settings(max_examples=50, deadline=None)
@given(p=st.lists(st.tuples(*[st.floats(0.001, 1)] * 3), min_size=1, max_size=20))
def test_joint_and_funnel_are_inverse(p):
    cond = np.array(p)
    np.testing.assert_allclose(joint_to_funnel(funnel_to_joint(cond)), cond, rtol=1e-9, atol=1e-12)


def test_build_response_model(world_parts):
    cat, pop, _ = world_parts
    assert isinstance(build_response_model(SCEN, cat, pop), GroundTruthResponse)
    with pytest.raises(ScenarioError, match="learned:PATH"):
        build_response_model(SCEN.replace(response_model="oracle"), cat, pop)
    with pytest.raises(ScenarioError, match=r"world core does not load.*build_world"):  # resolved in shopgym.plugins
        build_response_model(SCEN.replace(response_model="learned:/nonexistent/model.pt"), cat, pop)


def test_scenario_section_validates():
    with pytest.raises(ScenarioError, match="base_ctr"):
        Scenario().replace(base_ctr=1.5)
    with pytest.raises(ScenarioError, match="Did you mean 'n_shoppers'"):
        Scenario().replace(n_shopers=3)


def test_weekend_lift_and_weekday_feature_follow_the_calendar_not_day_mod_7(world_parts):
    """2024-01-06 is a Saturday: day 0 of a scenario starting then is a weekend day, day 2 (Monday) is not."""
    from shopgym.world.calendar import start_weekday
    from shopgym.world.response import impression_features

    cat, pop, monday_start = world_parts
    saturday = SCEN.replace(start_date="2024-01-06")
    assert start_weekday(SCEN.env.start_date) == 0 and start_weekday(saturday.env.start_date) == 5
    saturday_start = build_response_model(saturday, cat, pop)
    days = batch(7)
    days = ImpressionBatch(days.shopper, days.item, days.position, days.seen, days.discount, days.in_stock, np.arange(7))
    click_sat = saturday_start.probabilities(days)[:, 0]
    click_mon = monday_start.probabilities(days)[:, 0]
    # Starting on Saturday, days 0 and 1 are the weekend; starting on Monday, days 5 and 6 are.
    assert click_sat[0] > click_sat[2] and click_sat[1] > click_sat[2]
    assert click_mon[5] > click_mon[0] and np.isclose(click_mon[0], click_sat[2])
    np.testing.assert_array_equal(impression_features(days, cat, pop, start_weekday=5)["weekday"], [5, 6, 0, 1, 2, 3, 4])
