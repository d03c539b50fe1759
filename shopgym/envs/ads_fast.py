"""One compiled Ads-v0 step for one or many worlds: the action, the tick, the observation, the reward and the infos.

``AdsEnv.step`` on the reference path is a few hundred Python-level operations around the compiled auctions
(``shopgym.world.ads_kernel``): the action check, four numpy calls per world for the draws, the outcome record,
the opportunity log, ``remove_fifo``, the state copies, the observation and the info dict. ``FastAds`` does all of
it for ``N`` worlds in one compiled call per step (``step_kernel``, ``shopgym.envs.ads_fast_kernel``): the bid
multipliers from the actions (checked there first: a bad action changes nothing and the reference check then
raises its ``ActionError``), the tick's draws, the auctions and responses (the very loop of the reference,
``ads_kernel.tick_kernel``), the FIFO stock removal, the day sums, the opportunity log (preallocated arrays that
grow by doubling), the observation, the reward and the info figures. Python runs only when a day closes (restocking and ``World.step``, then the next day's
inputs) and when an episode starts.

Draws: each world's ``"auctions"`` generator is replayed inside the call (``shopgym.world.exact_rng``: numpy's
``PCG64``, ``poisson``, ``random`` and ``standard_normal``, number for number) in the reference order (per world a
Poisson count, then five uniforms per opportunity, then ``K`` normals), so the trajectories, the opportunity log and
the generators' states at every day's close are the reference path's (``tests/envs/test_ads_fast.py``). The state is
put back into the generators at every day's close, and whenever anything else ticks the world
(``AdsPhase.tick`` detaches the fast path first; the env's next step attaches it again).

The reference outcome record (``World.last_ad_tick``) and the opportunity log are built from the call's arrays
only when read. Scope: the compiled engine, a response model whose daily table fits (``AdsPhase.tabled``), PCG64
generators, no renderer; ``AdsEnv`` keeps the reference path otherwise.
"""

from __future__ import annotations

import numpy as np

from shopgym.envs.ads_fast_kernel import (
    CONTINUOUS,
    CTL,
    INFO_F,
    INFO_I,
    LEVELS,
    MAX_CAMPAIGNS,
    OBSERVE,
    RAW,
    SB_FIELDS,
    SF_FIELDS,
    step_kernel,
)
from shopgym.world import auctions, exact_rng
from shopgym.world.ads import LOG_FIELDS, AdTickOutcome
from shopgym.world.kpis import ADS_FIELDS

__all__ = ["CONTINUOUS", "LEVELS", "OBSERVE", "RAW", "FastAds", "step_kernel"]
_MODE, _DAY, _TICK, _TPD, _HORIZON, _LOG_N, _M, _HAS_LAST, _NEED, _LEVELS, _NSHOP = range(len(CTL))


