"""Weekly forecasters driving the daily world: disaggregation by a weekday profile.

The world steps one day at a time; data such as Walmart's come in weekly totals. ``DailyFromWeekly`` wraps a
fitted **weekly** forecaster so that it reads and forecasts daily series (what ``LearnedDemand`` needs):

* a weekly row dated ``ds`` is the demand of the seven days ``ds .. ds + 6`` (weeks start on the weekday of
  the training dates, the *anchor*);
* daily history is summed into complete weeks (days before the first anchor day and the days of the
  current, incomplete week are not used);
* the weekly forecaster forecasts the current week and the following ones, and the demand of a day with
  weekday ``k`` in week ``w`` is ``share[k] x W_w``, where ``W_w`` is week ``w``'s predictive distribution
  (quantiles and mean scaled by ``share[k]``) and ``share = profile / sum(profile)`` (Monday..Sunday).

So the expected daily demands of a week sum to the week's expected total: weekly totals are preserved in
expectation. Days are drawn independently from their distributions, so the weekly sum of simulated days
has the right mean but a smaller spread than the weekly forecast (days of a real week are correlated).

The profile comes from the scenario (``demand.weekly``: seven multipliers Monday..Sunday) or is estimated
from daily data with ``weekday_profile`` (e.g. Favorita's store transactions). The training history is
disaggregated the same way, so ``history_`` is daily (``LearnedDemand`` warms the world up from it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecasters.data import DS, ID, Y
from forecasters.distribution import Distribution
from forecasters.panel import Panel
from shopgym.errors import DataError, ScenarioError

WEEK = pd.Timedelta(days=7)


def weekday_profile(df: pd.DataFrame, value: str = Y, date: str = DS, series: str | None = ID) -> np.ndarray:
    """Seven multipliers (Monday..Sunday, mean 1) estimated from daily data: per series and week, each day's
    share of that week's total; the median share per weekday over series and complete weeks, rescaled.

    Args:
        df: daily rows with ``date`` and ``value`` columns (and ``series`` if several series; ``None``: one).
        value, date, series: column names (Favorita's transactions: ``"transactions", "date", "store_nbr"``).

    Returns:
        ``(7,)`` floats with mean 1, ready for a scenario's ``demand.weekly``.
    """
    missing = [c for c in (value, date, series) if c is not None and c not in df.columns]
    if missing:
        raise DataError(f"weekday_profile: the frame lacks column(s) {missing}; name them with value=, date=, series=.")
    d = pd.DataFrame({"ds": pd.to_datetime(df[date]), "y": pd.to_numeric(df[value], errors="coerce"),
                      "id": df[series].astype(str) if series is not None else "all"}).dropna()
    d["week"] = d["ds"].dt.to_period("W-SUN")
    d["dow"] = d["ds"].dt.day_of_week
    full = d.groupby(["id", "week"])["dow"].transform("nunique") == 7
    d = d[full]
    if d.empty:
        raise DataError("weekday_profile needs at least one complete Monday..Sunday week of daily data.")
    total = d.groupby(["id", "week"])["y"].transform("sum")
    d = d[total > 0].assign(share=lambda x: x["y"] / total[total > 0])
    med = d.groupby("dow")["share"].median().reindex(range(7)).to_numpy(float)
    return med / med.mean()


class DailyFromWeekly:
    """A fitted weekly forecaster presented as a daily one (see the module docstring); for ``LearnedDemand``.

    Args:
        weekly: a fitted forecaster on weekly data (``freq_`` 7 days), without exogenous columns.
        profile: seven non-negative weekday multipliers, Monday..Sunday (any scale; normalised to shares).

    Attributes:
        share: each weekday's share of a week's demand (sums to 1).
        history_: the weekly training history spread over days by ``share`` (daily, units/day).
    """

    def __init__(self, weekly, profile: Sequence[float]):
        weekly._check_fitted()
        if weekly.freq_ != WEEK:
            raise ScenarioError(f"DailyFromWeekly wraps a forecaster fitted on weekly data; this one has frequency "
                                f"{weekly.freq_}.")
        if weekly.exog:
            raise ScenarioError(f"a weekly forecaster with exogenous columns {list(weekly.exog)} cannot drive the daily "
                                "world (their weekly values are unknown there); refit it without exog.")
        p = np.asarray(profile, dtype=float)
        if p.shape != (7,) or not np.isfinite(p).all() or (p < 0).any() or p.sum() <= 0:
            raise ScenarioError(f"the weekday profile must be 7 finite non-negative numbers (Mon..Sun), not all 0; "
                                f"got {list(profile)!r}. Set demand.weekly in the scenario.")
        self.weekly = weekly
        self.share = p / p.sum()
        self.name = f"{type(weekly).__name__} (weekly, disaggregated)"
        self.freq_ = pd.Timedelta(days=1)
        self.season_length_ = 7
        self.exog: tuple = ()
        self.nonnegative = True
        self.anchor = int(weekly.history_[DS].iloc[0].day_of_week)
        #: Days of daily history enough for the weekly model: its context (or a season and a step) plus a week.
        self.L_ = 7 * (max(getattr(weekly, "L_", 0), weekly.season_length_ + 1, 8) + 1)
        self.history_ = self._daily_history(weekly.history_)
        self._cache: tuple | None = None

    def _check_fitted(self) -> None:
        """The wrapped model is fitted (checked in the constructor)."""

    def _daily_history(self, hist: pd.DataFrame) -> pd.DataFrame:
        n = len(hist)
        offs = np.tile(np.arange(7), n)
        ds = np.repeat(hist[DS].to_numpy("datetime64[ns]"), 7) + offs.astype("timedelta64[D]")
        dow = (self.anchor + offs) % 7
        return pd.DataFrame({ID: np.repeat(hist[ID].to_numpy(), 7), DS: ds,
                             Y: np.repeat(hist[Y].to_numpy(float), 7) * self.share[dow]})

    def distribution_panel(self, panel: Panel, h: int, future_exog: np.ndarray | None = None) -> Distribution:
        """Daily predictive distribution ``(n, h)`` for a panel of equal-length daily series with one start day."""
        T = {len(y) for y in panel.y}
        if len(T) != 1 or len(set(panel.start)) != 1:
            raise ValueError("DailyFromWeekly forecasts panels of equal-length series that start on the same day "
                             "(what LearnedDemand builds).")
        T = T.pop()
        start = pd.Timestamp(panel.start[0])
        first = (self.anchor - start.day_of_week) % 7  # first anchor day
        n_weeks = max(0, (T - first) // 7)
        if n_weeks < 1:
            raise ValueError(f"{T} days of history hold no complete week; give at least {first + 7} days.")
        y = np.stack(panel.y)
        totals = y[:, first : first + 7 * n_weeks].reshape(panel.n, n_weeks, 7).sum(-1)
        done = (T - first) % 7  # days of the current week already passed
        hw = -(-(done + h) // 7)
        wstart = start + pd.Timedelta(days=first)
        key = (totals.tobytes(), wstart, hw)
        if self._cache is None or self._cache[0] != key:
            wpanel = Panel.from_arrays(panel.ids, totals, wstart, WEEK)
            self._cache = (key, self.weekly.distribution_panel(wpanel, hw))
        dist_w = self._cache[1]
        j = np.arange(h)
        week = (done + j) // 7
        share = self.share[(start.day_of_week + T + j) % 7]  # (h,)
        return Distribution(dist_w.mean[:, week] * share, dist_w.grid[:, week, :] * share[:, None])
