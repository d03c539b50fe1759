"""Recommendation baselines for ``shopgym/Recommend-v0``: random, most popular, the myopic oracle,
stock-aware greedy, greedy under a learned conversion model (``LearnedGreedy``, by path: ``learned_greedy:PATH``
in the registry), and the bandits epsilon-greedy, UCB1, Beta-Bernoulli Thompson sampling and LinUCB. The exact
optimum of small instances is ``agents.recommend_exact``.

Every policy is built with the (unwrapped) env and satisfies ``agents.policy.Policy``. They read the
observation (``env.view.parse``), the current candidates' SKU ids (``env.candidate_items``) and the
last session's own clicks and purchases (``env.last_outcome``): what a real recommender knows. Only the
PRIVILEGED bounds read more, which no learner may: ``MyopicOracle`` (``env.privileged_expected_margin()``,
the true expected margin), ``GroupOracle`` and ``TasteOracle`` (the true response model and population).
Bandits learn per SKU (arms) within an episode and forget at ``reset``; every random draw comes from a
generator seeded by ``reset(seed)``. With a slate action they fill the slots with their top distinct candidates.
"""

from __future__ import annotations

import numpy as np


def top(scores: np.ndarray, slots: int) -> np.ndarray | int:
    """The best ``slots`` candidate positions (ties by position): an int for one slot, else an array."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:slots]
    return int(order[0]) if slots == 1 else order.astype(np.int64)


def with_no_offers(choice: np.ndarray | int, view) -> np.ndarray | int:
    """``choice`` (from ``top``) as a full action of ``view``: where the scenario adds offer parts (coupon
    levels, bundle flags; ``RecommendView.coupons`` / ``.bundles``), they are all 0, i.e. no offer. These
    baselines rank items only; choosing offers is left to learners."""
    n_offer = view.slate_size * (int(view.coupons) + int(view.bundles))
    if n_offer == 0:
        return choice
    return np.concatenate([np.atleast_1d(np.asarray(choice, dtype=np.int64)), np.zeros(n_offer, dtype=np.int64)])


class RecommendPolicy:
    """Shared plumbing: the env, its view, a seeded generator, and the feedback of the last session."""

    name = "recommend"

    def __init__(self, env):
        self.env = env.unwrapped
        self.view = self.env.view
        self.slots = self.view.slate_size
        self.n_items = self.env.world.catalog.n_skus
        self.rng = np.random.default_rng(0)
        self._seen_outcome = None

    def reset(self, seed: int | None = None) -> None:
        """A new episode: reseed, forget the feedback pointer."""
        self.rng = np.random.default_rng(seed)
        self._seen_outcome = None

    def feedback(self):
        """The last session's outcome if it is new since the previous call, else ``None``."""
        out = self.env.last_outcome
        if out is None or out is self._seen_outcome:
            return None
        self._seen_outcome = out
        return out

    def scores(self, obs: np.ndarray) -> np.ndarray:  # pragma: no cover - each policy defines it
        raise NotImplementedError

    def act(self, obs: np.ndarray):
        return with_no_offers(top(self.scores(obs), self.slots), self.view)


class RandomRecommend(RecommendPolicy):
    """Uniformly random candidates."""

    name = "random"

    def scores(self, obs):
        return self.rng.random(self.view.k)


class MostPopular(RecommendPolicy):
    """The candidates that sold most over the last 7 days, in stock first."""

    name = "most_popular"

    def scores(self, obs):
        f = self.view.parse(obs)
        return f["popularity"] + 2.0 * f["in_stock"]


