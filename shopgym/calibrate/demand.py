"""Per-SKU demand calibration: fit the world's ground-truth demand model to a sales panel.

The world's demand (``shopgym.world.demand``) is, per SKU ``i`` and day ``d``,

    mean = base_rate[i] x weekly[dow(d)] x (1 + A cos(2 pi (doy(d) - peak) / 365.25)) x (1 + trend) ** (t / 365.25)
           x (price / list_price[i]) ** elasticity,        demand ~ NegBin(mean, k = dispersion)

with ONE weekly shape, yearly cycle, trend, elasticity and dispersion per scenario and one base rate per
SKU. So a per-SKU panel maps onto a scenario like this: the shape parameters are pooled across SKUs
(one maximum-likelihood fit over the whole panel), and each SKU keeps its own base rate, written as the
explicit list ``[catalog] base_rates`` (and its own list price as ``[catalog] prices`` when the data have
prices). Why the ground-truth model and not a learned forecaster: every fitted number has a meaning and a
source the user can read and edit, what the data cannot identify is visible, and the scenario simulates
at the world's full speed without a pickled model next to it.

The fit: a Poisson quasi-likelihood over every observed SKU-period, with each SKU's level profiled out
(given the shape, the best level of a SKU is its total over the total of its shape), maximised by L-BFGS;
each SKU's base rate is then its sales over its shape in its last ``LEVEL_DAYS`` days (its own drift), and
the negative-binomial shape ``k`` is fitted by maximum likelihood given those means on those days, per SKU,
the scenario taking the median (``DISPERSION_POOLING``). With two years of history the yearly shape is a
52-block week-of-year profile written as ``demand.holidays`` entries; with one to two years a cosine. Weekly data (each row is
the 7 days ending on ``ds``) enter as sums of the daily model over their 7 days; the weekly-data ``k``
of a week is turned into the daily ``k`` the world draws with (a week of independent NB days with means
``m_d`` has excess variance ``sum(m_d**2) / k``).

What the data cannot identify is left at the stated default and listed in ``DemandFit.unidentified`` as
``(key, reason, default used)``: the weekly shape from weekly data, the yearly cycle and trend from less
than a year, the elasticity without price variation, the promotion rate without a promo column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special

from shopgym.calibrate.sales import SalesData
from shopgym.config import DemandConfig
from shopgym.world.calendar import day_of_week, day_of_year

DEFAULTS = DemandConfig()
#: Largest yearly amplitude the scenario accepts (``demand.yearly_amplitude`` allows up to 0.95).
MAX_AMPLITUDE = 0.95
#: Least history (days) that identifies a yearly cycle and a trend apart from it.
MIN_YEAR_DAYS = 365
#: Least history (days) that identifies a week-of-year profile (each week of the year seen at least twice).
MIN_SEASON_WEEKS_DAYS = 730
#: Week-of-year blocks of the profile: block b covers days of year 1 + 7b .. 7 + 7b, the last one 358 .. 366.
N_BLOCKS = 52
#: Ridge penalty (per block, on the log multipliers) that keeps blocks seen in few periods near 1.
BLOCK_RIDGE = 1e-3
#: Days of recent sales each SKU's base rate is fitted on (the pooled shape uses all the history).
LEVEL_DAYS = 364
#: How the SKUs' over-dispersion becomes the scenario's one ``dispersion``: ``"median"`` of each SKU's ML k, or
#: ``"pooled"`` (one ML k over all SKU-periods, which the noisiest SKUs dominate).
DISPERSION_POOLING = "median"
#: Least share of SKU-periods priced at least 1% away from their list price that identifies an elasticity.
MIN_PRICE_VARIATION = 0.02


@dataclass
class DemandFit:
    """A fitted demand model, ready to be written as a scenario's ``[catalog]`` and ``[demand]``.

    Attributes:
        sku_ids: the series, in catalog order.
        base_rates: mean demand per SKU on ``start_date`` before weekday and price effects (units/day).
        list_prices: list price per SKU (currency/unit), or ``None`` when the data have no prices.
        weekly: Monday..Sunday multipliers, mean 1.
        yearly_amplitude, yearly_peak_day, trend, elasticity, dispersion: as ``[demand]`` keys.
        promo_prob, promo_discount: promotion rate and depth (``[demand]`` keys) where a promo column allows.
        promo_uplift: the fitted demand multiplier on promotion days minus 1, beyond the price effect (the world
            has no key for it: reported, not written), or ``None``.
        start_date: the first day after the data (the scenario's ``env.start_date``; the trend counts from it).
        step_days: 1 (daily data) or 7 (weekly data).
        n_obs: SKU-periods fitted on.
        unidentified: ``(key, reason, default used)`` for every key the data could not identify.
        sources: key -> how it was estimated, for the scenario header.
    """

    sku_ids: list[str]
    base_rates: np.ndarray
    list_prices: np.ndarray | None
    weekly: list[float]
    yearly_amplitude: float
    yearly_peak_day: int
    trend: float
    elasticity: float
    dispersion: float
    promo_prob: float
    promo_discount: float
    promo_uplift: float | None
    start_date: str
    step_days: int
    n_obs: int
    holidays: list = field(default_factory=list)
    unidentified: list[tuple[str, str, object]] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    def demand_section(self) -> dict:
        """The ``[demand]`` table (ground truth)."""
        return {
            "base_rate": float(np.median(self.base_rates)),
            "weekly": [round(float(w), 4) for w in self.weekly],
            "yearly_amplitude": round(self.yearly_amplitude, 4),
            "yearly_peak_day": int(self.yearly_peak_day),
            "trend": round(self.trend, 4),
            "promo_prob": round(self.promo_prob, 4),
            "promo_discount": round(self.promo_discount, 4),
            "elasticity": round(self.elasticity, 4),
            "dispersion": round(self.dispersion, 4),
            "holidays": self.holidays,
        }


@dataclass
class _Panel:
    """The sales as arrays: ``y (n, T)`` with NaN where a SKU has no row, and the days each period covers."""

    ids: list[str]
    y: np.ndarray
    days: np.ndarray  # (T, step) datetime64[D]: the days of each period
    log_rel_price: np.ndarray | None  # (n, T) log(price / list price)
    promo: np.ndarray | None  # (n, T) 0/1
    list_prices: np.ndarray | None


def _panel(data: SalesData) -> _Panel:
    df = data.frame
    wide = df.pivot(index="unique_id", columns="ds", values="y")
    dates = wide.columns.to_numpy().astype("datetime64[D]")
    days = dates[:, None] - np.arange(data.step_days)[::-1][None, :]
    ids = [str(i) for i in wide.index]
    rel = promo = prices = None
    if "price" in df.columns:
        p = df.pivot(index="unique_id", columns="ds", values="price").reindex(index=wide.index, columns=wide.columns)
        prices = np.nanmedian(p.to_numpy(float), axis=1)
        rel = np.log(p.to_numpy(float) / prices[:, None])
    if "promo" in df.columns:
        promo = df.pivot(index="unique_id", columns="ds", values="promo").reindex(index=wide.index, columns=wide.columns)
        promo = promo.to_numpy(float)
    return _Panel(ids, wide.to_numpy(float), days, rel, promo, prices)


class _Model:
    """The shape ``g[i, t]`` of every SKU-period as a function of the pooled parameter vector.

    Parameters: ``v`` (6 log weekday multipliers, Monday fixed at 0; daily data only), ``z`` and ``phi`` (yearly
    amplitude ``0.95 sigmoid(z)`` and phase), ``tau`` (log(1 + trend)), ``e`` (elasticity), ``u`` (log promo
    uplift); each present only where identified.
    """

    def __init__(self, panel: _Panel, weekly: bool, yearly: bool, trend: bool, price: bool, promo: bool,
                 blocks: bool = False):
        self.panel, self.flags = panel, {"weekly": weekly, "yearly": yearly, "blocks": blocks, "trend": trend,
                                         "price": price, "promo": promo}
        d = panel.days
        self.dow = day_of_week(d)
        self.theta = 2 * np.pi * day_of_year(d) / 365.25
        self.block = np.minimum((day_of_year(d) - 1) // 7, N_BLOCKS - 1)
        self.t0 = d.min()
        self.years = (d - self.t0).astype(float) / 365.25
        self.obs = np.isfinite(panel.y)
        self.y = np.where(self.obs, panel.y, 0.0)
        self.totals = self.y.sum(1)
        sizes = {"weekly": 6, "yearly": 2, "blocks": N_BLOCKS - 1, "trend": 1, "price": 1, "promo": 1}
        self.slices, start = {}, 0
        for name, on in self.flags.items():
            if on:
                self.slices[name] = slice(start, start + sizes[name])
                start += sizes[name]
        self.n_params = start

    def unpack(self, x: np.ndarray) -> dict:
        s = self.slices
        v = np.concatenate([[0.0], x[s["weekly"]]]) if "weekly" in s else np.zeros(7)
        z, phi = x[s["yearly"]] if "yearly" in s else (-np.inf, 0.0)
        blocks = np.concatenate([[0.0], x[s["blocks"]]]) if "blocks" in s else np.zeros(N_BLOCKS)
        return {"w": np.exp(v), "blocks": np.exp(blocks), "amp": MAX_AMPLITUDE * special.expit(z), "phi": phi,
                "tau": x[s["trend"]][0] if "trend" in s else 0.0,
                "e": x[s["price"]][0] if "price" in s else 0.0, "u": x[s["promo"]][0] if "promo" in s else 0.0}

    def daily_shape(self, p: dict) -> np.ndarray:
        """The calendar shape of each day of each period, ``(T, step)``."""
        return (p["w"][self.dow] * (1 + p["amp"] * np.cos(self.theta - p["phi"])) * p["blocks"][self.block]
                * np.exp(p["tau"] * self.years))

    def shape(self, x: np.ndarray) -> np.ndarray:
        """``g[i, t]``: calendar shape summed over the period's days x price and promo effects, ``(n, T)``."""
        p = self.unpack(x)
        g = np.broadcast_to(self.daily_shape(p).sum(1), self.y.shape)
        if "price" in self.slices:
            g = g * np.exp(p["e"] * np.nan_to_num(self.panel.log_rel_price))
        if "promo" in self.slices:
            g = g * np.exp(p["u"] * np.nan_to_num(self.panel.promo))
        return g

    def levels(self, g: np.ndarray) -> np.ndarray:
        """Each SKU's profiled level: its total over the total of its shape on its observed periods."""
        return self.totals / np.maximum(np.where(self.obs, g, 0.0).sum(1), 1e-300)

    def neg_loglik(self, x: np.ndarray) -> float:
        """Poisson quasi log-likelihood (levels profiled out), negated, per observation."""
        g = self.shape(x)
        ll = (self.y * np.log(np.maximum(g, 1e-300))).sum() - (self.totals * np.log(np.maximum(
            np.where(self.obs, g, 0.0).sum(1), 1e-300))).sum()
        penalty = BLOCK_RIDGE * float(np.sum(x[self.slices["blocks"]] ** 2)) if "blocks" in self.slices else 0.0
        return float(-ll / self.totals.sum()) + penalty

    def fit(self) -> np.ndarray:
        """The best parameters: L-BFGS from a few yearly phases, keeping the best."""
        if self.n_params == 0:
            return np.zeros(0)
        starts = []
        for phi in (np.linspace(0, 2 * np.pi, 4, endpoint=False) if "yearly" in self.slices else [0.0]):
            x0 = np.zeros(self.n_params)
            if "yearly" in self.slices:
                x0[self.slices["yearly"]] = (-1.0, phi)
            if "price" in self.slices:
                x0[self.slices["price"]] = -1.0
            starts.append(x0)
        bounds = [(None, None)] * self.n_params
        if "trend" in self.slices:
            bounds[self.slices["trend"].start] = (np.log(0.1), np.log(11.0))
        if "price" in self.slices:
            bounds[self.slices["price"].start] = (-10.0, 0.0)
        if "yearly" in self.slices:
            bounds[self.slices["yearly"].start] = (-12.0, 12.0)
        best = min((optimize.minimize(self.neg_loglik, x0, method="L-BFGS-B", bounds=bounds) for x0 in starts),
                   key=lambda r: r.fun)
        return best.x


def _nb_k(y: np.ndarray, mean: np.ndarray) -> float:
    """Maximum-likelihood negative-binomial shape ``k`` given the means (``inf`` when Poisson fits best)."""
    y, mean = y.ravel(), np.maximum(mean.ravel(), 1e-9)

    def nll(logk: float) -> float:
        k = np.exp(logk)
        return -float(np.sum(special.gammaln(y + k) - special.gammaln(k) - special.gammaln(y + 1)
                             + k * np.log(k / (k + mean)) + y * np.log(mean / (k + mean))))

    res = optimize.minimize_scalar(nll, bounds=(np.log(1e-3), np.log(1e6)), method="bounded")
    return float(np.exp(res.x)) if res.x < np.log(1e6) - 1e-3 else float("inf")


def fit_demand(data: SalesData, seasonality: str = "auto", level_days: int | None = LEVEL_DAYS) -> DemandFit:
    """Fit the scenario's demand to ``data`` (see the module docstring). Pure: no file is read or written.

    Args:
        data: the sales.
        seasonality: the yearly shape: ``"auto"`` (a week-of-year profile from two years of history, a cosine from
            one, none from less), ``"weeks"``, ``"cosine"`` or ``"none"``.
        level_days: each SKU's base rate is fitted on its last ``level_days`` days (``None``: on all of them);
            the pooled shape always uses all.
    """
    if seasonality not in ("auto", "weeks", "cosine", "none"):
        raise ValueError(f"seasonality must be 'auto', 'weeks', 'cosine' or 'none', got {seasonality!r}.")
    panel = _panel(data)
    span = int((panel.days.max() - panel.days.min()).astype(int)) + 1
    unidentified: list[tuple[str, str, object]] = []
    sources: dict[str, str] = {}
    daily = data.step_days == 1
    if not daily:
        unidentified.append(("demand.weekly", "weekly sales do not show how a week splits into days", DEFAULTS.weekly))
    blocks = span >= MIN_SEASON_WEEKS_DAYS if seasonality == "auto" else seasonality == "weeks"
    year = span >= MIN_YEAR_DAYS and not blocks and seasonality != "none"
    trend = span >= MIN_YEAR_DAYS
    if blocks:
        unidentified.append(("demand.yearly_amplitude", "the week-of-year profile (demand.holidays) carries the "
                             "yearly shape", 0.0))
    elif not trend:
        unidentified.append(("demand.yearly_amplitude", f"{span} days of history, less than a year",
                             DEFAULTS.yearly_amplitude))
        unidentified.append(("demand.yearly_peak_day", f"{span} days of history, less than a year",
                             DEFAULTS.yearly_peak_day))
        unidentified.append(("demand.trend", f"{span} days of history: a trend cannot be told from a yearly cycle "
                             "in less than a year", DEFAULTS.trend))
    price = False
    if panel.log_rel_price is None:
        unidentified.append(("demand.elasticity", "no price column", DEFAULTS.elasticity))
    else:
        varied = np.nanmean(np.abs(panel.log_rel_price) > 0.01)
        price = bool(varied >= MIN_PRICE_VARIATION)
        if not price:
            unidentified.append(("demand.elasticity", f"prices vary on {varied:.1%} of SKU-periods (at least "
                                 f"{MIN_PRICE_VARIATION:.0%} needed): constant prices identify no elasticity",
                                 DEFAULTS.elasticity))
    promo = panel.promo is not None and 0 < np.nanmean(panel.promo) < 1
    cuts = price and panel.promo is None  # no promo column: price cuts below list are the promotions
    if not promo and not cuts:
        unidentified.append(("demand.promo_prob", "no promo column and no price cuts" if panel.promo is None
                             else "the promo column never varies", DEFAULTS.promo_prob))
    model = _Model(panel, weekly=daily, yearly=year, trend=trend, price=price, promo=promo, blocks=blocks)
    x = model.fit()
    p = model.unpack(x)
    g = model.shape(x)
    level = model.levels(g)
    if level_days and span > level_days:  # each SKU's level from its recent sales (its own drift)
        recent = (panel.days[:, -1] > panel.days.max() - level_days)[None, :] & model.obs
        level = np.where(recent, model.y, 0).sum(1) / np.maximum(np.where(recent, g, 0).sum(1), 1e-300)
    mean = level[:, None] * g
    # k of the period sums on the periods the levels are fitted on (older ones carry each SKU's drift, which the
    # pooled trend does not follow), turned into the daily k: Var(week) - mean = sum(m_d^2) / k_day.
    window = recent if level_days and span > level_days else model.obs
    if DISPERSION_POOLING == "median":  # the typical SKU's k: one very erratic SKU does not widen every band
        k_each = np.array([_nb_k(model.y[i, window[i]], mean[i, window[i]]) for i in range(len(level))])
        k_period = float(np.median(np.minimum(k_each, 1e12)))
        k_period = k_period if k_period < 1e12 else float("inf")
    else:
        k_period = _nb_k(model.y[window], mean[window])
    day_shape = model.daily_shape(p)
    concentration = float(np.mean(day_shape.sum(1) ** 2 / (day_shape ** 2).sum(1)))  # 1 (daily) .. 7 (flat week)
    k_day = k_period / concentration
    w = p["w"] / p["w"].mean()
    start = panel.days.max() + 1
    years_to_start = float((start - model.t0).astype(int)) / 365.25
    # level x weekday mean x trend to the start date: the world's base rate (its weekly shape has mean 1).
    base = level * p["w"].mean() * np.exp(p["tau"] * years_to_start)
    holidays: list[list] = []
    if blocks:  # the week-of-year profile as [day_of_year, days, uplift] entries, mean 1 over a year
        days_in = np.diff(np.r_[1 + 7 * np.arange(N_BLOCKS), 367])
        norm = float(np.sum(p["blocks"] * days_in) / days_in.sum())
        base = base * norm
        holidays = [[int(1 + 7 * b), int(days_in[b]), round(float(p["blocks"][b] / norm - 1), 4)] for b in range(N_BLOCKS)]
        sources["demand.holidays"] = (f"{N_BLOCKS} week-of-year multipliers (pooled Poisson fit, ridge {BLOCK_RIDGE:g}), "
                                      "written as [day_of_year, days, uplift] entries")
    peak = int(np.round((p["phi"] % (2 * np.pi)) * 365.25 / (2 * np.pi))) % 366 or 366
    prob = float(np.nanmean(panel.promo)) if promo else DEFAULTS.promo_prob
    discount = DEFAULTS.promo_discount
    if promo and panel.log_rel_price is not None:
        on = panel.promo > 0.5
        discount = float(np.clip(1 - np.nanmedian(np.exp(panel.log_rel_price[on])), 0.0, 0.9))
        sources["demand.promo_discount"] = "median price cut on promo periods"
    elif cuts:
        below = panel.log_rel_price < -0.01
        prob = float(np.nanmean(below))
        discount = float(np.clip(1 - np.nanmedian(np.exp(panel.log_rel_price[below])), 0.0, 0.9))
        sources["demand.promo_prob"] = "share of SKU-periods priced more than 1% below list (no promo column)"
        sources["demand.promo_discount"] = "median price cut on those periods"
    elif promo:
        unidentified.append(("demand.promo_discount", "promo column but no prices: the depth of a promotion is "
                             "unknown", DEFAULTS.promo_discount))
    sources.update({
        "catalog.base_rates": "each SKU's total over its fitted shape" + (f" in its last {level_days} days" if level_days
                              and span > level_days else "") + ", carried to start_date by the trend (units/day)",
        "demand.dispersion": f"NB maximum likelihood on {data.freq} sales given the fitted means"
                             + (f" (last {level_days} days)" if level_days and span > level_days else "")
                             + ("" if daily else f", k of a week / {concentration:.2f} for the daily k"),
    })
    if daily:
        sources["demand.weekly"] = "pooled Poisson fit, Monday..Sunday, rescaled to mean 1"
    if year:
        sources["demand.yearly_amplitude"] = sources["demand.yearly_peak_day"] = "pooled Poisson fit, cosine cycle"
    if trend:
        sources["demand.trend"] = "pooled Poisson fit, growth per year"
    if price:
        sources["demand.elasticity"] = "pooled Poisson fit on log(price / list price), list price = median price"
    if promo:
        sources["demand.promo_prob"] = "share of SKU-periods flagged promo"
    return DemandFit(
        sku_ids=panel.ids, base_rates=base, list_prices=panel.list_prices, weekly=list(w),
        yearly_amplitude=float(p["amp"]) if year else DEFAULTS.yearly_amplitude,
        yearly_peak_day=peak if year else DEFAULTS.yearly_peak_day,
        trend=float(np.expm1(p["tau"])) if trend else DEFAULTS.trend, holidays=holidays,
        elasticity=float(p["e"]) if price else DEFAULTS.elasticity,
        dispersion=0.0 if not np.isfinite(k_day) else max(k_day, 1e-3),
        promo_prob=prob, promo_discount=discount,
        promo_uplift=float(np.expm1(p["u"])) if promo else None,
        start_date=str(start), step_days=data.step_days, n_obs=int(model.obs.sum()),
        unidentified=unidentified, sources=sources,
    )


def weekly_totals(frame: pd.DataFrame, step_days: int, end: pd.Timestamp) -> pd.DataFrame:
    """Sales per SKU and week, weeks ending on ``end`` and every 7 days before it (wide: SKUs x weeks).

    Daily rows are summed into their week; weekly rows are their own week.
    """
    df = frame[["unique_id", "ds", "y"]].copy()
    if step_days == 1:
        lag = ((end - df["ds"]).dt.days // 7)
        df["ds"] = end - pd.to_timedelta(lag * 7, unit="D")
        df = df.groupby(["unique_id", "ds"], as_index=False)["y"].sum()
    return df.pivot(index="unique_id", columns="ds", values="y")
