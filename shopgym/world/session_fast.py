"""The compiled path of the session phase: its constant inputs and one served batch through the kernel.

``SessionPhase.serve`` (``shopgym.world.sessions``) hands a batch here when the compiled path applies (numba, the
ground-truth response model, no bundle offer): ``serve_compiled`` draws the same uniforms from the same streams as
the numpy reference and runs ``shopgym.world.session_kernel.serve_batch``, which changes the stock, the shoppers'
memory, the coupon budget and the day sums in place exactly as the reference does. ``FastInputs`` holds the kernel's
constant inputs, built once per phase and model (``SessionPhase.fast_inputs``; ``shopgym.envs.recommend_fast``
hands them to its compiled step too).
"""

from __future__ import annotations

import numpy as np

from shopgym.world import session_kernel
from shopgym.world.memory import DRIFT_CAP, SEEN_CAP
from shopgym.world.response import (
    CLICK_PRICE_SHARE,
    DISCOUNT_LIFT,
    OUT_OF_STOCK_FACTOR,
    WEEKEND_LIFT,
    GroundTruthResponse,
    _logit,
)
from shopgym.world.session_records import SESSION_COLUMN, SessionOutcome, Sessions

#: The uniforms of a batch that shows nothing (one world), and the seen counts without ``memory_fatigue``.
_NO_UNIFORMS = np.zeros((0, 3))
_NO_SEEN = np.zeros((1, 1, 1), dtype=np.int32)


class FastInputs:
    """The constant inputs of the compiled path for one phase and ground-truth model, contiguous and typed once."""

    def __init__(self, phase, model: GroundTruthResponse):
        cfg, cat, pop = phase.cfg, phase.catalog, model.population
        self.model = model
        self.list_price = np.ascontiguousarray(model.catalog.price, dtype=np.float64)
        self.unit_cost = np.ascontiguousarray(cat.unit_cost, dtype=np.float64)
        self.category = np.ascontiguousarray(cat.category, dtype=np.int64)
        self.features = np.ascontiguousarray(model.catalog.features, dtype=np.float64)
        self.prefs = np.ascontiguousarray(pop.preferences, dtype=np.float64)
        self.sens = np.ascontiguousarray(pop.price_sensitivity, dtype=np.float64)
        self.complements = np.ascontiguousarray(phase.complements, dtype=np.int64)
        mc = model.cfg
        values = {"logit_ctr": _logit(mc.base_ctr), "logit_cart": _logit(mc.base_cart_rate),
                  "logit_purchase": _logit(mc.base_purchase_rate), "affinity_weight": mc.affinity_weight,
                  "position_decay": mc.position_decay, "fatigue_rate": mc.fatigue_rate,
                  "reference_price": model.reference_price, "click_price_share": CLICK_PRICE_SHARE,
                  "weekend_lift": WEEKEND_LIFT, "discount_lift": DISCOUNT_LIFT,
                  "out_of_stock_factor": OUT_OF_STOCK_FACTOR, "satisfaction_gain": cfg.satisfaction_gain,
                  "satisfaction_loss": cfg.satisfaction_loss, "stockout_loss": cfg.stockout_loss,
                  "churn_threshold": cfg.churn_threshold, "drift_rate": cfg.drift_rate, "drift_cap": DRIFT_CAP,
                  "complement_lift": cfg.complement_lift}
        self.params = np.array([values[k] for k in session_kernel.PARAMS], dtype=np.float64)
        switches = {"memory_fatigue": cfg.memory_fatigue, "memory_satisfaction": cfg.memory_satisfaction,
                    "memory_drift": cfg.memory_drift, "coupons": cfg.coupons, "complements": cfg.complements,
                    "weekend": 0, "seen_cap": SEEN_CAP}
        self.flags = np.array([int(switches[k]) for k in session_kernel.FLAGS], dtype=np.int64)
        self.sum_cols = np.array([SESSION_COLUMN[f] for f in session_kernel.SUM_FIELDS], dtype=np.int64)
        self.zero_start = np.zeros(1, dtype=np.int64)


def serve_compiled(phase, fast: FastInputs, today: Sessions, sessions, slates, discounts, day, stock, price, model,
                   rngs) -> SessionOutcome:
    """``SessionPhase.serve`` through ``session_kernel.serve_batch``: the same outcomes, stock, memory and sums (no
    bundles). ``fast``: ``phase.fast_inputs(model)``; ``today``: the phase's sessions of today; the other arguments
    are ``serve``'s (validated arrays; ``stock`` and the phase's memory, coupon budget and day sums change in place)."""
    b, state, cfg = phase.n_worlds, phase.state, phase.cfg
    shown = slates >= 0
    if b == 1:
        m = int(np.count_nonzero(shown))
        u = rngs[0].random((m, 3)) if m else _NO_UNIFORMS
        u_start = fast.zero_start
    else:
        counts = np.bincount(today.world[sessions], weights=shown.sum(1), minlength=b).astype(np.int64)
        m = int(counts.sum())
        u = np.empty((m, 3))
        u_start = np.zeros(b, dtype=np.int64)
        u_start[1:] = np.cumsum(counts)[:-1]
        for w in np.flatnonzero(counts):  # one draw per world that has impressions, as _draw
            u[u_start[w] : u_start[w] + counts[w]] = rngs[w].random((counts[w], 3))
    flags = fast.flags
    flags[5] = ((model.start_weekday + day) % 7) >= 5
    oi = np.empty((m, len(session_kernel.OI_FIELDS)), dtype=np.int64)
    ob = np.zeros((m, len(session_kernel.OB_FIELDS)), dtype=np.bool_)
    of = np.empty((m, len(session_kernel.OF_FIELDS)))
    sess = np.empty((len(sessions), 2))
    sold = np.zeros((b, phase.catalog.n_skus), dtype=np.int64)
    spend = np.zeros(b)
    seen = state.seen if state.seen is not None else _NO_SEEN
    session_kernel.serve_batch(
        sessions, slates, discounts, today.world, today.shopper, stock, price, fast.list_price, fast.unit_cost,
        fast.category, fast.features, fast.prefs, fast.sens, fast.complements, fast.params, flags, fast.sum_cols,
        u, u_start, state.clicks, state.purchases, state.last_category, seen, state.satisfaction, state.churned,
        state.interest, state.taste_sum, phase.last_purchase, phase.coupon_left, phase.day_sums, phase.day_sold,
        phase.day_revenue, oi, ob, of, sess, sold, spend, 0, b)
    coupon = ob[:, 5] if cfg.coupons else None
    return SessionOutcome(
        session=oi[:, 0], world=oi[:, 1], shopper=oi[:, 2], position=oi[:, 3], item=oi[:, 4], discount=of[:, 0],
        click=ob[:, 0], cart=ob[:, 1], purchase=ob[:, 2], in_stock=ob[:, 3], stockout_hit=ob[:, 4],
        revenue=of[:, 1], margin=of[:, 2], sessions=sessions, session_revenue=sess[:, 0],
        session_margin=sess[:, 1], sold=sold, coupon=coupon, coupon_spend=spend if cfg.coupons else None)