def complement_factor(env) -> np.ndarray:
    """PRIVILEGED: per candidate of the current session, the factor by which the world's complement lift
    (``shoppers.complements``, ``shopgym.world.response.lift_cart``) multiplies its expected margin: for the
    candidate that complements the shopper's last purchase (``World.last_purchase``), ``p'(cart | click) /
    p(cart | click)`` with ``p' = sigmoid(logit(p) + complement_lift)`` under the TRUE response model; 1 elsewhere."""
    world, items, shopper = env.world, env.candidate_items, env.current_shopper
    factor = np.ones(len(items))
    cfg = env.scenario.shoppers
    if shopper is None or not cfg.complements or cfg.complement_lift == 0:
        return factor
    last = int(world.last_purchase[0, shopper])
    if last < 0:
        return factor
    rows = np.flatnonzero(items == world.catalog.complements()[last])
    if len(rows) == 0:
        return factor
    from shopgym.world.protocols import ImpressionBatch
    from shopgym.world.response import lift_cart

    item = items[rows]
    who = np.full(len(rows), shopper, dtype=np.int64)
    batch = ImpressionBatch(shopper=who, item=item, position=np.zeros(len(rows), dtype=np.int64),
                            seen=world.shopper_state.seen_counts(np.zeros(len(rows), dtype=np.int64), who, item),
                            discount=np.zeros(len(rows)), in_stock=world.on_hand[0, item] > 0,
                            day=np.full(len(rows), world.day, dtype=np.int64))
    p = np.array(world.response_model.probabilities(batch), dtype=float).reshape(len(rows), 3)
    lifted = p.copy()
    lift_cart(lifted, np.ones(len(rows), dtype=bool), cfg.complement_lift)
    factor[rows] = lifted[:, 1] / np.maximum(p[:, 1], 1e-300)
    return factor


class MyopicOracle(RecommendPolicy):
    """Greedy by expected margin under the TRUE response model (privileged: ``privileged_expected_margin``),
    with the complement lift of the shopper's last purchase where the scenario has complements
    (``complement_factor``). Optimal for one session when shoppers have no memory; it ignores what a choice
    does to later sessions."""

    name = "myopic_oracle"

    def scores(self, obs):
        return self.env.privileged_expected_margin() * complement_factor(self.env)


class GroupOracle(RecommendPolicy):
    """PRIVILEGED bound, not a baseline: greedy by the TRUE expected margin averaged over the shoppers who look
    the same in the observation's fixed features (segment and price-sensitivity tertile), i.e. what a perfect
    model without the individual preference vector knows (before any click of the shopper). The gap between
    it and the myopic oracle is what only knowing each shopper's hidden taste is worth; a learner from the
    observation can beat it only through the shopper's own clicks (``taste``). One model call a day for every
    (shopper, item), unseen, at slot 0, in stock; no complement lift or hidden memory."""

    name = "group_oracle"

    def reset(self, seed=None):
        super().reset(seed)
        self._day = -1

    def scores(self, obs):
        from shopgym.world.protocols import ImpressionBatch

        world, items, shopper = self.env.world, self.env.candidate_items, self.env.current_shopper
        if shopper is None:
            return np.zeros(self.view.k)
        if getattr(self, "_day", -1) != world.day:
            pop, n = world.shoppers, self.n_items
            every = np.arange(pop.n_shoppers * n)
            batch = ImpressionBatch(shopper=every // n, item=every % n, position=np.zeros(len(every), dtype=np.int64),
                                    seen=np.zeros(len(every), dtype=np.int64), discount=np.zeros(len(every)),
                                    in_stock=np.ones(len(every), dtype=bool),
                                    day=np.full(len(every), world.day, dtype=np.int64))
            p = np.asarray(world.response_model.probabilities(batch), dtype=float).prod(1).reshape(-1, n)
            tertile_edges = np.quantile(pop.price_sensitivity, [1 / 3, 2 / 3])  # the observation's tertiles
            group = pop.segment * 3 + np.searchsorted(tertile_edges, pop.price_sensitivity)
            sums = np.zeros((int(group.max()) + 1, n))
            np.add.at(sums, group, p)
            self._table = sums / np.maximum(np.bincount(group), 1)[:, None]
            self._group, self._day = group, world.day
        margin = world.price_on(world.day)[0, items] - world.unit_cost[items]
        return self._table[self._group[shopper], items] * margin * (world.on_hand[0, items] > 0)


