"""Fidelity report and scenario writer: a scenario calibrated on its own simulated sales reproduces held-out weeks;
the written TOML loads back to the fitted values."""

from __future__ import annotations

import numpy as np
import pytest
from cal_helpers import simulate_sales

from shopgym.calibrate.demand import fit_demand
from shopgym.calibrate.fidelity import Fidelity, sales_fidelity
from shopgym.calibrate.report import write_report
from shopgym.calibrate.sales import SalesData
from shopgym.calibrate.writer import Calibration, render, write_scenario
from shopgym.config import load_scenario, scenario_from_dict
from shopgym.errors import DataError, ScenarioError
from shopgym.world.catalog import Catalog


@pytest.fixture(scope="module")
def sales():
    frame, _ = simulate_sales(300, promo_prob=0.0, yearly_amplitude=0.0, trend=0.0, n_skus=8)
    return SalesData(frame, 1, "simulated")


def test_held_out_weeks_of_the_true_model_are_covered_about_80_percent(sales, tmp_path):
    s = sales_fidelity(sales, holdout_weeks=10, n_seeds=150)
    assert s.real.shape == (8, 10) and s.band.shape == (3, 8, 10)
    assert np.all(s.band[0] <= s.band[1]) and np.all(s.band[1] <= s.band[2])
    assert 0.65 <= s.coverage <= 0.95  # 80 SKU-weeks of a correctly specified model: about 0.8
    # The true model's median beats a naive forecast that carries last week's noise (expected ratio 1/sqrt(2)).
    assert s.mase_sku.mean() < s.naive_mase_sku.mean()
    assert s.naive_rule.startswith("last calibration week")  # less than 52 weeks of history
    md = write_report(Fidelity(10, s), tmp_path, command="pytest")
    text = md.read_text()
    assert "| **total** |" in text and f"{s.mase_total:.3f}" in text and "Produced by `pytest`" in text
    assert (tmp_path / "fidelity_sales.png").read_bytes()[:4] == b"\x89PNG"


def test_holding_out_too_much_is_a_data_error(sales):
    with pytest.raises(DataError, match="lower --holdout-weeks"):
        sales_fidelity(sales, holdout_weeks=42, n_seeds=10)


def test_written_scenario_loads_back_with_the_fitted_values(sales, tmp_path):
    fit = fit_demand(sales)
    cal = Calibration(demand=fit, data_source="simulated", command="pytest")
    path = tmp_path / "my-shop.toml"
    sc = write_scenario(cal, path, horizon=28)
    text = path.read_text()
    assert sc.name == "my-shop" and sc.env.horizon == 28 and sc.env.start_date == fit.start_date
    assert sc.catalog.base_rates == pytest.approx(list(fit.base_rates), rel=1e-4)
    assert sc.demand.dispersion == pytest.approx(fit.dispersion, rel=1e-3)
    assert sc.demand.weekly == pytest.approx(fit.weekly, abs=1e-4)
    # The header names every unidentified key with its default, and the sources of the fitted ones.
    for key, _, _ in fit.unidentified:
        assert f"#   {key} = " in text
    assert "catalog.margin = 0.4" in text and "demand.dispersion = " in text
    # The catalog the world builds uses the explicit base rates and prices.
    cat = Catalog.generate(sc.catalog, sc.demand)
    np.testing.assert_allclose(cat.base_rate, sc.catalog.base_rates)
    np.testing.assert_allclose(cat.price, sc.catalog.prices)
    # Rendering is deterministic: the file equals a fresh render.
    assert render(cal, "my-shop", horizon=28)[0] == text
    assert load_scenario(path) == sc


def test_explicit_base_rates_shift_no_other_catalog_attribute():
    plain = load_scenario("steady").replace(n_skus=4, base_rate_spread=0.4, price_spread=0.3)
    given = plain.replace(base_rates=[1.0, 2.0, 3.0, 4.0])
    a, b = Catalog.generate(plain.catalog, plain.demand), Catalog.generate(given.catalog, given.demand)
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.price, b.price)
    np.testing.assert_array_equal(a.lead_time, b.lead_time)
    np.testing.assert_array_equal(b.base_rate, [1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize("key, value", [("base_rates", [1.0, 2.0]), ("prices", [1.0, 2.0, 0.0]),
                                        ("base_rates", [1.0, "x", 2.0])])
def test_per_sku_lists_of_the_wrong_length_or_range_are_refused(key, value):
    with pytest.raises(ScenarioError, match=f"catalog.{key} must be empty or hold n_skus = 3"):
        scenario_from_dict({"catalog": {"n_skus": 3, key: value}})
