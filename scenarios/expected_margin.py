"""The expected margin of a Recommend session: the noise-free counterpart of its realised margin.

A session's realised margin (``info["session_margin"]``, currency) is a sum of a few Bernoulli purchases, so an
episode's margin carries the sampling noise of its handful of purchases. Its expected margin is the same sum with
each purchase replaced by its probability: for every impression served, p(click) p(cart | click) p(purchase |
cart) x in stock x (price paid - unit cost), under the world's response model (``World.response_model``: the
ground truth in the true world, the learned model in a learned world) and the shopper's memory at the moment the
session is served. Given the past, it is the conditional expectation of the session's realised margin, so over an
episode ``sum(realised) - sum(expected)`` is a sum of zero-mean terms (``tests/agents/test_expected_margin.py``
checks it against many draws).

``session_expectation`` builds the impressions an action will serve (``RecommendView.slate``: the slate's SKUs and
slots, a repeat shown once) and takes their probabilities from ``shopgym.world.funnel.funnel_probabilities``, the
function ``shopgym.world.sessions.SessionPhase.serve`` draws from (position, seen count, in stock, day; the
memory's click shift; the complement lift), with no offer. ``Measured`` wraps any ``Policy`` and adds each served
session's expectation up, so ``shopgym.rollout.rollout`` plays the episode unchanged.
"""

from __future__ import annotations

import numpy as np

from shopgym.errors import ScenarioError
from shopgym.world.funnel import funnel_probabilities


def _check(env) -> None:
    view = env.view
    if view.coupons or view.bundles:
        raise ScenarioError("the expected margin covers slates without offers; turn shoppers.coupons and "
                            "shoppers.bundles off (the realised margin still measures episodes with offers).")


def session_expectation(env, action) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The impressions ``action`` serves in ``env``'s open session and their expected outcomes.

    ``env``: an unwrapped ``RecommendEnv`` with a session open (``current_shopper`` not ``None``). Returns
    ``(items, click, purchase, unit_margin)``, one entry per impression in slot order: SKU, p(click), p(purchase)
    (0 for an item out of stock) and the margin of a purchase (currency: price - unit cost); the expected margin
    is ``purchase * unit_margin``. Offers (coupons, bundles) are refused
    (``ScenarioError``): a coupon may be refused by the budget, which the expectation cannot know beforehand.
    """
    _check(env)
    shopper = env.current_shopper
    if shopper is None:
        raise RuntimeError("no session is open: reset() the env, or the episode is over.")
    slate = env.view.slate(action, env.candidate_items)
    slot = np.flatnonzero(slate >= 0)
    items = slate[slot]
    world = env.world
    n = len(items)
    in_stock = world.on_hand[0, items] > 0
    p = funnel_probabilities(world.session_phase, world.response_model, np.zeros(n, dtype=np.int64),
                             np.full(n, int(shopper), dtype=np.int64), items, slot.astype(np.int64), np.zeros(n),
                             in_stock, world.day)
    unit_margin = world.price_on(world.day)[0, items] - world.unit_cost[items]
    return items, p[:, 0], p.prod(1) * in_stock, unit_margin


class Measured:
    """A ``Policy`` that plays ``policy`` in ``env`` and adds up the expectation of every session it serves.

    After an episode (``shopgym.rollout.rollout(env, Measured(policy, env), seed)``): ``expected_margin``
    (currency, the sum of the sessions' expected margins), ``expected_clicks`` (the sum of p(click)),
    ``margin_variance`` (currency squared: the sum over impressions of m^2 q (1 - q), q = p(purchase), m the unit
    margin of an in-stock item: the variance of the realised margin given the sessions, for a binomial standard
    error) and ``impressions``. ``items`` holds the SKUs of the last session, in slot order.
    """

    def __init__(self, policy, env):
        self.policy, self.env = policy, env.unwrapped
        _check(self.env)
        self.reset(None)

    def reset(self, seed: int | None = None) -> None:
        """Reset the inner policy and the sums."""
        if seed is not None:
            self.policy.reset(seed)
        self.expected_margin = self.expected_clicks = self.margin_variance = 0.0
        self.impressions = 0
        self.items = np.zeros(0, dtype=np.int64)

    def act(self, obs):
        action = self.policy.act(obs)
        self.items, click, q, unit = session_expectation(self.env, action)
        self.expected_margin += float(q @ unit)
        self.expected_clicks += float(click.sum())
        self.margin_variance += float((unit**2 * q * (1 - q)).sum())
        self.impressions += len(self.items)
        return action
