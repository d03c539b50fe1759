"""The session phase of a day: shoppers arrive, are shown slates, click, cart and buy from the shared stock.

Vectorised over sessions and worlds: a batch of sessions (of one or many worlds) is one set of flat
impression arrays, one call to the response model and one first-expiring-first-out stock removal. Only
the random draws loop over worlds, because each world draws from its own stream (so a batch of worlds
reproduces the same worlds stepped one at a time).

A day's sessions (``Sessions``) are drawn once, the first time the day's sessions are asked for, from
each world's ``"shoppers"`` stream: a Poisson (or, with ``arrival_dispersion``, negative-binomial) number with
mean ``sessions_per_day`` x the day's calendar multiplier (``shopgym.world.arrivals``; scaled by the mean
satisfaction with ``memory_satisfaction``) of shoppers drawn from the population (in proportion to their
satisfaction, churned shoppers never, with ``memory_satisfaction``; uniformly otherwise). They can be
served in any number of batches (``SessionPhase.serve``): the Recommend env serves one session per step;
``World.step`` serves whatever is left with the ``Decisions`` slates.

Serving a batch (rows in session order, then slot order):
  1. ``in_stock`` is whether the world has the item on hand when the batch starts;
  2. the response model gives p(click), p(cart | click), p(purchase | cart) (``memory_drift`` adds the
     shopper's interest in the item's category to the click log-odds; ``shopgym.world.funnel``, which
     ``scenarios.expected_margin`` shares); one nested draw per impression
     from the world's ``"responses"`` stream (three uniforms per impression, whatever the outcome);
  3. an item out of stock cannot be bought, and each purchase takes one unit: when a batch wants more
     units of an item than are on hand, the earliest sessions get them (the rest are stock-outs hit);
  4. the units leave the stock first-expiring-first-out (``inventory.remove_fifo``), paid at today's
     price less the shown discount;
  5. the shoppers' memory (``shopgym.world.memory``) takes in what happened.
Offers (``shopgym.world.offers``): with ``shoppers.coupons`` the shown discounts are coupons granted from each
world's budget before step 2 (refused ones are shown at full price) and paid on purchase; with
``shoppers.bundles`` a flagged item is shown with its complement and both are bought together or not at
all; with ``shoppers.complements`` an item shown after a purchase of the item it complements gets the
response model's complement lift (``shopgym.world.response.lift_cart``) in step 2.

Around this module: the records a caller hands in and gets back (``Decisions``, ``Sessions``, ``SessionOutcome``)
and their checks live in ``shopgym.world.session_records``; step 2's probabilities in ``shopgym.world.funnel``; the
compiled path (``FastInputs``, ``serve_compiled``) in ``shopgym.world.session_fast``. All stay importable from here.
"""

from __future__ import annotations

import numpy as np

from shopgym.errors import ActionError
from shopgym.world import inventory as inv
from shopgym.world import offers, session_kernel
from shopgym.world.arrivals import draw_count
from shopgym.world.funnel import funnel_probabilities
from shopgym.world.history import shared_history
from shopgym.world.kpis import SESSION_FIELDS
from shopgym.world.memory import SATISFACTION_START, ShopperState
from shopgym.world.response import GroundTruthResponse
from shopgym.world.session_fast import FastInputs, serve_compiled
from shopgym.world.session_records import (
    SESSION_COLUMN,
    Decisions,
    SessionOutcome,
    Sessions,
    check_bundles,
    check_slates,
)

#: The names importable from here as before the records and the compiled path moved to their own modules.
__all__ = ["Decisions", "FastInputs", "SessionOutcome", "SessionPhase", "Sessions", "check_bundles", "check_slates"]

#: Column of each per-world day sum of the session phase (``session_records.SESSION_COLUMN``).
_S = SESSION_COLUMN
#: The day-sum columns that ``SessionPhase._add_sums`` adds per impression, in its order.
_SUMMED = np.array([_S[f] for f in ("impressions", "clicks", "carts", "purchases", "stockouts_hit",
                                    "out_of_stock_shown", "rec_revenue", "rec_margin")])


