"""Helpers shared by the forecaster tests: tiny data, model settings and the conformance check."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecasters.distribution import QUANTILES, qcol

ROOT = Path(__file__).resolve().parents[2]
WEEKLY = np.array([0.8, 0.8, 0.9, 1.0, 1.2, 1.5, 0.8])

#: Tiny, fast settings per model (a few epochs on tiny data).
TINY = {
    "seasonal_naive": {},
    "moving_average": {"window": 7},
    "ets": {},
    "ets_mult": {"seasonal": "multiplicative"},
    "svr": {"max_samples": 200},
    "cnn": {"h": 7, "hidden": 8, "epochs": 3, "progress": False},
    "lstm": {"h": 7, "hidden": 8, "epochs": 3, "progress": False},
    "transformer": {"h": 7, "hidden": 8, "heads": 2, "layers": 1, "epochs": 3, "progress": False},
    "ensemble": {"members": ["seasonal_naive", ("cnn", {"h": 7, "hidden": 8, "epochs": 2, "progress": False})]},
}


def model_name(key: str) -> str:
    return {"ets_mult": "ets"}.get(key, key)


def make_daily(n_series: int = 3, n_days: int = 84, seed: int = 0, start: str = "2023-01-02") -> pd.DataFrame:
    """Poisson demand with a weekly cycle, levels 5, 8, 11, ... units/day."""
    rng = np.random.default_rng(seed)
    d = pd.date_range(start, periods=n_days)
    parts = [pd.DataFrame({"unique_id": f"s{i}", "ds": d, "y": rng.poisson((5 + 3 * i) * WEEKLY[d.day_of_week]).astype(float)})
             for i in range(n_series)]
    return pd.concat(parts, ignore_index=True)


def data_dir() -> Path:
    """``$SHOPGYM_DATA`` or ``../shared/data`` relative to the repo root."""
    return Path(os.environ.get("SHOPGYM_DATA", ROOT.parent / "shared" / "data"))


def walmart_path() -> Path:
    p = data_dir() / "walmart" / "train.csv.zip"
    if not p.is_file():
        pytest.skip(f"Walmart data not found at {p}; set SHOPGYM_DATA to the folder holding walmart/train.csv.zip.")
    return p


def check_model(make, df: pd.DataFrame, h: int, tmp_path: Path) -> None:
    """The conformance check: output columns and shapes, ordered quantiles, non-negativity,
    save/load gives identical predictions, same seed gives the same result, sampling shapes,
    update on new rows."""
    cut = df["ds"].max() - pd.Timedelta(days=7)
    train, new = df[df["ds"] <= cut], df[df["ds"] > cut]
    model = make()
    assert model.fit(train) is model
    fc = model.predict(h)
    n = train["unique_id"].nunique()
    assert list(fc.columns) == ["unique_id", "ds", "mean", *[qcol(q) for q in QUANTILES]]
    assert len(fc) == n * h
    assert fc.groupby("unique_id").size().eq(h).all()
    first = fc.groupby("unique_id")["ds"].min()
    assert (first == cut + pd.Timedelta(days=1)).all()
    q = fc[[qcol(q) for q in QUANTILES]].to_numpy()
    assert np.isfinite(fc["mean"]).all() and np.isfinite(q).all()
    assert (np.diff(q, axis=1) >= -1e-9).all(), "quantiles must be ordered"
    assert (q >= 0).all() and (fc["mean"] >= 0).all()
    path = model.save(tmp_path / "model.pkl")
    loaded = type(model).load(path)
    pd.testing.assert_frame_equal(loaded.predict(h), fc)
    again = make().fit(train).predict(h)
    pd.testing.assert_frame_equal(again, fc)
    s = model.sample(h, n_samples=5, rng=np.random.default_rng(1))
    assert len(s) == 5 * n * h and (s["y"] >= 0).all()
    pd.testing.assert_frame_equal(s, model.sample(h, n_samples=5, rng=np.random.default_rng(1)))
    assert model.update(new) is model
    after = model.predict(h)
    assert (after.groupby("unique_id")["ds"].min() == df["ds"].max() + pd.Timedelta(days=1)).all()
