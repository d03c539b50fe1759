"""Scenario configuration: typed dataclasses, loaded from TOML files and validated in one place.

A scenario is the single source of truth for a world. Each section is a dataclass whose fields
carry their documentation, unit and allowed range in ``metadata``; ``load_scenario`` rejects unknown
keys, wrong types and out-of-range values with an error that names the key. Every key name is
unique across sections, so an env keyword argument such as ``n_skus=10`` overrides a scenario
value by name.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from shopgym.errors import ScenarioError, UnknownScenarioError, did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _f(default, doc: str, unit: str = "", lo=None, hi=None, choices=None):
    """A dataclass field with its documentation, unit and allowed range."""
    meta = {"doc": doc, "unit": unit, "min": lo, "max": hi, "choices": choices}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


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


@dataclass
class CatalogConfig:
    """The products: drawn once from ``catalog_seed``, identical for every episode seed."""

    n_skus: int = _f(1, "number of products (SKUs)", "SKUs", 1, 100_000)
    n_categories: int = _f(1, "number of product categories; SKUs are assigned round-robin", "", 1, 10_000)
    catalog_seed: int = _f(0, "seed of the catalog draw (prices, costs, base rates, features)", "", 0)
    price: float = _f(10.0, "median selling price (SKU prices are rounded to cents, so at least 0.01)", "currency/unit", 0.01, MONEY_MAX)
    price_spread: float = _f(0.0, "log-normal sigma of prices across SKUs (0 = all equal)", "", 0.0, 3.0)
    margin: float = _f(0.4, "gross margin (price - unit cost) / price", "", 0.0, 0.99)
    holding_cost: float = _f(0.02, "holding cost per unit on hand at the end of a day", "currency/unit/day", 0.0, MONEY_MAX)
    order_cost: float = _f(0.0, "fixed cost of placing a non-zero order for one SKU", "currency/order", 0.0, MONEY_MAX)
    lead_time: int = _f(2, "supplier lead time: days from order to availability (0 = same day)", "days", 0, 60)
    lead_time_spread: int = _f(0, "lead times vary uniformly by up to this many days across SKUs", "days", 0, 30)
    shelf_life: int = _f(0, "days a unit can be sold after arrival (0 = never perishes; 1 = perishes at day end)", "days", 0, 365)
    embedding_dim: int = _f(8, "length of each product's feature vector (used by shoppers and conversion models)", "", 1, 256)
    base_rates: list = _f([], "explicit median mean demand per SKU (n_skus numbers, as `shopgym calibrate` writes them); empty: drawn from demand.base_rate and base_rate_spread", "units/day")
    prices: list = _f([], "explicit list price per SKU (n_skus numbers, at least 0.01); empty: drawn from price and price_spread", "currency/unit")


@dataclass
class DemandConfig:
    """Ground-truth daily demand: base x weekly x yearly x trend x holiday x price effect, NB noise."""

    demand_model: str = _f("ground_truth", "'ground_truth', or 'learned:PATH' for a forecaster saved by forecasters' save()")
    base_rate: float = _f(5.0, "median mean demand per SKU", "units/day", 0.0, RATE_MAX)
    base_rate_spread: float = _f(0.0, "log-normal sigma of base rates across SKUs", "", 0.0, 3.0)
    weekly: list = _f([1.0] * 7, "seven finite non-negative multipliers Monday..Sunday, not all 0 (rescaled to mean 1)", "")
    yearly_amplitude: float = _f(0.0, "relative amplitude of the yearly cycle", "", 0.0, 0.95)
    yearly_peak_day: int = _f(350, "day of year (1-366) when the yearly cycle peaks", "day of year", 1, 366)
    trend: float = _f(0.0, "relative growth of demand per year", "1/year", -0.9, 10.0)
    holidays: list = _f([], "list of [day_of_year (integer 1-366), duration_days (integer 1-366), uplift (number in [-1, 100])]: demand x (1 + uplift) on those days", "")
    promo_prob: float = _f(0.0, "chance that a SKU is on promotion on a given day", "", 0.0, 1.0)
    promo_discount: float = _f(0.2, "price cut while on promotion (fraction of list price)", "", 0.0, 0.9)
    elasticity: float = _f(-1.5, "price elasticity: demand x (price / list price) ** elasticity", "", -10.0, 0.0)
    dispersion: float = _f(0.0, "negative-binomial shape k (variance = mean + mean^2 / k); 0 = Poisson; a tiny k gives demand that is almost always 0 with rare huge days (every draw is bounded work)", "", 0.0, DISPERSION_MAX)
    substitution: float = _f(0.0, "share of unmet demand that turns to another SKU of the same category (lost-sales mode)", "", 0.0, 1.0)


@dataclass
class InventoryConfig:
    """Stock keeping: initial stock, lost sales or backorders, capacity, penalties."""

    initial_stock: int = _f(0, "units on hand per SKU at the start of an episode (at most 1e9: totals over 100,000 SKUs stay exact in float64)", "units", 0, 10**9)
    backorders: bool = _f(False, "unmet demand waits as a backorder (True) or is lost (False)")
    capacity: int = _f(0, "warehouse capacity, all SKUs together (0 = unlimited); orders are cut to fit (at most 2**53, exact in float64)", "units", 0, 2**53)
    lost_sale_penalty: float = _f(0.0, "goodwill cost per unit of demand not served", "currency/unit", 0.0, MONEY_MAX)
    backorder_penalty: float = _f(0.0, "cost per backordered unit per day", "currency/unit/day", 0.0, MONEY_MAX)
    disposal_cost: float = _f(0.0, "cost of disposing of one expired unit", "currency/unit", 0.0, MONEY_MAX)


@dataclass
class SupplyConfig:
    """Supply disruptions."""

    shock_day: int = _f(-1, "day (0-based) from which lead times jump (-1 = never; at most the largest horizon)", "days", -1, 100_000)
    shock_lead_time_add: int = _f(0, "days added to every lead time from shock_day on", "days", 0, 60)


@dataclass
class EnvConfig:
    """The episode and the restocking decision."""

    horizon: int = _f(365, "episode length", "days", 1, 100_000)
    start_date: str = _f("2024-01-01", "calendar date of day 0 (ISO format)")
    max_order: int = _f(20, "largest order per SKU per day", "units", 1, 1_000_000)
    order_step: int = _f(1, "order quantities are multiples of this (at most the largest max_order)", "units", 1, 1_000_000)
    history_window: int = _f(7, "days of past sales shown in the observation", "days", 1, 365)
    forecast_in_obs: bool = _f(True, "show the demand model's forecast over the lead time in the observation")
    reward_scale: float = _f(1.0, "reward = profit x reward_scale (at most 1e6: rewards stay finite for any profit allowed)", "1/currency", 0.0, 1e6)


@dataclass
class ShoppersConfig:
    """Shoppers and their ground-truth responses (click, add-to-cart, purchase) to shown items."""

    n_shoppers: int = _f(2000, "number of shoppers in the population, drawn once from shoppers_seed", "shoppers", 1, 10_000_000)
    n_segments: int = _f(4, "number of shopper segments (each with its own taste centre and price sensitivity)", "", 1, 1000)
    shoppers_seed: int = _f(0, "seed of the population draw (preferences, sensitivities, segments)", "", 0)
    sessions_per_day: float = _f(200.0, "mean number of shopping sessions per day (Poisson, or negative binomial with arrival_dispersion; x the arrival_* calendar multipliers)", "sessions/day", 0.0, RATE_MAX)
    arrival_weekly: list = _f([1.0] * 7, "seven finite non-negative multipliers Monday..Sunday of the daily session mean, not all 0 (rescaled to mean 1)", "")
    arrival_payday_uplift: float = _f(0.0, "relative uplift of the daily session mean on paydays: the 15th and the last day of each month, and the day after each (Ecuador's public-sector pay days, as fitted on Favorita)", "", -0.9, 10.0)
    arrival_holidays: list = _f([], "list of [day_of_year (integer 1-366), duration_days (integer 1-366), uplift (number in [-1, 100])]: session mean x (1 + uplift) on those days (as demand.holidays)", "")
    arrival_dispersion: float = _f(0.0, "negative-binomial shape k of the daily session count (variance = mean + mean^2 / k); 0 = Poisson", "", 0.0, DISPERSION_MAX)
    slate_size: int = _f(10, "items shown per session, at positions 0 .. slate_size - 1", "items", 1, 1000)
    price_sensitivity: float = _f(1.0, "mean drop in cart/purchase log-odds per unit of log(price paid / median price)", "", 0.0, 20.0)
    base_ctr: float = _f(0.04183, "click probability at position 0 for zero affinity, median price, no fatigue (default calibrated: a 4.0% click rate, Ali-CCP; docs/calibration.md)", "", 0.001, 0.999)
    base_cart_rate: float = _f(0.0189, "add-to-cart probability given a click, at zero affinity and median price (default calibrated on Taobao cart/page view; docs/calibration.md)", "", 0.001, 0.999)
    base_purchase_rate: float = _f(0.1942, "purchase probability given an add-to-cart, at zero affinity and median price (default calibrated on Taobao buy/cart; docs/calibration.md)", "", 0.001, 0.999)
    affinity_weight: float = _f(2.0, "log-odds added per unit of affinity (preference . item features, in [-1, 1])", "", 0.0, 20.0)
    position_decay: float = _f(0.5, "examination probability at position k is (1 + k) ** -position_decay", "", 0.0, 5.0)
    fatigue_rate: float = _f(0.3, "examination x exp(-fatigue_rate x times the shopper has seen the item before)", "", 0.0, 5.0)
    response_model: str = _f("ground_truth", "'ground_truth', or 'learned:PATH' for a conversion model saved by its save()")
    simulate_sessions: bool = _f(False, "shoppers visit the world each day and buy what they are shown, from the shared stock (Recommend turns it on; off leaves Restock unchanged)")
    memory_fatigue: bool = _f(False, "shoppers remember what they were shown: earlier impressions of an item feed 'seen' (fatigue_rate)")
    memory_satisfaction: bool = _f(False, "satisfaction rises with purchases, falls with ignored and out-of-stock items; it sets how often a shopper returns, and below churn_threshold the shopper leaves")
    memory_drift: bool = _f(False, "interests drift towards what shoppers buy: each purchase adds drift_rate to the click log-odds of its category")
    satisfaction_gain: float = _f(0.1, "satisfaction added per purchase (satisfaction lies in [0, 1], starts at 0.5)", "1/purchase", 0.0, 1.0)
    satisfaction_loss: float = _f(0.02, "satisfaction lost per shown item the shopper did not click", "1/impression", 0.0, 1.0)
    stockout_loss: float = _f(0.1, "satisfaction lost per shown item that was out of stock", "1/impression", 0.0, 1.0)
    churn_threshold: float = _f(0.1, "a shopper whose satisfaction falls below this never returns (memory_satisfaction)", "", 0.0, 1.0)
    drift_rate: float = _f(0.3, "click log-odds added to a category per purchase in it (memory_drift; capped at 2)", "log-odds/purchase", 0.0, 2.0)
    coupons: bool = _f(False, "shown discounts are coupons paid from coupon_budget (an offer that would overspend is shown at full price); off: discounts are free price cuts")
    coupon_budget: float = _f(100.0, "money for coupons per world and episode (coupons); a redeemed coupon costs today's price x its discount", "currency/episode", 0.0, MONEY_MAX)
    coupon_levels: int = _f(3, "offer levels of Recommend-v0's coupon action: level j is a discount of j x coupon_step", "levels", 1, 100)
    coupon_step: float = _f(0.1, "discount per offer level (coupon_step x (coupon_levels - 1) must stay below 1)", "fraction", 0.0, 0.99)
    complements: bool = _f(False, "each item has a complement (catalog.complements()); showing it to a shopper whose last purchase was its partner adds complement_lift to the add-to-cart log-odds")
    complement_lift: float = _f(1.0, "add-to-cart log-odds added to an item shown after a purchase of the item it complements (complements)", "log-odds", 0.0, 10.0)
    bundles: bool = _f(False, "an item can be offered as a bundle with its complement at bundle_discount: both are shown and bought together, or neither")
    bundle_discount: float = _f(0.15, "price cut of both items of a bundle (bundles; the main item gets the larger of this and its coupon)", "fraction", 0.0, 0.99)
    history_clicks: float = _f(0.0, "mean clicks per shopper BEFORE the episode, drawn once from shoppers_seed through the true click model and the start of every episode's memory (shopgym.world.history); 0 = none. Taobao UserBehavior sample: 91.28 page views per user over its 9 days (python -m shopgym.calibrate.history)", "clicks", 0.0, 100_000.0)
    history_dispersion: float = _f(0.0, "negative-binomial shape k of the pre-episode click count (variance = mean + mean^2 / k); 0 = Poisson. Taobao sample: 1.238", "", 0.0, DISPERSION_MAX)
    history_clicks_per_visit: float = _f(5.444, "pre-episode clicks per visit: a shopper with c past clicks has ceil(c / this) past visits (Taobao sample: page views per session split at 30-minute gaps)", "clicks/visit", 0.01, 10_000.0)


@dataclass
class RecommendConfig:
    """The recommendation decision (``shopgym/Recommend-v0``) and the restocking rule that runs under it."""

    candidates: int = _f(10, "K: items offered to the recommender per session (top-K by popularity, category match, stock)", "items", 1, 1000)
    restock_policy: str = _f("order_up_to", "restocking under Recommend: 'order_up_to' (cover lead time + restock_cover_days of demand) or 'none'", choices=("order_up_to", "none"))
    restock_cover_days: float = _f(7.0, "days of expected demand beyond the lead time that order_up_to keeps on hand or on order", "days", 0.0, 365.0)


@dataclass
class AdsConfig:
    """Ad auctions (``shopgym/Ads-v0``; ``shopgym.world.ads``): our campaigns bid for ad opportunities each tick of a day.

    Each tick ``t`` brings a Poisson number of opportunities (mean ``opportunities_per_day x traffic[t] /
    ticks_per_day``); each is a shopper from the population looking at one campaign's products (campaign drawn
    uniformly). Our bid is ``multiplier x`` the estimated value of the shopper for the campaign; competitors bid
    around the same value. Off (the default), the world draws nothing for ads.
    """

    simulate_ads: bool = _f(False, "simulate ad auctions (Ads-v0 turns it on; off leaves Restock and Recommend unchanged)")
    ticks_per_day: int = _f(24, "auction rounds (env steps of Ads-v0) per day", "ticks/day", 1, 1440)
    opportunities_per_day: float = _f(2400.0, "mean ad opportunities per day, all campaigns together (Poisson per tick)", "opportunities/day", 0.0, RATE_MAX)
    traffic: str = _f("diurnal", "daily traffic shape over the ticks: 'diurnal' (evening peak at 20:00, night trough at 03:00-04:00, peak/trough about 10.7) or 'flat'", choices=("diurnal", "flat"))
    traffic_multipliers: list = _f([], "ticks_per_day finite non-negative multipliers, not all 0 (rescaled to mean 1), replacing traffic; [] = use traffic", "")
    campaigns: str = _f("category", "what each campaign advertises: 'category' (one per category: its SKUs), 'sku' (one per SKU) or 'catalog' (one for all)", choices=("category", "sku", "catalog"))
    daily_budget: float = _f(50.0, "budget of each campaign per day (unspent money does not carry over)", "currency/day", 0.0, MONEY_MAX)
    budget_cut_day: int = _f(-1, "day (0-based) from which every budget is multiplied by budget_cut_factor (-1 = never)", "days", -1, 100_000)
    budget_cut_factor: float = _f(0.5, "budget multiplier from budget_cut_day on", "", 0.0, 1.0)
    auction: str = _f("second", "'second' (the winner pays the highest competing bid or the reserve) or 'first' (the winner pays its bid)", choices=("second", "first"))
    reserve_price: float = _f(0.0, "lowest price at which an impression is sold", "currency/impression", 0.0, MONEY_MAX)
    competitors: int = _f(3, "competing bidders in every auction", "bidders", 0, 100)
    competitor_intensity: float = _f(1.0, "competitors' mean value relative to ours for the same shopper (x traffic[t] ** 0.5: they bid harder at peak hours)", "", 0.0, 100.0)
    competitor_correlation: float = _f(0.7, "weight of the shopper's value in a competitor's value (the rest is the campaign's mean value)", "", 0.0, 1.0)
    competitor_spread: float = _f(0.5, "log-normal sigma of each competitor's value around its mean", "", 0.0, 3.0)
    bid_levels: int = _f(11, "levels of Ads-v0's discrete action: level k bids k / (bid_levels - 1) x max_multiplier x value", "levels", 2, 1000)
    max_multiplier: float = _f(2.0, "largest bid multiplier of Ads-v0's action", "", 0.01, 100.0)


SECTIONS: dict[str, type] = {
    "catalog": CatalogConfig,
    "demand": DemandConfig,
    "inventory": InventoryConfig,
    "supply": SupplyConfig,
    "env": EnvConfig,
    "shoppers": ShoppersConfig,
    "recommend": RecommendConfig,
    "ads": AdsConfig,
}


@dataclass
class Scenario:
    """A complete, validated world and env configuration."""

    name: str = "custom"
    description: str = ""
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    demand: DemandConfig = field(default_factory=DemandConfig)
    inventory: InventoryConfig = field(default_factory=InventoryConfig)
    supply: SupplyConfig = field(default_factory=SupplyConfig)
    env: EnvConfig = field(default_factory=EnvConfig)
    shoppers: ShoppersConfig = field(default_factory=ShoppersConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    ads: AdsConfig = field(default_factory=AdsConfig)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (TOML-able) of every value, for writing next to results."""
        return dataclasses.asdict(self)

    def replace(self, **overrides) -> Scenario:
        """A copy with keys overridden by name (``n_skus=10``), validated like a file."""
        data = self.to_dict()
        for key, value in overrides.items():
            section = KEY_SECTION.get(key)
            if section is None:
                raise ScenarioError(
                    f"Unknown scenario key {key!r}.{did_you_mean(key, KEY_SECTION)} "
                    f"Valid keys: {', '.join(sorted(KEY_SECTION))}."
                )
            data[section][key] = value
        return scenario_from_dict(data, source="overrides")


