"""The checks of scenario values: one value against its field, the lists, and the keys that constrain each other.

``shopgym.config`` builds a ``Scenario`` from a nested dict and calls these (``check_value`` per key, then
``check_scenario`` on the whole): an unknown type, an out-of-range value, a malformed list or two keys that cannot
hold together raise a ``ScenarioError`` naming the key and the fix. The bounds every money, rate and dispersion key
shares (``MONEY_MAX``, ``RATE_MAX``, ``DISPERSION_MAX``) are defined here and used by the fields in
``shopgym.config``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from shopgym.errors import ScenarioError, did_you_mean

#: Upper bound of every amount of money per unit, order or day (currency). Above any real price or cost even
#: in currencies of small units (a car costs about 5e8 Indonesian rupiah), and it keeps every total finite:
#: 1e9 x 1e6 units/day x 100,000 SKUs x 100,000 days = 1e25, far inside float64 (1.8e308), so a typo such
#: as ``price = 1e308`` is refused instead of overflowing to inf and NaN profits.
MONEY_MAX = 1e9
#: Upper bound of a mean demand (units/day per SKU): ten times the best-selling products of the largest
#: retailers; every count and its sum over a horizon stay exact in int64 and float64 (below 2**53).
RATE_MAX = 1e6
#: Upper bound of the negative-binomial shape ``dispersion``: beyond it the excess variance ``mean**2 / k`` is
#: under a millionth of ``mean**2``, indistinguishable from Poisson demand, which ``dispersion = 0`` gives.
DISPERSION_MAX = 1e6


def check_value(where: str, f: dataclasses.Field, value: Any) -> Any:
    """Type- and range-check one value; returns it converted (int -> float where a float is due)."""
    expected = f.type if isinstance(f.type, type) else {"int": int, "float": float, "bool": bool, "str": str, "list": list}[f.type]
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ScenarioError(
            f"{where}: expected {expected.__name__}, got {type(value).__name__} {value!r}."
            + (" Write true or false, unquoted." if expected is bool else "")
        )
    if expected is float and not math.isfinite(value):
        raise ScenarioError(f"{where} = {value!r} is not a finite number; give a finite value in its allowed range.")
    choices = f.metadata.get("choices")
    if choices is not None and value not in choices:
        raise ScenarioError(f"{where} = {value!r} is not one of {list(choices)}.{did_you_mean(value, choices)}")
    lo, hi = f.metadata.get("min"), f.metadata.get("max")
    if lo is not None and value < lo or hi is not None and value > hi:
        bounds = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        raise ScenarioError(f"{where} = {value!r} is out of range; allowed: {bounds}.")
    return value


def _is_number(x) -> bool:
    """A finite int or float (not a bool, which TOML and Python would otherwise count as an int)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x) -> bool:
    """An int (not a bool); a float such as 1.5 or 2.0 is not one (no silent rounding)."""
    return isinstance(x, int) and not isinstance(x, bool)


#: Each holiday is ``[day_of_year, duration_days, uplift]``: (name, check, allowed) per position. A duration
#: above 366 days would cover every day of every year (a trend, not a holiday); an uplift above 100 (101x
#: demand) is far beyond any sales peak (Black Friday is 5-10x) and is taken for a typo.
_HOLIDAY_PARTS = (
    ("day_of_year", lambda x: _is_int(x) and 1 <= x <= 366, "an integer in [1, 366]"),
    ("duration_days", lambda x: _is_int(x) and 1 <= x <= 366, "an integer in [1, 366]"),
    ("uplift", lambda x: _is_number(x) and -1 <= x <= 100, "a number in [-1, 100]"),
)


def _validate_lists(where: str, weekly: list, holidays: list, prefix: str = "") -> None:
    """Check a weekly profile and a holiday list (``[demand]``'s, or ``[shoppers]``'s with ``prefix='arrival_'``)."""
    if len(weekly) != 7 or not all(_is_number(x) and x >= 0 for x in weekly):
        raise ScenarioError(
            f"{where}.{prefix}weekly must be 7 finite non-negative numbers (Mon..Sun), got {weekly!r}."
        )
    if sum(weekly) <= 0:
        raise ScenarioError(f"{where}.{prefix}weekly must not be all zero.")
    for i, h in enumerate(holidays):
        if not (isinstance(h, list) and len(h) == 3):
            raise ScenarioError(
                f"{where}.{prefix}holidays[{i}] = {h!r}: each entry is [day_of_year, duration_days, uplift], e.g. [329, 4, 1.0]."
            )
        for (name, ok, allowed), x in zip(_HOLIDAY_PARTS, h, strict=True):
            if not ok(x):
                raise ScenarioError(
                    f"{where}.{prefix}holidays[{i}] = {h!r}: {name} = {x!r} must be {allowed}."
                )