class FastAds:
    """The compiled steps of an ``AdsEnv`` (``N = 1``) or ``AdsVectorEnv`` world (see the module docstring); ``build``
    gives ``None`` where they do not apply.

    Args:
        world: the env's ``World`` (ads on, compiled engine); view: its ``AdsView``; scenario: its scenario.
    """

    def __init__(self, world, view, scenario):
        self.world, self.view, self.scenario = world, view, scenario
        phase = world.ads_phase
        self.phase = phase
        cfg = scenario.ads
        b, c, n = world.n_worlds, phase.n_campaigns, world.catalog.n_skus
        self.ctl = np.zeros(len(CTL), dtype=np.int64)
        self.ctl[_TPD], self.ctl[_HORIZON], self.ctl[_LEVELS] = cfg.ticks_per_day, world.horizon, cfg.bid_levels
        self.ctl[_NSHOP] = phase.population.n_shoppers
        self.act = np.zeros((b, c))
        self.lam = np.zeros((b, c))
        self.rng = np.zeros((b, 4), dtype=np.uint64)
        self._saved = np.zeros((b, 4), dtype=np.uint64)
        traffic = phase.traffic
        self.fpar = np.array([view.daily_budget, traffic.max(), view.max_multiplier, cfg.competitor_correlation,
                              cfg.competitor_spread, cfg.reserve_price, 1.0 if cfg.auction == "first" else 0.0,
                              scenario.env.reward_scale])
        # the reference's per-tick Python figures (AdsPhase.tick), computed the same way
        self.mean_count = np.array([cfg.opportunities_per_day * traffic[t] / cfg.ticks_per_day
                                    for t in range(cfg.ticks_per_day)])
        self.intensity = np.array([cfg.competitor_intensity * traffic[t] ** auctions.COMPETITOR_TRAFFIC_EXPONENT
                                   for t in range(cfg.ticks_per_day)])
        self.member = view.member
        self.rate_c = np.zeros((b, c))
        self.on_hand = np.zeros((b, n), dtype=np.int64)
        self.tsums = np.zeros((b, len(ADS_FIELDS)))
        self.by_camp = np.zeros((b * c, 7))
        self.t_rev, self.t_cost = np.zeros((b, n)), np.zeros((b, n))
        self.t_sold = np.zeros((b, n), dtype=np.int64)
        self.obs = np.zeros((b, view.size), dtype=np.float32)
        self.reward = np.zeros(b)
        self.info_f = np.zeros((b, len(INFO_F)))
        self.info_i = np.zeros((b, len(INFO_I)), dtype=np.int64)
        expected = b * cfg.opportunities_per_day * traffic.max() / cfg.ticks_per_day
        self._scratch(int(expected + 8 * np.sqrt(expected) + 64))
        self._log(int(expected * cfg.ticks_per_day * min(world.horizon, 2)) + 1024)  # grows by doubling
        self._args: tuple | None = None
        self._table = np.zeros((1, 1, 3))
        self._built_at: tuple | None = None  # (log_n, day, tick) when ``last`` was built (once per tick, when read)
        self._last: AdTickOutcome | None = None

    @staticmethod
    def build(world, view, scenario, renderer=None) -> FastAds | None:
        """``FastAds`` for this world, or ``None`` (a renderer, the numpy engine or numba missing, a response model
        too large to table daily, or a numpy whose draws the compiled generator does not replay)."""
        if renderer is not None or step_kernel is None or world.engine != "compiled":
            return None
        if not world.ads_phase.tabled() or world.ads_phase.n_campaigns > MAX_CAMPAIGNS:
            return None
        if not exact_rng.replays_numpy():  # this numpy draws differently: the reference path keeps the trajectories
            return None
        return FastAds(world, view, scenario)

    # ------------------------------------------------------------------ buffers
    def _scratch(self, cap: int) -> None:
        k, width = self.scenario.ads.competitors, self.phase.campaign_skus.shape[1]
        self.si = np.zeros((4, cap), dtype=np.int64)
        self.sf = np.zeros((len(SF_FIELDS), cap))
        self.sb = np.zeros((len(SB_FIELDS), cap), dtype=bool)
        self.items = np.zeros((cap, width), dtype=np.int64)
        self.u = np.zeros((cap, 3))
        self.z = np.zeros((cap, k))
        self._args = None

    def _log(self, cap: int) -> None:
        n = int(self.ctl[_LOG_N])
        old = (self.log_i, self.log_f, self.log_b) if n else None
        self.log_i = np.zeros((cap, 4), dtype=np.int64)
        self.log_f = np.zeros((cap, 4))
        self.log_b = np.zeros(cap, dtype=bool)
        if old is not None:
            self.log_i[:n], self.log_f[:n], self.log_b[:n] = old[0][:n], old[1][:n], old[2][:n]
        self._args = None

    # ------------------------------------------------------------------ episodes and days
    def start(self) -> bool:
        """The world was just reset: take its generators' states, open day 0 and observe (``obs``); ``False`` when
        the generators cannot be replayed (``attach``)."""
        self.ctl[_LOG_N] = 0
        self.ctl[_HAS_LAST] = 0
        self._last, self._built_at = None, None
        return self.attach()

    def attach(self) -> bool:
        """Take over the world's ticks (after ``start``, or after something else ticked it); ``False`` when its
        generators cannot be replayed (then the caller uses the reference path)."""
        states = [exact_rng.load_state(g) for g in self.world.rngs["auctions"]]
        if any(s is None for s in states):
            return False
        self.rng[:] = np.stack(states)
        last = self.phase.last if self.phase.fast is None else None
        if last is not None and not self.ctl[_HAS_LAST]:  # ticked by the reference path: its figures feed the obs
            self.by_camp[:, 0], self.by_camp[:, 1] = last.opportunities.ravel(), last.wins.ravel()
            self.by_camp[:, 2], self.by_camp[:, 3] = last.spend.ravel(), last.ad_margin.ravel()
            self.by_camp[:, 4:] = last.market.reshape(-1, 3)
            self.ctl[_HAS_LAST] = 1
            self._last, self._built_at = last, (int(self.ctl[_LOG_N]), int(self.world.day), int(self.phase.tick_of_day))
        self.phase.fast = self
        self.open_day()
        return True

    def detach(self) -> None:
        """Hand the ticks back to ``AdsPhase.tick``: the generators' states, the log and the last outcome."""
        self.store()
        last = self.last_tick()
        log = self.log_columns()
        self.phase.hand_back(tuple(log[f] for f in LOG_FIELDS) if len(log["day"]) else None, last)
        self.ctl[_LOG_N] = 0
        self.ctl[_HAS_LAST] = 0

    def store(self) -> None:
        """Put the replayed generators' states back into the world's generators."""
        for g, st in zip(self.world.rngs["auctions"], self.rng, strict=True):
            exact_rng.store_state(g, st)

    def open_day(self) -> None:
        """Today's inputs (``World.day``): price, funnel table, demand rates, tick; then observe."""
        world, phase = self.world, self.phase
        self.ctl[_DAY], self.ctl[_TICK] = world.day, phase.tick_of_day
        if world.day < world.horizon:
            self._table = phase.day_table(world.day)
            self.rate_c[:] = self.view._campaign_rates()
        self._args = None
        self.run(OBSERVE)

    def close_day_if_done(self, close) -> bool:
        """After a day's last tick: store the generators, ``close()`` the day, open the next; whether it closed."""
        if self.ctl[_TICK] < self.ctl[_TPD]:
            return False
        self.store()
        close()
        self.open_day()
        return True

    # ------------------------------------------------------------------ steps
    def _arguments(self) -> tuple:
        w, p = self.world, self.phase
        return (self.ctl, self.act, self.lam, self.rng, self._saved, self.fpar, self.mean_count, self.intensity,
                self.view.multiplier_of_level, p.traffic, self.view.elapsed, self._table, p.campaign_skus,
                w.price_on(w.day), w.unit_cost, w.stock, p.mean_value, p.spend, p.budget, p.day_sums, p.acc,
                p.day_sold, p.day_revenue, p.day_cost, self.rate_c, self.member, self.view.value_scale, self.si, self.sf,
                self.sb, self.items, self.u, self.z, self.on_hand, self.tsums, self.by_camp, self.t_rev, self.t_cost,
                self.t_sold, self.log_i, self.log_f, self.log_b, self.obs, self.reward, self.info_f, self.info_i)

    def run(self, mode: int) -> int:
        """One kernel call in ``mode`` (``act`` filled for a step); returns 0 or ``-(w + 1)`` for a bad action of
        world ``w`` (nothing changed). Grows the scratch and the log when the tick needs it."""
        if mode != OBSERVE:
            if self.phase.fast is not self and not self.attach():
                raise RuntimeError("the auctions generators are not PCG64: use the reference path.")
            if self.ctl[_TICK] >= self.ctl[_TPD]:  # as AdsPhase.tick (a tick run outside the env ended the day)
                raise RuntimeError("every tick of today has run; close the day (World.step) first.")
        self.ctl[_MODE] = mode
        while True:
            if self._args is None:
                self._args = self._arguments()
            code = step_kernel(*self._args)
            if code != -(len(self.rng) + 1):
                break
            need = int(self.ctl[_NEED])
            if need > self.si.shape[1]:
                self._scratch(2 * need)
            if self.ctl[_LOG_N] + need > len(self.log_b):
                self._log(2 * (int(self.ctl[_LOG_N]) + need))
        if code == 0 and mode != OBSERVE:
            self.phase.tick_of_day += 1
        return code

    def info(self, w: int) -> dict:
        """World ``w``'s info dict of the last step (``AdsView.infos``' keys, values and types)."""
        day, tick, wins, buys = self.info_i[w].tolist()
        spend, margin, left, pacing, roas, cpa, win_rate, wasted, paid, ep_margin = self.info_f[w].tolist()
        return {"day": day, "tick": tick, "spend": spend, "ad_margin": margin, "wins": wins, "purchases": buys,
                "budget_left": left, "pacing": pacing, "roas": roas, "cpa": cpa, "win_rate": win_rate,
                "wasted_spend": wasted, "ad_spend": paid, "episode_ad_margin": ep_margin}

    def infos(self) -> dict[str, np.ndarray]:
        """Every world's infos of the last step as arrays (``AdsView.infos``' keys, values and dtypes)."""
        i, f = self.info_i, self.info_f
        return {"day": i[:, 0].copy(), "tick": i[:, 1].copy(), "spend": f[:, 0].copy(), "ad_margin": f[:, 1].copy(),
                "wins": i[:, 2].copy(), "purchases": i[:, 3].copy(), "budget_left": f[:, 2].copy(),
                "pacing": f[:, 3].copy(), "roas": f[:, 4].copy(), "cpa": f[:, 5].copy(), "win_rate": f[:, 6].copy(),
                "wasted_spend": f[:, 7].copy(), "ad_spend": f[:, 8].copy(), "episode_ad_margin": f[:, 9].copy()}

    def fill(self, actions: np.ndarray, continuous: bool, multipliers) -> int:
        """Put a batch of actions (one row per world, already of the right shape) into ``act``; returns the mode:
        ``LEVELS``/``CONTINUOUS`` for integer (or, continuous, real) arrays, else ``RAW`` with ``multipliers(actions)``
        (the reference check: it raises ``ActionError`` for anything outside the action space)."""
        a = np.asarray(actions)
        if a.dtype.kind in ("iuf" if continuous else "iu"):
            self.act[:] = a.reshape(self.act.shape)
            return CONTINUOUS if continuous else LEVELS
        self.act[:] = multipliers(a)
        return RAW

    # ------------------------------------------------------------------ the reference records, when read
    def log_columns(self) -> dict[str, np.ndarray]:
        """The opportunities logged by the fast path this episode (``LOG_FIELDS``), copies."""
        n = int(self.ctl[_LOG_N])
        li, lf = self.log_i[:n], self.log_f[:n]
        return {"day": li[:, 0].copy(), "tick": li[:, 1].copy(), "world": li[:, 2].copy(), "campaign": li[:, 3].copy(),
                "estimate": lf[:, 0].copy(), "value": lf[:, 1].copy(), "price_to_win": lf[:, 2].copy(),
                "won": self.log_b[:n].copy(), "price": lf[:, 3].copy()}

    def last_tick(self) -> AdTickOutcome | None:
        """The last tick as ``AdTickOutcome`` (built from the kernel's arrays once per tick, when read)."""
        if not self.ctl[_HAS_LAST]:
            return None
        if self._built_at != (int(self.ctl[_LOG_N]), int(self.ctl[_DAY]), int(self.ctl[_TICK])) or self._last is None:
            m = int(self.ctl[_M])
            b, c = self.world.n_worlds, self.phase.n_campaigns
            si, sf, sb, bc = self.si[:, :m], self.sf[:, :m], self.sb[:, :m], self.by_camp
            f = {name: sf[i].copy() for i, name in enumerate(SF_FIELDS)}
            g = {name: sb[i].copy() for i, name in enumerate(SB_FIELDS)}
            self._last = AdTickOutcome(
                world=si[0].copy(), campaign=si[2].copy(), shopper=si[1].copy(), item=si[3].copy(),
                estimate=f["estimate"], value=f["value"], bid=f["bid"], competing=f["competing"],
                price_to_win=f["to_win"], won=g["won"], price=f["paid"], click=g["click"], cart=g["cart"],
                purchase=g["purchase"], in_stock=g["stocked"], revenue=f["revenue"], margin=f["margin"],
                opportunities=bc[:, 0].astype(np.int64).reshape(b, c), wins=bc[:, 1].astype(np.int64).reshape(b, c),
                spend=bc[:, 2].reshape(b, c).copy(), ad_margin=bc[:, 3].reshape(b, c).copy(), sold=self.t_sold.copy(),
                market=bc[:, 4:].reshape(b, c, 3).copy())
            self._built_at = (int(self.ctl[_LOG_N]), int(self.ctl[_DAY]), int(self.ctl[_TICK]))
        return self._last