class TasteOracle(RecommendPolicy):
    """PRIVILEGED bound, not a baseline: what a perfect model reading the observable ``taste`` could do. Greedy by
    the expected margin under the TRUE response model (the shopper's true price sensitivity) with the hidden
    preference vector replaced by its best linear read from what the observation shows: the least-squares map
    from (``taste``, whether it is empty, the segment x sensitivity-tertile one-hot) to the preference vectors,
    fitted on the whole population's pre-episode record (``shoppers.history_clicks``; privileged: it uses the
    true preferences), applied to the session's ``taste`` and normalised to unit length. A learner whose
    features are linear in ``taste`` x item embedding and segment x item embedding (``agents.recommend_bandits``)
    can at best learn this map. Unseen, at slot 0; no complement lift or hidden memory."""

    name = "taste_oracle"

    def reset(self, seed=None):
        super().reset(seed)
        if not hasattr(self, "_map"):
            self._fit()

    def _groups(self) -> np.ndarray:
        pop = self.env.world.shoppers
        edges = np.quantile(pop.price_sensitivity, [1 / 3, 2 / 3])  # the observation's tertiles
        return pop.segment * 3 + np.searchsorted(edges, pop.price_sensitivity)

    def _inputs(self, taste: np.ndarray, group: np.ndarray) -> np.ndarray:
        empty = ~np.any(taste != 0, axis=1)
        return np.column_stack([taste, empty, np.eye(self.n_groups)[group]])

    def _fit(self) -> None:
        world = self.env.world
        pop, hist = world.shoppers, world.shopper_state.history
        group = self._groups()
        self.n_groups = int(group.max()) + 1
        dim = world.catalog.features.shape[1]
        taste = np.zeros((pop.n_shoppers, dim)) if hist is None else hist.taste_sum / np.maximum(hist.clicks, 1)[:, None]
        self._map = np.linalg.lstsq(self._inputs(taste, group), pop.preferences, rcond=None)[0]
        self._group = group

    def scores(self, obs):
        from shopgym.world.calendar import start_weekday
        from shopgym.world.protocols import ImpressionBatch
        from shopgym.world.response import GroundTruthResponse
        from shopgym.world.shoppers import ShopperPopulation

        world, items, shopper = self.env.world, self.env.candidate_items, self.env.current_shopper
        if shopper is None:
            return np.zeros(self.view.k)
        if not hasattr(self, "_map"):
            self._fit()
        taste = np.asarray(self.view.parse(obs).get("taste", np.zeros(0)), dtype=float)
        if taste.size != self._map.shape[1]:
            taste = np.zeros(self._map.shape[1])
        pref = self._inputs(taste[None], self._group[[shopper]]) @ self._map
        pref /= max(float(np.linalg.norm(pref)), 1e-12)
        pop = world.shoppers
        one = ShopperPopulation(preferences=pref, price_sensitivity=pop.price_sensitivity[[shopper]],
                                segment=pop.segment[[shopper]])
        model = GroundTruthResponse(world.catalog, one, world.scenario.shoppers,
                                    start_weekday(world.scenario.env.start_date))
        k = len(items)
        zeros = np.zeros(k, dtype=np.int64)
        in_stock = world.on_hand[0, items] > 0
        p = model.probabilities(ImpressionBatch(shopper=zeros, item=items, position=zeros, seen=zeros,
                                                discount=np.zeros(k), in_stock=in_stock,
                                                day=np.full(k, world.day, dtype=np.int64))).prod(1)
        margin = world.price_on(world.day)[0, items] - world.unit_cost[items]
        return p * margin * in_stock


class StockAwareGreedy(RecommendPolicy):
    """Greedy by an observable estimate of the expected margin, items about to run out avoided.

    The estimate (currency, up to a constant) is ``margin x exp(-elasticity x s x log_price) x (1 + category_match)
    x (1 + popularity)``: a pricier item earns more per sale but sells less often (``s`` = 0.6 / 1.0 / 1.4 for the
    shopper's observed low / mid / high price-sensitivity tertile; ``elasticity`` = 1.5, the conversion's fall
    per unit of log relative price, a prior chosen among 1.5, 2, 3 on seeds 0-2 of the recommend scenario),
    and it sells more often in the shopper's last clicked category and when it is selling. Items with under
    ``min_cover`` (of the observed 30-day cover, i.e. under a day of demand) score -1, below every stocked item.
    (The first version ranked by margin x popularity and so showed the priciest items, which rarely sell:
    it scored below random.)
    """

    name = "stock_aware_greedy"

    def __init__(self, env, min_cover: float = 1.0 / 30.0, elasticity: float = 1.5):
        super().__init__(env)
        self.min_cover, self.elasticity = min_cover, elasticity

    def scores(self, obs):
        f = self.view.parse(obs)
        s = 0.6 * f["sensitivity_low"] + 1.0 * f["sensitivity_mid"] + 1.4 * f["sensitivity_high"]
        value = (f["margin"] * np.exp(-self.elasticity * s * f["log_price"]) * (1.0 + f["category_match"])
                 * (1.0 + f["popularity"]))
        return np.where(f["cover"] < self.min_cover, -1.0, value)


