"""Simulated interaction logs: one row per impression, with labels and the true probabilities.

Sessions arrive day by day (``sessions_per_day``, Poisson); each session shows ``slate_size``
distinct items drawn uniformly from the catalog (a random logging policy), at positions
``0 .. slate_size - 1``. An impression carries a discount or coupon with probability
``discount_prob`` and an out-of-stock flag with probability ``stockout_prob``. Outcomes come from
the ground-truth response model. Arrivals and slates use the ``"shoppers"`` stream of
``spawn_streams(seed)``, discounts/stock and outcomes the ``"responses"`` stream.

Columns: those of ``shopgym.world.response.impression_features`` plus ``session_id``, the labels
``click``, ``cart``, ``purchase`` (0/1, nested) and ``true_click``, ``true_cart``, ``true_purchase``
(the simulator's per-impression probabilities p(click), p(cart), p(purchase)).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from shopgym.config import Scenario
from shopgym.world.calendar import start_weekday
from shopgym.world.catalog import Catalog
from shopgym.world.protocols import ImpressionBatch
from shopgym.world.response import (
    STAGES,
    GroundTruthResponse,
    funnel_to_joint,
    impression_features,
    nested_sample,
)
from shopgym.world.shoppers import ShopperPopulation
from shopgym.world.world import spawn_streams

TASKS = STAGES
TRUE_COLUMNS = tuple(f"true_{t}" for t in TASKS)
#: Discounts are drawn uniformly from these fractions of the list price.
DISCOUNT_LEVELS = np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.3])


def log_scenario(**overrides) -> Scenario:
    """A scenario suited to log generation: 200 SKUs in 10 categories with spread-out prices."""
    base = {"n_skus": 200, "n_categories": 10, "price_spread": 0.4}
    base.update(overrides)
    return Scenario().replace(**base)


class LogGenerator:
    """Generates interaction logs for a scenario, day by day.

    Args:
        scenario: the scenario (catalog, ``[shoppers]`` section).
        seed: episode seed; the same seed gives the same logs.
        discount_prob: chance that an impression shows a discount or coupon.
        stockout_prob: chance that a shown item is out of stock.
    """

    def __init__(self, scenario: Scenario, seed: int = 0, discount_prob: float = 0.2, stockout_prob: float = 0.05):
        for name, p in (("discount_prob", discount_prob), ("stockout_prob", stockout_prob)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {p}.")
        self.scenario = scenario
        self.catalog = Catalog.generate(scenario.catalog, scenario.demand)
        self.population = ShopperPopulation.generate(scenario.shoppers, scenario.catalog.embedding_dim)
        self.start_weekday = start_weekday(scenario.env.start_date)
        self.truth = GroundTruthResponse(self.catalog, self.population, scenario.shoppers, self.start_weekday)
        if scenario.shoppers.slate_size > self.catalog.n_skus:
            raise ValueError(f"slate_size {scenario.shoppers.slate_size} exceeds the catalog's {self.catalog.n_skus} SKUs.")
        n_pairs = self.population.n_shoppers * self.catalog.n_skus
        if n_pairs > 50_000_000:
            raise ValueError(f"n_shoppers x n_skus = {n_pairs} is too many exposure counters (max 50M).")
        streams = spawn_streams(seed)
        self.rng_shop, self.rng_resp = streams["shoppers"], streams["responses"]
        self.discount_prob, self.stockout_prob = discount_prob, stockout_prob
        self.exposures = np.zeros(n_pairs, dtype=np.int64)
        self.day = 0
        self.next_session = 0

    def _seen(self, key: np.ndarray) -> np.ndarray:
        """Earlier exposures of each (shopper, item) pair, counting earlier rows of this batch too."""
        n = len(key)
        order = np.argsort(key, kind="stable")
        sk = key[order]
        start = np.r_[True, sk[1:] != sk[:-1]] if n else np.zeros(0, bool)
        idx = np.arange(n)
        within = idx - np.maximum.accumulate(np.where(start, idx, 0))
        occ = np.empty(n, dtype=np.int64)
        occ[order] = within
        seen = self.exposures[key] + occ
        np.add.at(self.exposures, key, 1)
        return seen

    def day_frame(self) -> pd.DataFrame:
        """Simulate one day's sessions; returns its impressions (possibly none)."""
        cfg, n_items = self.scenario.shoppers, self.catalog.n_skus
        shoppers = self.population.arrivals(self.rng_shop, cfg.sessions_per_day)
        s, k = len(shoppers), cfg.slate_size
        slates = np.argpartition(self.rng_shop.random((s, n_items)), k - 1, axis=1)[:, :k] if s else np.zeros((0, k), int)
        shopper = np.repeat(shoppers, k)
        item = slates.ravel().astype(np.int64)
        n = len(item)
        disc = np.where(self.rng_resp.random(n) < self.discount_prob, self.rng_resp.choice(DISCOUNT_LEVELS, n), 0.0)
        batch = ImpressionBatch(
            shopper=shopper,
            item=item,
            position=np.tile(np.arange(k), s),
            seen=self._seen(shopper * n_items + item),
            discount=disc,
            in_stock=self.rng_resp.random(n) >= self.stockout_prob,
            day=np.full(n, self.day, dtype=np.int64),
        )
        cond = self.truth.probabilities(batch)
        outcome = nested_sample(cond, self.rng_resp)
        cols = {"session_id": np.repeat(np.arange(self.next_session, self.next_session + s), k)}
        cols.update(impression_features(batch, self.catalog, self.population, self.start_weekday))
        joint = funnel_to_joint(cond)
        for j, task in enumerate(TASKS):
            cols[task] = outcome[:, j].astype(np.int8)
        for j, name in enumerate(TRUE_COLUMNS):
            cols[name] = joint[:, j]
        self.day += 1
        self.next_session += s
        return pd.DataFrame(cols)

    def iter_days(self, n_impressions: int) -> Iterator[pd.DataFrame]:
        """Yield day frames until at least ``n_impressions`` rows were produced."""
        if self.scenario.shoppers.sessions_per_day <= 0:
            raise ValueError("sessions_per_day must be > 0 to generate logs.")
        total = 0
        while total < n_impressions:
            frame = self.day_frame()
            total += len(frame)
            yield frame


def generate_logs(scenario: Scenario | None = None, n_impressions: int = 10_000, seed: int = 0, progress: bool = False, **kwargs) -> pd.DataFrame:
    """Simulated logs with exactly ``n_impressions`` rows (whole days, the last one cut).

    ``scenario`` defaults to ``log_scenario()``; extra keyword arguments go to ``LogGenerator``.
    """
    if n_impressions < 1:
        raise ValueError(f"n_impressions must be >= 1, got {n_impressions}.")
    gen = LogGenerator(scenario if scenario is not None else log_scenario(), seed=seed, **kwargs)
    frames = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_impressions, unit="imp", desc="generate")
    for frame in gen.iter_days(n_impressions):
        frames.append(frame)
        if bar is not None:
            bar.update(min(len(frame), bar.total - bar.n))
    if bar is not None:
        bar.close()
    return pd.concat(frames, ignore_index=True).iloc[:n_impressions].reset_index(drop=True)


def save_logs(df: pd.DataFrame, path: str | Path) -> Path:
    """Write logs as CSV (default) or Parquet (``.parquet``, needs the ``parquet`` extra: pyarrow)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise ImportError("Writing Parquet needs pyarrow: pip install 'shopgym[parquet]', or use a .csv path.") from exc
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path