class SessionPhase:
    """Today's sessions of every world and the shoppers' memory; serves slates (see the module docstring).

    Args:
        cfg: the scenario's ``[shoppers]`` section.
        catalog: the world's catalog (``category``, ``price``, ``unit_cost``).
        population: the shopper population.
        n_worlds: worlds stepped together.
        compiled: serve through the compiled path where it applies (default: when numba is available; ``World``
            passes ``engine == "compiled"``); ``False``: always the numpy reference.
        session_means: mean sessions on each day of the episode (sessions/day, ``arrivals.session_means``);
            ``None``: ``sessions_per_day`` every day.
    """

    def __init__(self, cfg, catalog, population, n_worlds: int, session_means: np.ndarray | None = None,
                 compiled: bool | None = None):
        self.cfg, self.catalog, self.population = cfg, catalog, population
        self.n_worlds = n_worlds
        #: Whether batches go through the compiled path (``shopgym.world.session_kernel``) where it applies.
        self.compiled = session_kernel.COMPILED if compiled is None else bool(compiled and session_kernel.COMPILED)
        self._fast: FastInputs | None = None
        self.session_means = session_means
        n_categories = int(catalog.category.max()) + 1
        history = shared_history(cfg, catalog, population)  # None unless shoppers.history_clicks
        self.state = ShopperState(cfg, n_worlds, catalog.n_skus, n_categories, catalog.features, history)
        self._today: Sessions | None = None
        self.day_sums = np.zeros((n_worlds, len(SESSION_FIELDS)))
        self.day_sold = np.zeros((n_worlds, catalog.n_skus), dtype=np.int64)
        self.day_revenue = np.zeros((n_worlds, catalog.n_skus))
        #: Each item's complement (``Catalog.complements()``), ``(n_skus,)`` int64.
        self.complements = catalog.complements()
        #: Coupon budget left per world (currency; ``coupon_budget`` at reset; never negative).
        self.coupon_left = np.zeros(n_worlds)
        #: Item of each shopper's last purchase this episode, ``(n_worlds, n_shoppers)`` int64, -1 before one.
        self.last_purchase = np.full((n_worlds, cfg.n_shoppers), -1, dtype=np.int64)

    def reset(self) -> None:
        """A new episode: fresh memory and coupon budget, no sessions drawn yet."""
        self.state.reset()
        self.coupon_left[:] = self.cfg.coupon_budget if self.cfg.coupons else 0.0
        self.last_purchase[:] = -1
        self.open_day()

    def open_day(self) -> None:
        """Forget the previous day's sessions and sums (its sessions are drawn when first asked for)."""
        self._today = None
        self.day_sums[:] = 0.0
        self.day_sold[:] = 0
        self.day_revenue[:] = 0.0

    def today(self, day: int, rngs) -> Sessions:
        """Today's sessions, drawn on the first call of the day from ``rngs[w]`` (each world's shoppers stream)."""
        if self._today is None:
            means = self.session_means
            mean = self.cfg.sessions_per_day if means is None else float(means[min(day, len(means) - 1)])
            shoppers = [self._arrivals(w, rngs[w], mean) for w in range(self.n_worlds)]  # one draw per world
            counts = np.array([len(s) for s in shoppers], dtype=np.int64)
            world = np.repeat(np.arange(self.n_worlds), counts)
            shopper = np.concatenate(shoppers) if shoppers else np.zeros(0, np.int64)
            self._today = Sessions(world=world, shopper=shopper.astype(np.int64),
                                   offsets=np.concatenate([[0], np.cumsum(counts)]),
                                   served=np.zeros(len(world), dtype=bool))
            self.state.record_visits(world, self._today.shopper, day)
            np.add.at(self.day_sums[:, _S["sessions"]], world, 1.0)
        return self._today

    def _arrivals(self, w: int, rng: np.random.Generator, mean: float) -> np.ndarray:
        weights = self.state.visit_weights(w)
        if weights is None:
            return self.population.arrivals(rng, mean, self.cfg.arrival_dispersion)
        total = weights.sum()
        count = draw_count(rng, mean * weights.mean() / SATISFACTION_START, self.cfg.arrival_dispersion)
        if total <= 0 or count == 0:
            return np.zeros(0, dtype=np.int64)
        return rng.choice(len(weights), size=count, p=weights / total).astype(np.int64)

    def serve(self, sessions: np.ndarray, slates: np.ndarray, discounts: np.ndarray, *, day: int, stock: np.ndarray,
              price: np.ndarray, response_model, rngs, bundles: np.ndarray | None = None) -> SessionOutcome:
        """Show ``slates[k]`` to session ``sessions[k]`` of today (validated arrays); take the purchases from
        ``stock`` (``(n_worlds, n_skus, K)``, in place) at ``price`` (``(n_worlds, n_skus)``, currency/unit);
        ``rngs[w]`` is world ``w``'s responses stream; ``bundles``: bundle flags like ``slates`` (or ``None``)."""
        today = self._today
        if today is None:
            raise RuntimeError("no sessions drawn today: call today() first.")
        if today.served[sessions].any() or (len(sessions) > 1 and len(np.unique(sessions)) != len(sessions)):
            raise ActionError("a session can be served once a day; serve each of World.sessions_today() once.")
        today.served[sessions] = True
        if self.compiled and not (self.cfg.bundles and bundles is not None and bundles.any()) \
                and type(response_model) is GroundTruthResponse:
            return serve_compiled(self, self.fast_inputs(response_model), today, sessions, slates, discounts, day,
                                  stock, price, response_model, rngs)
        cat, b, n = self.catalog, self.n_worlds, self.catalog.n_skus
        row, pos = np.nonzero(slates >= 0)  # row-major: session order, then slot order
        session = sessions[row]
        world, shopper = today.world[session], today.shopper[session]
        item, discount = slates[row, pos], discounts[row, pos]
        cfg = self.cfg
        coupon = worth = None
        if cfg.coupons:  # grant coupons while the budget covers them; refused ones are shown at full price
            worth = price[world, item] * discount
            coupon = offers.grant_coupons(world, worth, self.coupon_left)
            discount = np.where(coupon, discount, 0.0)
        bundle = complement = None
        if cfg.bundles and bundles is not None and bundles.any():
            flag = bundles[row, pos]
            src, complement = offers.expand_bundles(flag)
            row, pos, session, world, shopper = row[src], pos[src], session[src], world[src], shopper[src]
            bundle, item, discount = flag[src], item[src], discount[src]
            item = np.where(complement, self.complements[item], item)
            discount = np.where(bundle, np.maximum(discount, cfg.bundle_discount), discount)
            if coupon is not None:  # the coupon belongs to the main row
                coupon, worth = coupon[src] & ~complement, np.where(complement, 0.0, worth[src])
        on_hand = stock.sum(-1)
        in_stock = on_hand[world, item] > 0
        probs = funnel_probabilities(self, response_model, world, shopper, item, pos.astype(np.int64), discount,
                                     in_stock, day)
        hit = self._draw(probs, world, rngs)
        if complement is not None:  # the shopper takes or leaves a bundle as one
            hit[complement] = hit[np.flatnonzero(complement) - 1]
        click, cart, purchase = hit[:, 0], hit[:, 1], hit[:, 2] & in_stock
        if complement is not None:
            purchase = offers.tie_bundles(purchase, complement)
        purchase = self._allocate(purchase, world, item, on_hand)
        if complement is not None:
            purchase = offers.tie_bundles(purchase, complement)
        stockout_hit = cart & ~purchase & (~in_stock | hit[:, 2])
        sold = np.bincount(world[purchase] * n + item[purchase], minlength=b * n).reshape(b, n)
        inv.remove_fifo(stock, sold)
        paid = price[world, item] * (1.0 - discount)
        revenue = np.where(purchase, paid, 0.0)
        margin = np.where(purchase, paid - cat.unit_cost[item], 0.0)
        self.state.record_impressions(world, shopper, item, cat.category[item], click, purchase, ~in_stock)
        self._add_sums(world, click, cart, purchase, stockout_hit, ~in_stock, revenue, margin, sold, item)
        spend = None
        if coupon is not None:
            spend = offers.pay_coupons(world, worth, coupon & purchase, self.coupon_left)
            self.day_sums[:, _S["coupon_spend"]] += spend
            self.day_sums[:, _S["coupons_granted"]] += np.bincount(world, weights=coupon, minlength=b)
            self.day_sums[:, _S["coupons_refused"]] += np.bincount(world, weights=(worth > 0) & ~coupon, minlength=b)
        if complement is not None:
            self.day_sums[:, _S["bundles_sold"]] += np.bincount(world, weights=complement & purchase, minlength=b)
        if cfg.complements:  # later rows (sessions) overwrite earlier ones
            self.last_purchase[world[purchase], shopper[purchase]] = item[purchase]
        m = len(sessions)
        out = SessionOutcome(
            session=session, world=world, shopper=shopper, position=pos.astype(np.int64), item=item,
            discount=discount, click=click, cart=cart, purchase=purchase, in_stock=in_stock,
            stockout_hit=stockout_hit, revenue=revenue, margin=margin, sessions=sessions,
            session_revenue=np.bincount(row, weights=revenue, minlength=m),
            session_margin=np.bincount(row, weights=margin, minlength=m), sold=sold,
            coupon=coupon, bundle=bundle, complement=complement, coupon_spend=spend)
        return out

    def fast_inputs(self, model) -> FastInputs | None:
        """The constant inputs of the compiled path for ``model`` (built once per model), or ``None`` where the compiled
        path does not apply (numba missing or the numpy engine, a learned response model; batches with bundle offers
        take the numpy path whatever this returns); what ``shopgym.envs.recommend_fast`` hands its compiled step."""
        if type(model) is not GroundTruthResponse or not self.compiled:
            return None
        if self._fast is None or self._fast.model is not model:
            self._fast = FastInputs(self, model)
        return self._fast

    def _draw(self, probs: np.ndarray, world: np.ndarray, rngs) -> np.ndarray:
        """Nested funnel outcomes ``(m, 3)``: three uniforms per impression from its world's stream."""
        u = np.empty(probs.shape)
        order = np.argsort(world, kind="stable")
        counts = np.bincount(world, minlength=self.n_worlds)
        start = 0
        for w in np.flatnonzero(counts):  # one draw per world that has impressions (streams are per world)
            u[order[start : start + counts[w]]] = rngs[w].random((counts[w], 3))
            start += counts[w]
        return np.cumprod(u < probs, axis=1).astype(bool)

    def _allocate(self, want: np.ndarray, world: np.ndarray, item: np.ndarray, on_hand: np.ndarray) -> np.ndarray:
        """``want`` cut so that each (world, item) sells at most its on-hand units, earliest rows first."""
        idx = np.flatnonzero(want)
        if len(idx) == 0:
            return want
        key = world[idx] * self.catalog.n_skus + item[idx]
        order = np.argsort(key, kind="stable")
        k = key[order]
        first = np.searchsorted(k, k)  # start of each key's run
        rank = np.arange(len(k)) - first
        ok = np.empty(len(idx), dtype=bool)
        ok[order] = rank < on_hand[world[idx], item[idx]][order]
        out = want.copy()
        out[idx] = ok
        return out

    def _add_sums(self, world, click, cart, purchase, stockout_hit, out_of_stock, revenue, margin, sold, item) -> None:
        b = self.n_worlds
        # one bincount over (world, field) keys: the same sums, in the same order, as one bincount per field
        values = np.column_stack([np.ones(len(world)), click, cart, purchase, stockout_hit, out_of_stock, revenue, margin])
        key = world[:, None] * len(_SUMMED) + np.arange(len(_SUMMED))
        self.day_sums[:, _SUMMED] += np.bincount(key.ravel(), weights=values.ravel(),
                                                 minlength=b * len(_SUMMED)).reshape(b, len(_SUMMED))
        self.day_sold += sold
        n = self.catalog.n_skus
        self.day_revenue += np.bincount(world * n + item, weights=revenue, minlength=b * n).reshape(b, n)

    def close_day(self) -> np.ndarray:
        """The day's ``SESSION_FIELDS`` sums per world, with the churned shoppers counted at the day's end."""
        self.day_sums[:, _S["churned"]] = self.state.churned.sum(1)
        return self.day_sums.copy()
