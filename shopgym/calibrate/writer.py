"""Write a calibrated scenario as TOML: every fitted value with its source, every unidentified key with its default.

The file is built as a dict, checked by loading it back through ``shopgym.config`` (the same validation as
any scenario file) before anything touches the disk, and written atomically (``shopgym.atomic``): a failed
run leaves no half-written scenario. The header lists the data, the command, each fitted value and where it
came from, and the keys the data could not identify with the default used for each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shopgym.atomic import atomic_write_text
from shopgym.calibrate.demand import DemandFit
from shopgym.config import CatalogConfig, InventoryConfig, Scenario, scenario_from_dict

#: Episode length of the written scenario (days): 13 weeks keeps `shopgym benchmark` on it to minutes.
DEFAULT_HORIZON = 91
#: Days of mean demand a SKU starts the episode with.
INITIAL_COVER_DAYS = 14


@dataclass
class Calibration:
    """Everything fitted for one scenario.

    Attributes:
        demand: the demand fit (required).
        shoppers: ``[shoppers]`` keys fitted from transactions (arrivals) and logs (funnel), or empty.
        shopper_sources: key -> source for those keys.
        unidentified: ``(key, reason, default used)`` beyond the demand fit's (costs, lead times, ...).
        data_source: how the sales file was read (layout, units, subset).
        command: the command line that produced it.
        unit_price: the catalog price (currency/unit) when the data have no prices.
    """

    demand: DemandFit
    shoppers: dict[str, Any] = field(default_factory=dict)
    shopper_sources: dict[str, str] = field(default_factory=dict)
    unidentified: list[tuple[str, str, object]] = field(default_factory=list)
    data_source: str = ""
    command: str = ""
    unit_price: float = 10.0


def _not_in_sales(fit: DemandFit) -> list[tuple[str, str, object]]:
    """Keys no sales file identifies: costs and supply."""
    cat, inv = CatalogConfig(), InventoryConfig()
    why = "sales data hold no costs or supply terms"
    out = [("catalog.margin", why, cat.margin), ("catalog.holding_cost", why, cat.holding_cost),
           ("catalog.order_cost", why, cat.order_cost), ("catalog.lead_time", why, cat.lead_time),
           ("inventory.lost_sale_penalty", why, inv.lost_sale_penalty)]
    if fit.list_prices is None:
        out.append(("catalog.price", "no price column: the stated unit price is used", None))
    return out


def scenario_dict(cal: Calibration, name: str, horizon: int = DEFAULT_HORIZON) -> dict[str, Any]:
    """The scenario as a nested dict (TOML tables), not yet validated."""
    fit = cal.demand
    n = len(fit.sku_ids)
    catalog: dict[str, Any] = {"n_skus": n, "n_categories": 1,
                               "base_rates": [round(float(b), 4) for b in fit.base_rates]}
    if fit.list_prices is not None:
        catalog["price"] = round(float(np.median(fit.list_prices)), 2)
        catalog["prices"] = [round(max(float(p), 0.01), 2) for p in fit.list_prices]
    else:
        catalog["price"] = round(float(cal.unit_price), 2)
    demand = fit.demand_section()
    peak_day = float(np.max(fit.base_rates)) * max(fit.weekly) * (1 + fit.yearly_amplitude)
    step = max(1, int(10 ** math.floor(math.log10(max(peak_day, 1.0)))) // 10)
    max_order = max(20, int(math.ceil(4 * peak_day / step)) * step)  # 4 days of the busiest SKU's peak demand
    env = {"start_date": fit.start_date, "horizon": int(horizon), "max_order": max_order, "order_step": step}
    inventory = {"initial_stock": int(round(INITIAL_COVER_DAYS * float(np.median(fit.base_rates))))}
    out: dict[str, Any] = {"name": name, "description": f"Calibrated by shopgym calibrate on {n} series of "
                           f"{'daily' if fit.step_days == 1 else 'weekly'} sales ({fit.n_obs} SKU-periods).",
                           "catalog": catalog, "demand": demand, "inventory": inventory, "env": env}
    if cal.shoppers:
        out["shoppers"] = dict(cal.shoppers)
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} {v!r} to TOML")


def _header(cal: Calibration, data: dict[str, Any]) -> list[str]:
    fit = cal.demand
    lines = ["# Written by `shopgym calibrate`" + (f": {cal.command}" if cal.command else "") + ".",
             f"# Data: {cal.data_source}.",
             f"# SKUs in catalog order: {', '.join(fit.sku_ids)}.", "#", "# Fitted values and their sources:"]
    sources = {**fit.sources, **cal.shopper_sources}
    for key, src in sources.items():
        section, name = key.split(".")
        value = data.get(section, {}).get(name)
        shown = _toml_value(value) if value is not None else "(see the table)"
        if isinstance(value, list) and len(value) > 8:
            shown = f"[{len(value)} values]"
        lines.append(f"#   {key} = {shown}: {src}")
    if fit.promo_uplift is not None:
        lines.append(f"#   (promotion uplift beyond the price effect: x{1 + fit.promo_uplift:.3f}; fitted, not written: "
                     "the world has no key for it)")
    lines += ["#", "# Not identified by the data, left at the stated default:"]
    for key, reason, default in [*fit.unidentified, *_not_in_sales(fit), *cal.unidentified]:
        shown = _toml_value(default) if default is not None else "see [catalog]"
        lines.append(f"#   {key} = {shown}: {reason}")
    return [*lines, "#"]


def render(cal: Calibration, name: str, horizon: int = DEFAULT_HORIZON) -> tuple[str, Scenario]:
    """The TOML text and the scenario it validates to (``ScenarioError`` if the fit left an invalid value)."""
    data = scenario_dict(cal, name, horizon)
    scenario = scenario_from_dict(dict(data), source=f"calibrated scenario {name!r}")
    lines = _header(cal, data)
    lines += [f"name = {_toml_value(data['name'])}", f"description = {_toml_value(data['description'])}"]
    for section, body in data.items():
        if isinstance(body, dict):
            lines += ["", f"[{section}]", *(f"{k} = {_toml_value(v)}" for k, v in body.items())]
    return "\n".join(lines) + "\n", scenario


def write_scenario(cal: Calibration, path: str | Path, horizon: int = DEFAULT_HORIZON) -> Scenario:
    """Write the calibrated scenario to ``path`` (atomically) and return it as loaded back from the file."""
    from shopgym.config import load_scenario

    path = Path(path)
    text, _ = render(cal, path.stem, horizon)
    atomic_write_text(path, text)
    return load_scenario(path)