class LearnedGreedy(RecommendPolicy):
    """Greedy by expected margin under a LEARNED conversion model (``LearnedConversion``, loaded from ``path``
    when the policy is built): p(click) x p(cart | click) x p(purchase | cart) x margin of each candidate shown
    alone at slot 0, with what a recommender knows (the shopper, its own count of earlier impressions of each
    item to that shopper this episode, the stock). Unlike the myopic oracle it never reads the true model or the
    shopper's hidden memory; it is as good as the model. Registered as ``learned_greedy:PATH``.
    """

    name = "learned_greedy"

    def __init__(self, env, path):
        super().__init__(env)
        from forecasters.conversion.learned import LearnedConversion
        from shopgym.world.calendar import start_weekday

        world = self.env.world
        self.model = LearnedConversion.from_saved(path, world.catalog, world.shoppers,
                                                  start_weekday(self.env.scenario.env.start_date))
        self._seen = np.zeros((world.shoppers.n_shoppers, self.n_items), dtype=np.int64)

    def reset(self, seed=None):
        super().reset(seed)
        self._seen[:] = 0
        self._day, self._table = -1, None

    def _purchase_probability(self, shopper: np.ndarray, items: np.ndarray, seen: np.ndarray, in_stock: np.ndarray,
                              day: int) -> np.ndarray:
        """The model's p(click) x p(cart | click) x p(purchase | cart) per row, shown alone at slot 0."""
        from shopgym.world.protocols import ImpressionBatch

        k = len(items)
        batch = ImpressionBatch(shopper=shopper, item=items, position=np.zeros(k, dtype=np.int64), seen=seen,
                                discount=np.zeros(k), in_stock=in_stock, day=np.full(k, day, dtype=np.int64))
        return np.asarray(self.model.probabilities(batch), dtype=float).prod(1)

    def scores(self, obs):
        out = self.feedback()
        if out is not None and len(out.item):
            np.add.at(self._seen, (out.shopper, out.item), 1)
        shopper, items, world = self.env.current_shopper, self.env.candidate_items, self.env.world
        if shopper is None:
            return np.zeros(self.view.k)
        if self._day != world.day:  # one model call a day for every (shopper, item), unseen and in stock
            n_u = self._seen.shape[0]
            every = np.arange(n_u * self.n_items)
            self._table = self._purchase_probability(every // self.n_items, every % self.n_items,
                                                     np.zeros(len(every), dtype=np.int64),
                                                     np.ones(len(every), dtype=bool), world.day
                                                     ).reshape(n_u, self.n_items)
            self._day = world.day
        seen, in_stock = self._seen[shopper, items], world.on_hand[0, items] > 0
        p = self._table[shopper, items]
        other = (seen > 0) | ~in_stock  # rows the table does not hold: ask the model for them
        if other.any():
            p = p.copy()
            p[other] = self._purchase_probability(np.full(int(other.sum()), shopper, dtype=np.int64), items[other],
                                                  seen[other], in_stock[other], world.day)
        margin = world.price_on(world.day)[0, items] - world.unit_cost[items]
        return p * in_stock * margin


class _ArmBandit(RecommendPolicy):
    """Per-SKU statistics of the reward (margin of purchases, currency) of each shown item."""

    def reset(self, seed=None):
        super().reset(seed)
        self.pulls = np.zeros(self.n_items)
        self.total = np.zeros(self.n_items)
        self.buys = np.zeros(self.n_items)

    def learn(self):
        out = self.feedback()
        if out is not None and len(out.item):
            np.add.at(self.pulls, out.item, 1.0)
            np.add.at(self.total, out.item, out.margin)
            np.add.at(self.buys, out.item, out.purchase.astype(float))

    def act(self, obs):
        if not hasattr(self, "pulls"):
            self.reset(None)
        self.learn()
        return with_no_offers(top(self.scores(obs), self.slots), self.view)


