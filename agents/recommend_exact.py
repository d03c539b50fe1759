"""The exact optimum of a small recommendation instance: ``shopgym/Recommend-v0`` as a finite MDP, solved by
backward induction, and the ``optimal`` policy that acts from its value table.

Which instances are exact (``exact_reason`` says why one is not; ``scenarios/recommend-exact.toml`` is one):
one shopper (``n_shoppers = 1``), one item per session (``slate_size = 1``), every item a candidate
(``recommend.candidates >= n_skus``), the ground-truth response model, no promotions, no fatigue, no coupons,
complements or bundles, and stock
that cannot run out (no organic demand, ``initial_stock`` above a 1e-15 quantile of the episode's sessions).
Then the world's state that matters for the future is, at each session, ``(day, sessions left today,
satisfaction, churned, interest per category)``, and every piece of it is discrete:

- satisfaction starts at 0.5 and moves by ``+satisfaction_gain`` per purchase and ``-satisfaction_loss`` per
  ignored item (clipped to [0, 1]): it stays on the grid ``{0, 1/G, ..., 1}`` when ``G`` x gain, ``G`` x loss
  and ``G`` x 0.5 are integers (``G <= 1000``); ``churn_threshold`` must lie off the grid, so the world's
  float sums (off by ~1e-16) churn exactly when the grid does;
- interest in a category is ``min(m x drift_rate, 2)`` after ``m`` purchases in it: a few levels;
- a day's number of sessions is Poisson, with mean ``sessions_per_day`` (x satisfaction / 0.5 with
  ``memory_satisfaction``; 0 once churned), drawn when the day opens: truncated at ``n_max``, where the
  Poisson tail is below 1e-12 (``ExactRecommend.tail`` bounds the mass left out).

Per session with item ``i`` shown, on day ``t``: click with ``pc`` (the world's response model for day ``t``,
the click log-odds shifted by the shopper's interest in ``i``'s category, as ``shopgym.world.sessions``
does), buy with ``pb = pc x p(cart | click) x p(purchase | cart)`` and earn ``margin[i]`` (currency).
Backward induction over days, and within a day over the sessions left, gives the optimal expected episode
margin ``value`` and the optimal item per ``(day, sessions left, state)``. ``evaluate`` gives the exact
expected margin of a Markov policy (the myopic oracle, random) on the same MDP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from shopgym.config import Scenario, load_scenario
from shopgym.errors import ScenarioError
from shopgym.plugins import build_world
from shopgym.world.memory import DRIFT_CAP, SATISFACTION_START
from shopgym.world.protocols import ImpressionBatch

#: Largest satisfaction grid (points - 1) and largest state space solved.
MAX_GRID = 1000
MAX_STATES = 200_000
#: Poisson tail mass left out per day (sessions beyond ``n_max``) and per episode (stock that could run out).
DAY_TAIL = 1e-12
STOCK_TAIL = 1e-15


def _grid(values: list[float]) -> int | None:
    """The smallest ``G <= MAX_GRID`` with ``G x v`` an integer for every ``v`` (within 1e-9), or ``None``."""
    for g in range(1, MAX_GRID + 1):
        if all(abs(v * g - round(v * g)) < 1e-9 for v in values):
            return g
    return None


def exact_reason(scenario: Scenario) -> str | None:
    """Why ``scenario`` is not an exact recommendation instance (see the module docstring), or ``None``."""
    s, c, d, r = scenario.shoppers, scenario.catalog, scenario.demand, scenario.recommend
    lam_max = s.sessions_per_day * (2.0 if s.memory_satisfaction else 1.0)
    sessions = stats.poisson.isf(STOCK_TAIL, scenario.env.horizon * lam_max) if lam_max > 0 else 0
    checks = [
        (s.n_shoppers == 1, "it has more than one shopper (set shoppers.n_shoppers = 1)"),
        (s.slate_size == 1, "its slates show more than one item (slate_size = 1)"),
        (r.candidates >= c.n_skus, "not every item is a candidate (recommend.candidates >= catalog.n_skus)"),
        (s.response_model == "ground_truth", "its response model is not the ground truth"),
        (not s.memory_fatigue or s.fatigue_rate == 0, "fatigue makes the state unbounded (memory_fatigue = false)"),
        # shopping-guide offers (when the scenario has them) add state or actions the MDP does not model
        (not getattr(s, "coupons", False), "it has coupons (coupons = false)"),
        (not getattr(s, "complements", False), "complements depend on the last purchase (complements = false)"),
        (not getattr(s, "bundles", False), "it offers bundles (bundles = false)"),
        (d.promo_prob == 0, "it has random promotions (demand.promo_prob = 0)"),
        (d.base_rate == 0, "organic demand takes stock (demand.base_rate = 0)"),
        (c.shelf_life == 0, "its stock perishes (catalog.shelf_life = 0)"),
        (scenario.inventory.initial_stock > sessions,
         f"stock could run out (inventory.initial_stock > {int(sessions)}, the 1e-15 quantile of sessions)"),
    ]
    for ok, why in checks:
        if not ok:
            return why
    if s.memory_satisfaction:
        g = _grid([s.satisfaction_gain, s.satisfaction_loss, SATISFACTION_START])
        if g is None:
            return "its satisfaction steps leave every grid of up to 1000 points (use gains and losses like 0.05)"
        if abs(s.churn_threshold * g - round(s.churn_threshold * g)) < 1e-6:
            return (f"its churn_threshold {s.churn_threshold} lies on the satisfaction grid (step 1/{g}); move it "
                    "between two grid points")
    n_sat, n_churn, n_lev, n_cat = _sizes(scenario)
    states = n_sat * n_churn * n_lev**n_cat
    if states > MAX_STATES:
        return f"its state space ({states:,} states) is too large; use fewer categories or larger steps"
    return None


def _sizes(scenario: Scenario) -> tuple[int, int, int, int]:
    """(satisfaction grid points, churn flags, interest levels per category, categories)."""
    s, c = scenario.shoppers, scenario.catalog
    g = _grid([s.satisfaction_gain, s.satisfaction_loss, SATISFACTION_START]) if s.memory_satisfaction else None
    levels = int(np.ceil(DRIFT_CAP / s.drift_rate - 1e-9)) + 1 if s.memory_drift and s.drift_rate > 0 else 1
    n_cat = min(c.n_categories, c.n_skus)
    return (g + 1 if g else 1), (2 if s.memory_satisfaction else 1), levels, n_cat


@dataclass
class ExactRecommend:
    """The finite MDP of an exact instance and its optimum (see the module docstring).

    Attributes:
        value: optimal expected episode margin from the starting state (currency, before ``reward_scale``).
        action: optimal item (SKU) per ``(day, sessions left today 0..n_max, state)``, int16.
        n_max: most sessions per day represented; ``tail``: bound on the Poisson mass left out (per day).
        grid: satisfaction grid points - 1 (``0``: satisfaction is off); ``drift_levels``: interest values.
        start: the starting state's index. Arrays used by ``evaluate``: ``pc``, ``pb`` (day, state, item)
        click and purchase probabilities, ``margin`` per item, ``next_*`` state indices, ``rate`` (state,)
        sessions per day.
    """

    value: float
    action: np.ndarray
    n_max: int
    tail: float
    grid: int
    drift_levels: np.ndarray
    start: int
    pc: np.ndarray
    pb: np.ndarray
    margin: np.ndarray
    next_ignore: np.ndarray
    next_buy: np.ndarray
    rate: np.ndarray
    n_categories: int

    def state_index(self, satisfaction: float, churned: bool, interest: np.ndarray) -> int:
        """Index of a shopper state read from the world (``shopgym.world.memory.ShopperState`` values)."""
        j = int(round(satisfaction * self.grid)) if self.grid else 0
        c = int(bool(churned)) if self.grid else 0
        levels = np.abs(np.asarray(interest, dtype=float)[: self.n_categories, None]
                        - self.drift_levels[None, :]).argmin(1)
        k = int(np.ravel_multi_index(levels, (len(self.drift_levels),) * self.n_categories)) if len(levels) else 0
        n_int = len(self.drift_levels) ** self.n_categories
        return (j * (2 if self.grid else 1) + c) * n_int + k

    def evaluate(self, policy: np.ndarray) -> float:
        """Exact expected episode margin (currency) of a Markov policy ``policy[day, state, item]`` (action
        probabilities, or a boolean one-hot), on the same MDP."""
        value, _ = _induction(self, np.asarray(policy, dtype=float))
        return value

    def myopic_policy(self) -> np.ndarray:
        """The myopic oracle's choice: the largest expected margin of this session, one-hot ``(day, state, item)``."""
        score = self.pb * self.margin
        return np.eye(score.shape[-1])[score.argmax(-1)]

    def random_policy(self) -> np.ndarray:
        """Uniformly random items, ``(day, state, item)``."""
        return np.full(self.pb.shape, 1.0 / self.pb.shape[-1])


