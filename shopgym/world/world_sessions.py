"""The session half of ``World``: today's shoppers, the slates they are shown, the session KPIs.

``WorldSessions`` is a mixin of ``shopgym.world.world.World`` (which holds the state it reads: ``_phase``, the
``SessionPhase`` of ``shopgym.world.sessions``, or ``None`` with ``shoppers.simulate_sessions`` off; ``day``,
``stock``, the price table and the random streams). Its methods are ``World``'s public session accessors; see
``shopgym.world.world`` for the order of events in a day.
"""

from __future__ import annotations

import numpy as np

from shopgym.errors import ActionError, ScenarioError
from shopgym.world.outcome import DayOutcome
from shopgym.world.sessions import SessionOutcome, SessionPhase, Sessions, check_bundles, check_slates


class WorldSessions:
    """``World``'s session accessors (a mixin: ``World`` sets every attribute these methods read)."""

    def _session_phase(self) -> SessionPhase:
        if self._phase is None:
            raise ScenarioError("shopper sessions are off in this scenario: set shoppers.simulate_sessions = true "
                                "(or pass simulate_sessions=True as an override) to show slates to shoppers.")
        return self._phase

    def sessions_today(self) -> Sessions:
        """Today's sessions of every world (drawn on the first call of the day from the shoppers streams)."""
        if self.day >= self.horizon:
            raise RuntimeError("the episode is over (day == horizon); call reset() first.")
        return self._session_phase().today(self.day, self.rngs["shoppers"])

    @property
    def session_phase(self) -> SessionPhase:
        """The session phase itself (``shopgym.world.sessions.SessionPhase``), for compiled steppers that serve
        sessions in place through its arrays (``shopgym.world.stacked``, ``shopgym.envs.recommend_fast``); envs
        otherwise use ``serve`` and the accessors around it."""
        return self._session_phase()

    @property
    def shopper_state(self):
        """The shoppers' memory per world (``shopgym.world.memory.ShopperState``; read it, never write it)."""
        return self._session_phase().state

    @property
    def coupon_left(self) -> np.ndarray:
        """Coupon budget left per world this episode (currency, ``(n_worlds,)``, never negative; 0 without
        ``shoppers.coupons``; a copy)."""
        return self._session_phase().coupon_left.copy()

    @property
    def last_purchase(self) -> np.ndarray:
        """Item (SKU) of each shopper's last recommendation-driven purchase this episode, ``(n_worlds, n_shoppers)``
        int64, -1 before one; kept with ``shoppers.complements`` only (all -1 otherwise); a copy."""
        return self._session_phase().last_purchase.copy()

    def serve(self, slates, discounts=None, sessions=None, bundles=None) -> SessionOutcome:
        """Show ``slates`` (``(m, slots)`` item indices, -1 = empty slot) to ``sessions`` (``m`` indices into
        ``sessions_today()``; default: every unserved session, in order) now; purchases take stock at once.

        ``discounts``: fraction of the list price per shown item in ``[0, 1)`` (default none; coupons paid from
        the coupon budget with ``shoppers.coupons``). ``bundles``: bool per shown item, offered as a bundle with
        its complement (``shoppers.bundles``; default none). See ``shopgym.world.offers``.
        """
        phase = self._session_phase()
        today = self.sessions_today()
        sessions = today.unserved() if sessions is None else np.asarray(sessions, dtype=np.int64).reshape(-1)
        if len(sessions) and (sessions.min() < 0 or sessions.max() >= len(today)):
            valid = f"in [0, {len(today) - 1}]" if len(today) else "none: no sessions are left today"
            raise ActionError(f"session indices must be today's sessions ({valid}), got {sessions}.")
        slates, discounts = check_slates(slates, discounts, len(sessions), self.catalog.n_skus)
        bundles = check_bundles(bundles, slates.shape)
        return phase.serve(sessions, slates, discounts, day=self.day, stock=self.stock,
                           price=self._price_by_day[self.day], response_model=self.response_model,
                           rngs=self.rngs["responses"], bundles=bundles)

    def session_kpis(self) -> dict[str, np.ndarray]:
        """The recommendation KPIs of the episode so far per world, today's served sessions included."""
        from shopgym.world.kpis import session_kpis

        phase = self._session_phase()
        today = phase.day_sums.copy()
        today[:, -1] = phase.state.churned.sum(1)
        return session_kpis(self.kpis.session_acc + today, today)

    def session_sums(self) -> np.ndarray:
        """The session phase's ``SESSION_FIELDS`` sums of the episode so far per world, today's served sessions
        included (``(n_worlds, len(SESSION_FIELDS))``, a fresh array; ``session_kpis`` is built from them, with
        ``churned`` filled in; here that column holds only the closed days' values)."""
        return self.kpis.session_acc + self._session_phase().day_sums

    def _merge_sessions(self, out: DayOutcome, totals: np.ndarray) -> None:
        """Count the day's recommendation-driven sales in the outcome, the day sums and the histories; close the
        session day. They were taken from the stock at opening: add them back to ``start_stock``."""
        phase = self._phase
        self._merge_sales(out, totals, phase.day_sold, phase.day_revenue)
        self.kpis.record_sessions(phase.close_day())
        phase.open_day()
