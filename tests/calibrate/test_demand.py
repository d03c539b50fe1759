"""Demand calibration recovers the parameters of a known scenario and reports what it cannot identify."""

from __future__ import annotations

import numpy as np
import pytest
from cal_helpers import TRUTH, simulate_sales, to_weekly

from shopgym.calibrate.demand import fit_demand
from shopgym.calibrate.sales import SalesData


@pytest.fixture(scope="module")
def two_years():
    return simulate_sales(730)


def _unidentified(fit) -> dict:
    return {key: default for key, _, default in fit.unidentified}


def test_recovers_a_known_scenario_from_daily_sales(two_years):
    frame, world = two_years
    fit = fit_demand(SalesData(frame, 1, "simulated"), seasonality="cosine", level_days=None)
    truth_weekly = np.array(TRUTH["weekly"]) / np.mean(TRUTH["weekly"])
    assert np.max(np.abs(np.array(fit.weekly) - truth_weekly)) < 0.06
    assert fit.yearly_amplitude == pytest.approx(0.3, abs=0.05)
    assert abs(fit.yearly_peak_day - 200) <= 10
    assert fit.trend == pytest.approx(0.1, abs=0.06)
    assert fit.elasticity == pytest.approx(-2.0, abs=0.25)
    assert fit.dispersion == pytest.approx(4.0, rel=0.25)
    assert fit.promo_prob == pytest.approx(0.2, abs=0.03) and fit.promo_discount == pytest.approx(0.3, abs=0.01)
    # Base rates are carried to the day after the data by the trend (two years of growth).
    expected = world.catalog.base_rate * (1 + TRUTH["trend"]) ** (730 / 365.25)
    np.testing.assert_allclose(fit.base_rates, expected, rtol=0.12)
    np.testing.assert_allclose(fit.list_prices, world.catalog.price)
    assert fit.unidentified == []


def test_weekly_sales_leave_the_weekly_shape_flat_and_recover_the_daily_dispersion(two_years):
    frame, world = two_years
    weekly = to_weekly(frame)
    fit = fit_demand(SalesData(weekly, 7, "simulated weekly"), seasonality="cosine", level_days=None)
    assert fit.weekly == [1.0] * 7 and "demand.weekly" in _unidentified(fit)
    assert "demand.elasticity" in _unidentified(fit)  # no price column
    assert fit.dispersion == pytest.approx(4.0, rel=0.35)
    assert fit.yearly_amplitude == pytest.approx(0.3, abs=0.06)


def test_constant_prices_leave_the_elasticity_at_its_default_and_say_so():
    frame, _ = simulate_sales(120, promo_prob=0.0, elasticity=-3.0)
    fit = fit_demand(SalesData(frame, 1, "constant prices"))
    missing = _unidentified(fit)
    assert fit.elasticity == -1.5 and missing["demand.elasticity"] == -1.5
    reason = next(r for k, r, _ in fit.unidentified if k == "demand.elasticity")
    assert "constant prices" in reason
    # Less than a year: no yearly cycle and no trend are invented.
    assert fit.yearly_amplitude == 0.0 and fit.trend == 0.0
    assert {"demand.yearly_amplitude", "demand.trend", "demand.promo_prob"} <= set(missing)


def test_two_years_give_a_week_of_year_profile_the_scenario_accepts(two_years):
    from shopgym.config import scenario_from_dict

    frame, _ = two_years
    fit = fit_demand(SalesData(frame, 1, "simulated"))
    assert len(fit.holidays) == 52 and fit.yearly_amplitude == 0.0
    assert [h[0] for h in fit.holidays] == [1 + 7 * b for b in range(52)]
    uplift = np.array([h[2] for h in fit.holidays])
    # The profile follows the true cosine (peak day 200 = block 28, trough near day 17 = block 2).
    assert uplift[27:30].mean() > 0.15 and uplift[0:5].mean() < -0.15
    sc = scenario_from_dict({"demand": fit.demand_section()})
    assert len(sc.demand.holidays) == 52
