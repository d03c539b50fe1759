"""How much memory a ``World`` will allocate, estimated from the scenario before anything is allocated.

A world keeps tables over worlds x SKUs x days (demand and sales histories, prices and promotions per
calendar day, lead times, the forecast table). Each key is within its own range, yet together they can ask
for hundreds of GiB (``n_skus = 100000`` with ``horizon = 100000``). ``check_world_memory`` refuses such a
world with the number of GiB it would need, before numpy tries (and fails, or swaps the machine to a halt).

The limit is ``DEFAULT_LIMIT_GIB`` (8 GiB), or the ``SHOPGYM_MAX_WORLD_GIB`` environment variable. A fixed
limit, not a share of this machine's memory, so that a scenario that builds on one machine builds on every
machine (a result never depends on where it ran). 8 GiB fits a 16 GiB laptop with room left for the agent,
and is over a thousand times what a shipped scenario needs (``steady`` with 64 worlds: about 10 MiB).
"""

from __future__ import annotations

import os

from shopgym.config import Scenario
from shopgym.errors import ScenarioError

#: Largest estimated world (GiB) built without ``SHOPGYM_MAX_WORLD_GIB`` set.
DEFAULT_LIMIT_GIB = 8.0
#: Environment variable that overrides ``DEFAULT_LIMIT_GIB`` (a positive number of GiB).
LIMIT_VARIABLE = "SHOPGYM_MAX_WORLD_GIB"
GIB = 2.0**30


def world_bytes(scenario: Scenario, n_worlds: int) -> float:
    """Estimated bytes a ``World(scenario, n_worlds)`` allocates at its peak (within about a factor of two of what
    ``tracemalloc`` measures over building a world and stepping it once): its largest arrays.

    Counts (``b`` worlds, ``n`` SKUs, ``H`` horizon days, ``D = H + L + 2`` calendar days, ``L`` the longest lead
    time): demand and sales histories (2 x 8 bytes x b x n x (28 + H)); promotions, the price table, its
    transposed copy and the promotion cut being built (25 bytes x b x D x n); lead times per day (8 x D x n); the
    forecast table at list prices (8 x D x n x (L + 1)); stock and pipeline; a block of demand draws (up to
    about 2M entries); the promotion draw; the catalog; and, with ``shoppers.simulate_sessions``, the shopper
    population and its memory.
    """
    cat, env, sup, sh = scenario.catalog, scenario.env, scenario.supply, scenario.shoppers
    b, n, h = float(n_worlds), float(cat.n_skus), float(env.horizon)
    lead = cat.lead_time + cat.lead_time_spread + (sup.shock_lead_time_add if sup.shock_day >= 0 else 0)
    days = h + lead + 2
    history = max(env.history_window, 28) + h
    total = 16 * b * n * history  # demand and sales histories (float64)
    total += 25 * b * days * n  # promotions (bool), price table, its copy by day, the cut being built (float64)
    total += 8 * days * n  # lead time per calendar day and SKU (int64)
    if env.forecast_in_obs:
        total += 8 * days * n * (lead + 1)  # every day's forecast over the lead time (float64)
    total += 8 * b * n * (cat.shelf_life + 1 + lead + 1)  # stock by age bucket, pipeline (int64)
    per_block = 32 * b * n  # demand is drawn in blocks of whole 32-day blocks of up to ~2M entries (World)
    block = per_block * min(max(2**21 // per_block, 1), -(-env.horizon // 32))
    total += 64 * block  # a block's uniforms, prices, means, draws and their contiguous copies (8 bytes each)
    if scenario.demand.promo_prob > 0:
        total += (8 + b) * days * n  # one world's uniforms while drawing promotions, and the list being stacked
    total += 8 * n * (cat.embedding_dim + 12)  # the catalog's arrays
    if getattr(sh, "simulate_sessions", False):
        u = float(sh.n_shoppers)
        total += 8 * u * (cat.embedding_dim + 3)  # the population: preferences, sensitivity, segment
        total += 8 * b * u * (8 + cat.n_categories)  # memory: counters, satisfaction, interest per category
        if getattr(sh, "memory_fatigue", False):
            total += 4 * b * u * n  # impressions seen per (shopper, item) (int32)
    return total


def limit_gib() -> float:
    """The limit in GiB: ``SHOPGYM_MAX_WORLD_GIB`` when set, else ``DEFAULT_LIMIT_GIB``."""
    text = os.environ.get(LIMIT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_LIMIT_GIB
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ScenarioError(f"{LIMIT_VARIABLE}={text!r} is not a positive number of GiB; set it to e.g. 32, or unset it "
                            f"for the default {DEFAULT_LIMIT_GIB:g} GiB.")
    return value


def check_world_memory(scenario: Scenario, n_worlds: int) -> None:
    """Raise ``ScenarioError`` if ``world_bytes`` exceeds the limit, naming the GiB needed and the fix."""
    need, limit = world_bytes(scenario, n_worlds) / GIB, limit_gib()
    if need > limit:
        cat, env = scenario.catalog, scenario.env
        raise ScenarioError(
            f"this world would need about {need:,.1f} GiB of memory ({n_worlds} world(s) x catalog.n_skus = "
            f"{cat.n_skus:,} x env.horizon = {env.horizon:,} days), over the limit of {limit:g} GiB. Lower "
            f"catalog.n_skus, env.horizon or the number of envs, or, on a machine with the memory, raise the limit: "
            f"{LIMIT_VARIABLE}={max(need * 1.25, 1):.0f}."
        )
