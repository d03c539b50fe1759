"""Daily arrivals: the world's calendar multipliers and count draw, and the fit on transaction counts."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopgym.calibrate.arrivals import fit_arrivals, read_holidays, read_transactions
from shopgym.config import Scenario, load_scenario
from shopgym.errors import DataError, ScenarioError
from shopgym.world.arrivals import arrival_profile, draw_count, payday_mask, session_means
from shopgym.world.sessions import Decisions
from shopgym.world.world import World, spawn_streams

REPO = Path(__file__).resolve().parents[2]


def favorita() -> Path:
    path = Path(os.environ.get("SHOPGYM_DATA", REPO.parent / "shared" / "data")) / "favorita"
    if not (path / "transactions.csv").is_file():
        pytest.skip(f"Favorita data not found under {path}; set SHOPGYM_DATA to the shared data directory.")
    return path


def _sessions(scenario, seed: int, days: int) -> list[np.ndarray]:
    world = World(scenario, 1, engine="numpy")
    world.reset([seed])
    out = []
    for _ in range(days):
        out.append(world.sessions_today().shopper.copy())
        world.step(Decisions(orders=np.zeros((1, world.catalog.n_skus), dtype=np.int64)))
    return out


def _small(**keys):
    base = dict(n_skus=4, n_categories=2, horizon=12, simulate_sessions=True, sessions_per_day=25.0, n_shoppers=50)
    return load_scenario("steady", **{**base, **keys})


def test_default_keys_leave_the_session_draws_unchanged():
    """With the arrival keys at their defaults the world draws exactly what it drew before they existed: per day one
    Poisson count with mean sessions_per_day, then that many uniform shoppers, from the shoppers stream."""
    got = _sessions(_small(), seed=5, days=12)
    rng = spawn_streams(5)["shoppers"]
    for day in got:
        count = rng.poisson(25.0)
        np.testing.assert_array_equal(day, rng.integers(0, 50, count))
    # neutral values written out (weekly rescaled to mean 1) are the defaults
    same = _sessions(_small(arrival_weekly=[3.0] * 7, arrival_payday_uplift=0.0, arrival_dispersion=0.0), 5, 12)
    assert all(np.array_equal(a, b) for a, b in zip(got, same, strict=True))


def test_the_world_uses_the_weekly_profile():
    # 2024-01-01 is a Monday: all sessions on Sundays (days 6 and 13 .. of the episode)
    days = _sessions(_small(arrival_weekly=[0, 0, 0, 0, 0, 0, 1.0]), seed=1, days=12)
    counts = np.array([len(d) for d in days])
    assert (counts[np.arange(12) != 6] == 0).all() and counts[6] > 100  # mean 7 x 25 on the Sunday


def test_profile_paydays_and_holidays():
    d = np.array(["2024-01-01", "2024-01-14", "2024-01-15", "2024-01-16", "2024-01-17", "2024-01-31", "2024-02-29",
                  "2023-02-28", "2023-03-01"], dtype="datetime64[D]")
    assert payday_mask(d).tolist() == [True, False, True, True, False, True, True, True, True]
    cfg = Scenario().replace(arrival_weekly=[1, 1, 1, 1, 1, 2, 2], arrival_payday_uplift=0.5,
                             arrival_holidays=[[3, 2, 1.0]], sessions_per_day=10.0).shoppers
    m = arrival_profile(cfg, "2024-01-01", 14)
    w = np.array([1, 1, 1, 1, 1, 2, 2]) / (9 / 7)
    expect = w[np.arange(14) % 7] * np.where(np.arange(14) == 0, 1.5, 1.0) * np.where(np.isin(np.arange(14), [2, 3]), 2.0, 1.0)
    np.testing.assert_allclose(m, expect)
    np.testing.assert_allclose(session_means(cfg, "2024-01-01", 14), 10 * expect)


def test_negative_binomial_count():
    rng = np.random.default_rng(0)
    x = np.array([draw_count(rng, 50.0, 5.0) for _ in range(6000)])
    assert x.mean() == pytest.approx(50, rel=0.03)
    assert x.var() == pytest.approx(50 + 50**2 / 5, rel=0.1)
    y = np.array([draw_count(rng, 50.0) for _ in range(6000)])
    assert y.var() == pytest.approx(50, rel=0.1)


def test_bad_arrival_keys_are_refused():
    with pytest.raises(ScenarioError, match="arrival_weekly"):
        Scenario().replace(arrival_weekly=[1, 1, 1])
    with pytest.raises(ScenarioError, match=r"arrival_holidays\[0\]"):
        Scenario().replace(arrival_holidays=[[400, 1, 0.1]])
    with pytest.raises(ScenarioError, match="arrival_dispersion"):
        Scenario().replace(arrival_dispersion=-1.0)


def _simulate(seed=0, k=40.0):
    """Three stores, three years of daily counts from known weekly, payday, holiday and dispersion values."""
    rng = np.random.default_rng(seed)
    weekly = [0.9, 0.95, 0.95, 0.9, 1.0, 1.25, 1.05]
    cfg = Scenario().replace(arrival_weekly=weekly, arrival_payday_uplift=0.08,
                             arrival_holidays=[[100, 1, 0.5], [300, 1, -0.3]], sessions_per_day=1.0).shoppers
    n = 3 * 365
    m = arrival_profile(cfg, "2015-01-01", n) * (1 + 0.1 * np.arange(n) / 365)  # with a trend
    dates = pd.date_range("2015-01-01", periods=n, freq="D")
    rows = []
    for store, level in ((1, 800.0), (2, 1500.0), (3, 3000.0)):
        lam = level * m * rng.gamma(k, 1 / k, n)
        rows.append(pd.DataFrame({"date": dates, "store": store, "transactions": rng.poisson(lam).astype(float)}))
    hol = pd.DataFrame({"date": [d for d in dates if d.day_of_year in (100, 300)]})
    hol["name"] = np.where(hol["date"].dt.day_of_year == 100, "spring", "autumn")
    return pd.concat(rows, ignore_index=True), hol, np.array(weekly) / np.mean(weekly)


def test_parameter_recovery():
    frame, hol, weekly = _simulate()
    fit = fit_arrivals(frame, hol)
    np.testing.assert_allclose(fit.weekly, weekly, atol=0.03)
    assert fit.payday_uplift == pytest.approx(0.08, abs=0.025)
    got = {d: u for d, _, u in fit.holidays}
    assert set(got) == {100, 300}
    assert got[100] == pytest.approx(0.5, abs=0.12) and got[300] == pytest.approx(-0.3, abs=0.1)
    assert fit.dispersion == pytest.approx(40, rel=0.3)
    assert fit.n_stores == 3 and fit.n_days == 3 * 365
    assert all(0 < se < 0.05 for se in fit.weekly_se)
    keys = fit.to_shoppers_config(sessions_per_day=100.0)
    s = Scenario().replace(**keys).shoppers  # valid scenario keys
    assert s.sessions_per_day == 100.0 and s.arrival_dispersion == pytest.approx(fit.dispersion, rel=1e-3)


def test_no_excess_variance_is_poisson():
    frame, hol, _ = _simulate(seed=1, k=1e9)
    assert fit_arrivals(frame, hol).dispersion == 0.0 or fit_arrivals(frame, hol).dispersion > 500


@pytest.mark.parametrize("content,match", [
    (None, "does not exist"),
    ("", "empty"),
    ("day,count\n2024-01-01,5\n", "lacks column"),
    ("date,transactions\n2024-01-01,five\n", "non-numeric"),
    ("date,transactions\n2024-01-01,-3\n", "negative"),
    ("date,transactions\n2024-13-45,3\n", "not a date"),
    ("date,store_nbr,transactions\n2024-01-01,1,3\n2024-01-01,1,4\n", "twice"),
])
def test_bad_transaction_files_give_one_line_errors(tmp_path, content, match):
    path = tmp_path / "tx.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=match) as err:
        read_transactions(path)
    assert "\n" not in str(err.value)


def test_unknown_store_and_too_little_history(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("date,store_nbr,transactions\n" + "".join(f"2024-01-{d:02d},1,{100 + d}\n" for d in range(1, 20)))
    with pytest.raises(DataError, match="no store 7"):
        read_transactions(path, store=7)
    with pytest.raises(DataError, match="at least 28 days"):
        fit_arrivals(read_transactions(path, store=1))


def test_favorita_fit_and_the_recommend_scenarios_carry_it():
    fav = favorita()
    fit = fit_arrivals(read_transactions(fav / "transactions.csv"), read_holidays(fav / "holidays_events.csv"))
    assert fit.n_stores == 54 and np.argmax(fit.weekly) == 5  # Saturday is the busiest day
    assert fit.payday_uplift > 3 * fit.payday_uplift_se > 0
    assert any(d in (357, 358) and u > 0.3 for d, _, u in fit.holidays)  # the days before Christmas
    keys = fit.to_shoppers_config()
    for name in ("recommend", "recommend-memory"):
        s = load_scenario(name).shoppers
        for key in ("arrival_weekly", "arrival_payday_uplift", "arrival_holidays", "arrival_dispersion"):
            assert getattr(s, key) == keys[key], (name, key)
