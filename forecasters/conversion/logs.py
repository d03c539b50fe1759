"""Interaction logs from a logging policy run in the world: one row per impression, with labels and true probabilities.

The world (``shopgym.world.World`` with ``shoppers.simulate_sessions`` on; one world) runs day by day:
shoppers arrive in sessions (the world's ``"shoppers"`` stream), a **logging policy** chooses each
session's slate, the world's session phase draws click, cart and purchase (its ``"responses"``
stream) and the purchases take units from the shop's real inventory, which the scenario's
restocking rule (``recommend.restock_policy``) refills and organic demand also draws down. So an
item is shown out of stock exactly when the shop had none on hand, and nothing out of stock is bought.
When an episode ends (``env.horizon`` days) the world is reset with the next episode's seed.

Logging policy (epsilon-greedy over the myopic oracle): each session, with probability ``epsilon``
``slate_size`` distinct items in uniformly random order; otherwise the top ``slate_size`` items by
expected margin under the world's response model (p(click) p(cart|click) p(purchase|cart) x in stock x
(price - unit cost), at position 0 and no discount, for the shopper's memory at the day's opening). A
shown item carries a discount from ``DISCOUNT_LEVELS`` with probability ``discount_prob``. The policy
draws from its own generator (seeded from ``seed``). A day's sessions are served as one batch, so
``in_stock`` and ``seen`` are as of the day's opening (the world's batch rule: a unit sold out by an
earlier session of the day is a stock-out hit, and the row's ``purchase`` is 0).

Columns: those of ``shopgym.world.response.impression_features`` plus ``session_id``, the labels
``click``, ``cart``, ``purchase`` (0/1, nested; a purchase took a unit of stock), ``true_click``,
``true_cart``, ``true_purchase`` (the per-impression probabilities p(click), p(cart), p(purchase) of the
response model, the purchase one 0 for an item out of stock) and ``true_propensity`` (the probability
that the logging policy shows this item at this position in this session: ``(1 - epsilon) x [the
greedy slate has it there] + epsilon / n_skus``). ``seen`` counts the shopper's earlier impressions of
the item (``shoppers.memory_fatigue``, on in ``log_scenario()``; 0 with it off).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from shopgym.config import Scenario
from shopgym.plugins import build_world
from shopgym.world.calendar import start_weekday
from shopgym.world.protocols import ImpressionBatch
from shopgym.world.response import STAGES, funnel_to_joint, impression_features
from shopgym.world.restock_rule import restock_orders
from shopgym.world.sessions import Decisions

TASKS = STAGES
TRUE_COLUMNS = tuple(f"true_{t}" for t in TASKS)
#: Discounts are drawn uniformly from these fractions of the list price.
DISCOUNT_LEVELS = np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
#: Most (session, item) pairs the greedy policy scores at once (its memory: a few float64 arrays of this size).
MAX_SCORED = 4_000_000


def log_scenario(**overrides) -> Scenario:
    """A scenario suited to log generation: 200 SKUs in 10 categories with spread-out prices, stock restocked
    by order-up-to with a thin cover (5 units at the start, 1 day of cover: about 6% of impressions show an item
    out of stock), shoppers remembering what they saw (``memory_fatigue``)."""
    base = {"n_skus": 200, "n_categories": 10, "price_spread": 0.4, "initial_stock": 5, "memory_fatigue": True,
            "restock_cover_days": 1.0}
    base.update(overrides)
    return Scenario().replace(**base)


class LogGenerator:
    """Runs the logging policy in a world of ``scenario``, day by day (see the module docstring).

    Args:
        scenario: the scenario (its sessions are switched on); its ``response_model`` may be ``learned:PATH``.
        seed: seed of the first episode's world and of the policy; the same seed gives the same logs.
        discount_prob: chance that a shown item carries a discount.
        epsilon: share of sessions shown a uniformly random slate (the rest: the myopic oracle's), in [0, 1].
    """

    def __init__(self, scenario: Scenario, seed: int = 0, discount_prob: float = 0.2, epsilon: float = 0.5):
        for name, p in (("discount_prob", discount_prob), ("epsilon", epsilon)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {p}.")
        scenario = scenario.replace(simulate_sessions=True)
        if scenario.shoppers.slate_size > scenario.catalog.n_skus:
            raise ValueError(f"slate_size {scenario.shoppers.slate_size} exceeds the catalog's "
                             f"{scenario.catalog.n_skus} SKUs; lower shoppers.slate_size.")
        self.scenario, self.seed = scenario, int(seed)
        self.world = build_world(scenario, n_worlds=1)
        self.catalog, self.population = self.world.catalog, self.world.shoppers
        self.start_weekday = start_weekday(scenario.env.start_date)
        self.discount_prob, self.epsilon = discount_prob, epsilon
        self.rng = np.random.default_rng([self.seed, 0x106])  # the logging policy's own draws
        self.episode = 0
        self.world.reset([self.seed])
        self.next_session = 0

    def _new_episode(self) -> None:
        self.episode += 1
        self.world.reset([int(np.random.default_rng([self.seed, self.episode]).integers(2**63 - 1))])

    def _greedy(self, shopper: np.ndarray, in_stock_items: np.ndarray, k: int) -> np.ndarray:
        """The myopic oracle's top ``k`` items per session ``(S, k)``, by expected margin (see the docstring)."""
        world, n = self.world, self.catalog.n_skus
        margin = world.price_on(world.day)[0] - world.unit_cost
        out = np.empty((len(shopper), k), dtype=np.int64)
        step = max(MAX_SCORED // n, 1)
        for lo in range(0, len(shopper), step):  # chunks bound the memory; one vectorised call each
            s = np.repeat(shopper[lo : lo + step], n)
            item = np.tile(np.arange(n), len(s) // n)
            p = self._probabilities(s, item, np.zeros(len(s), np.int64), np.zeros(len(s)), in_stock_items[item])
            value = (p.prod(1) * in_stock_items[item] * margin[item]).reshape(-1, n)
            out[lo : lo + step] = np.argsort(-value, axis=1, kind="stable")[:, :k]
        return out

    def _probabilities(self, shopper, item, position, discount, in_stock) -> np.ndarray:
        """The world's response probabilities ``(m, 3)`` as the session phase computes them at the day's opening."""
        world, state = self.world, self.world.shopper_state
        w = np.zeros(len(item), dtype=np.int64)
        batch = ImpressionBatch(shopper=shopper, item=item, position=position, seen=state.seen_counts(w, shopper, item),
                                discount=discount, in_stock=in_stock, day=np.full(len(item), world.day, dtype=np.int64))
        p = np.array(world.response_model.probabilities(batch), dtype=np.float64).reshape(len(item), 3)
        shift = state.click_shift(w, shopper, self.catalog.category[item])
        if shift is not None:
            c = np.clip(p[:, 0], 1e-12, 1 - 1e-12)
            p[:, 0] = 1.0 / (1.0 + np.exp(-(np.log(c) - np.log1p(-c) + shift)))
        return p

    def day_frame(self) -> pd.DataFrame:
        """Run one day of the world with the logging policy; returns its impressions (possibly none)."""
        if self.world.day >= self.world.horizon:
            self._new_episode()
        world, n, k = self.world, self.catalog.n_skus, self.scenario.shoppers.slate_size
        today = world.sessions_today()
        s = len(today)
        in_stock_items = world.on_hand[0] > 0
        greedy = self._greedy(today.shopper, in_stock_items, k) if s else np.zeros((0, k), np.int64)
        explore = self.rng.random(s) < self.epsilon
        random_slates = np.argsort(self.rng.random((s, n)), axis=1)[:, :k]  # uniformly random ordered k-subsets
        slates = np.where(explore[:, None], random_slates, greedy)
        discounts = np.where(self.rng.random((s, k)) < self.discount_prob,
                             self.rng.choice(DISCOUNT_LEVELS, (s, k)), 0.0)
        shopper = np.repeat(today.shopper, k)
        item, disc = slates.ravel(), discounts.ravel()
        position = np.tile(np.arange(k), s)
        in_stock = in_stock_items[item]
        seen = world.shopper_state.seen_counts(np.zeros(len(item), np.int64), shopper, item)
        cond = self._probabilities(shopper, item, position, disc, in_stock)
        out = world.serve(slates, discounts)  # rows in session then slot order, as above (no empty slot)
        world.step(Decisions(orders=restock_orders(world, self.scenario.recommend.restock_policy,
                                                   self.scenario.recommend.restock_cover_days,
                                                   self.scenario.env.max_order)))
        batch = ImpressionBatch(shopper=shopper, item=item, position=position, seen=seen, discount=out.discount,
                                in_stock=out.in_stock, day=np.full(len(item), world.day - 1, np.int64))
        cols = {"session_id": np.repeat(np.arange(self.next_session, self.next_session + s), k)}
        cols.update(impression_features(batch, self.catalog, self.population, self.start_weekday))
        for j, task in enumerate(TASKS):
            cols[task] = (out.click, out.cart, out.purchase)[j].astype(np.int8)
        joint = funnel_to_joint(cond)
        joint[:, 2] *= in_stock  # the world never sells an item it does not have
        for j, name in enumerate(TRUE_COLUMNS):
            cols[name] = joint[:, j]
        cols["true_propensity"] = (1.0 - self.epsilon) * (greedy.ravel() == item) + self.epsilon / n
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


def generate_logs(scenario: Scenario | None = None, n_impressions: int = 10_000, seed: int = 0, progress: bool = False,
                  **kwargs) -> pd.DataFrame:
    """Logs with exactly ``n_impressions`` rows (whole days, the last one cut) from the logging policy in the world.

    ``scenario`` defaults to ``log_scenario()``; extra keyword arguments (``discount_prob``, ``epsilon``) go to
    ``LogGenerator``.
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
