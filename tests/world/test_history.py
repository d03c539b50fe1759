"""The shoppers' pre-episode record (``shopgym.world.history``): drawn from the true click model, fixed per population."""

import os
from pathlib import Path

import numpy as np
import pytest

from shopgym.config import load_scenario
from shopgym.errors import ScenarioError
from shopgym.plugins import build_world
from shopgym.world.history import draw_history, history_rng

REPO = Path(__file__).resolve().parents[2]
#: A small shop with a record (the recommend scenario's catalog and calibrated record; 400 shoppers).
SMALL = {"n_shoppers": 400, "horizon": 2, "sessions_per_day": 30.0}


def _world(**keys):
    world = build_world(load_scenario("recommend", **{**SMALL, **keys}), n_worlds=1)
    world.reset([0])
    return world


def _record(world):
    return draw_history(world.scenario.shoppers, world.catalog, world.shoppers, history_rng(world.scenario.shoppers))


def test_the_record_depends_on_shoppers_seed_only_and_starts_every_episode():
    world = _world()
    a, b = _record(world), _record(world)
    for name in ("visits", "clicks", "purchases", "last_category", "taste_sum"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    other = _record(_world(shoppers_seed=1))
    assert not np.array_equal(a.clicks, other.clicks)
    state = world.shopper_state
    for seed in (0, 7, 123):  # a different episode seed: the same past
        world.reset([seed])
        np.testing.assert_array_equal(state.clicks[0], a.clicks)
        np.testing.assert_array_equal(state.visits[0], a.visits)
        np.testing.assert_array_equal(state.purchases[0], a.purchases)
        np.testing.assert_array_equal(state.last_category[0], a.last_category)
        np.testing.assert_array_equal(state.taste_sum[0], a.taste_sum)
        assert (state.last_visit[0] == -1).all() and (state.previous_visit[0] == -1).all()  # first visit this episode


def test_record_counts_are_consistent_and_follow_the_calibration():
    world = _world(n_shoppers=4000)
    cfg, rec = world.scenario.shoppers, _record(world)
    assert cfg.history_clicks > 0 and cfg.history_dispersion > 0
    assert (rec.purchases >= 0).all() and (rec.purchases <= rec.clicks).all()
    np.testing.assert_array_equal(rec.visits, np.ceil(rec.clicks / cfg.history_clicks_per_visit))
    assert ((rec.last_category == -1) == (rec.clicks == 0)).all()
    # negative binomial with the configured mean and shape: mean within 5%, variance m + m^2 / k within 25%
    m, k = cfg.history_clicks, cfg.history_dispersion
    assert abs(rec.clicks.mean() / m - 1) < 0.05
    assert abs(rec.clicks.var() / (m + m * m / k) - 1) < 0.25


def test_taste_sum_is_a_sum_of_clicked_embeddings():
    world = _world(n_shoppers=2000)
    rec, feats, cat = _record(world), world.catalog.features, world.catalog.category
    assert (rec.taste_sum[rec.clicks == 0] == 0).all()
    one = np.flatnonzero(rec.clicks == 1)
    assert len(one) > 0
    # one click: the taste is exactly one item's embedding, and the last category is that item's
    match = np.all(np.isclose(rec.taste_sum[one, None, :], feats[None]), axis=2)  # (shoppers, items)
    assert match.any(1).all()
    assert (cat[match.argmax(1)] == rec.last_category[one]).all()
    # more clicks: the mean lies within the embeddings' range, dimension by dimension
    many = rec.clicks > 0
    mean = rec.taste_sum[many] / rec.clicks[many, None]
    assert (mean >= feats.min(0) - 1e-12).all() and (mean <= feats.max(0) + 1e-12).all()


def test_past_clicks_lean_toward_the_shoppers_preference():
    world = _world(n_shoppers=2000)
    rec, prefs, feats = _record(world), world.shoppers.preferences, world.catalog.features
    has = rec.clicks > 0
    clicked = np.einsum("ud,ud->u", prefs[has], rec.taste_sum[has]) / rec.clicks[has]  # mean affinity of past clicks
    uniform = prefs[has] @ feats.mean(0)  # mean affinity of an item drawn at random
    assert clicked.mean() > uniform.mean() + 0.05
    assert (clicked > uniform).mean() > 0.8


def test_no_record_leaves_memory_at_zero():
    world = _world(history_clicks=0.0)
    assert _record(world) is None and world.shopper_state.history is None
    state = world.shopper_state
    for name in ("visits", "clicks", "purchases", "taste_sum"):
        assert not getattr(state, name).any()
    assert (state.last_category == -1).all()


def test_a_record_does_not_move_the_episode_streams():
    """The record comes from its own stream: the same sessions arrive with or without it."""
    on, off = _world(), _world(history_clicks=0.0)
    np.testing.assert_array_equal(on.sessions_today().shopper, off.sessions_today().shopper)


#: Steps, return and observation sum of a random policy (seed 0) over one episode (reset seed 3) of a small
#: busy shop, computed by the code of before the record (commit 453f75a): history_clicks = 0 must reproduce them.
BEFORE = {"recommend": (86, 63.0, 3571.2137744756765), "recommend-memory": (71, 36.14, 2909.438766717445)}


@pytest.mark.parametrize("scenario", list(BEFORE))
def test_history_clicks_zero_reproduces_the_trajectories_of_before(scenario):
    from shopgym.envs.recommend import RecommendEnv

    env = RecommendEnv(scenario=scenario, horizon=2, sessions_per_day=30.0, n_shoppers=50, base_ctr=0.4,
                       base_cart_rate=0.5, base_purchase_rate=0.5, history_clicks=0.0)
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    total, obs_sum, done, steps = 0.0, float(obs.sum()), False, 0
    while not done:
        obs, reward, done, _, _ = env.step(int(rng.integers(0, env.action_space.n)))
        total += reward
        obs_sum += float(obs.astype(np.float64).sum())
        steps += 1
    assert (steps, total) == BEFORE[scenario][:2]
    assert obs_sum == pytest.approx(BEFORE[scenario][2], rel=1e-9)


def test_the_observation_carries_the_record():
    from shopgym.envs.recommend import RecommendEnv

    env = RecommendEnv(scenario="recommend", **SMALL)
    obs, _ = env.reset(seed=0)
    f = env.view.parse(obs)
    shopper = env.current_shopper
    state = env.world.shopper_state
    np.testing.assert_allclose(f["taste"], state.taste_sum[0, shopper] / max(state.clicks[0, shopper], 1), atol=1e-6)
    assert f["clicks_per_visit"] == pytest.approx(min(state.clicks[0, shopper] / state.visits[0, shopper], 5.0))
    assert f["first_visit"] == 1.0  # the first visit of this episode, with a past


@pytest.mark.parametrize("key, value", [("history_clicks", -1.0), ("history_dispersion", -0.5),
                                        ("history_clicks_per_visit", 0.0)])
def test_bad_record_keys_are_refused_by_name(key, value):
    with pytest.raises(ScenarioError, match=key):
        load_scenario("recommend", **{key: value})


def test_the_scenarios_carry_the_taobao_calibration():
    path = Path(os.environ.get("SHOPGYM_DATA", REPO.parent / "shared" / "data")) / "taobao_userbehavior" / "UserBehavior.csv"
    if not path.is_file():
        pytest.skip(f"Taobao sample not found at {path}; set SHOPGYM_DATA to the shared data directory.")
    from shopgym.calibrate.history import calibrate_history

    c = calibrate_history(path)
    assert c.users == 43 and c.days == 9 and c.clicks_median == 79
    for scenario in ("recommend", "recommend-memory"):
        cfg = load_scenario(scenario).shoppers
        assert cfg.history_clicks == pytest.approx(c.clicks_mean, abs=0.005)
        assert cfg.history_dispersion == pytest.approx(c.dispersion, abs=0.0005)
        assert cfg.history_clicks_per_visit == pytest.approx(c.clicks_per_visit, abs=0.0005)
    assert load_scenario("recommend-exact").shoppers.history_clicks == 0  # its exact optimum must not move


def test_a_population_drawn_in_chunks_keeps_the_record_consistent(monkeypatch):
    from shopgym.world import history

    world = _world(n_shoppers=1000)
    whole = _record(world)
    monkeypatch.setattr(history, "CHUNK_ROWS", 7 * world.catalog.n_skus)  # 143 chunks of 7 shoppers
    rec = _record(world)
    assert (rec.purchases <= rec.clicks).all() and ((rec.last_category == -1) == (rec.clicks == 0)).all()
    np.testing.assert_array_equal(rec.visits, np.ceil(rec.clicks / world.scenario.shoppers.history_clicks_per_visit))
    assert abs(rec.clicks.mean() / whole.clicks.mean() - 1) < 0.2  # another draw of the same law
    np.testing.assert_array_equal(_record(world).clicks, rec.clicks)  # and deterministic


def test_worlds_of_one_population_share_one_read_only_record_and_copy_it_at_reset():
    a, b = _world(), _world()
    ha, hb = a.shopper_state.history, b.shopper_state.history
    assert ha is hb and not ha.clicks.flags.writeable  # drawn once, shared
    np.testing.assert_array_equal(ha.clicks, _record(a).clicks)  # the record draw_history gives
    a.shopper_state.clicks[0] += 1  # an episode's memory is its own copy
    b.reset([0])
    np.testing.assert_array_equal(b.shopper_state.clicks[0], ha.clicks)
    assert _world(shoppers_seed=3).shopper_state.history is not ha  # another population: its own record