KEY_SECTION: dict[str, str] = {
    f.name: section for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)
}


def _check_value(where: str, f: dataclasses.Field, value: Any) -> Any:
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


def _validate_plug_points(source: str, scenario: Scenario) -> None:
    for section, key in PLUG_KEYS:
        value = getattr(getattr(scenario, section), key)
        if value == "ground_truth" or (value.startswith("learned:") and value[len("learned:"):].strip()):
            continue
        hint = did_you_mean(value, ["ground_truth"])
        raise ScenarioError(
            f"{source}: {section}.{key} = {value!r} is neither 'ground_truth' nor 'learned:PATH' "
            f"(PATH: a file saved by the model's save()).{hint}"
        )


def _validate_ads(source: str, ads: AdsConfig) -> None:
    """``ads.traffic_multipliers``: empty, or ``ticks_per_day`` finite non-negative numbers, not all 0."""
    m = ads.traffic_multipliers
    if m and (len(m) != ads.ticks_per_day or not all(_is_number(x) and x >= 0 for x in m) or sum(m) <= 0):
        raise ScenarioError(
            f"{source}: ads.traffic_multipliers must be [] or ads.ticks_per_day = {ads.ticks_per_day} finite "
            f"non-negative numbers, not all 0, got {m!r}."
        )


