"""The fast path of ``LearnedDemand`` (dense windows, closed-form mean) computes what the general path does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fc_helpers import make_daily

from forecasters.distribution import GRID, Distribution, _interp, _sorted
from forecasters.learned_demand import _U, LearnedDemand
from forecasters.neural.windows import _calendar
from forecasters.panel import Panel
from forecasters.preprocessing import calendar_features
from forecasters.registry import make
from shopgym.config import load_scenario
from shopgym.errors import ScenarioError
from shopgym.world.world import World

pytest.importorskip("torch")


@pytest.fixture(scope="module", params=["lstm", "cnn"])
def fitted(request):
    """A tiny neural forecaster on three daily series with a promotion column (exogenous path)."""
    df = make_daily(n_series=3, n_days=70)
    df = df.assign(promo=(np.arange(len(df)) % 5 == 0).astype(float))
    return make(request.param, h=3, hidden=8, epochs=2, progress=False, exog=("promo",)).fit(df)


def _reference_mean(grid: np.ndarray) -> np.ndarray:
    """The original integral: the zero-clipped inverse CDF at the 200 midpoints, averaged."""
    u = np.broadcast_to(_U, (*grid.shape[:-1], len(_U)))
    return np.maximum(_interp(grid[..., None, :], u), 0.0).mean(-1)


@pytest.mark.parametrize("h", [1, 3, 7])  # 7 > the model's h: recursive passes
@pytest.mark.parametrize("T", [5, 30])  # 5: shorter than the context, left-padded
def test_dense_distribution_equals_panel_distribution(fitted, h, T):
    rng = np.random.default_rng(T + h)
    n, k = 7, 1
    y = rng.poisson(6.0, (n, T)).astype(float)
    ex = rng.integers(0, 2, (n, T, k)).astype(float)
    fut = rng.integers(0, 2, (n, h, k)).astype(float)
    start = pd.Timestamp("2024-02-20")
    panel = Panel.from_arrays([f"s{i % 3}" for i in range(n)], y, start, pd.Timedelta(days=1), ex, ("promo",))
    general = fitted.distribution_panel(panel, h, fut)
    fast = fitted.distribution_dense(y, start, h, ex, fut)
    np.testing.assert_array_equal(fast.grid, general.grid)
    np.testing.assert_array_equal(fast.mean, general.mean)


def _run_world(model, dense: bool, days: int = 20, n_worlds: int = 2):
    sc = load_scenario("steady", n_skus=5, horizon=days, promo_prob=0.3, start_date="2024-01-01")
    ld = LearnedDemand(model, n_skus=5, start_date=sc.env.start_date, horizon=2)
    ld._dense = dense
    world = World(sc, n_worlds=n_worlds, demand_model=ld)
    world.reset(list(range(n_worlds)))
    dem, exp, fc = [], [], []
    for _ in range(days):
        fc.append(world.forecast(4))  # longer than the daily pass: one more pass, cached separately
        out = world.step(np.full((n_worlds, 5), 3, dtype=np.int64))
        dem.append(out.demand)
        exp.append(out.expected_demand)
    return np.stack(dem), np.stack(exp), np.stack(fc), ld


def test_fast_world_reproduces_general_world(fitted):
    dem_f, exp_f, fc_f, ld_f = _run_world(fitted, dense=True)
    dem_g, exp_g, fc_g, ld_g = _run_world(fitted, dense=False)
    assert ld_f._dense and not ld_g._dense
    np.testing.assert_array_equal(dem_f, dem_g)  # same seed -> same demand paths
    np.testing.assert_allclose(exp_f, exp_g, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fc_f, fc_g, rtol=1e-12, atol=1e-12)
    assert dem_f.sum() > 0


def test_expected_and_sample_share_one_pass_per_day(fitted):
    sc = load_scenario("steady", n_skus=5, horizon=10)
    ld = LearnedDemand(fitted, n_skus=5, start_date=sc.env.start_date, horizon=2)
    world = World(sc, n_worlds=2, demand_model=ld)
    world.reset([0, 1])
    for _ in range(10):
        world.step(np.zeros((2, 5), dtype=np.int64))
    assert ld.forward_passes == 10


@pytest.mark.parametrize("loc", [-4.0, 0.3, 2.0, 30.0])
def test_closed_form_mean_equals_the_integral(loc):
    rng = np.random.default_rng(1)
    grid = np.sort(rng.normal(loc, 3.0, (40, 3, len(GRID))), axis=-1)
    for g in (grid, np.maximum(grid, 0.0)):
        np.testing.assert_allclose(LearnedDemand._mean(g), _reference_mean(g), rtol=1e-12, atol=1e-12)
    nan = grid.copy()
    nan[0, 0, 4] = np.nan
    assert np.isnan(LearnedDemand._mean(nan)[0, 0]) and np.isnan(_reference_mean(nan)[0, 0])


def test_sorting_skips_sorted_grids_and_matches_np_sort():
    rng = np.random.default_rng(2)
    g = rng.normal(size=(6, 2, len(GRID)))
    s = np.sort(g, axis=-1)
    np.testing.assert_array_equal(_sorted(g), s)
    assert _sorted(s) is s
    g[0, 0, 3] = np.nan
    np.testing.assert_array_equal(_sorted(g), np.sort(g, axis=-1))
    np.testing.assert_array_equal(Distribution(g.mean(-1), g).grid, np.sort(g, axis=-1))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_prediction_raises_a_scenario_error(fitted, bad):
    ld = LearnedDemand(fitted, n_skus=3, start_date="2024-01-01")
    sc = load_scenario("steady", n_skus=3, horizon=5)
    world = World(sc, n_worlds=1, demand_model=ld)
    world.reset([0])
    ctx = world.context()
    dist = ld._distribution(ctx, 1)
    dist.grid[0, 2, 0, 5] = bad
    with pytest.raises(ScenarioError, match=r"non-finite.*SKU 2"):
        ld.sample(ctx, world.rngs["demand"])


@pytest.mark.parametrize("step", [1, 7])
def test_cached_calendar_equals_fresh_features(step):
    freq = pd.Timedelta(days=step)
    for first in ["2024-01-01", "2024-01-02", "2025-06-30", "2023-12-01", "2024-01-03"]:
        dates = pd.date_range(first, periods=40, freq=freq)
        np.testing.assert_array_equal(_calendar(dates[0], 40, freq), calendar_features(dates, freq))
