"""``LearnedDemand``: a fitted daily (or weekly) forecaster as the world's ``DemandModel``.

A forecaster fitted on **weekly** data (e.g. Walmart's) drives the daily world through
``forecasters.disaggregate.DailyFromWeekly``: daily history is summed into weeks, the weekly forecast is
spread over the days of each week by the weekday profile (``weekday_profile``; from a scenario, its
``demand.weekly``), which keeps weekly totals in expectation.

Each simulated day the forecaster sees, per world and SKU, the demand history so far (the tail of
its training series before day 0, then the world's realised demand) and returns its predictive
distribution for the next days in **one forward pass for all worlds and SKUs**. ``expected`` and
``forecast`` read that distribution (no random numbers); ``sample`` draws each world's demand from
it with that world's own generator, and the draw joins the history: demand is simulated
auto-regressively.

SKU ``i`` is driven by training series ``i mod n_series`` (series sorted by name). Demand is in the
units of the training ``y`` per day. If the forecaster uses exogenous ``price`` or ``promo``
columns they are taken from the world (today's price and promotion flag, held over the horizon).

The model is a guest in the world and is checked every day (vectorised over worlds and SKUs):

* a non-finite predicted mean or quantile raises ``LearnedModelError`` naming the model, the day,
  the world and the SKU;
* demand is never negative (the distribution is read as ``max(X, 0)``) and never above a ceiling:
  ``ceiling[i] = ceiling_factor * max(m_i, 1)`` units/day, where ``m_i`` is the largest daily value of
  SKU ``i``'s training series (and at most ``MAX_CEILING``). Draws above it are cut to it and counted
  in ``clipped_today`` (per world) and ``clipped_total``; ``expected`` and ``forecast`` are cut to it too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecasters.base import Forecaster
from forecasters.data import DS, ID, Y
from forecasters.distribution import GRID, Distribution, _interp
from forecasters.panel import Panel
from shopgym.errors import LearnedModelError, ScenarioError
from shopgym.world.protocols import DemandContext

#: Probability midpoints used to integrate the (zero-clipped) predictive distribution into its mean.
_U = (np.arange(200) + 0.5) / 200


def _interp_weights(u: np.ndarray) -> np.ndarray:
    """``W (len(u), len(GRID))`` with ``grid @ W.T == _interp(grid, u)``: the inverse CDF is linear in the grid."""
    eye = np.eye(len(GRID))
    return _interp(np.broadcast_to(eye, (len(u), *eye.shape)), np.broadcast_to(u[:, None], (len(u), len(GRID))))


#: Inverse CDF at the midpoints ``_U`` as weights on the grid, and their average (the mean when nothing is clipped).
_W = _interp_weights(_U)
_W_MEAN = _W.mean(0)
_N_TAIL = int(np.sum(_U < GRID[0]))

#: Default ceiling on daily demand, as a multiple of the largest daily value of the SKU's training series.
CEILING_FACTOR = 10.0
#: Absolute ceiling on daily demand (units/day), far below the int64 limit that rounding must not overflow.
MAX_CEILING = 1e12


class LearnedDemand:
    """Demand drawn from a fitted daily forecaster (satisfies ``shopgym.world.protocols.DemandModel``).

    Args:
        forecaster: a fitted ``forecasters.Forecaster`` on daily data, or on weekly data (then disaggregated
            into days by ``weekday_profile``, see ``forecasters.disaggregate``).
        n_skus: number of SKUs in the world.
        start_date: calendar date of day 0; the warm-up history is re-dated to end the day before,
            keeping its weekday alignment (up to 6 most recent days are dropped for that).
        context: days of history given to the forecaster each day (default: enough for the model).
        horizon: steps computed in the daily forward pass (covers ``expected`` and the usual
            ``forecast`` look-ahead; a longer ``forecast`` triggers one more pass).
        ceiling_factor: daily demand is cut at this multiple of the largest value of the SKU's training
            series (see the module docstring); > 0.
        name: how error messages name the model (``from_saved`` uses the file's path).
        weekday_profile: seven multipliers Monday..Sunday spreading a weekly forecaster's weeks over days
            (``None``: flat); ignored for a daily forecaster.
    """

    def __init__(self, forecaster: Forecaster, n_skus: int, start_date: str, context: int | None = None, horizon: int = 1,
                 ceiling_factor: float = CEILING_FACTOR, name: str | None = None,
                 weekday_profile: Sequence[float] | None = None):
        forecaster._check_fitted()
        if not (np.isfinite(ceiling_factor) and ceiling_factor > 0):
            raise ValueError(f"ceiling_factor must be a finite number > 0, got {ceiling_factor!r}.")
        self.name = name or type(forecaster).__name__
        self.ceiling_factor = float(ceiling_factor)
        if forecaster.freq_ == pd.Timedelta(days=7):
            from forecasters.disaggregate import DailyFromWeekly

            forecaster = DailyFromWeekly(forecaster, [1.0] * 7 if weekday_profile is None else weekday_profile)
        elif forecaster.freq_ != pd.Timedelta(days=1):
            raise ScenarioError(
                f"the saved forecaster was fitted on data with frequency {forecaster.freq_}; the world steps "
                "one day at a time, so drive it with a forecaster fitted on daily or weekly data."
            )
        self.forecaster = forecaster
        # Neural forecasters read the dense history buffer directly (no per-series panel or windows).
        self._dense = callable(getattr(forecaster, "distribution_dense", None))
        self.n_skus = int(n_skus)
        self.horizon = max(1, int(horizon))
        m = forecaster.season_length_
        need = getattr(forecaster, "L_", 0)
        self.context = int(context or max(need, 8 * m, 28))
        self.start = pd.Timestamp(start_date)
        self.exog_names = forecaster.exog
        unknown = [c for c in self.exog_names if c not in ("price", "promo")]
        if unknown:
            raise ScenarioError(f"LearnedDemand can feed only 'price' and 'promo' to a forecaster; it uses {unknown}.")
        self._warm_up()
        self.reset(1)

    @classmethod
    def from_saved(cls, path, catalog, scenario, n_days: int | None = None) -> LearnedDemand:
        """Load a forecaster saved with ``save(path)`` for a world built from ``scenario`` and ``catalog``
        (``n_days`` is accepted for compatibility and unused), without running code from the file
        (``forecasters.safe_load``). Use ``shopgym.plugins`` to resolve a scenario:
        it checks the file first and wraps every failure in an error naming the scenario key."""
        from forecasters.safe_load import load_forecaster  # runs no code from the file

        model = load_forecaster(path)
        horizon = int(np.max(catalog.lead_time)) + 1 + max(0, scenario.supply.shock_lead_time_add)
        return cls(model, n_skus=catalog.n_skus, start_date=scenario.env.start_date, horizon=horizon, name=str(path),
                   weekday_profile=scenario.demand.weekly)

    # ------------------------------------------------------------------ warm-up
    def _warm_up(self) -> None:
        hist = self.forecaster.history_
        ids = sorted(hist[ID].unique())
        self.series_ids = [ids[i % len(ids)] for i in range(self.n_skus)]
        want_dow = (self.start - pd.Timedelta(days=1)).day_of_week
        rows, exog, peak = [], [], []
        for uid in self.series_ids:
            g = hist[hist[ID] == uid]
            top = np.nanmax(g[Y].to_numpy(float), initial=-np.inf)
            peak.append(top if np.isfinite(top) else 0.0)
            drop = (g[DS].iloc[-1].day_of_week - want_dow) % 7
            g = g.iloc[: len(g) - drop] if drop else g
            if len(g) < 1:
                raise ScenarioError(f"series {uid!r} of the saved forecaster is too short to warm up the world.")
            tail = g.iloc[-self.context :]
            rows.append(tail[Y].to_numpy(float))
            exog.append(tail[list(self.exog_names)].to_numpy(float))
        n = min(len(r) for r in rows)
        self.warm = np.stack([r[-n:] for r in rows])  # (n_skus, n), units/day
        self.warm_exog = np.stack([e[-n:] for e in exog])  # (n_skus, n, k)
        #: Largest daily value of each SKU's training series (units/day) and the demand ceiling built on it.
        self.history_max = np.asarray(peak, dtype=float)
        self.ceiling = np.minimum(self.ceiling_factor * np.maximum(self.history_max, 1.0), MAX_CEILING)

    # ------------------------------------------------------------------ protocol
    def reset(self, n_worlds: int) -> None:
        """Start every world from the warm-up history."""
        self.n_worlds = int(n_worlds)
        self.buf = np.broadcast_to(self.warm, (self.n_worlds, *self.warm.shape)).copy()
        self.buf_exog = np.broadcast_to(self.warm_exog, (self.n_worlds, *self.warm_exog.shape)).copy()
        self.day = 0
        self._cache: tuple | None = None
        self.forward_passes = 0
        #: Draws cut to the ceiling on the last sampled day, per world, and since ``reset`` (counts of SKU-days).
        self.clipped_today = np.zeros(self.n_worlds, dtype=np.int64)
        self.clipped_total = np.zeros(self.n_worlds, dtype=np.int64)

    def warm_history(self, n_worlds: int, n_days: int) -> np.ndarray:
        """The last ``n_days`` of warm-up demand, ``(n_worlds, n_skus, n_days)``, units/day (left-padded
        with the earliest value if the warm-up is shorter): what a world can show as pre-episode history."""
        w = self.warm[:, -n_days:]
        if w.shape[1] < n_days:
            w = np.concatenate([np.repeat(w[:, :1], n_days - w.shape[1], axis=1), w], axis=1)
        return np.broadcast_to(w, (n_worlds, *w.shape)).copy()

    def _sync(self, ctx: DemandContext) -> None:
        """Append the world's realised demand of the days since the last call to the history buffer."""
        if ctx.day < self.day:
            raise ValueError(f"day {ctx.day} is before day {self.day}: call reset() between episodes.")
        new = ctx.day - self.day
        if new:
            if new > ctx.demand_history.shape[-1]:
                raise ValueError(f"skipped {new} days, more than the {ctx.demand_history.shape[-1]} days of history given.")
            obs = ctx.demand_history[..., -new:].astype(float)
            self.buf = np.concatenate([self.buf, obs], axis=-1)[..., -self.context :]
            if self.exog_names:
                ex = np.broadcast_to(self._exog_today(ctx)[:, :, None, :], (*obs.shape, len(self.exog_names)))
                self.buf_exog = np.concatenate([self.buf_exog, ex], axis=2)[:, :, -self.context :]
            self.day = ctx.day
            self._cache = None

    def _exog_today(self, ctx: DemandContext) -> np.ndarray:
        vals = {"price": np.asarray(ctx.price, float), "promo": np.asarray(ctx.promo, float)}
        return np.stack([np.broadcast_to(vals[c], (self.n_worlds, self.n_skus)) for c in self.exog_names], axis=-1)

    def _distribution(self, ctx: DemandContext, horizon: int) -> Distribution:
        self._sync(ctx)
        h = max(horizon, self.horizon)
        if self._cache is not None and self._cache[0] >= horizon:
            return self._cache[1]
        b, n, T = self.buf.shape
        start = self.start + pd.Timedelta(days=ctx.day - T)
        k = len(self.exog_names)
        ex = self.buf_exog.reshape(b * n, T, k)
        fut = np.broadcast_to(self._exog_today(ctx).reshape(b * n, 1, k), (b * n, h, k)) if k else None
        if self._dense:
            dist = self.forecaster.distribution_dense(self.buf.reshape(b * n, T), start, h, ex if k else None, fut)
        else:
            panel = Panel.from_arrays([u for _ in range(b) for u in self.series_ids], self.buf.reshape(b * n, T), start,
                                      pd.Timedelta(days=1), ex, self.exog_names)
            dist = self.forecaster.distribution_panel(panel, h, fut)
        dist = Distribution(dist.mean.reshape(b, n, h), dist.grid.reshape(b, n, h, -1))
        self._check_finite(dist, ctx.day)
        self.forward_passes += 1
        self._cache = (h, dist)
        return dist

    def _check_finite(self, dist: Distribution, day: int) -> None:
        """Raise ``LearnedModelError`` naming the model, day, world and SKU if a mean or quantile is not finite."""
        bad = ~(np.isfinite(dist.grid).all(-1) & np.isfinite(dist.mean))  # (b, n, h)
        if bad.any():
            w, i, k = np.argwhere(bad)[0]
            vals = np.append(dist.grid[w, i, k], dist.mean[w, i, k])
            raise LearnedModelError(
                f"the demand model {self.name!r} ({type(self.forecaster).__name__}) predicted a non-finite value "
                f"({vals[~np.isfinite(vals)][0]}) for day {day + k}, world {w}, SKU {i} (series {self.series_ids[i]!r}; "
                f"{bad.any(-1).sum()} SKU-worlds affected): demand cannot be drawn from it. Check the training data "
                "and the history fed to the model (NaN or huge values), or refit it."
            )

    def expected(self, ctx: DemandContext) -> np.ndarray:
        """Mean of today's demand distribution (clipped at zero, cut at ``ceiling``), ``(n_worlds, n_skus)``, units/day."""
        return np.minimum(self._mean(self._distribution(ctx, 1).grid[:, :, 0]), self.ceiling)

    def forecast(self, ctx: DemandContext, horizon: int) -> np.ndarray:
        """Expected demand for the next ``horizon`` days, ``(n_worlds, n_skus, horizon)``; no randomness.

        Days after today are conditioned on the forecaster's own mean path (no sampling).
        """
        grid = self._distribution(ctx, horizon).grid[:, :, :horizon]
        return np.minimum(self._mean(grid), self.ceiling[:, None])

    def sample(self, ctx: DemandContext, rngs: Sequence[np.random.Generator]) -> np.ndarray:
        """Today's demand: a draw from the predictive distribution, cut to ``[0, ceiling]`` (cuts counted in
        ``clipped_today``), rounded stochastically to integers."""
        dist = self._distribution(ctx, 1)
        grid = dist.grid[:, :, 0]
        if len(rngs) != grid.shape[0]:
            raise ValueError(f"need one generator per world ({grid.shape[0]}), got {len(rngs)}.")
        self._check_finite(dist, ctx.day)  # also when the pass was cached (or its grid was altered since)
        out = np.empty(grid.shape[:2], dtype=np.int64)
        clipped = np.zeros(grid.shape[0], dtype=np.int64)
        for w, rng in enumerate(rngs):  # world w draws from its own generator only
            x = np.maximum(_interp(grid[w], rng.random(self.n_skus)), 0.0)
            over = x > self.ceiling
            clipped[w] = np.count_nonzero(over)
            x = np.where(over, self.ceiling, x)
            out[w] = np.floor(x + rng.random(self.n_skus)).astype(np.int64)  # unbiased rounding
        self.clipped_today = clipped
        self.clipped_total = self.clipped_total + clipped
        return out

    @staticmethod
    def _mean(grid: np.ndarray) -> np.ndarray:
        """Mean of ``max(X, 0)`` for X with quantiles ``grid`` (..., Q) (non-decreasing), by integrating the
        inverse CDF at the midpoints ``_U``.

        The inverse CDF is linear in the grid, so its unclipped average is one product with ``_W_MEAN``;
        clipping at zero then adds back the negative part, which (the inverse CDF being non-decreasing) lies
        in the lower tail below ``GRID[0]`` wherever the lowest grid quantile is non-negative.
        """
        mean = grid @ _W_MEAN
        low = grid @ _W[:_N_TAIL].T  # inverse CDF at the midpoints below GRID[0]
        neg = low[..., 0] < 0
        if neg.any():
            mean[neg] -= np.minimum(low[neg], 0.0).sum(-1) / len(_U)
            far = neg & (grid[..., 0] < 0)  # negative beyond the tail too: integrate everything
            if far.any():
                mean[far] = np.maximum(grid[far] @ _W.T, 0.0).mean(-1)
        return mean
