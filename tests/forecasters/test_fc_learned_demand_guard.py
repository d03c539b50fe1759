"""A learned demand model is a guest: broken predictions give a named error or counted clipping, never overflow."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fc_broken import BrokenForecaster
from fc_helpers import make_daily

from forecasters.learned_demand import CEILING_FACTOR, LearnedDemand
from shopgym.config import load_scenario
from shopgym.errors import LearnedModelError
from shopgym.plugins import build_world

START = "2024-01-01"
DAYS = 20


def _scenario(path=None, **keys):
    extra = {"demand_model": f"learned:{path}"} if path is not None else {}
    return load_scenario("steady", n_skus=3, horizon=DAYS, lead_time=1, lead_time_spread=0, start_date=START,
                         initial_stock=50, **extra, **keys)


def _fit(**params) -> BrokenForecaster:
    return BrokenForecaster(**params).fit(make_daily(n_series=3, n_days=60))


def _run(world, days=DAYS):
    out = [world.step(np.full((world.n_worlds, 3), 5, dtype=np.int64)) for _ in range(days)]
    return out, world


def test_huge_quantiles_are_clipped_and_counted_never_overflow():
    model = _fit(level=17.0, spread=1e25)  # the exploding-SVR case, far worse: int64 would overflow
    ld = LearnedDemand(model, n_skus=3, start_date=START, horizon=2)
    peak = make_daily(n_series=3, n_days=60).groupby("unique_id")["y"].max().sort_index().to_numpy()
    np.testing.assert_allclose(ld.ceiling, CEILING_FACTOR * peak)
    world = build_world(_scenario(), n_worlds=2, demand_model=ld)
    world.reset([0, 1])
    clipped = 0
    for _ in range(DAYS):
        out = world.step(np.full((2, 3), 5, dtype=np.int64))
        above = out.demand >= np.floor(ld.ceiling)
        assert (out.demand >= 0).all() and (out.demand <= ld.ceiling + 1).all()
        assert (out.expected_demand <= ld.ceiling).all() and np.isfinite(out.expected_demand).all()
        assert (ld.clipped_today >= above.sum(1)).all()  # every draw at the ceiling was a counted cut
        clipped += ld.clipped_today.sum()
        assert np.isfinite(out.profit).all()
    assert clipped == ld.clipped_total.sum() > 0.3 * DAYS * 2 * 3  # about half of the draws lie above
    assert abs(world.kpis.summary()["profit"]).max() < 1e7  # not -2.9e21


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_prediction_names_model_day_and_sku(tmp_path, bad):
    # nonnegative=False: the forecaster does not clip -inf to 0 itself, so the world's guard must catch it
    path = _fit(bad_value=bad, bad_from="2024-01-08", nonnegative=False).save(tmp_path / "broken.pkl")
    world = build_world(_scenario(path))
    world.reset([0])
    with pytest.raises(LearnedModelError, match=r"broken\.pkl.*day 7, world 0, SKU 1 \(series 's1'"):
        _run(world)
    assert world.day in (6, 7)  # raised when day 7 was first forecast (its lead-time look-ahead), not later


def test_restock_env_reports_clipped_draws_in_info(tmp_path):
    gym = pytest.importorskip("gymnasium")
    import shopgym  # noqa: F401  (registers the envs)

    path = _fit(level=17.0, spread=1e25).save(tmp_path / "wide.pkl")
    env = gym.make("shopgym/Restock-v0", scenario=_scenario(path))
    env.reset(seed=0)
    counts = []
    for _ in range(5):
        *_, info = env.step(env.action_space.sample())
        counts.append(info["demand_clipped"])
        assert (info["demand"] >= 0).all() and np.isfinite(info["profit"])
    assert sum(counts) == env.unwrapped.world.demand_model.clipped_total[0] > 0

    calm = gym.make("shopgym/Restock-v0", scenario=_scenario())
    calm.reset(seed=0)
    assert calm.step(calm.action_space.sample())[-1]["demand_clipped"] == 0  # ground truth: nothing cut


def test_vector_env_reports_clipped_draws_per_env(tmp_path):
    pytest.importorskip("gymnasium")
    from shopgym.envs.restock_vector import RestockVectorEnv

    path = _fit(level=17.0, spread=1e25).save(tmp_path / "wide.pkl")
    env = RestockVectorEnv(num_envs=2, scenario=_scenario(path))
    env.reset(seed=0)
    info = env.step(env.action_space.sample())[-1]
    assert info["demand_clipped"].shape == (2,)
    np.testing.assert_array_equal(info["demand_clipped"], env.world.demand_model.clipped_today)


def test_ceiling_factor_is_validated_and_scales_the_ceiling():
    model = _fit()
    with pytest.raises(ValueError, match="ceiling_factor"):
        LearnedDemand(model, n_skus=3, start_date=START, ceiling_factor=0.0)
    a = LearnedDemand(model, n_skus=3, start_date=START, ceiling_factor=2.0)
    b = LearnedDemand(model, n_skus=3, start_date=START, ceiling_factor=4.0)
    np.testing.assert_allclose(b.ceiling, 2 * a.ceiling)
    assert pd.Series(a.history_max).gt(0).all()
