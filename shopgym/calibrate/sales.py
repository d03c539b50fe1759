"""Read a user's sales file for ``shopgym calibrate``: a long CSV or the Walmart ``train.csv(.zip)``, in units.

Two layouts are accepted:

- a long CSV with ``unique_id, ds, y`` (units sold per day or per week; the frame ``forecasters.data`` reads),
  optionally ``price`` (currency/unit) and ``promo`` (0/1) columns;
- the Walmart layout ``Store, Dept, Date, Weekly_Sales, IsHoliday`` (detected by its columns): weekly
  dollar sales per store and department. Dollars are turned into units by one stated price assumption,
  ``units = round(dollars / unit_price)`` (the data hold no prices), so the calibrated base rates are in
  those units and the scenario's catalog price is ``unit_price``.

Every problem (missing file or column, non-numeric or negative values, too little history) is a one-line
``DataError`` naming the file and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shopgym.errors import DataError

#: The fewest distinct dates a series needs to be calibrated: two full weeks of daily data (the weekly
#: shape needs every weekday twice) or eight weeks of weekly data.
MIN_DAILY_DATES, MIN_WEEKLY_DATES = 14, 8
WALMART_COLUMNS = {"Store", "Dept", "Weekly_Sales"}


@dataclass(frozen=True)
class SalesData:
    """A validated sales panel.

    Attributes:
        frame: long frame ``unique_id, ds, y`` (units per period) plus ``price``, ``promo``, ``is_holiday``
            where given; sorted by series and date.
        step_days: days per period: 1 (daily) or 7 (weekly; each row covers the 7 days ending on ``ds``).
        source: how the file was read, for the scenario header (layout, unit conversion, subset).
    """

    frame: pd.DataFrame
    step_days: int
    source: str

    @property
    def freq(self) -> str:
        return "daily" if self.step_days == 1 else "weekly"


def detect_step(frame: pd.DataFrame, what: str) -> int:
    """1 for daily data, 7 for weekly data (the most common step between dates); else a ``DataError``."""
    steps = frame.groupby("unique_id", sort=False)["ds"].diff().dropna()
    if steps.empty:
        raise DataError(f"{what} has one date per series; calibration needs a history (at least "
                        f"{MIN_DAILY_DATES} days or {MIN_WEEKLY_DATES} weeks per series).")
    days = int(steps.mode().iloc[0] / pd.Timedelta(days=1))
    if days not in (1, 7):
        raise DataError(f"{what} has a step of {days} days between dates; give daily or weekly sales "
                        "(aggregate other frequencies to days or weeks first).")
    return days


def _walmart(path: Path, unit_price: float, stores: list[int] | None) -> tuple[pd.DataFrame, str]:
    from forecasters.loaders import load_walmart

    df = load_walmart(path, complete_only=True)
    if stores:
        df = df[df["store"].isin(stores)]
        if df.empty:
            raise DataError(f"sales file {str(path)!r} has no complete series for --stores {stores}; "
                            "Walmart stores are numbered 1 to 45.")
    df = df.assign(y=np.round(df["y"] / unit_price))
    note = (f"Walmart layout (Store, Dept, Date, Weekly_Sales): weekly dollar sales per store and department, "
            f"negative weeks clipped to 0, series observed every week only, turned into units at an assumed "
            f"price of {unit_price:g} per unit (units = round(dollars / {unit_price:g}))")
    if stores:
        note += f"; stores {stores}"
    return df[["unique_id", "ds", "y", "is_holiday"]], note


def read_sales(path: str | Path, *, unit_price: float = 10.0, stores: list[int] | None = None,
               max_series: int | None = None) -> SalesData:
    """Read and check a sales file (see the module docstring for the layouts).

    Args:
        path: CSV file (optionally zipped).
        unit_price: Walmart layout only: the assumed price of one unit (currency/unit).
        stores: Walmart layout only: keep these stores.
        max_series: keep at most this many series (the largest by total sales, ties by name), so that the
            scenario stays small; ``None`` keeps all.
    """
    from forecasters.data import require_numeric, validate_frame
    from forecasters.files import read_csv

    path = Path(path)
    what = f"sales file {str(path)!r}"
    if not path.exists():
        raise DataError(f"{what} does not exist; check the path.")
    if not unit_price > 0:
        raise DataError(f"unit price must be positive, got {unit_price!r}.")
    head = read_csv(path, what="sales file", nrows=1)
    if WALMART_COLUMNS <= set(head.columns):
        df, note = _walmart(path, unit_price, stores)
    else:
        missing = [c for c in ("unique_id", "ds", "y") if c not in head.columns]
        if missing:
            raise DataError(f"{what} lacks column(s) {missing} (it has {list(head.columns)}); give a long CSV with "
                            "unique_id, ds, y (units per day or week; optional price, promo) or the Walmart "
                            "train.csv (Store, Dept, Date, Weekly_Sales, IsHoliday).")
        df = read_csv(path, what="sales file")
        require_numeric(df, ["y", "price", "promo"], what)
        note = "long CSV (unique_id, ds, y" + "".join(f", {c}" for c in ("price", "promo") if c in df.columns) + ")"
    df = validate_frame(df, what=what)
    if df["y"].isna().any():
        row = df.index[df["y"].isna().to_numpy()][0]
        raise DataError(f"{what}['y'] is empty in row {row}; fill the gap (0 if nothing sold) or drop the row.")
    if "price" in df.columns and (df["price"].isna().any() or (df["price"] <= 0).any()):
        raise DataError(f"{what}['price'] must be a positive number on every row; fill or drop the rows without one.")
    if "promo" in df.columns and not df["promo"].isin([0, 1]).all():
        row = df.index[~df["promo"].isin([0, 1]).to_numpy()][0]
        raise DataError(f"{what}['promo'] must be 0 or 1 (on promotion that period or not), got "
                        f"{float(df.loc[row, 'promo']):g} in row {row}; recode it as 0/1.")
    if (df["y"] < 0).any():
        row = df.index[(df["y"] < 0).to_numpy()][0]
        raise DataError(f"{what}['y'] is negative ({float(df.loc[row, 'y']):g}) in row {row}: sales are units sold, "
                        "returns included cannot be calibrated; clip returns to 0 or drop the row.")
    totals = df.groupby("unique_id")["y"].sum()
    dead = totals.index[totals <= 0]
    if len(dead) == len(totals):
        raise DataError(f"{what}: no series sold anything in the whole history, so there is no demand to calibrate.")
    if len(dead):  # no demand level to fit: dropped, and said so in the scenario's header
        df = df[~df["unique_id"].isin(dead)].reset_index(drop=True)
        note += f"; {len(dead)} series that sold nothing in the whole history dropped (e.g. {dead[0]!r})"
    if max_series and df["unique_id"].nunique() > max_series:
        totals = df.groupby("unique_id")["y"].sum().sort_values(ascending=False, kind="stable")
        keep = totals.index[:max_series]
        df = df[df["unique_id"].isin(keep)].reset_index(drop=True)
        note += f"; the {max_series} series with the largest total sales"
    step = detect_step(df, what)
    n_dates = df.groupby("unique_id")["ds"].nunique()
    need = MIN_DAILY_DATES if step == 1 else MIN_WEEKLY_DATES
    short = n_dates[n_dates < need]
    if len(short):
        raise DataError(f"{what}: series {short.index[0]!r} has {int(short.iloc[0])} dates, too little history; "
                        f"{'daily' if step == 1 else 'weekly'} calibration needs at least {need} per series "
                        "(drop the short series or give more history).")
    return SalesData(frame=df.reset_index(drop=True), step_days=step, source=note)


def split_holdout(data: SalesData, holdout_weeks: int) -> tuple[SalesData, pd.DataFrame]:
    """The sales before the last ``holdout_weeks`` weeks (to calibrate on) and the held-out rows.

    The cut is one date for every series: the held-out period is the last ``7 * holdout_weeks`` days of the
    file. Raises ``DataError`` when too little history would be left to calibrate on.
    """
    df = data.frame
    end = df["ds"].max()
    cut = end - pd.Timedelta(days=7 * holdout_weeks)
    train, test = df[df["ds"] <= cut], df[df["ds"] > cut]
    need = MIN_DAILY_DATES if data.step_days == 1 else MIN_WEEKLY_DATES
    if train.groupby("unique_id")["ds"].nunique().reindex(df["unique_id"].unique()).fillna(0).min() < need:
        raise DataError(f"holding out {holdout_weeks} weeks leaves less than {need} dates of some series to calibrate on; "
                        "lower --holdout-weeks or give more history.")
    return SalesData(train.reset_index(drop=True), data.step_days, data.source), test.reset_index(drop=True)
