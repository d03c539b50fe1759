"""``shopgym calibrate`` end to end on a tiny synthetic CSV, its one-line errors, and the benchmark on its output."""

from __future__ import annotations

import pytest
from cal_helpers import data_root, simulate_sales
from typer.testing import CliRunner

from shopgym.cli.main import app
from shopgym.config import load_scenario

runner = CliRunner()


@pytest.fixture(scope="module")
def sales_csv(tmp_path_factory):
    frame, _ = simulate_sales(140, n_skus=3, promo_prob=0.0, yearly_amplitude=0.0, trend=0.0)
    path = tmp_path_factory.mktemp("data") / "sales.csv"
    frame.to_csv(path, index=False)
    return path


def _run(*args):
    return runner.invoke(app, ["calibrate", *map(str, args)])


def test_calibrate_writes_a_scenario_and_its_fidelity_report(sales_csv, tmp_path):
    out = tmp_path / "shop" / "my-shop.toml"
    out.parent.mkdir()
    res = _run("--sales", sales_csv, "--out", out, "--holdout-weeks", 4, "--seeds", 50, "--horizon", 14)
    assert res.exit_code == 0, res.output
    sc = load_scenario(out)
    assert sc.catalog.n_skus == 3 and sc.env.horizon == 14 and len(sc.catalog.base_rates) == 3
    assert (out.parent / "fidelity.md").is_file() and (out.parent / "fidelity_sales.png").is_file()
    assert "total weekly MASE" in res.output and "coverage of the 80% band" in res.output
    # The benchmark takes the written file by path.
    bench = runner.invoke(app, ["benchmark", "--scenarios", str(out), "--policies", "random", "--seeds", "2",
                                "--out", str(tmp_path / "bench")])
    assert bench.exit_code == 0, bench.output
    assert "my-shop" in (tmp_path / "bench" / "summary.md").read_text()


def _one_line_error(res, *needles):
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    err = [ln for ln in lines if ln.startswith("error:")]
    assert len(err) == 1, res.output
    assert "Traceback" not in res.output
    for n in needles:
        assert n in err[0], err[0]


def test_missing_file_column_bad_values_and_short_history_are_one_line_errors(sales_csv, tmp_path):
    out = tmp_path / "x.toml"
    _one_line_error(_run("--sales", tmp_path / "nope.csv", "--out", out), "does not exist")
    frame = __import__("pandas").read_csv(sales_csv)
    frame.drop(columns="y").to_csv(tmp_path / "noy.csv", index=False)
    _one_line_error(_run("--sales", tmp_path / "noy.csv", "--out", out), "lacks column(s) ['y']")
    bad = frame.astype({"y": object})
    bad.loc[5, "y"] = "lots"
    bad.to_csv(tmp_path / "text.csv", index=False)
    _one_line_error(_run("--sales", tmp_path / "text.csv", "--out", out), "must be numeric", "'lots'")
    frame[frame["ds"] < "2022-01-10"].to_csv(tmp_path / "short.csv", index=False)
    _one_line_error(_run("--sales", tmp_path / "short.csv", "--out", out), "too little history")
    _one_line_error(_run("--sales", sales_csv, "--out", out, "--holdout-weeks", 19), "lower --holdout-weeks")
    _one_line_error(_run("--sales", sales_csv, "--out", tmp_path / "x.txt"), "must name a .toml file")
    frame.assign(promo=3).to_csv(tmp_path / "promo.csv", index=False)
    _one_line_error(_run("--sales", tmp_path / "promo.csv", "--out", out), "['promo'] must be 0 or 1", "got 3")
    frame.assign(y=0).to_csv(tmp_path / "dead.csv", index=False)
    _one_line_error(_run("--sales", tmp_path / "dead.csv", "--out", out), "no series sold anything")
    assert not out.exists()


def test_a_series_that_never_sold_is_dropped_and_said(sales_csv, tmp_path):
    from shopgym.calibrate.sales import read_sales

    frame = __import__("pandas").read_csv(sales_csv)
    dead = frame[frame["unique_id"] == frame["unique_id"].iloc[0]].assign(unique_id="never", y=0)
    __import__("pandas").concat([frame, dead]).to_csv(tmp_path / "with_dead.csv", index=False)
    data = read_sales(tmp_path / "with_dead.csv")
    assert "never" not in set(data.frame["unique_id"]) and data.frame["unique_id"].nunique() == frame["unique_id"].nunique()
    assert "1 series that sold nothing in the whole history dropped" in data.source


def test_walmart_file_is_read_in_units_of_the_stated_price():
    from shopgym.calibrate.sales import read_sales

    path = data_root() / "walmart" / "train.csv.zip"
    if not path.is_file():
        pytest.skip(f"Walmart data not found at {path}; set SHOPGYM_DATA to the shared data directory.")
    data = read_sales(path, unit_price=20.0, stores=[1], max_series=3)
    assert data.freq == "weekly" and data.frame["unique_id"].nunique() == 3
    assert "price of 20 per unit" in data.source
    assert (data.frame["y"] == data.frame["y"].round()).all() and data.frame["y"].min() >= 0


def test_transactions_add_fitted_arrival_keys_and_their_fidelity(sales_csv, tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    dates = pd.date_range("2022-01-03", periods=140, freq="D")
    weekday = np.array([1.0, 0.9, 0.9, 1.0, 1.1, 1.4, 0.7])[dates.day_of_week]
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "transactions": rng.poisson(500 * weekday)}).to_csv(
        tmp_path / "tx.csv", index=False)
    out = tmp_path / "shop.toml"
    res = _run("--sales", sales_csv, "--out", out, "--transactions", tmp_path / "tx.csv", "--holdout-weeks", 4,
               "--seeds", 50)
    assert res.exit_code == 0, res.output
    sc = load_scenario(out)
    weekly = np.array(sc.shoppers.arrival_weekly) / np.mean(sc.shoppers.arrival_weekly)
    assert weekly[5] > 1.2 and weekly[6] < 0.85  # Saturday busy, Sunday quiet, as simulated
    assert sc.shoppers.sessions_per_day == pytest.approx(500 * np.mean([1.0, 0.9, 0.9, 1.0, 1.1, 1.4, 0.7]), rel=0.1)
    text = (tmp_path / "fidelity.md").read_text()
    assert "## Daily arrivals" in text and "shoppers.arrival_weekly" in out.read_text()
