"""SVR quantiles: one series' residuals must not widen another's (the exploding-spread bug of issue 13)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fc_helpers import WEEKLY

from forecasters.registry import make

pytest.importorskip("sklearn")

DAYS = pd.date_range("2023-01-02", periods=200)


def _frame(series: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({"unique_id": k, "ds": DAYS, "y": v.astype(float)}) for k, v in series.items()])


def _width(model, uid: str) -> float:
    """Mean 80% interval width (q0.9 - q0.1) of series ``uid`` over a 3-day forecast, units/day."""
    p = model.predict(3)
    p = p[p["unique_id"] == uid]
    return float((p["q0.9"] - p["q0.1"]).mean())


def test_an_intermittent_series_does_not_widen_a_regular_one():
    rng = np.random.default_rng(0)
    wk = WEEKLY[DAYS.day_of_week]
    regular = {"a": rng.poisson(17 * wk), "b": rng.poisson(12 * wk)}
    # Mostly zero, occasional large orders: scaled residuals orders of magnitude larger than a's.
    spiky = rng.poisson(0.15, len(DAYS)) * rng.integers(1, 40, len(DAYS))
    alone = make("svr", max_samples=400).fit(_frame(regular))
    mixed = make("svr", max_samples=400).fit(_frame({**regular, "z": spiky}))
    w_alone, w_mixed = _width(alone, "a"), _width(mixed, "a")
    poisson_width = 2 * 1.2816 * np.sqrt(17 * wk.mean())  # the 80% width of the data's own noise
    assert w_mixed < 1.3 * w_alone  # before the fix: about 3.4 times wider (sd_scaled 1.71 vs 0.23)
    assert 0.5 * poisson_width < w_mixed < 2.0 * poisson_width
    assert _width(mixed, "z") > 0  # the spiky series keeps its own (wide) spread


def test_new_series_and_old_files_use_the_pooled_spread(daily):
    model = make("svr", max_samples=200).fit(daily)
    assert set(model.sd_series_) == set(daily["unique_id"]) and model.sd_scaled_ > 0
    new = daily[daily["unique_id"] == daily["unique_id"].iloc[0]].assign(unique_id="unseen")
    p_new = model.predict(2, df=new)
    width_new = float((p_new["q0.9"] - p_new["q0.1"]).mean())
    assert np.isfinite(width_new) and width_new > 0
    del model.sd_series_  # a model saved before the per-series spread
    p = model.predict(2)
    assert np.isfinite(p[["q0.1", "q0.9"]].to_numpy()).all() and (p["q0.9"] > p["q0.1"]).all()
