"""Recommendation baselines for ``shopgym/Recommend-v0``: random, most popular, the myopic oracle,
stock-aware greedy, and the bandits epsilon-greedy, UCB1, Beta-Bernoulli Thompson sampling and LinUCB.

Every policy is built with the (unwrapped) env and satisfies ``agents.policy.Policy``. They read the
observation (``env.view.parse``), the current candidates' SKU ids (``env.candidate_items``) and the
last session's own clicks and purchases (``env.last_outcome``): what a real recommender knows. Only
``MyopicOracle`` reads more: ``env.privileged_expected_margin()``, the true expected margin, which no
learner may use. Bandits learn per SKU (arms) within an episode and forget at ``reset``; every random
draw comes from a generator seeded by ``reset(seed)``. With a slate action they fill the slots with their
top distinct candidates.
"""

from __future__ import annotations

import numpy as np


def top(scores: np.ndarray, slots: int) -> np.ndarray | int:
    """The best ``slots`` candidate positions (ties by position): an int for one slot, else an array."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:slots]
    return int(order[0]) if slots == 1 else order.astype(np.int64)


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
        return top(self.scores(obs), self.slots)


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


class MyopicOracle(RecommendPolicy):
    """Greedy by expected margin under the TRUE response model (privileged: ``privileged_expected_margin``).
    Optimal for one session when shoppers have no memory; it ignores what a choice does to later sessions."""

    name = "myopic_oracle"

    def scores(self, obs):
        return self.env.privileged_expected_margin()


class StockAwareGreedy(RecommendPolicy):
    """Observable margin x popularity, and items with under ``min_cover`` of a 30-day cover avoided."""

    name = "stock_aware_greedy"

    def __init__(self, env, min_cover: float = 1.0 / 30.0):
        super().__init__(env)
        self.min_cover = min_cover

    def scores(self, obs):
        f = self.view.parse(obs)
        return f["margin"] * (0.1 + f["popularity"]) * (0.5 + f["category_match"]) - 10.0 * (f["cover"] < self.min_cover)


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
        return top(self.scores(obs), self.slots)


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
    "stock_aware_greedy": (StockAwareGreedy, "observable margin x popularity, items about to run out avoided"),
    "epsilon_greedy": (EpsilonGreedy, "best mean margin per SKU so far, random 10% of the time"),
    "ucb1": (UCB1, "UCB1 on the margin per impression of each SKU"),
    "thompson": (ThompsonSampling, "Beta-Bernoulli Thompson sampling of purchase rates x margin"),
    "linucb": (LinUCB, "disjoint LinUCB: per-SKU ridge regression of margin on shopper features"),
}
