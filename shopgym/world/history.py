"""Each shopper's interactions with the shop BEFORE the episode: the record a real shop keeps of returning shoppers.

Drawn once per population from ``shoppers_seed`` (a shop's past is data: the same in every episode), vectorised
over shoppers, through the world's ground-truth response model (the law of in-episode clicks): every item is shown
equally often (uniform exposure) at slot 0, list price, no discount, in stock, unseen, on a weekday, so a shopper's
past clicks fall on the items in proportion to their p(click). With ``c_u`` the shopper's number of past clicks
(``shoppers.history_clicks`` on average; Poisson, or negative binomial with shape ``history_dispersion``)::

    clicks on item i      ~ Poisson(c_u p_ui / sum_j p_uj)        (so the total is the count drawn)
    purchases on item i   ~ Binomial(clicks on i, p(cart | click) p(purchase | cart))
    visits                = ceil(clicks / history_clicks_per_visit)
    taste_sum             = sum over clicks of the item's embedding
    last_category         = the category of one of the clicks, drawn in proportion to the clicks (-1 without)

``ShopperState.reset`` starts every episode's memory from it (``shopgym.world.memory``).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from shopgym.config import ShoppersConfig
from shopgym.world.catalog import Catalog
from shopgym.world.protocols import ImpressionBatch
from shopgym.world.response import GroundTruthResponse
from shopgym.world.shoppers import ShopperPopulation

#: Most (shopper, item) rows the response model is asked for at once (memory: a few arrays of this length).
CHUNK_ROWS = 1_000_000
#: Spawn key of the history's stream under ``shoppers_seed`` (the population itself uses 0x5409).
HISTORY_STREAM = 0x4157


@dataclass(frozen=True)
class ShopperHistory:
    """Per shopper (arrays of length ``n_shoppers``): what the shop saw of them before the episode.

    Attributes:
        visits, clicks, purchases: counts (int64).
        last_category: category of the last past click, -1 without one (int64).
        taste_sum: sum of the embeddings of the clicked items, ``(n_shoppers, d)`` float64 (over ``clicks``: the
            mean clicked embedding).
    """

    visits: np.ndarray
    clicks: np.ndarray
    purchases: np.ndarray
    last_category: np.ndarray
    taste_sum: np.ndarray


#: Records kept for reuse (``shared_history``): a vector env's worlds share one population and so one record.
SHARED_MAX = 4
_shared: OrderedDict[str, ShopperHistory | None] = OrderedDict()


def shared_history(cfg: ShoppersConfig, catalog: Catalog, population: ShopperPopulation) -> ShopperHistory | None:
    """``draw_history`` from ``history_rng(cfg)``, drawn once per distinct (config, catalog, population) in this
    process and shared (read-only arrays; ``ShopperState.reset`` copies them), so the N worlds of a vector env
    do not each draw the same record (``n_shoppers x n_skus`` model calls)."""
    h = hashlib.sha256(repr(cfg).encode())
    for a in (catalog.features, catalog.price, catalog.unit_cost, catalog.category, population.preferences,
              population.price_sensitivity, population.segment):
        h.update(np.ascontiguousarray(a).tobytes())
    key = h.hexdigest()
    if key in _shared:
        _shared.move_to_end(key)
        return _shared[key]
    record = draw_history(cfg, catalog, population, history_rng(cfg))
    if record is not None:
        for a in vars(record).values():
            a.setflags(write=False)
    _shared[key] = record
    while len(_shared) > SHARED_MAX:
        _shared.popitem(last=False)
    return record


def history_rng(cfg: ShoppersConfig) -> np.random.Generator:
    """The generator of the pre-episode record: from ``shoppers_seed`` only (no episode seed)."""
    return np.random.default_rng(np.random.SeedSequence([cfg.shoppers_seed, HISTORY_STREAM]))


def draw_history(cfg: ShoppersConfig, catalog: Catalog, population: ShopperPopulation,
                 rng: np.random.Generator) -> ShopperHistory | None:
    """The pre-episode record of every shopper (see the module docstring); ``None`` when ``history_clicks`` is 0."""
    if cfg.history_clicks <= 0:
        return None
    u, n = population.n_shoppers, catalog.n_skus
    model = GroundTruthResponse(catalog, population, cfg, start_weekday=0)
    out = {"visits": np.zeros(u, np.int64), "clicks": np.zeros(u, np.int64), "purchases": np.zeros(u, np.int64),
           "last_category": np.full(u, -1, np.int64), "taste_sum": np.zeros((u, catalog.features.shape[1]))}
    step = max(1, CHUNK_ROWS // n)
    for lo in range(0, u, step):  # chunks of shoppers: bounded memory (u x n_skus arrays) for huge populations
        hi = min(u, lo + step)
        shopper = np.repeat(np.arange(lo, hi, dtype=np.int64), n)
        zeros = np.zeros(len(shopper), dtype=np.int64)
        probs = model.probabilities(ImpressionBatch(
            shopper=shopper, item=np.tile(np.arange(n, dtype=np.int64), hi - lo), position=zeros, seen=zeros,
            discount=np.zeros(len(shopper)), in_stock=np.ones(len(shopper), dtype=bool), day=zeros)).reshape(hi - lo, n, 3)
        _draw_chunk(cfg, catalog, probs, rng, {k: v[lo:hi] for k, v in out.items()})
    return ShopperHistory(**out)


def _draw_chunk(cfg: ShoppersConfig, catalog: Catalog, probs: np.ndarray, rng: np.random.Generator,
                out: dict[str, np.ndarray]) -> None:
    """The record of one chunk of shoppers from their funnel ``probs`` ``(m, n_skus, 3)``, written into ``out``'s
    views."""
    m, n = probs.shape[:2]
    click_p = probs[:, :, 0]
    mean = np.full(m, cfg.history_clicks)
    if cfg.history_dispersion > 0:  # negative binomial: a gamma-distributed mean per shopper
        mean *= rng.gamma(cfg.history_dispersion, 1.0 / cfg.history_dispersion, m)
    counts = rng.poisson(mean[:, None] * click_p / click_p.sum(1, keepdims=True))  # (m, n) clicks per item
    bought = rng.binomial(counts, probs[:, :, 1] * probs[:, :, 2])
    clicks = counts.sum(1)
    pick = rng.random(m) * clicks  # one of the shopper's clicks, uniformly: its item is the last one's
    last_item = np.minimum((np.cumsum(counts, axis=1) <= pick[:, None]).sum(1), n - 1)
    out["clicks"][:] = clicks
    out["visits"][:] = np.ceil(clicks / cfg.history_clicks_per_visit)
    out["purchases"][:] = bought.sum(1)
    out["last_category"][:] = np.where(clicks > 0, catalog.category[last_item], -1)
    out["taste_sum"][:] = counts.astype(np.float64) @ catalog.features
