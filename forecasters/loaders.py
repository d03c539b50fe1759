"""Loaders for real retail data into long frames (read in place; nothing is copied).

* ``load_walmart(path)``: the Kaggle "Walmart Recruiting - Store Sales Forecasting" ``train.csv``
  (or ``train.csv.zip``): weekly sales per store and department.
* ``load_m5(sales, calendar, prices)``: files in the M5 competition layout (wide daily unit sales,
  a calendar, weekly sell prices), a layout many retailers' exports follow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from forecasters.data import DS, ID, Y, require_numeric
from forecasters.files import read_csv
from shopgym.errors import DataError


def _dates(col: pd.Series, what: str) -> pd.Series:
    """``col`` parsed as dates, or a ``DataError`` naming the first value that is not one."""
    out = pd.to_datetime(col, errors="coerce")
    bad = out.isna() & col.notna()
    if bad.any():
        row = col.index[bad.to_numpy()][0]
        raise DataError(f"{what} must hold dates (YYYY-MM-DD), but row {row!r} holds {col[row]!r}; fix or drop it.")
    return out


def _require_columns(df: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{what} lacks column(s) {missing}; got {list(df.columns)}. Rename or add them.")


def _need(path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no file at {str(p)!r}.")
    return p


def load_walmart(path, stores_path=None, clip_negative: bool = True, complete_only: bool = False) -> pd.DataFrame:
    """Walmart weekly department sales as a long frame.

    Args:
        path: ``train.csv`` or ``train.csv.zip`` (columns ``Store, Dept, Date, Weekly_Sales, IsHoliday``).
        stores_path: ``stores.csv`` (``Store, Type, Size``); default: next to ``path`` if present.
        clip_negative: floor sales at 0 (negative weekly sales are net returns, 0.3% of rows). With ``False``
            they are kept, and forecasters refuse the frame (``validate_frame``: sales are never negative).
        complete_only: keep only series observed in every week of the file.

    Returns:
        ``unique_id`` (``"store_dept"``), ``ds`` (week ending Friday), ``y`` (sales, USD/week),
        ``is_holiday`` (0/1), ``store``, ``dept`` and, with the stores file, ``store_type`` (A/B/C).
    """
    raw = read_csv(_need(path), what="Walmart sales file")
    need = {"Store", "Dept", "Date", "Weekly_Sales", "IsHoliday"}
    if not need <= set(raw.columns):
        raise DataError(f"{path}: expected columns {sorted(need)}, got {list(raw.columns)}.")
    require_numeric(raw, ["Store", "Dept", "Weekly_Sales"], what=str(path))
    empty = [c for c in sorted(need) if raw[c].isna().any()]
    if empty:
        raise DataError(f"{path}: column(s) {empty} have empty cells (first in row {raw.index[raw[empty[0]].isna()][0]}); "
                        "every row needs a store, department, date, weekly sales and holiday flag: fill or drop those rows.")
    holiday = raw["IsHoliday"].map({True: 1, False: 0, "TRUE": 1, "FALSE": 0, "True": 1, "False": 0})  # True == 1
    if holiday.isna().any():
        row = raw.index[holiday.isna().to_numpy()][0]
        raise DataError(f"{path}['IsHoliday'] must be TRUE/FALSE (or 1/0), but row {row} holds {raw['IsHoliday'][row]!r}.")
    df = pd.DataFrame({
        ID: raw["Store"].astype(str) + "_" + raw["Dept"].astype(str),
        DS: _dates(raw["Date"], f"{path}['Date']"),
        Y: raw["Weekly_Sales"].astype(float),
        "is_holiday": holiday.astype(int),
        "store": raw["Store"].astype(int),
        "dept": raw["Dept"].astype(int),
    })
    if clip_negative:
        df[Y] = df[Y].clip(lower=0.0)
    stores_path = Path(path).with_name("stores.csv") if stores_path is None else Path(stores_path)
    if stores_path.is_file():
        types = read_csv(stores_path, what="Walmart stores file").set_index("Store")["Type"]
        df["store_type"] = df["store"].map(types)
    if complete_only:
        n = df[DS].nunique()
        df = df[df.groupby(ID)[DS].transform("size") == n]
    return df.sort_values([ID, DS]).reset_index(drop=True)


def load_m5(sales_path, calendar_path, prices_path=None, max_series: int | None = None) -> pd.DataFrame:
    """Daily unit sales in the M5 layout as a long frame.

    Args:
        sales_path: wide file with ``id, item_id, dept_id, cat_id, store_id, state_id, d_1, d_2, ...``.
        calendar_path: ``d, date, wm_yr_wk`` and optionally ``event_name_1``, ``snap_*``.
        prices_path: optional ``store_id, item_id, wm_yr_wk, sell_price``.
        max_series: read only the first rows of the sales file (quick looks at the full data).

    Returns:
        ``unique_id`` (the ``id``), ``ds``, ``y`` (units/day), ``item_id, dept_id, cat_id, store_id``,
        ``event`` (1 on a named event day), and ``price`` (currency/unit, forward-filled) when prices are given.
    """
    sales = read_csv(_need(sales_path), what="M5 sales file", nrows=max_series)
    cal = read_csv(_need(calendar_path), what="M5 calendar file")
    keys = [c for c in ("id", "item_id", "dept_id", "cat_id", "store_id") if c in sales.columns]
    if "id" not in keys or "d" not in cal.columns or "date" not in cal.columns:
        raise DataError("M5 layout needs an 'id' column and d_1.. columns in sales, and 'd', 'date' in the calendar.")
    days = [c for c in sales.columns if c.startswith("d_")]
    long = sales[keys + days].melt(id_vars=keys, var_name="d", value_name=Y)
    cal = cal.assign(event=cal["event_name_1"].notna().astype(int) if "event_name_1" in cal.columns else 0)
    long = long.merge(cal[["d", "date", "event"] + (["wm_yr_wk"] if "wm_yr_wk" in cal.columns else [])], on="d")
    long = long.rename(columns={"id": ID, "date": DS})
    long[DS] = pd.to_datetime(long[DS])
    require_numeric(long, [Y], what=f"{sales_path} (d_ columns)")
    if prices_path is not None:
        prices = read_csv(_need(prices_path), what="M5 prices file")
        _require_columns(prices, ["store_id", "item_id", "wm_yr_wk", "sell_price"], f"{prices_path} (M5 prices file)")
        _require_columns(sales, ["store_id", "item_id"], f"{sales_path} (M5 sales file, to match prices)")
        _require_columns(cal, ["wm_yr_wk"], f"{calendar_path} (M5 calendar file, to match prices)")
        require_numeric(prices, ["sell_price"], what=str(prices_path))
        long = long.merge(prices, on=["store_id", "item_id", "wm_yr_wk"], how="left").rename(columns={"sell_price": "price"})
        long = long.sort_values([ID, DS])
        long["price"] = long.groupby(ID)["price"].transform(lambda s: s.ffill().bfill())
        unpriced = long.loc[long["price"].isna(), ID].unique()
        if len(unpriced):
            raise DataError(f"{prices_path}: no sell_price for {len(unpriced)} series, e.g. {unpriced[0]!r} (no row with its "
                            "store_id and item_id); add their prices, or drop those series from the sales file.")
    long = long.drop(columns=[c for c in ("d", "wm_yr_wk") if c in long.columns])
    long[Y] = long[Y].astype(float)
    if (long[Y] < 0).any():
        raise DataError("M5 sales must be non-negative unit counts.")
    return long.sort_values([ID, DS]).reset_index(drop=True)


def synthetic_m5(n_items: int = 3, n_days: int = 60, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Tiny sales, calendar and prices frames in the M5 layout (for tests and examples)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2016-01-01", periods=n_days)
    ids = [f"ITEM_{i}_CA_1" for i in range(n_items)]
    sales = pd.DataFrame({"id": ids, "item_id": [f"ITEM_{i}" for i in range(n_items)], "dept_id": "D1",
                          "cat_id": "C1", "store_id": "CA_1", "state_id": "CA"})
    counts = rng.poisson(5.0, (n_items, n_days))
    sales = pd.concat([sales, pd.DataFrame(counts, columns=[f"d_{j + 1}" for j in range(n_days)])], axis=1)
    wk = 11101 + np.arange(n_days) // 7
    cal = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "wm_yr_wk": wk, "d": [f"d_{j + 1}" for j in range(n_days)],
                        "event_name_1": [None] * (n_days - 1) + ["SuperBowl"]})
    prices = pd.DataFrame([(s, f"ITEM_{i}", w, 2.0 + i) for i in range(n_items) for s in ["CA_1"] for w in np.unique(wk)],
                          columns=["store_id", "item_id", "wm_yr_wk", "sell_price"])
    return sales, cal, prices