def solve(scenario: Scenario | str) -> ExactRecommend:
    """Build the finite MDP of ``scenario`` from its world and solve it; ``ScenarioError`` if it is not exact.
    A scenario name is loaded as ``shopgym/Recommend-v0`` loads it (sessions on, ``slate_size = 1``)."""
    if isinstance(scenario, str):
        scenario = load_scenario(scenario, slate_size=1, simulate_sessions=True)
    why = exact_reason(scenario)
    if why:
        raise ScenarioError(f"scenario {scenario.name!r} has no exact recommendation reference: {why}.")
    world = build_world(scenario)
    s, cat = scenario.shoppers, world.catalog
    n_sat, n_churn, n_lev, n_cat = _sizes(scenario)
    n_int, grid = n_lev**n_cat, n_sat - 1
    drift = np.minimum(np.arange(n_lev) * s.drift_rate, DRIFT_CAP) if n_lev > 1 else np.zeros(1)
    # state grid: satisfaction index j, churn flag c, interest level per category (row-major, categories last)
    j, c, k = np.meshgrid(np.arange(n_sat), np.arange(n_churn), np.arange(n_int), indexing="ij")
    j, c, k = j.ravel(), c.ravel(), k.ravel()
    lev = np.array(np.unravel_index(k, (n_lev,) * n_cat)).T  # (S, C)
    n_states, n_items = len(j), cat.n_skus

    def index(jj, cc, kk):
        return (jj * n_churn + cc) * n_int + kk

    if grid:
        sat = j / grid
        gain, loss = round(s.satisfaction_gain * grid), round(s.satisfaction_loss * grid)
        j_ign, j_buy = np.maximum(j - loss, 0), np.minimum(j + gain, grid)
        churn_ign = c | (j_ign / grid < s.churn_threshold)
        churn_buy = c | (j_buy / grid < s.churn_threshold)
        rate = np.where(c == 1, 0.0, s.sessions_per_day * sat / SATISFACTION_START)
    else:
        j_ign = j_buy = j
        churn_ign = churn_buy = c
        rate = np.full(n_states, s.sessions_per_day)
    next_ignore = index(j_ign, churn_ign, k)
    item_cat = cat.category
    lev_buy = np.repeat(lev[:, None, :], n_items, axis=1)  # (S, I, C)
    if n_lev > 1:
        rows = np.arange(n_items)
        lev_buy[:, rows, item_cat] = np.minimum(lev_buy[:, rows, item_cat] + 1, n_lev - 1)
    k_buy = np.ravel_multi_index(tuple(np.moveaxis(lev_buy, -1, 0)), (n_lev,) * n_cat)
    next_buy = index(j_buy[:, None], churn_buy[:, None], k_buy)  # (S, I)

    T = scenario.env.horizon
    probs = np.stack([_probabilities(world, t) for t in range(T)])  # (T, I, 3), seen 0, in stock, slot 0
    shift = drift[lev][:, item_cat] if n_lev > 1 else np.zeros((n_states, n_items))  # (S, I) click log-odds
    p0 = np.clip(probs[:, None, :, 0], 1e-12, 1 - 1e-12)
    pc = 1.0 / (1.0 + np.exp(-(np.log(p0) - np.log1p(-p0) + shift[None])))  # (T, S, I)
    pb = pc * probs[:, None, :, 1] * probs[:, None, :, 2]
    margin = world.price_on(0)[0] - world.unit_cost
    lam_max = float(rate.max())
    n_max = int(stats.poisson.isf(DAY_TAIL, lam_max)) + 1 if lam_max > 0 else 0
    start = index(round(SATISFACTION_START * grid) if grid else 0, 0, 0)
    mdp = ExactRecommend(value=0.0, action=np.zeros(0, np.int16), n_max=n_max,
                         tail=float(stats.poisson.sf(n_max, lam_max)) if lam_max > 0 else 0.0, grid=grid,
                         drift_levels=drift, start=int(start), pc=pc, pb=pb, margin=margin,
                         next_ignore=next_ignore, next_buy=next_buy, rate=rate, n_categories=n_cat)
    mdp.value, mdp.action = _induction(mdp, None)
    return mdp


