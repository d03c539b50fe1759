"""Scenario configuration: typed dataclasses, loaded from TOML files and validated in one place.

A scenario is the single source of truth for a world. Each section is a dataclass whose fields
carry their documentation, unit and allowed range in ``metadata``; ``load_scenario`` rejects unknown
keys, wrong types and out-of-range values with an error that names the key. Every key name is
unique across sections, so an env keyword argument such as ``n_skus=10`` overrides a scenario
value by name. The checks themselves are in ``shopgym.config_checks`` (``scenario_from_dict`` calls them, the
one place a scenario is validated); finding and reading a file in ``shopgym.scenario_files``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopgym.config_checks import (
    DISPERSION_MAX,
    MONEY_MAX,
    PLUG_KEYS,
    RATE_MAX,
    check_scenario,
    check_value,
)
from shopgym.errors import ScenarioError, did_you_mean
from shopgym.scenario_files import read_scenario_file, scenario_names, scenario_path

#: The names importable from here as before the checks and the file reading moved to their own modules
#: (``shopgym.config_checks``, ``shopgym.scenario_files``).
__all__ = ["AdsConfig", "CatalogConfig", "DemandConfig", "DISPERSION_MAX", "EnvConfig", "InventoryConfig",
           "KEY_SECTION", "MONEY_MAX", "PLUG_KEYS", "RATE_MAX", "RecommendConfig", "SECTIONS", "Scenario",
           "ShoppersConfig", "SupplyConfig", "describe_keys", "load_scenario", "scenario_from_dict",
           "scenario_names", "scenario_path"]


def _f(default, doc: str, unit: str = "", lo=None, hi=None, choices=None):
    """A dataclass field with its documentation, unit and allowed range."""
    meta = {"doc": doc, "unit": unit, "min": lo, "max": hi, "choices": choices}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


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
            values[key] = check_value(f"{source}: {section}.{key}", fields[key], value)
        kwargs[section] = cls(**values)
    scenario = Scenario(**kwargs)
    check_scenario(source, scenario)
    return scenario


def load_scenario(name_or_path: str | Path | Scenario, **overrides) -> Scenario:
    """Load and validate a scenario by shipped name or file path, then apply overrides by key name."""
    if isinstance(name_or_path, Scenario):
        scenario = name_or_path
    else:
        path = scenario_path(name_or_path)
        data = read_scenario_file(path)
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