def _validate_per_sku(where: str, cat: CatalogConfig) -> None:
    """``base_rates`` and ``prices``, when given, hold one number per SKU in the range of their scalar keys."""
    for key, lo, hi in (("base_rates", 0.0, RATE_MAX), ("prices", 0.01, MONEY_MAX)):
        values = getattr(cat, key)
        if values and (len(values) != cat.n_skus or not all(_is_number(x) and lo <= x <= hi for x in values)):
            raise ScenarioError(f"{where}.{key} must be empty or hold n_skus = {cat.n_skus} numbers in [{lo:g}, {hi:g}], "
                                f"got {len(values)} value(s) starting {values[:3]!r}; fix the list or n_skus.")


def scenario_from_dict(data: dict[str, Any], source: str = "<dict>") -> Scenario:
    """Validate a nested dict (as read from TOML) and build a ``Scenario``."""
    data = dict(data)
    kwargs: dict[str, Any] = {"name": data.pop("name", "custom"), "description": data.pop("description", "")}
    for key, value in kwargs.items():
        if not isinstance(value, str):
            raise ScenarioError(f"{source}: {key} = {value!r} must be a string; quote it.")
    for section, body in data.items():
        cls = SECTIONS.get(section)
        if cls is None:
            raise ScenarioError(
                f"{source}: unknown section [{section}].{did_you_mean(section, SECTIONS)} "
                f"Valid sections: {', '.join(SECTIONS)}."
            )
        if not isinstance(body, dict):
            raise ScenarioError(f"{source}: [{section}] must be a table of key = value lines.")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {}
        for key, value in body.items():
            if key not in fields:
                hint = did_you_mean(key, fields)
                if key in KEY_SECTION:
                    hint = f" {key!r} belongs in [{KEY_SECTION[key]}]."
                raise ScenarioError(
                    f"{source}: unknown key {section}.{key}.{hint} Keys of [{section}]: {', '.join(fields)}."
                )
            values[key] = _check_value(f"{source}: {section}.{key}", fields[key], value)
        kwargs[section] = cls(**values)
    scenario = Scenario(**kwargs)
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
    return scenario


