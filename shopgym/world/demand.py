"""The ground-truth demand generator: the world's default ``DemandModel``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shopgym.config import DemandConfig
from shopgym.world.calendar import day_dates, day_of_week, day_of_year
from shopgym.world.catalog import Catalog
from shopgym.world.protocols import DemandContext
from shopgym.world.sampling import MAX_COUNT, nbinom_ppf, poisson_ppf


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
    ``m`` and variance ``m + m**2 / k`` (negative binomial); ``k = 0`` gives Poisson demand. Every draw
    takes bounded work for any ``k > 0`` (``shopgym.world.sampling``); a tiny ``k`` gives demand that is
    almost always 0 with rare, huge days, and draws are cut at ``sampling.MAX_COUNT`` (2**53) units.

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
        self._windows: dict[int, np.ndarray] = {}
        self._list_price_forecasts: dict[int, np.ndarray] = {}
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
        return self.forecast_on(ctx.day, ctx.price, horizon)

    def forecast_on(self, day: int, price: np.ndarray, horizon: int) -> np.ndarray:
        """``forecast`` from ``day`` on, given today's ``price`` (``(n_worlds, n_skus)``), without a context."""
        # Future prices are assumed equal to today's (promotions are not announced ahead).
        day = min(day, len(self.profile) - 1)
        out = np.empty((*price.shape, horizon))
        if self._list_prices_only:  # the same for every world: one table of every day's forecast
            out[...] = self.forecast_table(horizon)[day]
            return out
        window = self._profile_windows(horizon)[day]
        return np.multiply((self.base_rate * self._price_effect(price))[..., None], window, out=out)

    def forecast_table(self, horizon: int) -> np.ndarray | None:
        """Every day's ``forecast`` at list prices, ``(n_days, n_skus, horizon)`` (read-only), when it is the
        same for every world (no promotions); else ``None``."""
        if not self._list_prices_only:
            return None
        table = self._list_price_forecasts.get(horizon)
        if table is None:
            table = self.base_rate[None, :, None] * self._profile_windows(horizon)[:, None, :]
            table.flags.writeable = False
            self._list_price_forecasts[horizon] = table
        return table

    def _profile_windows(self, horizon: int) -> np.ndarray:
        """``profile`` of days ``d .. d + horizon - 1`` (the last day repeated past the end) for every ``d``."""
        table = self._windows.get(horizon)
        if table is None:
            n = len(self.profile)
            table = self._windows[horizon] = self.profile[np.minimum(np.arange(n)[:, None] + np.arange(horizon), n - 1)]
        return table

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
            out[w] = rng.poisson(np.minimum(lam, MAX_COUNT))  # the cap binds only in tails of tiny dispersion
        return out

    def sample_days(self, day0: int, n_days: int, price: np.ndarray, rngs: Sequence[np.random.Generator]
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Expected and sampled demand of days ``day0 .. day0 + n_days - 1`` at once (the world's fast path).

        Demand here is exogenous (it depends on the day and the price, not on the policy), so the
        world draws it many days at a time. ``price`` is ``(n_days, n_worlds, n_skus)``; returns
        ``(expected, demand)`` of that shape (float64 units, int64 units). With at most
        ``INVERSE_CDF_MAX_SKUS`` SKUs, ``day0`` must be a multiple of ``BLOCK_DAYS`` and the draws equal
        those of ``sample`` called day by day; with more SKUs each world draws the block's gamma and
        Poisson variates in two calls (same distribution, another order of draws).
        """
        mean = (self.base_rate * self.profile[day0 : day0 + n_days, None, None]) * self._price_effect(price)
        if mean.shape != price.shape:  # a scalar price effect
            mean = np.broadcast_to(mean, price.shape)
        k = self.dispersion
        if self.n_skus <= INVERSE_CDF_MAX_SKUS:
            if day0 % BLOCK_DAYS:
                raise ValueError(f"blocks start at multiples of {BLOCK_DAYS} days.")
            rows = -(-n_days // BLOCK_DAYS) * BLOCK_DAYS  # whole 32-day blocks of uniforms, as ``sample`` draws them
            u = np.stack([rng.random((rows, self.n_skus))[:n_days] for rng in rngs], axis=1)
            demand = nbinom_ppf(u, mean, k) if k > 0 else poisson_ppf(u, mean)
        else:
            demand = np.empty(mean.shape, dtype=np.int64)
            for w, rng in enumerate(rngs):  # one call per world and block
                lam = mean[:, w] * rng.gamma(k, 1.0 / k, size=mean[:, w].shape) if k > 0 else mean[:, w]
                demand[:, w] = rng.poisson(np.minimum(lam, MAX_COUNT))  # the cap: see ``sampling.MAX_COUNT``
        return np.ascontiguousarray(mean, dtype=float), np.ascontiguousarray(demand, dtype=np.int64)

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