class EpsilonGreedy(_ArmBandit):
    """With probability ``epsilon`` random candidates, else the best mean margin per impression so far."""

    name = "epsilon_greedy"

    def __init__(self, env, epsilon: float = 0.1):
        super().__init__(env)
        self.epsilon = epsilon

    def scores(self, obs):
        if self.rng.random() < self.epsilon:
            return self.rng.random(self.view.k)
        items = self.env.candidate_items
        return self.total[items] / np.maximum(self.pulls[items], 1.0) + 1e-9 * self.rng.random(self.view.k)


class UCB1(_ArmBandit):
    """Mean margin per impression plus ``c x scale x sqrt(2 ln t / n)``; unshown candidates first."""

    name = "ucb1"

    def __init__(self, env, c: float = 1.0):
        super().__init__(env)
        self.c = c
        cat = self.env.world.catalog
        self.scale = float(np.max(cat.price - cat.unit_cost))  # the largest margin: rewards lie in [0, scale]

    def scores(self, obs):
        items = self.env.candidate_items
        n = self.pulls[items]
        t = max(self.pulls.sum(), 1.0)
        bonus = self.c * self.scale * np.sqrt(2.0 * np.log(t) / np.maximum(n, 1.0))
        return np.where(n > 0, self.total[items] / np.maximum(n, 1.0) + bonus, np.inf)


class ThompsonSampling(_ArmBandit):
    """Beta(1 + purchases, 1 + impressions - purchases) per SKU; a draw of the purchase rate x the item's margin."""

    name = "thompson"

    def scores(self, obs):
        items = self.env.candidate_items
        draw = self.rng.beta(1.0 + self.buys[items], 1.0 + self.pulls[items] - self.buys[items])
        margin = self.view.parse(obs)["margin"] * self.view.median_price
        return draw * margin


class LinUCB(_ArmBandit):
    """Disjoint LinUCB (Li et al., 2010): per SKU a ridge regression of the margin on the shopper's features,
    ``theta . x + alpha sqrt(x A^-1 x)``."""

    name = "linucb"

    def __init__(self, env, alpha: float = 1.0):
        super().__init__(env)
        self.alpha = alpha
        self.d = len(self.view.shopper_fields) + 1

    def reset(self, seed=None):
        super().reset(seed)
        self.A_inv = np.tile(np.eye(self.d), (self.n_items, 1, 1))
        self.b = np.zeros((self.n_items, self.d))
        self._x = None

    def _context(self, obs):
        return np.append(np.asarray(obs[: self.d - 1], dtype=float), 1.0)

    def learn(self):
        out = self.feedback()
        if out is None or self._x is None:
            return
        for item, r in zip(out.item, out.margin, strict=True):  # the slate's few items (Sherman-Morrison)
            a, x = self.A_inv[item], self._x
            ax = a @ x
            self.A_inv[item] = a - np.outer(ax, ax) / (1.0 + x @ ax)
            self.b[item] += r * x

    def scores(self, obs):
        x = self._x = self._context(obs)
        items = self.env.candidate_items
        a = self.A_inv[items]
        theta = np.einsum("kij,kj->ki", a, self.b[items])
        return theta @ x + self.alpha * np.sqrt(np.einsum("i,kij,j->k", x, a, x))


#: name -> (class, one-line description) of every recommendation baseline.
RECOMMEND_POLICIES = {
    "random": (RandomRecommend, "uniformly random candidates"),
    "most_popular": (MostPopular, "the best sellers of the last 7 days, in stock first"),
    "myopic_oracle": (MyopicOracle, "greedy by expected margin under the TRUE response model (privileged)"),
    "group_oracle": (GroupOracle, "PRIVILEGED: true expected margin averaged over the shopper's segment and tertile"),
    "taste_oracle": (TasteOracle, "PRIVILEGED: true response model, preference read linearly from the observed taste"),
    "stock_aware_greedy": (StockAwareGreedy, "greedy by an observable expected-margin estimate, items running out avoided"),
    "epsilon_greedy": (EpsilonGreedy, "best mean margin per SKU so far, random 10% of the time"),
    "ucb1": (UCB1, "UCB1 on the margin per impression of each SKU"),
    "thompson": (ThompsonSampling, "Beta-Bernoulli Thompson sampling of purchase rates x margin"),
    "linucb": (LinUCB, "disjoint LinUCB: per-SKU ridge regression of margin on shopper features"),
}
