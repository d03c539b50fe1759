"""Calendar features of simulated days."""

from __future__ import annotations

import numpy as np


def day_dates(start_date: str, n_days: int) -> np.ndarray:
    """Dates of days ``0 .. n_days - 1`` as ``datetime64[D]``."""
    return np.datetime64(start_date, "D") + np.arange(n_days)


def day_of_week(dates: np.ndarray) -> np.ndarray:
    """0 = Monday .. 6 = Sunday."""
    return ((dates.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(np.int64)


def start_weekday(start_date: str) -> int:
    """Day of week of day 0 of a scenario starting on ``start_date`` (0 = Monday .. 6 = Sunday).

    Day ``t`` of the episode is weekday ``(start_weekday(start_date) + t) % 7``; ``t % 7`` alone is the
    weekday only when the scenario starts on a Monday.
    """
    return int(day_of_week(np.datetime64(start_date, "D")))


def day_of_year(dates: np.ndarray) -> np.ndarray:
    """1 .. 366."""
    d = dates.astype("datetime64[D]")
    return (d - d.astype("datetime64[Y]")).astype(np.int64) + 1


def calendar_features(dates: np.ndarray) -> np.ndarray:
    """Cyclical encodings ``[sin, cos]`` of day of week and day of year, shape ``(..., 4)`` in [-1, 1]."""
    dow = day_of_week(dates) * (2 * np.pi / 7)
    doy = day_of_year(dates) * (2 * np.pi / 365.25)
    return np.stack([np.sin(dow), np.cos(dow), np.sin(doy), np.cos(doy)], axis=-1)