def scenario_names() -> list[str]:
    """Names of the scenario files shipped in the ``scenarios`` package."""
    root = resources.files("scenarios")
    return sorted(p.name[: -len(".toml")] for p in root.iterdir() if p.name.endswith(".toml"))


def scenario_path(name_or_path: str | Path) -> Path:
    """Resolve a shipped scenario name or a path to a ``.toml`` file."""
    text = str(name_or_path)
    candidate = Path(text)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise UnknownScenarioError(f"Scenario file {text!r} does not exist.")
        return candidate
    names = scenario_names()
    if text not in names:
        raise UnknownScenarioError(
            f"Unknown scenario {text!r}.{did_you_mean(text, names)} "
            f"Shipped scenarios: {', '.join(names)}; or pass a path to a .toml file."
        )
    return Path(str(resources.files("scenarios") / f"{text}.toml"))


def load_scenario(name_or_path: str | Path | Scenario, **overrides) -> Scenario:
    """Load and validate a scenario by shipped name or file path, then apply overrides by key name."""
    if isinstance(name_or_path, Scenario):
        scenario = name_or_path
    else:
        path = scenario_path(name_or_path)
        try:
            text = path.read_bytes().decode("utf-8-sig")  # TOML is UTF-8; a byte-order mark is allowed
        except UnicodeDecodeError as exc:
            raise ScenarioError(
                f"{path}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start:exc.start + 1]!r}); TOML files "
                "must be UTF-8: re-save the file as UTF-8 in your editor, or convert it (iconv -t UTF-8)."
            ) from None
        except OSError as exc:
            raise ScenarioError(f"{path}: cannot be read ({exc.strerror or exc}); check the path and its permissions.") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{path}: not valid TOML: {exc}") from exc
        data.setdefault("name", path.stem)
        scenario = scenario_from_dict(data, source=str(path.name))
    return scenario.replace(**overrides) if overrides else scenario


def describe_keys() -> str:
    """A Markdown table per section documenting every scenario key (used for scenarios/README.md)."""
    lines = []
    for section, cls in SECTIONS.items():
        lines += [f"### [{section}]", "", (cls.__doc__ or "").strip(), "", "| key | default | unit | allowed | meaning |", "|---|---|---|---|---|"]
        for f in dataclasses.fields(cls):
            m = f.metadata
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            allowed = ""
            if m.get("min") is not None or m.get("max") is not None:
                allowed = f"{m.get('min', '')} .. {m.get('max') if m.get('max') is not None else ''}"
            lines.append(f"| `{f.name}` | `{default!r}` | {m.get('unit', '')} | {allowed} | {m.get('doc', '')} |")
        lines.append("")
    return "\n".join(lines)