def _probabilities(world, day: int) -> np.ndarray:
    """The world's response probabilities ``(n_items, 3)`` for shopper 0 on ``day``: slot 0, unseen, in stock."""
    n = world.catalog.n_skus
    batch = ImpressionBatch(shopper=np.zeros(n, np.int64), item=np.arange(n), position=np.zeros(n, np.int64),
                            seen=np.zeros(n, np.int64), discount=np.zeros(n), in_stock=np.ones(n, bool),
                            day=np.full(n, day, np.int64))
    return np.asarray(world.response_model.probabilities(batch), dtype=float)


def _induction(mdp: ExactRecommend, policy: np.ndarray | None) -> tuple[float, np.ndarray]:
    """Backward induction over days and, within a day, sessions left. ``policy`` ``None``: maximise (returns
    the optimal action table); else evaluate ``policy[day, state, item]`` (returns an empty table)."""
    T, S, n_items = mdp.pb.shape
    n_max = mdp.n_max
    pmf = stats.poisson.pmf(np.arange(n_max + 1)[None, :], np.maximum(mdp.rate, 1e-300)[:, None])  # (S, N)
    pmf[mdp.rate == 0] = np.eye(n_max + 1)[0]
    action = np.zeros((T, n_max + 1, S), dtype=np.int16) if policy is None else np.zeros(0, np.int16)
    v_next = np.zeros(S)  # value when the next day opens (0 after the horizon)
    same = np.arange(S)
    for t in range(T - 1, -1, -1):
        pc, pb = mdp.pc[t], mdp.pb[t]
        w = v_next.copy()  # W(0, s): no session left today
        v_day = pmf[:, 0] * w
        for n in range(1, n_max + 1):
            q = (pb * (mdp.margin[None, :] + w[mdp.next_buy]) + (pc - pb) * w[same][:, None]
                 + (1.0 - pc) * w[mdp.next_ignore][:, None])  # (S, I)
            if policy is None:
                action[t, n] = q.argmax(1)
                w = q.max(1)
            else:
                w = (policy[t] * q).sum(1)
            v_day = v_day + pmf[:, n] * w
        v_next = v_day
    return float(v_next[mdp.start]), action


class RecommendOptimal:
    """The exact optimum's policy for ``shopgym/Recommend-v0`` on an exact instance (``solve``).

    PRIVILEGED like the myopic oracle: it reads the world's true state through its public, documented state
    (``world.day``, the sessions left today ``world.sessions_today().unserved()``, and the shopper's memory
    ``world.shopper_state``: satisfaction, churned, interest), which no learner may use. The value table is
    solved once when the policy is built (no file is read).
    """

    name = "optimal"

    def __init__(self, env, solution: ExactRecommend | None = None):
        self.env = env.unwrapped
        self.solution = solution if solution is not None else solve(self.env.scenario)

    def reset(self, seed: int | None = None) -> None:
        """Nothing to forget: the policy is a fixed table."""

    def act(self, obs):
        world, sol = self.env.world, self.solution
        left = min(len(world.sessions_today().unserved()), sol.n_max)
        st = world.shopper_state
        s = sol.state_index(st.satisfaction[0, 0], st.churned[0, 0], st.interest[0, 0])
        item = int(sol.action[world.day, left, s])
        return int(np.flatnonzero(self.env.candidate_items == item)[0])

