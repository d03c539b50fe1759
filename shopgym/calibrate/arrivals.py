"""Daily shopper arrivals fitted on transaction counts: weekly cycle, paydays, holidays, over-dispersion.

Model (log-linear, numpy least squares), for store ``s`` on date ``t``::

    log y[s, t] = a[s] + trend(t) + b[weekday(t)] + c x payday(t) + sum_h g[h] x holiday_h(t) + e[s, t]

``a[s]`` a level per store, ``trend`` a piecewise-linear function of time with a knot every ``KNOT_DAYS``
days (smooth over weeks, so it cannot absorb the weekly, payday or holiday effects), ``b`` weekday effects
(Monday = 0), ``payday(t)`` 1 on the 15th, the 16th, the last day of a month and the 1st (Ecuador's
public-sector wages are paid on the 15th and the last day; the day after each is when they are spent:
``shopgym.world.arrivals.payday_mask``), one dummy per national holiday or event name. All effects are fitted
together, so none is confounded with another. Standard errors are clustered by date (a day's shock is common to
every store), so they count days, not store-days.

Reported (``ArrivalFit``): ``sessions_per_day`` (mean daily count of the fitted store, or the mean over stores
of each store's mean daily count), ``weekly`` (``exp(b)`` rescaled to mean 1, Mon..Sun), ``payday_uplift``
(``exp(c) - 1``), ``holidays`` (``[day_of_year, 1, exp(g) - 1]`` for each holiday that recurs in at least two
years and has a measurable effect: ``|g| > 1.96 se`` and ``|exp(g) - 1| >= 0.05``; its day of year is the most
common one over the years, so movable feasts such as Carnaval land on their typical day) and ``dispersion``
(the negative-binomial shape ``k``: ``var(log y) = 1/mean + 1/k`` for a gamma-Poisson count, so
``1/k = residual variance - mean(1/fitted)``; the residual includes whatever the calendar model misses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from shopgym.errors import DataError
from shopgym.world.arrivals import payday_mask

#: Days between the knots of the piecewise-linear trend.
KNOT_DAYS = 91
#: A holiday is exported when its log effect exceeds this many standard errors and its uplift this size.
MIN_Z, MIN_UPLIFT = 1.96, 0.05
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Holiday types of ``holidays_events.csv`` that are days off or events; ``Work Day`` (a compensating working day)
#: and transferred holidays (``transferred`` true: celebrated on another day, listed as type ``Transfer``) are not.
HOLIDAY_TYPES = ("Holiday", "Transfer", "Additional", "Bridge", "Event")


def _fail(path, what: str) -> DataError:
    return DataError(f"transactions file {str(path)!r} {what}")


def _dates(values: pd.Series, path, what: str) -> pd.Series:
    out = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    retry = out.isna()
    if retry.any():  # e.g. 3/2/12 (month/day/year), as some copies of the Favorita files write them
        out[retry] = pd.to_datetime(values[retry], format="%m/%d/%y", errors="coerce")
    if out.isna().any():
        row = int(np.flatnonzero(out.isna().to_numpy())[0])
        raise DataError(f"{what} {str(path)!r}: row {row + 1} has date {values.iloc[row]!r}, not a date; "
                        "write dates as YYYY-MM-DD.")
    return out.dt.normalize()


def read_transactions(path: str | Path, store=None) -> pd.DataFrame:
    """Daily transaction counts: Favorita's ``transactions.csv`` (``date,store_nbr,transactions``) or a generic
    ``date,transactions`` file (one shop).

    Args:
        path: the CSV file.
        store: keep only this ``store_nbr`` (default: every store).

    Returns:
        ``date`` (datetime64), ``store`` (int64; 0 for a file without stores), ``transactions`` (float64, >= 0),
        sorted by store and date.

    Raises:
        DataError: one line, for a missing or empty file, missing columns, a non-numeric or negative count, a bad
            date, a store not in the file or a (store, date) given twice.
    """
    from forecasters.files import read_csv

    path = Path(path)
    raw = read_csv(path, what="transactions file",
                   fix="Give a CSV with columns date,transactions (and store_nbr for several stores).")
    missing = [c for c in ("date", "transactions") if c not in raw.columns]
    if missing:
        raise _fail(path, f"lacks column(s) {missing}: give date,transactions (and store_nbr for several stores); "
                    f"got {list(raw.columns)[:10]}.")
    count = pd.to_numeric(raw["transactions"], errors="coerce")
    bad = count.isna() | (count < 0) | ~np.isfinite(count.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(path, f"has a non-numeric, missing or negative count in column 'transactions' (row {row + 1}: "
                    f"{raw['transactions'].iloc[row]!r}); give counts >= 0.")
    if "store_nbr" in raw.columns:
        stores = pd.to_numeric(raw["store_nbr"], errors="coerce")
        if stores.isna().any():
            row = int(np.flatnonzero(stores.isna().to_numpy())[0])
            raise _fail(path, f"has a non-numeric store_nbr (row {row + 1}: {raw['store_nbr'].iloc[row]!r}).")
        stores = stores.astype(np.int64)
    else:
        stores = pd.Series(np.zeros(len(raw), dtype=np.int64))
    df = pd.DataFrame({"date": _dates(raw["date"].astype(str), path, "transactions file"),
                       "store": stores.to_numpy(), "transactions": count.to_numpy(dtype=float)})
    if store is not None:
        known = sorted(df["store"].unique())
        if int(store) not in known:
            raise _fail(path, f"has no store {store!r}; its stores are {known[:20]}{' ...' if len(known) > 20 else ''}.")
        df = df[df["store"] == int(store)]
    dup = df.duplicated(["store", "date"])
    if dup.any():
        r = df[dup].iloc[0]
        raise _fail(path, f"gives store {r['store']} on {r['date'].date()} twice; give one count per store and day.")
    return df.sort_values(["store", "date"], kind="stable").reset_index(drop=True)


def read_holidays(path: str | Path) -> pd.DataFrame:
    """National holidays and events of a Favorita ``holidays_events.csv`` as ``date``, ``name``.

    Kept: ``locale`` National, types in ``HOLIDAY_TYPES``, not ``transferred``; a ``Transfer`` row
    (``Traslado X``) is named ``X``, so it shares X's effect on the day it was celebrated.
    """
    from forecasters.files import read_csv

    raw = read_csv(path, what="holidays file", fix="Give Favorita's holidays_events.csv (date,type,locale,"
                   "locale_name,description,transferred).")
    missing = [c for c in ("date", "type", "locale", "description", "transferred") if c not in raw.columns]
    if missing:
        raise DataError(f"holidays file {str(path)!r} lacks column(s) {missing}: give Favorita's holidays_events.csv "
                        f"(date,type,locale,locale_name,description,transferred); got {list(raw.columns)}.")
    moved = raw["transferred"].astype(str).str.strip().str.lower().isin(("true", "1"))
    keep = (raw["locale"] == "National") & raw["type"].isin(HOLIDAY_TYPES) & ~moved
    out = raw[keep]
    return pd.DataFrame({"date": _dates(out["date"].astype(str).reset_index(drop=True), path, "holidays file"),
                         "name": out["description"].str.replace(r"^Traslado ", "", regex=True).to_numpy()})


@dataclass(frozen=True)
class ArrivalFit:
    """Fitted daily arrivals (see the module docstring); ``*_se`` are standard errors (date-clustered)."""

    sessions_per_day: float
    sessions_per_day_se: float
    weekly: list[float]
    weekly_se: list[float]
    payday_uplift: float
    payday_uplift_se: float
    holidays: list[list]
    dispersion: float
    dispersion_se: float
    level: str
    n_days: int
    n_stores: int
    #: Every holiday dummy fitted: ``name``, ``day_of_year``, ``years``, ``uplift``, ``se`` (of the log effect),
    #: ``exported`` (whether it is in ``holidays``).
    holiday_table: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    def to_shoppers_config(self, sessions_per_day: float | None = None) -> dict:
        """The ``[shoppers]`` keys: ``sessions_per_day`` (the fitted level, or the one given, e.g. a scenario's own
        volume: the calendar shape and the dispersion do not depend on the level), ``arrival_weekly``,
        ``arrival_payday_uplift``, ``arrival_holidays``, ``arrival_dispersion`` (rounded to 4 significant digits)."""
        r = lambda x: float(f"{x:.4g}")  # noqa: E731
        level = self.sessions_per_day if sessions_per_day is None else sessions_per_day
        return {"sessions_per_day": r(level), "arrival_weekly": [r(w) for w in self.weekly],
                "arrival_payday_uplift": r(self.payday_uplift),
                "arrival_holidays": [[int(d), int(n), r(u)] for d, n, u in self.holidays],
                "arrival_dispersion": r(self.dispersion)}


def _trend_basis(t: np.ndarray) -> np.ndarray:
    """Piecewise-linear trend columns of day index ``t`` (years): ``t``, then a hinge at each knot."""
    knots = np.arange(KNOT_DAYS, t.max(), KNOT_DAYS) if t.max() > KNOT_DAYS else np.zeros(0)
    return np.column_stack([t / 365.25] + [np.maximum(t - k, 0.0) / 365.25 for k in knots])


def _holiday_dummies(dates: pd.Series, holidays: pd.DataFrame | None):
    if holidays is None or len(holidays) == 0:
        return np.zeros((len(dates), 0)), []
    lo, hi = dates.min(), dates.max()
    h = holidays[(holidays["date"] >= lo) & (holidays["date"] <= hi)]
    names = sorted(h["name"].unique())
    day = dates.to_numpy(dtype="datetime64[D]")
    cols = np.column_stack([np.isin(day, h.loc[h["name"] == n, "date"].to_numpy(dtype="datetime64[D]"))
                            for n in names]) if names else np.zeros((len(dates), 0))
    present = cols.any(0)  # a holiday on days with no counts (stores closed) cannot be fitted
    return cols[:, present].astype(float), [n for n, p in zip(names, present, strict=True) if p]


def fit_arrivals(frame: pd.DataFrame, holidays: pd.DataFrame | str | Path | None = None) -> ArrivalFit:
    """Fit the arrival model (module docstring) to ``read_transactions`` output.

    Args:
        frame: ``date``, ``store``, ``transactions`` (``read_transactions``).
        holidays: ``read_holidays`` output (``date``, ``name``), or a path to a ``holidays_events.csv``; ``None``:
            no holiday effects.
    """
    if not isinstance(frame, pd.DataFrame) or not {"date", "store", "transactions"} <= set(frame.columns):
        raise DataError("fit_arrivals needs the frame read_transactions returns (date, store, transactions).")
    if isinstance(holidays, (str, Path)):
        holidays = read_holidays(holidays)
    df = frame[frame["transactions"] > 0].reset_index(drop=True)  # closed days carry no arrival information
    if holidays is not None:  # only the years the counts cover
        holidays = holidays[(holidays["date"] >= df["date"].min()) & (holidays["date"] <= df["date"].max())]
    n_days = df["date"].nunique()
    if n_days < 28:
        raise DataError(f"transactions cover {n_days} days with counts > 0; fitting a weekly cycle, paydays and a "
                        "trend needs at least 28 days (a year or more for holidays).")
    y = np.log(df["transactions"].to_numpy(float))
    store_codes, store_index = np.unique(df["store"].to_numpy(), return_inverse=True)
    date = df["date"].to_numpy(dtype="datetime64[D]")
    t = (date - date.min()).astype(float)
    weekday = ((date.astype(np.int64) + 3) % 7).astype(np.int64)
    hol, hol_names = _holiday_dummies(df["date"], holidays)
    x_week = np.eye(7)[weekday][:, 1:]
    x_pay = payday_mask(date).astype(float)[:, None]
    # the store levels a[s] are absorbed by demeaning within each store (Frisch-Waugh: same coefficients)
    s = len(store_codes)
    x = _demean(np.column_stack([_trend_basis(t), x_week, x_pay, hol]), store_index, s)
    yd = _demean(y[:, None], store_index, s)[:, 0]
    xtx_inv = np.linalg.pinv(x.T @ x)
    beta = xtx_inv @ (x.T @ yd)
    resid = yd - x @ beta
    cov = _clustered_cov(x, resid, date, xtx_inv)
    p = _trend_basis(t).shape[1]
    iw, ip, ih = p, p + 6, p + 7
    weekly, weekly_se = _weekly(beta[iw:iw + 6], cov[iw:iw + 6, iw:iw + 6])
    pay, pay_se = float(np.expm1(beta[ip])), float(np.exp(beta[ip]) * np.sqrt(cov[ip, ip]))
    table = _holiday_table(hol_names, holidays, beta[ih:], np.sqrt(np.diag(cov)[ih:]))
    fitted = np.exp(y - resid)
    n, k = len(y), x.shape[1] + s
    s2 = float(resid @ resid) / (n - k)
    inv_k = s2 - float(np.mean(1.0 / fitted))
    inv_k_se = s2 * np.sqrt(2.0 / max(n_days - 1, 1))  # counts days, as the clustered errors do
    dispersion = 1.0 / inv_k if inv_k > 0 else 0.0  # no excess variance: Poisson
    level_per_store = df.groupby("store")["transactions"].mean()
    level = "mean over stores of each store's mean daily count" if s > 1 else "mean daily count"
    level_se = float(level_per_store.std(ddof=1) / np.sqrt(s)) if s > 1 else \
        float(df["transactions"].std(ddof=1) / np.sqrt(n_days))
    return ArrivalFit(
        sessions_per_day=float(level_per_store.mean()), sessions_per_day_se=level_se, weekly=weekly,
        weekly_se=weekly_se, payday_uplift=pay, payday_uplift_se=pay_se,
        holidays=[[int(r.day_of_year), 1, float(r.uplift)] for r in table.itertuples() if r.exported],
        dispersion=float(dispersion), dispersion_se=float(inv_k_se / inv_k**2) if inv_k > 0 else float("nan"),
        level=level, n_days=int(n_days), n_stores=int(s), holiday_table=table)


def _demean(x: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """``x`` ``(n, k)`` less its mean within each group."""
    counts = np.bincount(group, minlength=n_groups)[:, None]
    sums = np.stack([np.bincount(group, weights=col, minlength=n_groups) for col in x.T], axis=1)
    return x - (sums / np.maximum(counts, 1))[group]


def _clustered_cov(x: np.ndarray, resid: np.ndarray, cluster: np.ndarray, xtx_inv: np.ndarray) -> np.ndarray:
    """Cluster-robust (by ``cluster``) covariance of least-squares coefficients, with the usual G/(G-1) factor;
    ``xtx_inv`` is ``(x' x)^-1``."""
    from scipy import sparse

    _, g = np.unique(cluster, return_inverse=True)
    n_g = int(g.max()) + 1
    member = sparse.csr_matrix((np.ones(len(g)), (g, np.arange(len(g)))), shape=(n_g, len(g)))
    scores = member @ (x * resid[:, None])  # per-cluster score sums, (n_g, n_coef)
    return xtx_inv @ (scores.T @ scores) @ xtx_inv * (n_g / max(n_g - 1, 1))


def _weekly(b: np.ndarray, cov: np.ndarray) -> tuple[list[float], list[float]]:
    """Multipliers ``exp(b)`` (Monday's b = 0) rescaled to mean 1, and their delta-method standard errors."""
    e = np.exp(np.concatenate([[0.0], b]))
    w = e / e.mean()
    jac = w[:, None] * (np.eye(7) - w[None, :] / 7.0)  # d w_d / d b_j
    jac = jac[:, 1:]
    se = np.sqrt(np.clip(np.einsum("dj,jk,dk->d", jac, cov, jac), 0.0, None))
    return [float(v) for v in w], [float(v) for v in se]


def _holiday_table(names, holidays, g, se) -> pd.DataFrame:
    rows = []
    for name, gi, si in zip(names, g, se, strict=True):
        d = holidays.loc[holidays["name"] == name, "date"]
        doy = int(d.dt.day_of_year.mode().iloc[0])
        years = int(d.dt.year.nunique())
        uplift = float(np.expm1(gi))
        ok = years >= 2 and abs(gi) > MIN_Z * si and abs(uplift) >= MIN_UPLIFT
        rows.append({"name": name, "day_of_year": doy, "years": years, "uplift": uplift, "se": float(si),
                     "exported": bool(ok)})
    cols = ["name", "day_of_year", "years", "uplift", "se", "exported"]
    return pd.DataFrame(rows, columns=cols).sort_values("day_of_year", kind="stable").reset_index(drop=True)
