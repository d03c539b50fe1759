"""Ground-truth shopper responses: affinity x price/discount x position bias x fatigue -> funnel.

For impression ``j`` (shopper ``u``, item ``i`` at position ``k``, seen ``s`` times before, discount
``d``) with affinity ``a = preferences[u] . features[i]`` (in ``[-1, 1]``), log relative price
``r = log(price[i] (1 - d) / median price)`` and the shopper's price sensitivity ``b``::

    examine        = (1 + k) ** -position_decay * exp(-fatigue_rate * s)
    p(click)       = examine * sigmoid(logit(base_ctr) + w a - 0.3 b r + 0.2 weekend)
    p(cart|click)  = sigmoid(logit(base_cart_rate) + 0.5 w a - b r + 2 d)
    p(purch|cart)  = sigmoid(logit(base_purchase_rate) + 0.5 w a - b r) * (1 if in stock else 0.1)

with ``w = affinity_weight``. The nested sample draws one uniform per stage and impression.
Everything is vectorised over the batch. Numpy only.

Complements (``shoppers.complements``): an item shown to a shopper whose last purchase (in an earlier
session of the episode) was the item it complements (``Catalog.complements()``) converts better: the
session phase adds ``complement_lift`` to its add-to-cart log-odds (``lift_cart``), whatever response
model (ground truth or learned) gave the probabilities, so the effect is a property of the world::

    p(cart|click) <- sigmoid(logit(p(cart|click)) + complement_lift)     (complement rows only)
"""

from __future__ import annotations

import numpy as np

from shopgym.config import Scenario, ShoppersConfig
from shopgym.errors import ScenarioError
from shopgym.world.calendar import start_weekday
from shopgym.world.catalog import Catalog
from shopgym.world.protocols import ImpressionBatch, ResponseModel
from shopgym.world.shoppers import ShopperPopulation

#: Log-odds of a click added on Saturdays and Sundays.
WEEKEND_LIFT = 0.2
#: Share of the price sensitivity that acts on clicks (the rest acts after the click).
CLICK_PRICE_SHARE = 0.3
#: Log-odds of add-to-cart per unit of discount (a "deal" effect beyond the lower price).
DISCOUNT_LIFT = 2.0
#: Purchase probability multiplier when the item is out of stock (backorder).
OUT_OF_STOCK_FACTOR = 0.1

STAGES = ("click", "cart", "purchase")


