"""A fitted forecaster drives the world (and ``shopgym/Restock-v0``) through a scenario file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fc_helpers import WEEKLY, make_daily

from forecasters.learned_demand import LearnedDemand
from forecasters.registry import make
from shopgym.config import load_scenario
from shopgym.errors import ScenarioError
from shopgym.plugins import build_world
from shopgym.world.protocols import DemandModel

DAYS = 56


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """An ETS forecaster fitted on three weekly-cycled daily series, saved to disk."""
    df = make_daily(n_series=3, n_days=140)
    model = make("ets").fit(df)
    path = model.save(tmp_path_factory.mktemp("fc") / "ets.pkl")
    return model, path


def _simulate(path, n_worlds=30, seed0=0):
    sc = load_scenario("steady", demand_model=f"learned:{path}", n_skus=3, horizon=DAYS, initial_stock=10_000,
                       start_date="2024-01-01")
    world = build_world(sc, n_worlds=n_worlds)
    world.reset(list(range(seed0, seed0 + n_worlds)))
    dem = np.stack([world.step(np.zeros((n_worlds, 3), dtype=np.int64)).demand for _ in range(DAYS)])
    return world, sc, dem  # (days, worlds, skus)


def test_satisfies_protocol_and_one_pass_per_day(saved):
    _, path = saved
    world, _, dem = _simulate(path, n_worlds=4)
    assert isinstance(world.demand_model, LearnedDemand)
    assert isinstance(world.demand_model, DemandModel)
    assert world.demand_model.forward_passes == DAYS  # batched over worlds and SKUs
    assert dem.dtype == np.int64 and (dem >= 0).all()


def test_level_and_weekly_pattern_match_the_forecaster(saved):
    model, path = saved
    _, sc, dem = _simulate(path)
    # The forecaster's own view of the next DAYS days, weekday-aligned with the simulation.
    # Compare per weekday: the world re-dates the forecaster's history but keeps its weekdays.
    fc = model.predict(DAYS)
    start = pd.Timestamp(sc.env.start_date)
    level_fc = fc.groupby("unique_id")["mean"].mean().sort_index().to_numpy()
    level_sim = dem.mean((0, 1))
    np.testing.assert_allclose(level_sim, level_fc, rtol=0.1)
    sim_dow = pd.date_range(start, periods=DAYS).day_of_week.to_numpy()
    fc_dow = fc["ds"].dt.day_of_week.to_numpy()
    prof_sim = np.array([dem[sim_dow == k].mean() for k in range(7)])
    prof_fc = np.array([fc.loc[fc_dow == k, "mean"].mean() for k in range(7)])
    prof_sim, prof_fc = prof_sim / prof_sim.mean(), prof_fc / prof_fc.mean()
    np.testing.assert_allclose(prof_sim, prof_fc, atol=0.08)
    assert prof_sim.argmax() == WEEKLY.argmax()  # Saturday peak of the data it learned from


def test_batch_of_worlds_reproduces_single_worlds(saved):
    _, path = saved
    _, _, both = _simulate(path, n_worlds=2, seed0=5)
    _, _, one = _simulate(path, n_worlds=1, seed0=6)
    np.testing.assert_array_equal(both[:, 1], one[:, 0])


def test_forecast_consumes_no_randomness(saved):
    _, path = saved
    sc = load_scenario("steady", demand_model=f"learned:{path}", n_skus=3, horizon=10)
    a, b = build_world(sc), build_world(sc)
    a.reset([1])
    b.reset([1])
    for _ in range(5):
        a.forecast(4)
        assert a.forecast(4).shape == (1, 3, 4)
        np.testing.assert_array_equal(a.step(np.zeros((1, 3), dtype=np.int64)).demand,
                                      b.step(np.zeros((1, 3), dtype=np.int64)).demand)


def test_fortnightly_forecaster_is_refused(tmp_path):  # weekly ones are disaggregated: test_fc_weekly_demand.py
    d = pd.date_range("2023-01-06", periods=60, freq="14D")
    df = pd.DataFrame({"unique_id": "a", "ds": d, "y": np.arange(60.0)})
    path = make("seasonal_naive").fit(df).save(tmp_path / "w.pkl")
    with pytest.raises(ScenarioError, match=r"demand\.demand_model = 'learned:.*daily or weekly data"):
        build_world(load_scenario("steady", demand_model=f"learned:{path}", n_skus=2, horizon=5))


def test_restock_env_through_a_scenario_file(saved, tmp_path):
    gym = pytest.importorskip("gymnasium")
    import shopgym  # noqa: F401  (registers the envs)

    _, path = saved
    toml = tmp_path / "learned.toml"
    toml.write_text(
        'description = "demand from a saved forecaster"\n'
        "[catalog]\nn_skus = 3\nlead_time = 2\n"
        f'[demand]\ndemand_model = "learned:{path}"\n'
        "[env]\nhorizon = 14\n"
    )
    env = gym.make("shopgym/Restock-v0", scenario=str(toml))
    obs, _ = env.reset(seed=0)
    total = 0
    for _ in range(14):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        total += int(np.sum(info["demand"]))
    assert terminated and not truncated and total > 0
    assert isinstance(env.unwrapped.world.demand_model, LearnedDemand)


def test_neural_forecaster_drives_the_world(tmp_path):
    df = make_daily(n_series=2, n_days=70)
    model = make("cnn", h=7, hidden=8, epochs=2, progress=False, exog=("promo",))
    model.fit(df.assign(promo=0.0))
    path = model.save(tmp_path / "cnn.pkl")
    sc = load_scenario("steady", demand_model=f"learned:{path}", n_skus=4, horizon=10, promo_prob=0.2)
    world = build_world(sc, n_worlds=3)
    world.reset([0, 1, 2])
    for _ in range(10):
        out = world.step(np.zeros((3, 4), dtype=np.int64))
        assert out.demand.shape == (3, 4) and (out.demand >= 0).all()
        assert np.isfinite(world.forecast(3)).all()
    assert world.demand_model.series_ids == ["s0", "s1", "s0", "s1"]


def test_warm_history_shape(saved):
    model, _ = saved
    ld = LearnedDemand(model, n_skus=4, start_date="2024-01-01")
    hist = ld.warm_history(2, 300)
    assert hist.shape == (2, 4, 300)
    np.testing.assert_array_equal(hist[0, 0, -7:], ld.warm[0, -7:])
