"""Weekly forecasters drive the daily world through a weekday profile (``forecasters.disaggregate``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fc_helpers import WEEKLY

from forecasters.disaggregate import DailyFromWeekly, weekday_profile
from forecasters.learned_demand import LearnedDemand
from forecasters.panel import Panel
from forecasters.registry import make
from shopgym.config import load_scenario
from shopgym.errors import ScenarioError
from shopgym.plugins import build_world

PROFILE = [1.0, 1.0, 1.0, 1.0, 1.5, 2.0, 0.5]  # Mon..Sun


def weekly_frame(n_weeks: int = 30, seed: int = 0) -> pd.DataFrame:
    """Two weekly series (rows dated Fridays), about 70 and 140 units/week."""
    rng = np.random.default_rng(seed)
    d = pd.date_range("2023-01-06", periods=n_weeks, freq="7D")
    return pd.concat([pd.DataFrame({"unique_id": f"w{i}", "ds": d, "y": rng.poisson(70.0 * (i + 1), n_weeks).astype(float)})
                      for i in range(2)], ignore_index=True)


@pytest.fixture(scope="module")
def weekly_model():
    return make("moving_average", window=4).fit(weekly_frame())


def test_weekday_profile_recovers_a_known_pattern():
    rng = np.random.default_rng(0)
    d = pd.date_range("2023-01-02", periods=70)
    df = pd.concat([pd.DataFrame({"store": s, "date": d, "n": rng.poisson(200 * WEEKLY[d.day_of_week])}) for s in range(3)])
    p = weekday_profile(df, value="n", date="date", series="store")
    np.testing.assert_allclose(p, WEEKLY / WEEKLY.mean(), rtol=0.05)
    assert p.mean() == pytest.approx(1.0)


def test_disaggregation_preserves_weekly_totals_in_expectation(weekly_model):
    wrap = DailyFromWeekly(weekly_model, PROFILE)
    hist = wrap.history_
    # the training history spread over days sums back to the weekly totals
    np.testing.assert_allclose(hist.groupby("unique_id")["y"].sum().to_numpy(),
                               weekly_model.history_.groupby("unique_id")["y"].sum().to_numpy())
    assert set(hist["ds"].dt.day_of_week) == set(range(7))
    # a daily panel that ends on the day before an anchor (Friday): the next 14 days are two whole weeks
    y = np.stack([hist[hist["unique_id"] == u]["y"].to_numpy()[-56:] for u in ("w0", "w1")])
    start = hist["ds"].max() - pd.Timedelta(days=55)
    dist = wrap.distribution_panel(Panel.from_arrays(["w0", "w1"], y, start, pd.Timedelta(days=1)), 14)
    week = weekly_model.distribution_panel(weekly_model._panel(weekly_model.history_), 2)
    np.testing.assert_allclose(dist.mean.reshape(2, 2, 7).sum(-1), week.mean, rtol=1e-9)
    fri = (start.day_of_week + 56) % 7
    assert fri == 4 and dist.mean[0, 1] / dist.mean[0, 0] == pytest.approx(PROFILE[5] / PROFILE[4])


def test_weekly_model_drives_the_world(weekly_model, tmp_path):
    path = weekly_model.save(tmp_path / "weekly.pkl")
    sc = load_scenario("steady", demand_model=f"learned:{path}", n_skus=2, horizon=28, initial_stock=10_000,
                       start_date="2024-01-05", weekly=PROFILE)
    world = build_world(sc, n_worlds=40)
    world.reset(list(range(40)))
    dem = np.stack([world.step(np.zeros((40, 2), dtype=np.int64)).demand for _ in range(28)])  # (days, worlds, skus)
    ld = world.demand_model
    assert isinstance(ld, LearnedDemand) and "DailyFromWeekly" in type(ld.forecaster).__name__
    assert (dem >= 0).all()
    weekly_mean = weekly_model.predict(1)["mean"].to_numpy()  # what the model expects for a week (units/week)
    first_week = dem[:7].sum(0).mean(0)  # simulated weekly totals, averaged over worlds
    np.testing.assert_allclose(first_week, weekly_mean, rtol=0.1)
    by_dow = dem.reshape(4, 7, 40, 2).sum((0, 2, 3))  # 2024-01-05 is a Friday: day 0 = Friday
    expect = np.roll(np.asarray(PROFILE), -4)
    assert np.corrcoef(by_dow, expect)[0, 1] > 0.95


def test_bad_profile_and_exog_are_refused(weekly_model):
    with pytest.raises(ScenarioError, match="weekday profile"):
        DailyFromWeekly(weekly_model, [1.0] * 6)
    with_exog = make("svr", exog=("promo",), max_samples=50).fit(weekly_frame().assign(promo=0.0))
    with pytest.raises(ScenarioError, match="exogenous"):
        DailyFromWeekly(with_exog, PROFILE)


def test_walmart_calibrated_scenario_runs_from_a_tiny_weekly_model(tmp_path):
    """The shipped scenario with its model file replaced by one fitted on synthetic weekly data."""
    gym = pytest.importorskip("gymnasium")
    import shopgym  # noqa: F401  (registers the envs)

    rng = np.random.default_rng(1)
    d = pd.date_range("2011-01-07", periods=60, freq="7D")
    df = pd.concat([pd.DataFrame({"unique_id": f"d{i}", "ds": d, "y": rng.poisson(300.0 + 50 * i, 60).astype(float)})
                    for i in range(10)], ignore_index=True)
    path = make("moving_average", window=4).fit(df).save(tmp_path / "walmart.pkl")
    shipped = load_scenario("walmart-calibrated")
    assert shipped.demand.demand_model == "learned:models/walmart.pkl"
    env = gym.make("shopgym/Restock-v0", scenario="walmart-calibrated", demand_model=f"learned:{path}", horizon=14)
    env.reset(seed=0)
    total = np.zeros(10)
    for _ in range(14):
        *_, info = env.step(env.action_space.sample())
        total += info["demand"]
    assert total.sum() > 0 and (total >= 0).all()
    assert isinstance(env.unwrapped.world.demand_model.forecaster, DailyFromWeekly)


@pytest.mark.slow
def test_walmart_model_builds_from_the_real_data(tmp_path):
    from fc_helpers import walmart_path

    from scenarios.walmart_model import build

    path = build(walmart_path(), tmp_path / "walmart.pkl", n_series=3)
    ld = LearnedDemand(make("ets").load(path), n_skus=3, start_date="2012-11-02",
                       weekday_profile=load_scenario("walmart-calibrated").demand.weekly)
    assert ld.warm.shape[0] == 3 and np.isfinite(ld.warm).all()
