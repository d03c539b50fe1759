"""``shopgym.world.funnel.funnel_probabilities`` is what ``SessionPhase.serve`` draws from (the numpy reference).

Each session is served alone; before it, the test asks ``funnel_probabilities`` for the slate's probabilities and
draws the same three uniforms per impression from a copy of the world's responses stream: the served clicks and
carts must be exactly the nested draw from those probabilities. Every memory term is on (fatigue's seen counts,
drift's click shift, complements' cart lift) and the funnel is dense, so each input is exercised.
"""

from __future__ import annotations

import copy

import numpy as np

from shopgym.config import load_scenario
from shopgym.world.funnel import funnel_probabilities
from shopgym.world.protocols import ImpressionBatch
from shopgym.world.world import World

DENSE = {"simulate_sessions": True, "n_shoppers": 20, "sessions_per_day": 40.0, "base_ctr": 0.5,
         "base_cart_rate": 0.6, "base_purchase_rate": 0.8, "memory_fatigue": True, "memory_drift": True,
         "complements": True, "complement_lift": 5.0, "initial_stock": 3, "slate_size": 3}


def test_serve_draws_exactly_from_the_funnel_probabilities():
    world = World(load_scenario("recommend", **DENSE), engine="numpy")
    world.reset([4])
    n, complements = world.catalog.n_skus, world.session_phase.complements
    rng = np.random.default_rng(0)
    shifted = lifted = impressions = 0
    for _ in range(3):
        today = world.sessions_today()
        for s in today.unserved():
            items = rng.choice(n, 3, replace=False)
            last = world.last_purchase[0, today.shopper[s]]
            if last >= 0 and complements[last] not in items:  # show the last purchase's complement: its cart lift
                items[0] = complements[last]
            w, shopper = np.zeros(3, dtype=np.int64), np.full(3, today.shopper[s], dtype=np.int64)
            position, in_stock = np.arange(3, dtype=np.int64), world.on_hand[0, items] > 0
            probs = funnel_probabilities(world.session_phase, world.response_model, w, shopper, items, position,
                                         np.zeros(3), in_stock, world.day)
            raw = world.response_model.probabilities(ImpressionBatch(
                shopper=shopper, item=items, position=position,
                seen=world.shopper_state.seen_counts(w, shopper, items), discount=np.zeros(3), in_stock=in_stock,
                day=np.full(3, world.day, dtype=np.int64)))
            shifted += int((probs[:, 0] != raw[:, 0]).sum())
            lifted += int((probs[:, 1] != raw[:, 1]).sum())
            u = copy.deepcopy(world.rngs["responses"][0]).random((3, 3))
            out = world.serve(items[None], sessions=[s])
            hit = np.cumprod(u < probs, axis=1).astype(bool)
            np.testing.assert_array_equal(out.item, items)
            np.testing.assert_array_equal(out.click, hit[:, 0])
            np.testing.assert_array_equal(out.cart, hit[:, 1])
            assert (out.purchase <= (hit[:, 2] & in_stock)).all()
            impressions += 3
        world.step(np.full((1, n), 2, dtype=np.int64))
    assert impressions > 200
    assert shifted > 0 and lifted > 0, (shifted, lifted)  # the memory's click shift and the complement lift applied
