"""The ads half of ``World``: bids per auction tick, the campaigns' state and the ad KPIs.

``WorldAds`` is a mixin of ``shopgym.world.world.World`` (which holds the state it reads: ``_ads``, the ``AdsPhase``
of ``shopgym.world.ads``, or ``None`` with ``ads.simulate_ads`` off; ``day``, ``stock``, the price table and the
random streams). Its methods are ``World``'s public ad accessors; see ``shopgym.world.ads`` for an auction tick.
"""

from __future__ import annotations

import numpy as np

from shopgym.errors import ActionError, ScenarioError
from shopgym.world.ads import AdsPhase, AdsSetup, AdsState, AdTickOutcome
from shopgym.world.outcome import DayOutcome


class WorldAds:
    """``World``'s ad accessors (a mixin: ``World`` sets every attribute these methods read)."""

    def _ads_phase(self):
        if self._ads is None:
            raise ScenarioError("ad auctions are off in this scenario: set ads.simulate_ads = true (or pass "
                                "simulate_ads=True as an override) to bid for ad opportunities.")
        return self._ads

    def ads_tick(self, multipliers) -> AdTickOutcome:
        """Run today's next ad tick with bid ``multipliers`` per world and campaign (``(n_worlds, n_campaigns)``, or
        ``(n_campaigns,)`` for one world; finite, >= 0): each campaign bids ``multiplier x`` the estimated value of each
        opportunity. Won impressions' purchases take stock at once (see ``shopgym.world.ads``)."""
        phase = self._ads_phase()
        if self.day >= self.horizon:
            raise RuntimeError("the episode is over (day == horizon); call reset() first.")
        shape = (self.n_worlds, phase.n_campaigns)
        lam = np.asarray(multipliers)
        if lam.shape != shape and not (self.n_worlds == 1 and lam.shape == shape[1:]):
            raise ActionError(f"bid multipliers must have shape {shape} (one per world and campaign), got "
                              f"{lam.shape}.")
        if not (np.issubdtype(lam.dtype, np.integer) or np.issubdtype(lam.dtype, np.floating)):
            raise ActionError(f"bid multipliers must be real numbers, got dtype {lam.dtype}.")
        lam = lam.astype(np.float64)
        if not np.isfinite(lam).all() or (lam < 0).any():
            raise ActionError(f"bid multipliers must be finite and >= 0 (0 = do not bid), got {lam.ravel()[:8]}.")
        return phase.tick(lam.reshape(shape), stock=self.stock, price=self._price_by_day[self.day],
                          unit_cost=self.unit_cost, rngs=self.rngs["auctions"])

    @property
    def ads_phase(self) -> AdsPhase:
        """The ads phase itself (``shopgym.world.ads.AdsPhase``), for the compiled env step
        (``shopgym.envs.ads_fast``), which runs its ticks in place; read its documented state only."""
        return self._ads_phase()

    @property
    def ads_setup(self) -> AdsSetup:
        """The campaigns and the day's traffic (``shopgym.world.ads.AdsSetup``: fixed for the scenario; copies)."""
        return self._ads_phase().setup()

    @property
    def last_ad_tick(self) -> AdTickOutcome | None:
        """The outcome of the last ad tick run (``None`` before the first of the episode)."""
        return self._ads_phase().last

    @property
    def ads_state(self) -> AdsState:
        """Budgets, spend and ticks of today per world and campaign (``shopgym.world.ads.AdsState``; copies)."""
        return self._ads_phase().state()

    def ads_kpis(self) -> dict[str, np.ndarray]:
        """The ad KPIs of the episode so far per world, today's ticks included (``shopgym.world.kpis.ads_kpis``)."""
        from shopgym.world.kpis import ads_kpis

        return ads_kpis(self.ads_totals())

    def ads_totals(self) -> np.ndarray:
        """The episode's ad sums so far per world, today's ticks included (``shopgym.world.kpis.ADS_FIELDS`` columns)."""
        return self._ads_phase().totals()

    def opportunity_log(self) -> dict[str, np.ndarray]:
        """Every ad opportunity of the episode so far (``shopgym.world.ads.LOG_FIELDS``; the hindsight bound's input)."""
        return self._ads_phase().opportunity_log()

    def _finish_ad_ticks(self, orders) -> None:
        """Run today's ticks not run yet with no bids (their opportunities are drawn all the same)."""
        if np.min(orders, initial=0) < 0:  # refuse before the ticks change any state
            raise ValueError("orders must be non-negative.")
        zero = np.zeros((self.n_worlds, self._ads.n_campaigns))
        while self._ads.ticks_left > 0:
            self.ads_tick(zero)

    def _merge_ads(self, out: DayOutcome, totals: np.ndarray) -> None:
        """Count the day's ad-driven sales and spend in the outcome, the day sums and the histories (as
        ``_merge_sessions`` does for sessions; the spend is ``ad_cost``); close the ads day."""
        phase = self._ads
        self._merge_sales(out, totals, phase.day_sold, phase.day_revenue, phase.day_cost)
        phase.close_day()