def _logit(p: float) -> float:
    return float(np.log(p) - np.log1p(-p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def nested_sample(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Nested funnel outcomes from conditional probabilities ``(n, 3)``; bool ``(n, 3)``.

    Always draws ``3 n`` uniforms, so the stream position does not depend on the outcomes.
    """
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2 or probs.shape[1] != 3:
        raise ValueError(f"probs must have shape (n, 3), got {probs.shape}.")
    u = rng.random(probs.shape)
    hit = u < probs
    return np.cumprod(hit, axis=1).astype(bool)


def lift_cart(probs: np.ndarray, rows: np.ndarray, lift: float) -> None:
    """Add ``lift`` to the add-to-cart log-odds of ``probs[rows]`` (``(n, 3)`` conditional funnel, in place)."""
    if lift == 0 or not rows.any():
        return
    p = np.clip(probs[rows, 1], 1e-12, 1 - 1e-12)
    probs[rows, 1] = _sigmoid(np.log(p) - np.log1p(-p) + lift)


def funnel_to_joint(cond: np.ndarray) -> np.ndarray:
    """Per-impression probabilities ``(n, 3)``: p(click), p(cart), p(purchase) from conditional ones."""
    return np.cumprod(np.asarray(cond, dtype=float), axis=1)


def joint_to_funnel(joint: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Inverse of ``funnel_to_joint``: conditional probabilities, clipped to ``[0, 1]``.

    Models that do not enforce nesting may predict p(cart) > p(click); the ratio is then cut to 1.
    """
    joint = np.clip(np.asarray(joint, dtype=float), 0.0, 1.0)
    prev = np.concatenate([np.ones((joint.shape[0], 1)), joint[:, :-1]], axis=1)
    return np.clip(joint / np.maximum(prev, eps), 0.0, 1.0)


class GroundTruthResponse:
    """The simulator's true response model (see the module docstring for the formulas).

    Args:
        catalog: products (``features``, ``price``).
        population: shoppers (``preferences``, ``price_sensitivity``).
        cfg: the scenario's ``[shoppers]`` section.
        start_weekday: day of week of day 0 (0 = Monday; ``calendar.start_weekday(env.start_date)``), so
            that weekends fall on the calendar's Saturdays and Sundays.
    """

    def __init__(self, catalog: Catalog, population: ShopperPopulation, cfg: ShoppersConfig, start_weekday: int = 0):
        if catalog.features.shape[1] != population.preferences.shape[1]:
            raise ValueError(
                f"catalog features have {catalog.features.shape[1]} dims, shopper preferences "
                f"{population.preferences.shape[1]}."
            )
        self.catalog, self.population, self.cfg = catalog, population, cfg
        self.start_weekday = int(start_weekday)
        self.reference_price = float(np.median(catalog.price))

    def affinity(self, batch: ImpressionBatch) -> np.ndarray:
        """Preference . item features per impression, in ``[-1, 1]``."""
        return np.einsum("nd,nd->n", self.population.preferences[batch.shopper], self.catalog.features[batch.item])

    def probabilities(self, batch: ImpressionBatch) -> np.ndarray:
        """``(n, 3)``: p(click), p(cart | click), p(purchase | cart)."""
        c = self.cfg
        aff = self.affinity(batch)
        discount = np.asarray(batch.discount, dtype=float)
        if ((discount < 0) | (discount >= 1)).any():
            raise ValueError("discount must lie in [0, 1).")
        rel = np.log(self.catalog.price[batch.item] * (1.0 - discount) / self.reference_price)
        sens = self.population.price_sensitivity[batch.shopper]
        weekend = ((self.start_weekday + np.asarray(batch.day)) % 7) >= 5
        examine = (1.0 + np.asarray(batch.position)) ** -c.position_decay * np.exp(-c.fatigue_rate * np.asarray(batch.seen))
        w = c.affinity_weight
        click = examine * _sigmoid(_logit(c.base_ctr) + w * aff - CLICK_PRICE_SHARE * sens * rel + WEEKEND_LIFT * weekend)
        cart = _sigmoid(_logit(c.base_cart_rate) + 0.5 * w * aff - sens * rel + DISCOUNT_LIFT * discount)
        stock = np.where(np.asarray(batch.in_stock, dtype=bool), 1.0, OUT_OF_STOCK_FACTOR)
        purchase = _sigmoid(_logit(c.base_purchase_rate) + 0.5 * w * aff - sens * rel) * stock
        return np.stack([click, cart, purchase], axis=1)

    def sample(self, batch: ImpressionBatch, rng: np.random.Generator) -> np.ndarray:
        """Nested bool outcomes ``(n, 3)`` (click, cart, purchase)."""
        return nested_sample(self.probabilities(batch), rng)


def impression_features(batch: ImpressionBatch, catalog: Catalog, population: ShopperPopulation,
                        start_weekday: int = 0) -> dict[str, np.ndarray]:
    """What a conversion model may see of each impression, as named columns (arrays of length ``n``).

    Ids (``shopper_id``, ``item_id``), context (``day``, ``weekday``, ``position``, ``seen``),
    shopper features (``segment``, ``price_sensitivity``, preference ``u_0..``), item features
    (``category``, ``price`` in currency, ``discount`` as a fraction, ``price_paid`` in currency,
    ``in_stock``, embedding ``e_0..``). ``weekday`` is the calendar's (0 = Monday), counted from
    ``start_weekday``, the day of week of day 0.
    """
    day = np.asarray(batch.day, dtype=np.int64)
    price = catalog.price[batch.item]
    discount = np.asarray(batch.discount, dtype=float)
    cols: dict[str, np.ndarray] = {
        "shopper_id": np.asarray(batch.shopper, dtype=np.int64),
        "item_id": np.asarray(batch.item, dtype=np.int64),
        "day": day,
        "weekday": (int(start_weekday) + day) % 7,
        "position": np.asarray(batch.position, dtype=np.int64),
        "seen": np.asarray(batch.seen, dtype=np.int64),
        "segment": population.segment[batch.shopper],
        "price_sensitivity": population.price_sensitivity[batch.shopper],
        "category": catalog.category[batch.item],
        "price": price,
        "discount": discount,
        "price_paid": price * (1.0 - discount),
        "in_stock": np.asarray(batch.in_stock, dtype=np.int64),
    }
    prefs = population.preferences[batch.shopper]
    feats = catalog.features[batch.item]
    for d in range(prefs.shape[1]):
        cols[f"u_{d}"] = prefs[:, d]
    for d in range(feats.shape[1]):
        cols[f"e_{d}"] = feats[:, d]
    return cols


def build_response_model(scenario: Scenario, catalog: Catalog, population: ShopperPopulation) -> ResponseModel:
    """The scenario's ground-truth response model.

    The world core loads no files: a ``learned:PATH`` model is resolved above it
    (``shopgym.plugins.build_world``, which loads and checks the file) and handed to ``World`` as an object.
    """
    name = scenario.shoppers.response_model
    if name == "ground_truth":
        return GroundTruthResponse(catalog, population, scenario.shoppers,
                                   start_weekday(scenario.env.start_date))
    if not name.startswith("learned:"):
        raise ScenarioError(f"shoppers.response_model = {name!r}; use 'ground_truth' or 'learned:PATH'.")
    raise ScenarioError(
        f"shoppers.response_model = {name!r} names a saved model, which the world core does not load. Build the "
        "world with shopgym.plugins.build_world(scenario, n_worlds) (it loads and checks the file), or pass "
        "response_model=<a ResponseModel object> to World."
    )