#: Keys naming a plug point, whose value is ``'ground_truth'`` or ``'learned:PATH'``. Only the form is checked
#: here; ``shopgym.plugins`` checks the file itself when a world is built.
PLUG_KEYS = (("demand", "demand_model"), ("shoppers", "response_model"))


def _validate_plug_points(source: str, scenario) -> None:
    """``demand.demand_model`` and ``shoppers.response_model``: ``'ground_truth'`` or ``'learned:PATH'``."""
    for section, key in PLUG_KEYS:
        value = getattr(getattr(scenario, section), key)
        if value == "ground_truth" or (value.startswith("learned:") and value[len("learned:"):].strip()):
            continue
        hint = did_you_mean(value, ["ground_truth"])
        raise ScenarioError(
            f"{source}: {section}.{key} = {value!r} is neither 'ground_truth' nor 'learned:PATH' "
            f"(PATH: a file saved by the model's save()).{hint}"
        )


def _validate_ads(source: str, ads) -> None:
    """``ads.traffic_multipliers``: empty, or ``ticks_per_day`` finite non-negative numbers, not all 0."""
    m = ads.traffic_multipliers
    if m and (len(m) != ads.ticks_per_day or not all(_is_number(x) and x >= 0 for x in m) or sum(m) <= 0):
        raise ScenarioError(
            f"{source}: ads.traffic_multipliers must be [] or ads.ticks_per_day = {ads.ticks_per_day} finite "
            f"non-negative numbers, not all 0, got {m!r}."
        )


def _validate_per_sku(where: str, cat) -> None:
    """``base_rates`` and ``prices``, when given, hold one number per SKU in the range of their scalar keys."""
    for key, lo, hi in (("base_rates", 0.0, RATE_MAX), ("prices", 0.01, MONEY_MAX)):
        values = getattr(cat, key)
        if values and (len(values) != cat.n_skus or not all(_is_number(x) and lo <= x <= hi for x in values)):
            raise ScenarioError(f"{where}.{key} must be empty or hold n_skus = {cat.n_skus} numbers in [{lo:g}, {hi:g}], "
                                f"got {len(values)} value(s) starting {values[:3]!r}; fix the list or n_skus.")


def check_scenario(source: str, scenario) -> None:
    """The checks that span a scenario's keys (lists, plug points, per-SKU lists, capacity, ads traffic, coupon
    levels, start date), in this order; ``source`` names the file or ``"overrides"`` in the messages."""
    _validate_lists(f"{source}: demand", scenario.demand.weekly, scenario.demand.holidays)
    _validate_lists(f"{source}: shoppers", scenario.shoppers.arrival_weekly, scenario.shoppers.arrival_holidays, "arrival_")
    _validate_plug_points(source, scenario)
    _validate_per_sku(f"{source}: catalog", scenario.catalog)
    inv, cat = scenario.inventory, scenario.catalog
    if inv.capacity and inv.initial_stock * cat.n_skus > inv.capacity:
        raise ScenarioError(
            f"{source}: inventory.initial_stock x catalog.n_skus = {inv.initial_stock * cat.n_skus} units exceeds "
            f"inventory.capacity = {inv.capacity}; lower initial_stock or raise capacity."
        )
    _validate_ads(source, scenario.ads)
    shop = scenario.shoppers
    if shop.coupon_step * (shop.coupon_levels - 1) >= 1.0:
        raise ScenarioError(
            f"{source}: shoppers.coupon_step x (coupon_levels - 1) = {shop.coupon_step * (shop.coupon_levels - 1):g} "
            "would be a discount of 100% or more; lower coupon_step or coupon_levels."
        )
    try:
        import numpy as np

        np.datetime64(scenario.env.start_date, "D")
    except ValueError as exc:
        raise ScenarioError(f"{source}: env.start_date = {scenario.env.start_date!r} is not an ISO date (YYYY-MM-DD).") from exc
