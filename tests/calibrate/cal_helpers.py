"""Sales simulated by the World from a known scenario, as the long frame ``shopgym calibrate`` reads."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from shopgym.config import load_scenario
from shopgym.world.world import World

ROOT = Path(__file__).resolve().parents[2]

#: The scenario the recovery tests fit: every shape parameter away from its default.
TRUTH = dict(n_skus=6, base_rate=8.0, base_rate_spread=0.5, weekly=[1.0, 1.0, 1.0, 1.0, 1.2, 1.6, 0.8],
             yearly_amplitude=0.3, yearly_peak_day=200, trend=0.1, dispersion=4.0, promo_prob=0.2,
             promo_discount=0.3, elasticity=-2.0, start_date="2022-01-03", initial_stock=0)


def data_root() -> Path:
    """``$SHOPGYM_DATA`` or ``../shared/data`` relative to the repository root."""
    return Path(os.environ.get("SHOPGYM_DATA", ROOT.parent / "shared" / "data"))


def simulate_sales(days: int, seed: int = 3, **overrides) -> tuple[pd.DataFrame, World]:
    """Daily demand of ``TRUTH`` (with ``overrides``) over ``days`` days in one world: ``unique_id, ds, y, price``."""
    sc = load_scenario("steady").replace(**{**TRUTH, "horizon": days, **overrides})
    world = World(sc, n_worlds=1)
    world.reset([seed])
    n = sc.catalog.n_skus
    none = np.zeros((1, n), dtype=np.int64)
    y = np.empty((days, n))
    price = np.empty((days, n))
    for d in range(days):  # one step per day for all SKUs
        price[d] = world.price_on(d)[0]
        y[d] = world.step(none).demand[0]
    ids = np.array([f"sku{i}" for i in range(n)])
    frame = pd.DataFrame({"unique_id": np.repeat(ids, days), "ds": np.tile(world.dates[:days], n),
                          "y": y.T.ravel(), "price": price.T.ravel()})
    return frame, world


def to_weekly(frame: pd.DataFrame) -> pd.DataFrame:
    """Daily rows summed into weeks ending on the frame's last date (whole weeks only)."""
    end = frame["ds"].max()
    lag = (end - frame["ds"]).dt.days // 7
    out = frame.assign(ds=end - pd.to_timedelta(lag * 7, unit="D"))
    full = out.groupby(["unique_id", "ds"])["y"].transform("size") == 7
    return out[full].groupby(["unique_id", "ds"], as_index=False)["y"].sum()
