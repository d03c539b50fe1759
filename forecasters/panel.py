"""``Panel``: the array view of a long frame that models work on (one array per series)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasters.data import DS, ID, Y
from shopgym.errors import DataError


@dataclass
class Panel:
    """Series on a regular calendar.

    Attributes:
        ids: series names, length ``n`` (may repeat: the world simulates one SKU in many worlds).
        y: observed values per series, a list of 1-D float arrays (units of ``y``).
        start: first date of each series.
        freq: step between dates (e.g. 1 day or 7 days).
        exog: per series an array ``(len(y[i]), k)`` of exogenous values (``k = len(exog_names)``).
        exog_names: names of the exogenous columns.
    """

    ids: list
    y: list
    start: list
    freq: pd.Timedelta
    exog: list
    exog_names: tuple = ()

    @property
    def n(self) -> int:
        return len(self.ids)

    def end(self, i: int) -> pd.Timestamp:
        return self.start[i] + (len(self.y[i]) - 1) * self.freq

    def future_dates(self, i: int, h: int) -> pd.DatetimeIndex:
        return pd.date_range(self.end(i) + self.freq, periods=h, freq=self.freq)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, freq: pd.Timedelta, exog_names=()) -> Panel:
        """From a prepared (regular, gap-free) long frame."""
        ids, ys, starts, ex = [], [], [], []
        for uid, g in df.groupby(ID, sort=False):
            ids.append(uid)
            ys.append(g[Y].to_numpy(dtype=float))
            starts.append(pd.Timestamp(g[DS].iloc[0]))
            ex.append(g[list(exog_names)].to_numpy(dtype=float) if exog_names else np.zeros((len(g), 0)))
        return cls(ids, ys, starts, pd.Timedelta(freq), ex, tuple(exog_names))

    @classmethod
    def from_arrays(cls, ids, y: np.ndarray, start, freq, exog: np.ndarray | None = None, exog_names=()) -> Panel:
        """From a dense ``(n, T)`` array of aligned series that all start on ``start``."""
        y = np.asarray(y, dtype=float)
        ex = [np.zeros((y.shape[1], 0))] * len(y) if exog is None else list(np.asarray(exog, dtype=float))
        return cls(list(ids), list(y), [pd.Timestamp(start)] * len(y), pd.Timedelta(freq), ex, tuple(exog_names))

    def future_exog(self, X_df: pd.DataFrame | None, h: int) -> np.ndarray:
        """Future exogenous values ``(n, h, k)`` from ``X_df`` (long frame covering each series' next ``h`` dates)."""
        k = len(self.exog_names)
        if k == 0:
            return np.zeros((self.n, h, 0))
        if X_df is None:
            raise DataError(
                f"this model uses exogenous columns {list(self.exog_names)}: pass their future values as "
                "X_df (columns unique_id, ds and those names) covering the forecast horizon."
            )
        missing = [c for c in (ID, DS, *self.exog_names) if c not in X_df.columns]
        if missing:
            raise DataError(f"X_df lacks column(s) {missing}.")
        x = X_df.assign(**{ID: X_df[ID].astype(str), DS: pd.to_datetime(X_df[DS])}).set_index([ID, DS])
        out = np.empty((self.n, h, k))
        for i, uid in enumerate(self.ids):
            key = pd.MultiIndex.from_product([[uid], self.future_dates(i, h)])
            try:
                out[i] = x.loc[key, list(self.exog_names)].to_numpy(dtype=float)
            except KeyError as exc:
                raise DataError(f"X_df does not cover the next {h} dates of series {uid!r}.") from exc
        return out

    def subset(self, idx) -> Panel:
        idx = list(idx)
        return Panel([self.ids[i] for i in idx], [self.y[i] for i in idx], [self.start[i] for i in idx],
                     self.freq, [self.exog[i] for i in idx], self.exog_names)
