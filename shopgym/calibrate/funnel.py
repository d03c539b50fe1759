"""Funnel ratios of interaction logs, and the ``[shoppers]`` base rates that reproduce them in the world.

Two log layouts are read (``read_interaction_logs``) into one frame of events:

- the Taobao UserBehavior layout: ``user,item,category,behavior,ts`` without a header, one row per event,
  ``behavior`` in ``pv`` (an item page view, i.e. a click), ``cart``, ``fav``, ``buy``;
- the project's conversion-log layout (``shopgym conversion generate``, ``forecasters.conversion.logs``): one
  row per impression with ``shopper_id``, ``item_id``, ``category``, ``day`` and nested 0/1 labels ``click``,
  ``cart``, ``purchase``; each row gives an ``impression`` event plus one event per positive label.

``funnel_ratios`` counts events and gives cart/click, purchase/click and purchase/cart (and click/impression
where impressions are logged) with Wilson score 95% intervals, overall and per category. Counts are treated as
binomial: events of one shopper are not independent, so the intervals are somewhat too narrow on logs of few
shoppers (the Taobao sample has 43). In Taobao a ``buy`` need not follow a ``cart``, so purchase/cart there
is a ratio of counts, not a conditional probability; the world's funnel is nested, and its purchase/click is
cart/click x purchase/cart, as it is for the counts (``77/3926 = 190/3926 x 77/190``).

``fit_funnel`` finds ``base_ctr``, ``base_cart_rate`` and ``base_purchase_rate`` such that the world's
response model (``shopgym.world.response``), averaged exactly over the impressions of a reference logging
policy (the conversion-log generator's, ``forecasters.conversion.logs``, in ``log_scenario()``), gives the
target click rate, cart/click and purchase/cart: three nested bisections in log-odds (each ratio is monotone in
its own base rate once the earlier ones are fixed), repeated with fresh logs under the fitted rates, since the
logging policy's slates, the stock and the shoppers' memory depend on them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from shopgym.config import Scenario, ShoppersConfig
from shopgym.errors import DataError

#: Event kinds of the normalised frame, in funnel order (``fav`` is kept but takes no part in the ratios).
BEHAVIORS = ("impression", "click", "cart", "fav", "purchase")
#: Taobao UserBehavior's behaviour codes -> event kinds.
TAOBAO_BEHAVIOR = {"pv": "click", "cart": "cart", "fav": "fav", "buy": "purchase"}
TAOBAO_COLUMNS = ("user", "item", "category", "behavior", "ts")
#: Columns of the conversion-log layout that the ratios need (-> normalised name).
LOG_COLUMNS = {"shopper_id": "user", "item_id": "item", "category": "category", "day": "ts"}
LOG_LABELS = ("click", "cart", "purchase")
#: The click rate (clicks per impression) the defaults are calibrated to, for logs without impressions (Taobao
#: UserBehavior): Ali-CCP, the public Taobao recommender log of the ESMM paper (Ma et al., SIGIR 2018, Table 1),
#: 3.4M clicks of 84M impressions. ``fit_funnel``'s ``ctr`` is this rate, not ``base_ctr`` (the rate at position 0
#: for zero affinity and the median price).
DEFAULT_CTR = 0.040
#: z of a two-sided 95% interval.
Z95 = 1.959963984540054
#: Ratios reported: name -> (numerator, denominator) event kinds.
RATIOS = {"click_rate": ("click", "impression"), "cart_per_click": ("cart", "click"),
          "purchase_per_click": ("purchase", "click"), "purchase_per_cart": ("purchase", "cart")}


def _fail(path: Path, what: str) -> DataError:
    return DataError(f"interaction log {str(path)!r} {what}")


def _numeric(df: pd.DataFrame, cols, path: Path) -> None:
    for c in cols:
        values = pd.to_numeric(df[c], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail(path, f"has a non-numeric or missing value in column {c!r} (row {row + 1}: "
                        f"{df[c].iloc[row]!r}); give numbers there (ids as integers).")
        df[c] = values.astype(np.int64) if c != "ts" else values.astype(float).astype(np.int64)


def _first_fields(path: Path) -> list[str]:
    from forecasters.files import read_csv

    head = read_csv(path, what="interaction log", header=None, nrows=1, dtype=str)
    return [str(x).strip() for x in head.iloc[0].tolist()]


def read_interaction_logs(path: str | Path) -> pd.DataFrame:
    """Events of a Taobao UserBehavior file or of conversion logs (see the module docstring), normalised.

    Returns:
        One row per event: ``user``, ``item``, ``category``, ``ts`` (int64; seconds for Taobao, the day for
        conversion logs) and ``behavior`` (one of ``BEHAVIORS``).

    Raises:
        DataError: one line naming the file and the fix, for a missing or empty file, missing columns, a
            non-numeric id or time, an unknown behaviour code or a label other than 0/1.
    """
    from forecasters.files import read_csv

    path = Path(path)
    if path.suffix == ".parquet":
        try:
            raw = pd.read_parquet(path)
        except (ImportError, OSError, ValueError) as exc:
            raise _fail(path, f"cannot be read as Parquet ({type(exc).__name__}: {exc}); give a CSV file.") from exc
        if len(raw) == 0:
            raise _fail(path, "has no rows; give logs with at least one impression.")
        return _from_logs(raw, path)
    first = _first_fields(path)
    if len(first) == 5 and first[3] in TAOBAO_BEHAVIOR:
        raw = read_csv(path, what="interaction log", header=None, names=list(TAOBAO_COLUMNS), dtype=str)
        return _from_taobao(raw, path)
    raw = read_csv(path, what="interaction log")
    return _from_logs(raw, path)


def _from_taobao(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    if raw["behavior"].isna().any() or raw[list(TAOBAO_COLUMNS)].isna().any().any():
        row = int(np.flatnonzero(raw.isna().any(axis=1).to_numpy())[0])
        raise _fail(path, f"row {row + 1} has fewer than 5 fields; each row is user,item,category,behavior,ts.")
    code = raw["behavior"].str.strip()
    unknown = ~code.isin(list(TAOBAO_BEHAVIOR))
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise _fail(path, f"row {row + 1} has behaviour {code.iloc[row]!r}; Taobao behaviours are "
                    f"{', '.join(TAOBAO_BEHAVIOR)}.")
    df = raw[["user", "item", "category", "ts"]].copy()
    _numeric(df, ["user", "item", "category", "ts"], path)
    df["behavior"] = code.map(TAOBAO_BEHAVIOR).to_numpy()
    return df.reset_index(drop=True)


def _from_logs(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    missing = [c for c in (*LOG_COLUMNS, *LOG_LABELS) if c not in raw.columns]
    if missing:
        raise _fail(path, f"lacks column(s) {missing}: give either Taobao UserBehavior rows (user,item,category,"
                    f"behavior,ts, no header) or conversion logs with columns {[*LOG_COLUMNS, *LOG_LABELS]} "
                    f"(as `shopgym conversion generate` writes); got {list(raw.columns)[:12]}.")
    df = raw[list(LOG_COLUMNS)].rename(columns=LOG_COLUMNS)
    _numeric(df, ["user", "item", "category", "ts"], path)
    parts = [df.assign(behavior="impression")]
    for label in LOG_LABELS:
        y = pd.to_numeric(raw[label], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isin(y, (0.0, 1.0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise _fail(path, f"column {label!r} must hold 0 or 1; row {row + 1} holds {raw[label].iloc[row]!r}.")
        parts.append(df[y == 1].assign(behavior=label))
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class Ratio:
    """One funnel ratio ``numerator / denominator`` (event counts) with its Wilson score 95% interval."""

    numerator: int
    denominator: int
    value: float
    lo: float
    hi: float

    def contains(self, x: float, widen: float = 0.0) -> bool:
        """Whether ``x`` lies in ``[lo - widen, hi + widen]``."""
        return self.lo - widen <= x <= self.hi + widen


def wilson(k: int, n: int, z: float = Z95) -> Ratio:
    """``k / n`` with its Wilson score interval (coverage 95% at the default ``z``); ``n = 0`` gives NaNs."""
    if n <= 0:
        return Ratio(int(k), int(n), float("nan"), float("nan"), float("nan"))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Ratio(int(k), int(n), float(p), float(max(0.0, centre - half)), float(min(1.0, centre + half)))


@dataclass(frozen=True)
class FunnelRatios:
    """Funnel ratios of a log (``funnel_ratios``).

    Attributes:
        counts: events per kind (``BEHAVIORS``), overall.
        overall: ``RATIOS`` name -> ``Ratio``, overall (``click_rate`` only where impressions are logged).
        per_category: one row per category: its counts, each ratio's value, ``_lo`` and ``_hi``, and ``status``
            (``"fitted"``, or ``"too few clicks (< min_clicks)"``, whose ratios are left NaN).
        min_clicks: clicks (page views) a category needs to be reported.
        interval: how the intervals are computed.
    """

    counts: dict[str, int]
    overall: dict[str, Ratio]
    per_category: pd.DataFrame = field(repr=False)
    min_clicks: int = 100
    interval: str = "Wilson score interval, 95%"


def funnel_ratios(frame: pd.DataFrame, min_clicks: int = 100) -> FunnelRatios:
    """Count the events of ``frame`` (``read_interaction_logs``) and compute the funnel ratios.

    Args:
        frame: normalised events (``user``, ``item``, ``category``, ``behavior``, ``ts``).
        min_clicks: clicks (page views) below which a category's ratios are not computed (reported as too few).
    """
    if not isinstance(frame, pd.DataFrame) or "behavior" not in frame.columns or "category" not in frame.columns:
        raise DataError("funnel_ratios needs the frame read_interaction_logs returns (columns category, behavior).")
    table = pd.crosstab(frame["category"], frame["behavior"]).reindex(columns=list(BEHAVIORS), fill_value=0)
    counts = {b: int(table[b].sum()) for b in BEHAVIORS}
    if counts["click"] == 0:
        raise DataError("the log holds no clicks (page views); funnel ratios need clicks.")
    overall = {name: wilson(counts[a], counts[b]) for name, (a, b) in RATIOS.items()
               if counts[b] > 0 or name != "click_rate"}
    rows = []
    for cat, row in table.iterrows():
        rec = {"category": cat, **{f"{b}s" if b != "impression" else "impressions": int(row[b]) for b in BEHAVIORS}}
        ok = row["click"] >= min_clicks
        rec["status"] = "fitted" if ok else f"too few clicks (< {min_clicks})"
        for name, (a, b) in RATIOS.items():
            r = wilson(int(row[a]), int(row[b])) if ok and row[b] > 0 else wilson(0, 0)
            rec.update({name: r.value, f"{name}_lo": r.lo, f"{name}_hi": r.hi})
        rows.append(rec)
    per_cat = pd.DataFrame(rows).sort_values("clicks", ascending=False, kind="stable").reset_index(drop=True)
    return FunnelRatios(counts=counts, overall=overall, per_category=per_cat, min_clicks=int(min_clicks))


# ----------------------------------------------------------------------------------------------- fitting
def _logit(p: float) -> float:
    return float(np.log(p) - np.log1p(-p))


def _bisect(f, target: float, lo: float = -12.0, hi: float = 12.0, tol: float = 1e-7) -> float:
    """The log-odds ``x`` in ``[lo, hi]`` with ``f(x) = target`` for an increasing ``f``; ``DataError`` if none."""
    f_lo, f_hi = f(lo), f(hi)
    if not f_lo <= target <= f_hi:
        raise DataError(f"target ratio {target:.4g} is out of the world's reach ({f_lo:.4g} .. {f_hi:.4g} for base "
                        "rates from 6e-6 to 1 - 6e-6); check the target or the reference scenario.")
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo < tol:
            break
    return 0.5 * (lo + hi)


class _FixedImpressions:
    """The response model's funnel on a fixed set of logged impressions, for any base rates."""

    def __init__(self, scenario: Scenario, logs: pd.DataFrame):
        from shopgym.plugins import build_world
        from shopgym.world.protocols import ImpressionBatch

        world = build_world(scenario, n_worlds=1)
        self.model, self.scenario = world.response_model, scenario
        self.batch = ImpressionBatch(
            shopper=logs["shopper_id"].to_numpy(np.int64), item=logs["item_id"].to_numpy(np.int64),
            position=logs["position"].to_numpy(np.int64), seen=logs["seen"].to_numpy(np.int64),
            discount=logs["discount"].to_numpy(float), in_stock=logs["in_stock"].to_numpy(bool),
            day=logs["day"].to_numpy(np.int64))
        self.in_stock = logs["in_stock"].to_numpy(float)

    def joint(self, **rates) -> np.ndarray:
        """Expected clicks, carts and purchases per impression ``(n, 3)`` under ``rates`` (base-rate keys)."""
        self.model.cfg = dataclasses.replace(self.scenario.shoppers, **rates)
        p = self.model.probabilities(self.batch)
        joint = np.cumprod(p, axis=1)
        joint[:, 2] *= self.in_stock  # nothing out of stock is sold
        return joint


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def _fit_on(fixed: _FixedImpressions, rates: dict[str, float], ctr: float, targets: dict[str, float]
            ) -> dict[str, float]:
    """One round of ``fit_funnel`` on fixed impressions: base_ctr, then base_cart_rate, then base_purchase_rate."""
    rates = dict(rates)

    def click_rate(x):
        return fixed.joint(**{**rates, "base_ctr": _sigmoid(x)})[:, 0].mean()

    rates["base_ctr"] = _sigmoid(_bisect(click_rate, ctr))

    def cart_per_click(x):
        j = fixed.joint(**{**rates, "base_cart_rate": _sigmoid(x)})
        return j[:, 1].sum() / j[:, 0].sum()

    rates["base_cart_rate"] = _sigmoid(_bisect(cart_per_click, targets["cart_per_click"]))

    def purchase_per_cart(x):
        j = fixed.joint(**{**rates, "base_purchase_rate": _sigmoid(x)})
        return j[:, 2].sum() / j[:, 1].sum()

    rates["base_purchase_rate"] = _sigmoid(_bisect(purchase_per_cart, targets["purchase_per_cart"]))
    return {k: float(f"{v:.4g}") for k, v in rates.items()}


