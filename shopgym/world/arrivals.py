"""Daily shopper arrivals: the calendar multiplier of the day's mean session count, and the count draw.

The mean number of sessions on calendar day ``t`` is ``sessions_per_day x m(t)`` with::

    m(t) = weekly[weekday(t)] / mean(weekly) x (1 + payday_uplift x payday(t)) x prod_h (1 + uplift_h x [t in h])

``payday(t)`` is 1 on the paydays of Ecuador's public sector (the 15th and the last day of each month) and
on the day after each (when the wage is spent), 0 otherwise; the holidays ``h`` are ``[day_of_year,
duration_days, uplift]`` entries read exactly as ``demand.holidays`` (``shopgym.world.demand.seasonal_profile``
computes the weekly and holiday factors for both). The day's count is Poisson with that mean, or negative
binomial with shape ``arrival_dispersion = k`` (a gamma-Poisson mixture: variance ``mean + mean**2 / k``).

With the keys at their defaults (weekly all 1, no payday uplift, no holidays, ``k = 0``) ``m(t)`` is exactly
1.0 and the count is one ``rng.poisson(mean)`` draw: the same draws as before these keys existed. Numpy only.
"""

from __future__ import annotations

import numpy as np

from shopgym.config import DemandConfig, ShoppersConfig
from shopgym.world.calendar import day_dates
from shopgym.world.demand import seasonal_profile


def payday_mask(dates: np.ndarray) -> np.ndarray:
    """Whether each date (``datetime64[D]``) is a payday or the day after one: the 15th, the 16th, the last day of
    its month and the 1st (the day after the previous month's last day). Bool, same shape."""
    d = np.asarray(dates).astype("datetime64[D]")
    day = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    last = (d + 1).astype("datetime64[M]") != d.astype("datetime64[M]")
    return (day == 15) | (day == 16) | last | (day == 1)


def arrival_profile(cfg: ShoppersConfig, start_date: str, n_days: int) -> np.ndarray:
    """The multiplier ``m(t)`` of days ``0 .. n_days - 1`` (see the module docstring), ``(n_days,)`` float64, >= 0."""
    calendar = DemandConfig(weekly=list(cfg.arrival_weekly), holidays=[list(h) for h in cfg.arrival_holidays])
    profile = seasonal_profile(calendar, start_date, n_days)  # weekly x holidays; no yearly cycle, no trend
    if cfg.arrival_payday_uplift:
        profile = profile * np.where(payday_mask(day_dates(start_date, n_days)), 1.0 + cfg.arrival_payday_uplift, 1.0)
    return profile


def session_means(cfg: ShoppersConfig, start_date: str, n_days: int) -> np.ndarray:
    """Mean number of sessions on each of days ``0 .. n_days - 1`` (sessions/day), ``(n_days,)`` float64."""
    return cfg.sessions_per_day * arrival_profile(cfg, start_date, n_days)


def draw_count(rng: np.random.Generator, mean: float, dispersion: float = 0.0) -> int:
    """One day's session count with mean ``mean`` (sessions): Poisson when ``dispersion`` is 0 (one draw), else
    negative binomial with shape ``dispersion`` (one gamma draw, then one Poisson draw)."""
    if mean < 0:
        raise ValueError(f"the mean session count must be >= 0, got {mean}.")
    if dispersion > 0:
        mean = mean * rng.gamma(dispersion, 1.0 / dispersion)
    return int(rng.poisson(mean))
