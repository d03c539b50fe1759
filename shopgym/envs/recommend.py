"""``shopgym/Recommend-v0``: choose what each arriving shopper is shown; they buy from the shop's stock."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from shopgym.config import Scenario, load_scenario
from shopgym.envs.recommend_fast import FastSteps
from shopgym.envs.recommend_render import RecommendRenderer
from shopgym.envs.recommend_view import RecommendView
from shopgym.envs.render import RENDER_FPS, RENDER_MODES, check_render_mode, warn_no_render_mode
from shopgym.envs.restock import world_seed
from shopgym.errors import ScenarioError
from shopgym.plugins import build_world
from shopgym.world.kpis import SESSION_FIELDS
from shopgym.world.protocols import ImpressionBatch
from shopgym.world.restock_rule import check_restock_policy, restock_orders
from shopgym.world.sessions import Decisions


class RecommendEnv(gym.Env):
    """Recommending items to the shoppers of a shop that runs out of stock.

    ## Description
    The world (``shopgym.world.World``) with shopper sessions on: every day a Poisson number of
    shoppers (``sessions_per_day``) from a fixed population visits. **One step is one session**: the
    agent sees the shopper and ``K`` candidate items and picks what to show; the shopper clicks, adds to
    cart and buys (nested, from the scenario's response model: the ground truth or a ``learned:PATH``
    conversion model). A purchase takes one unit from the shared stock, first-expiring-first-out; an
    item out of stock cannot be bought. After the day's last session the day closes: a restocking rule
    named in the scenario orders (``recommend.restock_policy``, default order-up-to), deliveries
    arrive, organic demand buys what is left, perishables expire. Days without sessions pass silently.

    Why this design: one session per step gives a short, dense credit assignment (the reward follows the
    action at once), which bandits and DQN/PPO can learn from, while the episode runs over days of one
    shop, so what a recommendation does to stock (a sold-out best seller) and to shoppers' memory
    (fatigue, satisfaction and churn, drifting interests: ``[shoppers]`` switches) is felt by later
    sessions of the same episode. RecSim-style per-user episodes would hide both.

    ## Action space
    ``Discrete(K)``: the position of the one candidate to show. With ``slate_size=m > 1``:
    ``MultiDiscrete([K] * m)``, the candidates for slots 0 .. m-1 (a repeated candidate is shown once).
    Offers (optional, off by default; ``shopgym.world.offers``): with ``coupons=True`` (the scenario key
    ``shoppers.coupons``) the action is ``MultiDiscrete([K] * m + [L] * m)``: the slate, then an offer level
    ``j`` in ``[0, L)`` per slot (``L = coupon_levels``; a coupon of ``j x coupon_step`` off, paid from the
    episode's ``coupon_budget``; an offer the budget cannot cover is shown at full price); with
    ``bundles=True`` ``[2] * m`` bundle flags follow (1: the item comes with its complement at
    ``bundle_discount`` off, bought together or not at all). With coupons the observation gains
    ``coupon_left`` (budget left / coupon_budget) before ``elapsed``.
    Other actions raise ``shopgym.errors.ActionError``.

    ## Observation space
    ``Box(-10, 10, (n,), float32)``: the shopper block then ``K`` item blocks (``env.unwrapped.view.parse(obs)``
    names them). It never holds the shopper's preference vector, exact price sensitivity or satisfaction.

    | field | meaning | unit | range |
    |---|---|---|---|
    | segment_s | one-hot shopper segment | - | {0, 1} |
    | sensitivity_low/mid/high | price-sensitivity tertile of the shopper (one-hot) | - | {0, 1} |
    | visits_log | log(1 + visits: the pre-episode record's and this episode's, today's included) / 5 | - | >= 0 |
    | days_since_visit | days since the previous visit / 30, capped at 1 (1 on a first visit) | - | [0, 1] |
    | first_visit | 1 on the shopper's first visit this episode | - | {0, 1} |
    | clicks_per_visit, purchases_per_visit | the shopper's history (pre-episode record included), capped at 5 | per visit | [0, 5] |
    | last_category_c | one-hot category of the shopper's last click (all 0 before one) | - | {0, 1} |
    | taste_d | mean embedding of the items the shopper clicked, pre-episode record included (0 before a click; ``parse``: ``taste``, (d,)) | - | [-1, 1] |
    | elapsed | day / horizon | - | [0, 1] |
    | log_price (per item) | log(today's price / median list price) | - | [-10, 10] |
    | margin | (today's price - unit cost) / median list price | - | [-10, 10] |
    | cover | stock on hand / expected organic demand per day, / 30, capped at 1 | - | [0, 1] |
    | in_stock | 1 if at least one unit is on hand | - | {0, 1} |
    | category_match | 1 if the item's category is the shopper's last clicked one | - | {0, 1} |
    | popularity | units sold over the last 7 days / the best seller's | - | [0, 1] |
    | category_c | one-hot item category | - | {0, 1} |
    | e_d | item embedding | - | [-1, 1] |

    Candidates: the top ``K = min(recommend.candidates, n_skus)`` items by 2 x in stock + category match
    + popularity (ties by SKU index).

    ## Rewards
    The margin of the session's purchases (price paid - unit cost, currency) x ``reward_scale``.

    ## Starting state
    The scenario's initial stock, every shopper's memory fresh, day 0's first session. With
    ``shoppers.history_clicks`` > 0 each shopper's visits, clicks, purchases, last clicked category and ``taste``
    start from a pre-episode record drawn once from ``shoppers_seed`` (``shopgym.world.history``; the same in
    every episode); ``first_visit`` and ``days_since_visit`` still count this episode's visits only.

    ## Episode end
    Terminated when day ``horizon`` closes (the step that serves the last session of the last day with
    sessions). The episode's number of steps varies (Poisson sessions).

    ## Info
    Per step: ``day`` (days closed so far), ``session_revenue`` and ``session_margin`` (currency),
    ``clicks``, ``purchases``, ``stockouts_hit`` (this session, counts); episode so far (``SESSION_KPIS``,
    ``shopgym.world.kpis``): ``ctr`` (clicks per impression), ``conversion_rate`` (purchases per click),
    ``revenue`` and ``margin`` (recommendation-driven, currency), ``churned_shoppers`` (count),
    ``coverage`` (share of the catalog shown at least once). At the end ``episode_kpis``: the shop's
    episode KPIs (``EPISODE_KPIS``; revenue and sold include recommendation sales) and ``SESSION_KPIS``.

    ## Rendering
    ``"ansi"``: the last session's items shown, clicked, bought, stock and margin per SKU. ``"rgb_array"``:
    a 480x320 chart of the last 60 sessions (shown, clicks, bought; margin).

    ## Arguments
    ``gymnasium.make("shopgym/Recommend-v0", scenario="recommend", slate_size=1, render_mode=None, **keys)``.
    Any scenario works: the env turns ``shoppers.simulate_sessions`` on. Scenario keys override by name;
    ``slate_size`` is the scenario key ``shoppers.slate_size``, which this env sets to 1 unless it is passed.
    ``gymnasium.make_vec("shopgym/Recommend-v0", num_envs=N, vectorization_mode="vector_entry_point")`` gives N of
    these envs with independent days and per-sub-env next-step autoreset (``shopgym.envs.recommend_vector``).
    With numba and the ground-truth response model (no bundle offers, no render mode) a step is one compiled call
    (``shopgym.envs.recommend_fast``), with exactly the trajectories of the reference path used otherwise.

    ## Version history
    - v0: initial version. Changed within v0 before any trained Recommend agent was shipped (2026-12-02): the
      observation gained the shopper's ``taste`` block, and the default shopper funnel was calibrated to
      public data (``docs/calibration.md``), which changes every Recommend scenario's figures; the next
      change of either after a release gets a new version. Also within v0 (2026-12-02): shoppers may arrive with a
      pre-episode record (``shoppers.history_clicks``, on in the ``recommend`` and ``recommend-memory`` scenarios),
      which their visits, clicks, purchases, last category and ``taste`` start from.

    ## Example
    >>> import gymnasium as gym, shopgym
    >>> env = gym.make("shopgym/Recommend-v0", scenario="recommend")
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(0)
    >>> bool(info["purchases"] <= info["clicks"])
    True
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": RENDER_FPS}
    #: Which decision the env exposes (``agents.registry`` builds the policies that fit it).
    kind = "recommend"

    def __init__(self, scenario: str | Scenario = "recommend", slate_size: int = 1, render_mode: str | None = None,
                 **scenario_keys: Any):
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        scenario_keys.setdefault("simulate_sessions", True)
        self.scenario = load_scenario(scenario, slate_size=slate_size, **scenario_keys)
        if not self.scenario.shoppers.simulate_sessions:
            raise ScenarioError("shopgym/Recommend-v0 needs shoppers.simulate_sessions = true.")
        if self.scenario.shoppers.sessions_per_day <= 0:
            raise ScenarioError("shopgym/Recommend-v0 needs shoppers.sessions_per_day > 0 (one step is one session).")
        self.restock = check_restock_policy(self.scenario.recommend.restock_policy)
        self.world = build_world(self.scenario, n_worlds=1)
        self.view = RecommendView(self.world, self.scenario.recommend.candidates, self.scenario.shoppers.slate_size)
        self.renderer = RecommendRenderer(self.world, render_mode) if render_mode is not None else None
        self.observation_space = self.view.observation_space
        self.action_space = self.view.action_space
        self._session: int | None = None
        self._shopper: int | None = None
        self._items = np.zeros(self.view.k, dtype=np.int64)
        self._shown = np.zeros(self.world.catalog.n_skus, dtype=bool)
        self._n_shown = 0
        self._last = None
        self._obs = np.zeros(self.observation_space.shape, dtype=np.float32)
        #: A plain ``Discrete(K)`` action (no slate, no offers): ``step`` reads it without the space's checks.
        self._plain = isinstance(self.action_space, gym.spaces.Discrete)
        self._col = {name: SESSION_FIELDS.index(name) for name in ("impressions", "clicks", "purchases", "rec_revenue",
                                                                    "rec_margin", "coupon_spend")}
        #: The compiled step (``shopgym.envs.recommend_fast``), or ``None``: the reference path below.
        self._fast = FastSteps.build([self.world], [self.view], lambda w: self._close_day(), self.renderer)
        self._reward_scale = float(self.scenario.env.reward_scale)

    # ------------------------------------------------------------------ episode
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._reset_world(seed)
        if self._fast is not None:
            self._fast.start(0)
            self._fast.run()
            self._sync()
        else:
            self._advance()
        if self.renderer is not None:
            self.renderer.on_reset()
        return self._observe(), {}

    def _reset_world(self, seed: int | None) -> None:
        """Seed (``gym.Env.reset``) and reset the world; the first session is not opened yet (the native vector env
        opens it through its own compiled steps)."""
        super().reset(seed=seed)
        self.world.reset([world_seed(self.np_random, seed)])
        self.view.refresh()
        self._shown[:] = False
        self._n_shown = 0
        self._last = None
        self._session = self._shopper = None

    def _sync(self) -> None:
        """Read the current session and candidates from the compiled steps."""
        fast = self._fast
        self._session, self._shopper = fast.session(0), fast.shopper(0)
        self._items = fast.items[0]

    def _close_day(self) -> None:
        rcfg = self.scenario.recommend
        orders = restock_orders(self.world, self.restock, rcfg.restock_cover_days, self.scenario.env.max_order)
        self.world.step(Decisions(orders=orders))
        self.view.refresh()

    def _advance(self) -> None:
        """Move to the next unserved session, closing days (and skipping days without sessions) as needed, and
        write its observation into ``self._obs`` (zeros when the episode is over)."""
        world = self.world
        if self._session is not None:  # the env serves today's sessions in order: the next one is usually next
            today = world.sessions_today()
            nxt = self._session + 1
            if nxt < len(today) and not today.served[nxt]:
                self._open(nxt, int(today.shopper[nxt]))
                return
        self._session = self._shopper = None
        while world.day < world.horizon:
            today = world.sessions_today()
            rest = today.unserved()
            if len(rest):
                self._open(int(rest[0]), int(today.shopper[rest[0]]))
                return
            self._close_day()
        self._obs[:] = 0.0

    def _open(self, session: int, shopper: int) -> None:
        self._session, self._shopper = session, shopper
        self._items = self.view.session(0, shopper, self._obs)

    def _observe(self) -> np.ndarray:
        return self._obs.copy() if self._fast is None else self._fast.obs[0].copy()

    @property
    def candidate_items(self) -> np.ndarray:
        """SKU index of each of the current session's ``K`` candidates (a copy; what a real recommender knows)."""
        return self._items.copy()

    @property
    def current_shopper(self) -> int | None:
        """Population index of the current session's shopper (a real recommender knows who is visiting; its
        features come from ``world.shoppers``), or ``None`` when no session is open."""
        return self._shopper

    @property
    def last_outcome(self):
        """The last served session's ``SessionOutcome`` (its clicks and purchases: a recommender's own logs), or
        ``None`` before the first step of an episode."""
        if isinstance(self._last, int):  # the compiled step keeps it in scratch rows: build it once, on demand
            self._last = self._fast.outcome(0, self._last)
        return self._last

    def privileged_expected_margin(self) -> np.ndarray:
        """PRIVILEGED (oracles only, never a learner): the expected margin (currency) of showing each candidate
        alone at slot 0 to the current shopper, under the TRUE response model and the shopper's hidden memory."""
        if self._session is None:
            return np.zeros(self.view.k)
        world, items = self.world, self._items
        w = np.zeros(len(items), dtype=np.int64)
        shopper = np.full(len(items), int(world.sessions_today().shopper[self._session]), dtype=np.int64)
        state = world.shopper_state
        in_stock = world.on_hand[0, items] > 0
        batch = ImpressionBatch(shopper=shopper, item=items, position=np.zeros(len(items), dtype=np.int64),
                                seen=state.seen_counts(w, shopper, items), discount=np.zeros(len(items)),
                                in_stock=in_stock, day=np.full(len(items), world.day, dtype=np.int64))
        p = np.array(world.response_model.probabilities(batch), dtype=float)
        shift = state.click_shift(w, shopper, world.catalog.category[items])
        if shift is not None:
            c = np.clip(p[:, 0], 1e-12, 1 - 1e-12)
            p[:, 0] = 1.0 / (1.0 + np.exp(-(np.log(c) - np.log1p(-c) + shift)))
        margin = world.price_on(world.day)[0, items] - world.unit_cost[items]
        return p.prod(1) * in_stock * margin

    def step(self, action):
        if self._session is None:
            raise RuntimeError("the episode is over (or reset() was not called); call reset() first.")
        if self._fast is not None:
            return self._fast_step(action)
        a = action
        if self._plain and isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)) \
                and 0 <= a < self.view.k:  # the common case, without the space's checks
            slate, discounts, bundles = self._items[int(a) : int(a) + 1], None, None
        else:
            slate = self.view.slate(action, self._items)
            discounts, bundles = self.view.offers(action)
        out = self.world.serve(slate[None], None if discounts is None else discounts[None], [self._session],
                               None if bundles is None else bundles[None])
        self._last = out
        for item in out.item.tolist():
            if not self._shown[item]:
                self._shown[item] = True
                self._n_shown += 1
        if self.renderer is not None:
            self.renderer.on_step(out)
        self._advance()
        terminated = self._session is None
        sums = self.world.session_sums()[0].tolist()  # the episode so far, today's served sessions included
        col = self._col
        impressions, clicks = sums[col["impressions"]], sums[col["clicks"]]
        info = {
            "day": self.world.day,
            "session_revenue": float(out.session_revenue[0]), "session_margin": float(out.session_margin[0]),
            "clicks": int(np.count_nonzero(out.click)), "purchases": int(np.count_nonzero(out.purchase)),
            "stockouts_hit": int(np.count_nonzero(out.stockout_hit)),
            "ctr": clicks / impressions if impressions > 0 else 0.0,
            "conversion_rate": sums[col["purchases"]] / clicks if clicks > 0 else 0.0,
            "revenue": sums[col["rec_revenue"]], "margin": sums[col["rec_margin"]],
            "churned_shoppers": int(np.count_nonzero(self.world.shopper_state.churned[0])),
            "coverage": self._n_shown / len(self._shown),
        }
        if self.view.coupons:  # currency
            info["coupon_spend"] = sums[col["coupon_spend"]]
            info["coupon_left"] = float(self.world.coupon_left[0])
        if terminated:
            kpis = self.world.session_kpis()
            info["episode_kpis"] = {k: float(v[0]) for k, v in {**self.world.kpis.summary(), **kpis}.items()}
        reward = info["session_margin"] * self.scenario.env.reward_scale
        return self._observe(), reward, terminated, False, info

    def _fast_step(self, action):
        """``step`` through the compiled steps (``shopgym.envs.recommend_fast``): the same trajectory."""
        fast, a = self._fast, action
        if self._plain and isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)) \
                and 0 <= a < self.view.k:
            fast.actions[0, 0] = a
        else:
            self.view.slate(action, self._items)  # checks the action (ActionError)
            fast.actions[0] = np.asarray(action, dtype=np.int64).reshape(-1)
        self._last = self._session  # the served session: last_outcome builds its outcome on demand
        fast.serve(0)
        fast.run()
        self._sync()
        terminated = self._session is None
        r = fast.info[0].tolist()
        info = {
            "day": self.world.day, "session_revenue": r[0], "session_margin": r[1], "clicks": int(r[2]),
            "purchases": int(r[3]), "stockouts_hit": int(r[4]), "ctr": r[5], "conversion_rate": r[6],
            "revenue": r[7], "margin": r[8], "churned_shoppers": int(r[12]), "coverage": r[9],
        }
        if self.view.coupons:
            info["coupon_spend"], info["coupon_left"] = r[10], r[11]
        if terminated:
            kpis = self.world.session_kpis()
            info["episode_kpis"] = {k: float(v[0]) for k, v in {**self.world.kpis.summary(), **kpis}.items()}
        return fast.obs[0].copy(), r[1] * self._reward_scale, terminated, False, info

    def render(self):
        """A string (``"ansi"``) or an ``(H, W, 3)`` uint8 frame (``"rgb_array"``)."""
        if self.renderer is None:
            warn_no_render_mode(self.spec.id if self.spec is not None else "shopgym/Recommend-v0")
            return None
        return self.renderer.render(0)
