"""The ground-truth demand generator: the world's default ``DemandModel``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shopgym.config import DemandConfig
from shopgym.world.calendar import day_dates, day_of_week, day_of_year
from shopgym.world.catalog import Catalog
from shopgym.world.protocols import DemandContext
from shopgym.world.sampling import nbinom_ppf, poisson_ppf


def seasonal_profile(cfg: DemandConfig, start_date: str, n_days: int) -> np.ndarray:
    """Demand multiplier per day from calendar effects alone (weekly x yearly x trend x holiday).

    Shape ``(n_days,)``, dimensionless, mean about 1 over a year without holidays.
    """
    dates = day_dates(start_date, n_days)
    weekly = np.asarray(cfg.weekly, dtype=float)
    weekly = weekly / weekly.mean()
    doy = day_of_year(dates)
    profile = weekly[day_of_week(dates)]
    profile = profile * (1.0 + cfg.yearly_amplitude * np.cos(2 * np.pi * (doy - cfg.yearly_peak_day) / 365.25))
    profile = profile * (1.0 + cfg.trend) ** (np.arange(n_days) / 365.25)
    for start, duration, uplift in cfg.holidays:
        offset = (doy - int(start)) % 366
        profile = np.where(offset < int(duration), profile * (1.0 + float(uplift)), profile)
    return profile


#: Worlds with at most this many SKUs draw demand by exact inverse CDF from uniforms that each
#: world's generator draws ``BLOCK_DAYS`` days ahead (one vectorised transform for the whole batch);
#: larger worlds call the generator's Poisson/gamma samplers once per world and day. Both are exact;
#: the choice depends only on the catalog, so single and batched worlds always match.
INVERSE_CDF_MAX_SKUS = 64
BLOCK_DAYS = 32


class GroundTruthDemand:
    """Demand = base rate x calendar profile x (price / list price) ** elasticity, with NB noise.

    The noise is a gamma-Poisson mixture: with ``dispersion = k > 0`` the daily demand has mean
    ``m`` and variance ``m + m**2 / k`` (negative binomial); ``k = 0`` gives Poisson demand.

    Args:
        catalog: the products (base rates and list prices).
        cfg: the scenario's ``[demand]`` section.
        start_date: calendar date of day 0.
        n_days: days that may be asked for (episode horizon plus forecast look-ahead).
    """

    def __init__(self, catalog: Catalog, cfg: DemandConfig, start_date: str, n_days: int):
        self.n_skus = catalog.n_skus
        self.cfg = cfg
        self.base_rate = catalog.base_rate.astype(float)
        self.list_price = catalog.price.astype(float)
        self.profile = seasonal_profile(cfg, start_date, n_days)
        self.dispersion = float(cfg.dispersion)
        self._list_prices_only = cfg.promo_prob == 0
        self.reset(1)

    def reset(self, n_worlds: int) -> None:
        """Forget the uniforms drawn ahead for the last episode."""
        self._uniforms: np.ndarray | None = None
        self._next = BLOCK_DAYS

    def _price_effect(self, price: np.ndarray) -> np.ndarray | float:
        if self._list_prices_only:  # no promotions: the world always sells at list price
            return 1.0
        return (price / self.list_price) ** self.cfg.elasticity

    def expected(self, ctx: DemandContext) -> np.ndarray:
        out = np.empty(ctx.price.shape)  # (n_worlds, n_skus) even when the price effect is a scalar
        out[...] = self.base_rate * self.profile[ctx.day] * self._price_effect(ctx.price)
        return out

    def forecast(self, ctx: DemandContext, horizon: int) -> np.ndarray:
        days = np.minimum(np.arange(ctx.day, ctx.day + horizon), len(self.profile) - 1)
        # Future prices are assumed equal to today's (promotions are not announced ahead).
        level = np.empty(ctx.price.shape)
        level[...] = self.base_rate * self._price_effect(ctx.price)
        return level[..., None] * self.profile[days]

    def sample(self, ctx: DemandContext, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        """Draw today's demand; see ``INVERSE_CDF_MAX_SKUS`` for how."""
        mean = self.expected(ctx)
        if self.n_skus <= INVERSE_CDF_MAX_SKUS:
            if self._uniforms is None or self._next >= BLOCK_DAYS:
                self._uniforms = np.stack([rng.random((BLOCK_DAYS, self.n_skus)) for rng in rngs])
                self._next = 0
            u = self._uniforms[:, self._next]
            self._next += 1
            k = self.dispersion
            return nbinom_ppf(u, mean, k) if k > 0 else poisson_ppf(u, mean)
        out = np.empty(mean.shape, dtype=np.int64)
        k = self.dispersion
        for w, rng in enumerate(rngs):  # one call per world (not per SKU): keeps worlds independent
            lam = mean[w] * rng.gamma(k, 1.0 / k, size=mean.shape[1]) if k > 0 else mean[w]
            out[w] = rng.poisson(lam)
        return out

    def pmf(self, mean: float, support: int) -> np.ndarray:
        """Probability of demand 0..support-1 for one SKU-day with expected demand ``mean`` (for exact solvers).

        The last entry absorbs the upper tail, so the vector sums to 1.
        """
        from scipy import stats

        x = np.arange(support)
        if self.dispersion > 0:
            k = self.dispersion
            p = stats.nbinom.pmf(x, k, k / (k + mean))
        else:
            p = stats.poisson.pmf(x, mean)
        p[-1] += max(0.0, 1.0 - p.sum())
        return p
