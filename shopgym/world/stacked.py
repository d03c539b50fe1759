"""The session state of several one-world ``World``s in shared ``(N, ...)`` arrays, for one compiled call over all.

The native Recommend vector env steps N shops whose days advance independently (each draws its own
number of sessions a day), so they cannot be one batched ``World`` (it has one ``day`` for all of its
worlds). Each sub-env keeps its own one-world ``World`` for everything that happens once a day (the day
close, the sessions' draw); what a session touches (the stock, the shoppers' memory, the coupon budget,
the day's session sums) lives in row ``w`` of stacked arrays, and each world's own attributes are views of
that row. So one compiled call can serve a session in every world (``shopgym.envs.recommend_fast``), and
each world's own code (``World.step``, ``SessionPhase``) reads and writes the same memory as before.

``World.reset`` and ``ShopperState.reset`` allocate fresh arrays: call ``attach(w)`` after every reset of
world ``w`` (it copies the fresh values into row ``w`` and points the world back at its views). With one
world nothing is copied: the fields are the world's own arrays.
"""

from __future__ import annotations

import numpy as np

from shopgym.world.world import World

#: Shopper-memory arrays (``ShopperState``) a session reads or writes, each ``(1, n_shoppers, ...)`` per world.
STATE_FIELDS = ("visits", "previous_visit", "clicks", "purchases", "last_category", "satisfaction", "churned",
                "interest", "taste_sum")
#: Session-phase arrays (``SessionPhase``), each ``(1, ...)`` per world.
PHASE_FIELDS = ("last_purchase", "coupon_left", "day_sums", "day_sold", "day_revenue")
#: ``seen`` stand-in without ``memory_fatigue`` (never read then).
NO_SEEN = np.zeros((1, 1, 1), dtype=np.int32)


class StackedSessionState:
    """Row ``w`` of every field is world ``w``'s session state (see the module docstring).

    Attributes: ``stock`` (``(N, n_skus, K)`` units), ``seen`` (``(N, n_shoppers, n_skus)`` int32, or ``NO_SEEN``
    without ``memory_fatigue``), the ``STATE_FIELDS`` and ``PHASE_FIELDS`` arrays with a leading ``N`` axis.

    Args:
        worlds: one-world ``World``s of one scenario, sessions on.
    """

    def __init__(self, worlds: list[World]):
        if any(w.n_worlds != 1 for w in worlds):
            raise ValueError("StackedSessionState stacks one-world Worlds (n_worlds = 1 each).")
        self.worlds = worlds
        self.n = len(worlds)
        self.fatigue = worlds[0].shopper_state.seen is not None
        if self.n > 1:
            first = worlds[0]
            self.stock = np.zeros((self.n, *first.stock.shape[1:]), dtype=first.stock.dtype)
            for name in STATE_FIELDS + ("seen",) * self.fatigue:
                a = getattr(first.shopper_state, name)
                setattr(self, name, np.zeros((self.n, *a.shape[1:]), dtype=a.dtype))
            for name in PHASE_FIELDS:
                a = getattr(first.session_phase, name)
                setattr(self, name, np.zeros((self.n, *a.shape[1:]), dtype=a.dtype))
        if not self.fatigue:
            self.seen = NO_SEEN
        for w in range(self.n):
            self.attach(w)

    def attach(self, w: int) -> None:
        """Make row ``w`` world ``w``'s state: call after every ``reset`` of that world."""
        world = self.worlds[w]
        state, phase = world.shopper_state, world.session_phase
        if self.n == 1:
            self.stock = world.stock
            for name in STATE_FIELDS + ("seen",) * self.fatigue:
                setattr(self, name, getattr(state, name))
            for name in PHASE_FIELDS:
                setattr(self, name, getattr(phase, name))
            return
        self.stock[w] = world.stock[0]
        world.stock = self.stock[w : w + 1]
        for owner, names in ((state, STATE_FIELDS + ("seen",) * self.fatigue), (phase, PHASE_FIELDS)):
            for name in names:
                rows = getattr(self, name)
                rows[w] = getattr(owner, name)[0]
                setattr(owner, name, rows[w : w + 1])
