"""How well a calibrated scenario reproduces data it was not fitted on (the figures of ``fidelity.md``).

Sales: the last ``holdout_weeks`` weeks are held out in time; the demand is calibrated on the rest
(``shopgym.calibrate.demand``), the calibrated scenario is simulated over the held-out days in many worlds at
once (``shopgym.plugins.build_world(scenario, n_worlds=seeds)``, one seed per world, demand uncensored), and
each SKU's real weekly sales are compared with the simulated weekly sales:

- MASE of the simulated median, per SKU and for the total over SKUs, each scaled by the in-sample MAE of the
  52-week seasonal naive forecast on the calibration weeks (the M4/M5 scale, ``forecasters.metrics``); the
  seasonal-naive forecast of the same held-out weeks (the value 52 weeks earlier) is scored on the same scale
  as the reference (1 season back: ``forecasters.models.naive.SeasonalNaive``'s rule);
- coverage: the share of real SKU-weeks (and of real total weeks) inside the simulated 10%-90% band.

Arrivals (``--transactions``): held-out daily transaction counts vs the simulated daily session counts of the
fitted ``[shoppers]`` arrival keys (MASE with a 7-day seasonal-naive scale, coverage of the 80% band).
Funnel (``--logs``): the real funnel ratios with their 95% intervals vs those of logs generated in the
calibrated world (``forecasters.conversion.logs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopgym.calibrate.demand import DemandFit, fit_demand, weekly_totals
from shopgym.calibrate.sales import SalesData, split_holdout
from shopgym.calibrate.writer import Calibration, render

#: Weeks of seasonal-naive lag for weekly sales.
SEASON_WEEKS = 52
QUANTILES = (0.1, 0.5, 0.9)


@dataclass
class SalesFidelity:
    """Held-out weekly sales, real vs simulated.

    Attributes:
        sku_ids: SKUs (rows of the arrays).
        weeks: end date of each held-out week.
        real: real weekly sales, ``(n_skus, n_weeks)`` units.
        band: simulated weekly sales quantiles 10/50/90%, ``(3, n_skus, n_weeks)`` units.
        total_band: the same for the total over SKUs, ``(3, n_weeks)``.
        naive: the seasonal-naive forecast of each held-out week, ``(n_skus, n_weeks)``.
        scale: each SKU's in-sample seasonal-naive MAE (units/week); ``total_scale`` the total's.
        n_seeds: simulated worlds.
        fit: the demand fit on the calibration weeks.
    """

    sku_ids: list[str]
    weeks: list[pd.Timestamp]
    real: np.ndarray
    band: np.ndarray
    total_band: np.ndarray
    naive: np.ndarray
    scale: np.ndarray
    total_scale: float
    n_seeds: int
    fit: DemandFit
    naive_rule: str = f"value {SEASON_WEEKS} weeks earlier"

    @property
    def mase_sku(self) -> np.ndarray:
        return np.mean(np.abs(self.real - self.band[1]), axis=1) / self.scale

    @property
    def naive_mase_sku(self) -> np.ndarray:
        return np.mean(np.abs(self.real - self.naive), axis=1) / self.scale

    @property
    def mase_total(self) -> float:
        return float(np.mean(np.abs(self.real.sum(0) - self.total_band[1])) / self.total_scale)

    @property
    def naive_mase_total(self) -> float:
        return float(np.mean(np.abs(self.real.sum(0) - self.naive.sum(0))) / self.total_scale)

    @property
    def coverage(self) -> float:
        """Share of real SKU-weeks inside the simulated 80% band."""
        return float(np.mean((self.real >= self.band[0]) & (self.real <= self.band[2])))

    @property
    def coverage_total(self) -> float:
        """Share of real total weeks inside the simulated 80% band of the total."""
        total = self.real.sum(0)
        return float(np.mean((total >= self.total_band[0]) & (total <= self.total_band[2])))


@dataclass
class CountFidelity:
    """Held-out daily counts (transactions), real vs simulated sessions, per store-day: ``real (n,)``, ``band (3, n)``,
    ``naive (n,)`` (the count 7 days before), ``scale (n,)`` (the store's in-sample 7-day seasonal-naive MAE), in
    transactions (sessions) per day; store-days of one store after another."""

    days: list[pd.Timestamp]
    real: np.ndarray
    band: np.ndarray
    naive: np.ndarray
    scale: np.ndarray
    n_seeds: int
    n_stores: int = 1

    @property
    def mase(self) -> float:
        return float(np.mean(np.abs(self.real - self.band[1]) / self.scale))

    @property
    def naive_mase(self) -> float:
        return float(np.mean(np.abs(self.real - self.naive) / self.scale))

    @property
    def coverage(self) -> float:
        return float(np.mean((self.real >= self.band[0]) & (self.real <= self.band[2])))


@dataclass
class Fidelity:
    """Every fidelity figure of one calibration (sales always; arrivals and funnel where data were given)."""

    holdout_weeks: int
    sales: SalesFidelity
    arrivals: CountFidelity | None = None
    funnel: pd.DataFrame | None = None  # rows: ratio; columns real, real_lo, real_hi, sim, sim_lo, sim_hi
    notes: list[str] = field(default_factory=list)


def simulate_demand(scenario, n_seeds: int, progress: bool = False) -> np.ndarray:
    """Daily demand of ``scenario`` over its horizon in ``n_seeds`` worlds (seeds 0..n-1): ``(days, seeds, skus)``.

    Demand is the world's uncensored demand (``DayOutcome.demand``), so stock and orders do not matter; the
    worlds step with no orders, on the numpy engine (the engines give the same worlds; this one starts without
    compiling).
    """
    from tqdm.auto import tqdm

    from shopgym.plugins import build_world

    world = build_world(scenario, n_worlds=n_seeds, engine="numpy")  # no compile wait; only demand is read
    world.reset(list(range(n_seeds)))
    none = np.zeros((n_seeds, world.catalog.n_skus), dtype=np.int64)
    out = np.empty((world.horizon, n_seeds, world.catalog.n_skus), dtype=np.int64)
    for d in tqdm(range(world.horizon), desc="simulate", unit="day", disable=not progress):
        out[d] = world.step(none).demand
    return out


def _scale(history: np.ndarray, m: int) -> np.ndarray:
    """In-sample MAE of the lag-``m`` naive forecast per row of ``history`` (lag 1 if too short; NaN ignored)."""
    out = np.empty(history.shape[0])
    for i, y in enumerate(history):  # one row per SKU, not per item-day: a handful of rows
        y = y[np.isfinite(y)]
        lag = m if len(y) > m else 1
        s = float(np.mean(np.abs(y[lag:] - y[:-lag]))) if len(y) > lag else 0.0
        out[i] = s if s > 0 else (float(np.mean(np.abs(y))) or 1.0)
    return out


def sales_fidelity(data: SalesData, holdout_weeks: int, n_seeds: int, unit_price: float = 10.0,
                   progress: bool = False) -> SalesFidelity:
    """Calibrate on all but the last ``holdout_weeks`` weeks and score the simulated held-out weeks."""
    train, test = split_holdout(data, holdout_weeks)
    fit = fit_demand(train)
    _, scenario = render(Calibration(demand=fit, unit_price=unit_price), "holdout", horizon=7 * holdout_weeks)
    demand = simulate_demand(scenario, n_seeds, progress)  # (days, seeds, skus)
    weekly = demand.reshape(holdout_weeks, 7, n_seeds, -1).sum(1)  # (weeks, seeds, skus)
    band = np.quantile(weekly, QUANTILES, axis=1).transpose(0, 2, 1)  # (3, skus, weeks)
    total_band = np.quantile(weekly.sum(2), QUANTILES, axis=1)
    cut = train.frame["ds"].max()
    end = data.frame["ds"].max()
    real = weekly_totals(test, data.step_days, end).reindex(index=fit.sku_ids).to_numpy(float)
    history = weekly_totals(train.frame, data.step_days, cut).reindex(index=fit.sku_ids)
    if data.step_days == 1 and train.frame["ds"].min() > history.columns[0] - pd.Timedelta(days=6):
        history = history.iloc[:, 1:]  # the first week is partial
    hist = history.to_numpy(float)
    if real.shape[1] != holdout_weeks or np.isnan(real).any():
        from shopgym.errors import DataError

        raise DataError(f"the held-out {holdout_weeks} weeks are not complete for every series (a SKU lacks rows in "
                        "them); give complete series or lower --holdout-weeks.")
    naive_rule = f"value {SEASON_WEEKS} weeks earlier"
    m = SEASON_WEEKS
    if hist.shape[1] < SEASON_WEEKS:
        m, naive_rule = 1, "last calibration week (less than 52 weeks of history)"
    idx = hist.shape[1] - m + np.arange(holdout_weeks) % m
    naive = hist[:, idx]
    total_hist = np.nansum(hist, axis=0)[None]
    return SalesFidelity(sku_ids=fit.sku_ids, weeks=[cut + pd.Timedelta(days=7 * (k + 1)) for k in range(holdout_weeks)],
                         real=real, band=band, total_band=total_band, naive=np.nan_to_num(naive),
                         scale=_scale(hist, m), total_scale=float(_scale(total_hist, m)[0]), n_seeds=n_seeds, fit=fit,
                         naive_rule=naive_rule)


def arrivals_fidelity(transactions: pd.DataFrame, holdout_weeks: int, n_seeds: int, seed: int = 0,
                      holidays=None, level_days: int = 364) -> CountFidelity:
    """Fit arrivals on all but the last ``holdout_weeks`` weeks of daily transaction counts and score each store's
    held-out days against session counts simulated from the fitted ``[shoppers]`` arrival keys.

    ``transactions`` is ``read_transactions``' frame (``date``, ``store``, ``transactions``). The calendar shape and
    the dispersion are fitted on every store together (``fit_arrivals``); each store's ``sessions_per_day`` is its
    mean daily count over its last ``level_days`` calibration days. Counts are drawn as the world draws them
    (``shopgym.world.arrivals``: Poisson, or gamma-Poisson with ``arrival_dispersion``), vectorised over stores,
    seeds and days from one seeded generator.
    """
    from shopgym.calibrate.arrivals import fit_arrivals
    from shopgym.config import ShoppersConfig
    from shopgym.world.arrivals import arrival_profile

    frame = transactions
    end = frame["date"].max()
    cut = end - pd.Timedelta(days=7 * holdout_weeks)
    train = frame[frame["date"] <= cut]
    cfg = ShoppersConfig(**fit_arrivals(train, holidays=holidays).to_shoppers_config())
    wide = frame.pivot(index="store", columns="date", values="transactions")
    wide = wide.reindex(columns=pd.date_range(wide.columns.min(), end, freq="D"))
    hist, real = wide.loc[:, :cut].to_numpy(float), wide.loc[:, cut + pd.Timedelta(days=1):].to_numpy(float)
    level = np.nanmean(hist[:, -level_days:], axis=1)
    days = list(pd.date_range(cut + pd.Timedelta(days=1), end, freq="D"))
    mean = level[:, None] * arrival_profile(cfg, str(days[0].date()), len(days))[None]  # (stores, days)
    rng = np.random.default_rng(seed)
    k = cfg.arrival_dispersion
    lam = np.nan_to_num(mean)[None] * (rng.gamma(k, 1.0 / k, size=(n_seeds, *mean.shape)) if k > 0 else 1.0)
    band = np.quantile(rng.poisson(lam), QUANTILES, axis=0)  # (3, stores, days)
    naive = hist[:, hist.shape[1] - 7 + np.arange(len(days)) % 7]
    scale = _scale(hist, 7)
    ok = np.isfinite(real) & np.isfinite(naive) & np.isfinite(level)[:, None]
    per = np.broadcast_to(scale[:, None], real.shape)[ok]
    return CountFidelity(days=days, real=real[ok], band=band[:, ok], naive=naive[ok], scale=per,
                         n_seeds=n_seeds, n_stores=int(np.isfinite(level).sum()))


def funnel_fidelity(real, shoppers: dict[str, Any], n_impressions: int = 100_000, seed: int = 0) -> pd.DataFrame:
    """Funnel ratios with 95% intervals: ``real`` (a ``FunnelRatios``) vs logs generated by the conversion-log
    generator in ``log_scenario()`` with the fitted ``[shoppers]`` keys.

    Returns one row per ratio with columns ``real, real_lo, real_hi, sim, sim_lo, sim_hi`` (NaN where a log has
    no denominator, e.g. no impressions in Taobao).
    """
    import tempfile

    from forecasters.conversion.logs import generate_logs, log_scenario, save_logs
    from shopgym.calibrate.funnel import RATIOS, funnel_ratios, read_interaction_logs

    logs = generate_logs(log_scenario(**shoppers), n_impressions=n_impressions, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:  # read back through the same reader as the user's logs
        sim = funnel_ratios(read_interaction_logs(save_logs(logs, Path(tmp) / "simulated.csv")))
    rows = {}
    for name in RATIOS:
        row = {}
        for tag, r in (("real", real.overall.get(name)), ("sim", sim.overall.get(name))):
            row.update({tag: r.value if r else np.nan, f"{tag}_lo": r.lo if r else np.nan, f"{tag}_hi": r.hi if r else np.nan})
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")