def reference_logs(scenario: Scenario, n_impressions: int, seed: int, epsilon: float, discount_prob: float
                   ) -> pd.DataFrame:
    """Impressions of the reference logging policy (``forecasters.conversion.logs``) in ``scenario``."""
    from forecasters.conversion.logs import generate_logs

    return generate_logs(scenario, n_impressions, seed=seed, epsilon=epsilon, discount_prob=discount_prob)


def fit_funnel(ratios: FunnelRatios | dict[str, float], ctr: float, cfg: ShoppersConfig | None = None, *,
               scenario: Scenario | None = None, n_impressions: int = 100_000, seed: int = 0, rounds: int = 3,
               epsilon: float = 0.5, discount_prob: float = 0.2) -> dict[str, float]:
    """The ``[shoppers]`` base rates that reproduce ``ctr``, cart/click and purchase/cart in the world.

    Args:
        ratios: target ratios: a ``FunnelRatios`` (its overall ``cart_per_click`` and ``purchase_per_cart``
            values) or a dict with those two keys.
        ctr: target click rate, clicks per impression under the reference logging policy.
        cfg: the other ``[shoppers]`` keys (affinity weight, position decay, ...); default: the scenario's.
        scenario: the reference world; default ``forecasters.conversion.logs.log_scenario()`` (the world of
            ``shopgym conversion generate``).
        n_impressions, seed, epsilon, discount_prob: the reference logs (as ``shopgym conversion generate``).
        rounds: fit, regenerate the logs under the fitted rates, refit: this many times.

    Returns:
        ``{"base_ctr", "base_cart_rate", "base_purchase_rate"}``, each in ``(0, 1)``, rounded to 4 significant
        digits.
    """
    if isinstance(ratios, FunnelRatios):
        targets = {k: ratios.overall[k].value for k in ("cart_per_click", "purchase_per_cart")}
    else:
        targets = {k: float(ratios[k]) for k in ("cart_per_click", "purchase_per_cart")}
    for name, value in {"ctr": ctr, **targets}.items():
        if not 0.0 < value < 1.0:
            raise DataError(f"target {name} = {value!r} must lie strictly between 0 and 1.")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}.")
    if scenario is None:
        from forecasters.conversion.logs import log_scenario

        scenario = log_scenario()
    if cfg is not None:
        scenario = dataclasses.replace(scenario, shoppers=cfg)
    scenario = scenario.replace(simulate_sessions=True)  # validated
    s = scenario.shoppers
    rates = {"base_ctr": s.base_ctr, "base_cart_rate": s.base_cart_rate, "base_purchase_rate": s.base_purchase_rate}
    for _ in range(rounds):
        logs = reference_logs(scenario.replace(**rates), n_impressions, seed, epsilon, discount_prob)
        rates = _fit_on(_FixedImpressions(scenario, logs), rates, ctr, targets)
    return rates


def expected_ratios(logs: pd.DataFrame) -> dict[str, float]:
    """Click rate, cart/click, purchase/click and purchase/cart of logs' true probabilities (``true_*`` columns):
    the ratios the world's response model gives on those impressions, free of the draws' noise."""
    c, k, p = (logs[f"true_{t}"].sum() for t in LOG_LABELS)
    return {"click_rate": c / len(logs), "cart_per_click": k / c, "purchase_per_click": p / c, "purchase_per_cart": p / k}
