"""``shopgym/Ads-v0``: pace ad budgets across the ticks of a day, for products that can run out of stock."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from shopgym.config import Scenario, load_scenario
from shopgym.envs.ads_fast import CONTINUOUS, LEVELS, RAW, FastAds
from shopgym.envs.ads_render import AdsRenderer
from shopgym.envs.ads_view import AdsView
from shopgym.envs.render import RENDER_FPS, RENDER_MODES, check_render_mode, warn_no_render_mode
from shopgym.envs.restock import world_seed
from shopgym.errors import ActionError, ScenarioError
from shopgym.plugins import build_world
from shopgym.world.restock_rule import check_restock_policy, restock_orders


def close_day_if_done(world, scenario: Scenario, restock: str) -> None:
    """After a day's last tick: today's restocking orders (the scenario's rule), then ``World.step`` closes the day."""
    if world.ads_state.ticks_left == 0:
        rcfg = scenario.recommend
        world.step(restock_orders(world, restock, rcfg.restock_cover_days, scenario.env.max_order))


def load_ads_scenario(scenario: str | Scenario, **scenario_keys: Any) -> tuple[Scenario, str]:
    """The scenario as Ads-v0 runs it (``ads.simulate_ads`` on unless a key says otherwise, which is refused) and
    its checked restocking rule; shared by the single and the vector env."""
    scenario_keys.setdefault("simulate_ads", True)
    sc = load_scenario(scenario, **scenario_keys)
    if not sc.ads.simulate_ads:
        raise ScenarioError("shopgym/Ads-v0 needs ads.simulate_ads = true.")
    return sc, check_restock_policy(sc.recommend.restock_policy)


class AdsEnv(gym.Env):
    """Bidding for ad impressions with daily budgets, for a shop whose advertised products can sell out.

    ## Description
    The world (``shopgym.world.World``) with ad auctions on (``shopgym.world.ads``). Each day has
    ``ticks_per_day`` ticks (24 by default); **one step is one tick**. In a tick, ad opportunities arrive with the
    daily traffic pattern (each a shopper from the population looking at one campaign's products); our campaigns
    (one per category by default) bid ``multiplier x estimated value`` on each, against seeded competitors, in
    second-price auctions (or first-price; reserve price optional). A campaign's spend never exceeds its daily
    budget: the auction that would overshoot is not taken (``shopgym.world.auctions``). A won impression shows
    the campaign's best in-stock SKU for the shopper, who clicks, adds to cart and buys (nested, from the
    scenario's response model); a purchase takes one unit from the shared stock. After a day's last tick the day
    closes: a restocking rule named in the scenario orders (``recommend.restock_policy``, default order-up-to),
    deliveries arrive, organic demand buys what is left.

    The *estimated value* (what the platform's click and conversion models predict: the expected margin of the
    campaign's best SKU for the shopper) ignores stock; the true value is that of the best SKU in stock (0 when
    the campaign has nothing in stock). So bidding on a sold-out product wastes money, unless the policy looks at
    the stock cover in the observation.

    Why this design: one tick per step is the pacing decision of AuctionNet (48 ticks a day) with the auctions
    inside the tick vectorised, so an episode of a few days is a few dozen to a few hundred steps. The ads
    scenarios run 3 days (72 steps): enough for the budget to reset twice and for stock run down by ads to be
    restocked (lead time 2 days), short enough to train in minutes.

    ## Action space
    A bid multiplier ``lambda`` per campaign (bid = ``lambda x`` estimated value). Default: level ``k`` in
    ``[0, bid_levels)`` means ``lambda = k / (bid_levels - 1) x max_multiplier``: ``MultiDiscrete([bid_levels] *
    n_campaigns)``, or ``Discrete(bid_levels)`` with one campaign. ``continuous=True``: ``Box(0, max_multiplier,
    (n_campaigns,), float32)``. Anything else (negative, NaN, out of range, wrong shape) raises
    ``shopgym.errors.ActionError`` naming the problem.

    ## Observation space
    ``Box(0, 10, (3 + 9 n_campaigns,), float32)``: three global entries, then nine per campaign.

    | index | meaning | unit | range |
    |---|---|---|---|
    | 0 | time left in the day: ticks left / ticks_per_day | - | [0, 1] |
    | 1 | episode left: 1 - ticks run / (horizon x ticks_per_day) | - | [0, 1] |
    | 2 | traffic of the next tick / the day's peak traffic | - | [0, 1] |
    | 3 + 9c + 0 | budget left today / daily_budget | - | [0, 1] |
    | 3 + 9c + 1 | spend so far today / daily_budget | - | [0, 1] |
    | 3 + 9c + 2 | last tick's win rate (impressions won / opportunities) | - | [0, 1] |
    | 3 + 9c + 3 | last tick's mean clearing price paid / value scale | - | [0, 10] |
    | 3 + 9c + 4 | last tick's mean price to win (max(highest competing bid, reserve)) / value scale | - | [0, 10] |
    | 3 + 9c + 5 | mean estimated value of the last tick's opportunities / value scale | - | [0, 10] |
    | 3 + 9c + 6 | std of those values / value scale | - | [0, 10] |
    | 3 + 9c + 7 | stock cover of the campaign's SKUs: on hand / daily demand rate, / 30 days, capped | - | [0, 1] |
    | 3 + 9c + 8 | share of the campaign's SKUs in stock | - | [0, 1] |

    The value scale of a campaign is its mean estimated value (currency/impression; ``world.ads_setup``). The
    daily demand rate is the larger of the forecast and the last 7 days' sales (ad sales included).

    ## Rewards
    The margin of the tick's ad-driven purchases (price - unit cost) minus the tick's ad spend, currency x
    ``reward_scale``. It is the advertiser's view: organic demand that finds the shelf empty because ads sold the
    units first is not charged to the ads, so on a shop short of stock, bidding can raise this reward while it
    lowers the shop's profit (``info["episode_kpis"]["profit"]`` at the end; the benchmark reports both).

    ## Starting state
    Day 0, tick 0, every budget full, the scenario's initial stock.

    ## Episode end
    Terminated after the last tick of day ``horizon - 1`` (``horizon x ticks_per_day`` steps).

    ## Info
    Per step: ``day`` and ``tick`` (of the tick just run), ``spend`` and ``ad_margin`` (this tick, currency),
    ``wins`` and ``purchases`` (this tick, counts), ``budget_left`` (all campaigns, currency, today, after this
    tick), ``pacing`` (today's spend / (today's budget x the share of the day's traffic elapsed); 1 = spending in
    step with traffic). Episode so far (``shopgym.world.kpis.ADS_KPIS``): ``roas`` (ad revenue / ad spend, 0
    without spend), ``cpa`` (currency per ad-driven purchase; inf with spend but no purchase, 0 without spend), ``win_rate``, ``ad_spend`` and
    ``episode_ad_margin`` (currency), ``wasted_spend`` (currency paid for impressions won while nothing of the
    campaign was in stock). At the end ``episode_kpis``: the shop's ``EPISODE_KPIS`` and the ``ADS_KPIS``.
    ``env.unwrapped.world.opportunity_log()`` holds every opportunity's estimated value and price to win for the
    hindsight bound (``agents.ads_hindsight``).

    ## Rendering
    ``"ansi"``: the last tick's impressions won, clicks, purchases, stock and spend per SKU, under today's budget
    left. ``"rgb_array"``: a 480x320 chart of the last 60 ticks (won, clicks, bought; spend and ad margin).

    ## Speed
    Without a renderer, on the compiled engine (the default where numba is installed), a step is one compiled call
    (``shopgym.envs.ads_fast``: the action check, the tick with its draws replayed from the world's own generators,
    the observation, reward and infos) plus Python at each day's close; it gives the reference path's numbers
    exactly (``tests/envs/test_ads_fast.py``). A step of ads-steady (~500 opportunities a tick) needs ~4,000 random
    numbers, which alone take about two CartPole steps: the step runs at roughly 0.1x CartPole's steps/s
    (issue 16's target is 0.5x; ``python benchmarks/throughput_ads.py --clock cpu --breakdown`` and
    ``docs/performance_notes.md``, "Ads-v0 step").

    ## Arguments
    ``gymnasium.make("shopgym/Ads-v0", scenario="ads-steady", continuous=False, render_mode=None, **keys)``. Any
    scenario works: the env turns ``ads.simulate_ads`` on. Scenario keys override by name (``daily_budget=5.0``).
    ``gymnasium.make_vec("shopgym/Ads-v0", num_envs=N, vectorization_mode="vector_entry_point")`` steps N worlds
    as one batched world (``shopgym.envs.ads_vector``), with the single env's trajectories.

    ## Version history
    - v0: initial version.

    ## Example
    >>> import gymnasium as gym, shopgym
    >>> env = gym.make("shopgym/Ads-v0", scenario="ads-steady")
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    >>> bool(info["budget_left"] >= 0)
    True
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": RENDER_FPS}
    #: Which decision the env exposes (``agents.registry`` builds the policies that fit it).
    kind = "ads"

    def __init__(self, scenario: str | Scenario = "ads-steady", continuous: bool = False,
                 render_mode: str | None = None, **scenario_keys: Any):
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.scenario, self.restock = load_ads_scenario(scenario, **scenario_keys)
        self.continuous = bool(continuous)
        self.world = build_world(self.scenario, n_worlds=1)
        self.view = AdsView(self.world, continuous=self.continuous)
        self.renderer = AdsRenderer(self.world, render_mode) if render_mode is not None else None
        self.observation_space = self.view.observation_space
        self.action_space = self.view.action_space
        self._started = False
        #: The compiled steps (``shopgym.envs.ads_fast``), or ``None``: the reference path below.
        self.fast = FastAds.build(self.world, self.view, self.scenario, self.renderer)
        c = self.view.n_campaigns
        self._fast_shape = (c,) if (self.continuous or c > 1) else ()
        self._fast_kinds, self._fast_mode = ("iuf", CONTINUOUS) if self.continuous else ("iu", LEVELS)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.world.reset([world_seed(self.np_random, seed)])
        self._started = True
        self.view.on_reset()
        if self.renderer is not None:
            self.renderer.on_reset()
        if self.fast is not None and self.fast.start():
            return self.fast.obs[0].copy(), {}
        return self.view.observe()[0], {}

    def step(self, action):
        if not self._started or self.world.day >= self.world.horizon:
            raise RuntimeError("the episode is over (or reset() was not called); call reset() first.")
        if self.fast is not None and (self.fast.phase.fast is self.fast or self.fast.attach()):
            return self._fast_step(action)
        lam = self.view.multipliers(np.asarray(action)[None])
        tick = self.world.ads_tick(lam)
        if self.renderer is not None:
            self.renderer.on_step(tick)
        reward = float(self.view.rewards(tick, self.scenario.env.reward_scale)[0])
        info = {k: v[0].item() for k, v in self.view.infos(tick, self.world.ads_state).items()}
        close_day_if_done(self.world, self.scenario, self.restock)
        terminated = self.world.day >= self.world.horizon
        if terminated:
            kpis = {**self.world.kpis.summary(), **self.world.ads_kpis()}
            info["episode_kpis"] = {k: float(v[0]) for k, v in kpis.items()}
        return self.view.observe()[0], reward, terminated, False, info

    def _fast_step(self, action):
        """``step`` in one compiled call (``shopgym.envs.ads_fast``): the same numbers as the reference path."""
        fast, a = self.fast, np.asarray(action)
        if a.shape == self._fast_shape and a.dtype.kind in self._fast_kinds:
            fast.act[0] = a
            mode = self._fast_mode
        else:  # other shapes and dtypes: the reference check converts them or raises its ActionError
            fast.act[0] = self.view.multipliers(a[None])[0]
            mode = RAW
        if fast.run(mode) != 0:
            self.view.multipliers(a[None])  # raises the reference's ActionError
            raise ActionError(f"action {a!r} is outside the action space {self.action_space}.")
        reward, info = float(fast.reward[0]), fast.info(0)
        terminated = False
        if fast.close_day_if_done(self._close_day):
            terminated = self.world.day >= self.world.horizon
            if terminated:
                kpis = {**self.world.kpis.summary(), **self.world.ads_kpis()}
                info["episode_kpis"] = {k: float(v[0]) for k, v in kpis.items()}
        return fast.obs[0].copy(), reward, terminated, False, info

    def _close_day(self) -> None:
        """Close the day whose last tick the compiled step just ran (``close_day_if_done`` without its check)."""
        world, scenario = self.world, self.scenario
        world.step(restock_orders(world, self.restock, scenario.recommend.restock_cover_days, scenario.env.max_order))

    def render(self):
        """A string (``"ansi"``) or an ``(H, W, 3)`` uint8 frame (``"rgb_array"``)."""
        if self.renderer is None:
            warn_no_render_mode(self.spec.id if self.spec is not None else "shopgym/Ads-v0")
            return None
        return self.renderer.render(0)
