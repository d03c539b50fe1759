"""Contextual bandits with SHARED item features for ``shopgym/Recommend-v0``: what is learned on one item or
shopper transfers to the others.

The per-SKU bandits of ``agents.recommend_heuristics`` (UCB1, Thompson, disjoint LinUCB) learn each item's
reward separately and model the margin directly; with purchases a few % of impressions they learn little in
one episode. These bandits instead model the **purchase funnel** with two Bayesian logistic regressions on
features of (shopper, item) pairs built from the observation only (``FunnelFeatures``; never the hidden
preference vector, sensitivity or satisfaction):

- ``p(click)``: on every shown item (about 10x more events than purchases);
- ``p(purchase | click)``: on clicked items, from 5 inputs: an intercept, the click model's affinity score
  (its logit less its intercept and price terms: the conversion stages share the shopper's affinity) and
  log price x the shopper's price-sensitivity tertile;

and rank the candidates by ``p(click) x p(purchase | click) x margin`` (currency per impression), out-of-stock
items last. ``FunnelThompson`` draws both models' weights from their Laplace posteriors (Chapelle and Li 2011);
``FunnelUCB`` takes each probability at an upper quantile of its logit (``alpha`` posterior standard
deviations). ``HybridLinUCB`` (Li et al. 2010, shared part only) is the linear counterpart: one ridge
regression of the margin per impression on the same features, with a UCB bonus.

Protocol: every bandit learns within an episode from the env's ``last_outcome`` (its own logs) and starts
from its prior at ``reset``. ``carry=True`` (not registered: its results depend on the order of the episodes
it saw) CARRIES the models and a per-shopper memory of clicked embeddings across episodes, a recommender with
history from earlier episodes, like a trained agent, not comparable with the within-episode bandits.
"""

from __future__ import annotations

import numpy as np

from agents.recommend_heuristics import RecommendPolicy, top, with_no_offers

#: Prior standard deviation of every logistic weight but the intercept (log-odds per unit of feature).
PRIOR_SD = 1.0
#: Relative price effect of the low / mid / high price-sensitivity tertile (the prior slopes are
#: ``price_prior x`` these), as ``StockAwareGreedy``'s.
PRICE_TERTILES = (0.6, 1.0, 1.4)
#: Prior price slope (log-odds per unit of log price; StockAwareGreedy's elasticity): conversion falls with price.
PRICE_PRIOR = -1.5
#: Prior mean and standard deviation of the click intercept (log-odds; logit 0.05 = -2.9), weak.
CLICK_PRIOR = (-2.9, 2.0)
#: Prior mean and standard deviation of the purchase-given-click intercept (log-odds; logit 0.1 = -2.2), weak.
BUY_PRIOR = (-2.2, 2.0)


class BayesLogit:
    """Online Bayesian logistic regression: a Gaussian posterior ``N(w, cov)`` over the weights (log-odds per
    unit of feature), updated one observation at a time by the Laplace / extended-Kalman step
    ``cov <- (cov^-1 + p (1 - p) x x')^-1`` (Sherman-Morrison), ``w <- w + cov x (y - p)``: O(d^2) per row, so an
    episode of 60,000 sessions costs what a short one does per step.

    Args:
        prior_mean, prior_sd: ``(d,)`` Gaussian prior of the weights.
    """

    def __init__(self, prior_mean: np.ndarray, prior_sd: np.ndarray):
        self.w = np.asarray(prior_mean, dtype=float).copy()
        self.cov = np.diag(np.asarray(prior_sd, dtype=float) ** 2)
        self._chol = None
        self.n = 0  # rows learned from
        self._chol_at = -1

    def update(self, x: np.ndarray, y: np.ndarray) -> None:
        """Learn from rows ``x`` ``(m, d)`` with outcomes ``y`` ``(m,)`` in {0, 1} (m: a slate's few items)."""
        for xi, yi in zip(np.atleast_2d(x), np.atleast_1d(y), strict=True):
            p = 1.0 / (1.0 + np.exp(-(xi @ self.w)))
            g = p * (1.0 - p)
            sx = self.cov @ xi
            self.cov -= np.outer(sx, sx) * (g / (1.0 + g * (xi @ sx)))
            self.w += (self.cov @ xi) * (yi - p)
            self.n += 1

    def sample(self, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
        """One draw of the weights from the posterior, its spread times ``scale``. The covariance's Cholesky factor
        is refreshed once 2% more rows (at least 1) were learned from: the spread narrows slowly, and the
        factorisation was the bandit's largest cost per session."""
        if self._chol is None or self.n - self._chol_at >= max(1.0, 0.02 * self.n):
            self._chol = np.linalg.cholesky(self.cov + 1e-10 * np.eye(len(self.w)))
            self._chol_at = self.n
        return self.w + scale * (self._chol @ rng.standard_normal(len(self.w)))

    def logit_sd(self, x: np.ndarray) -> np.ndarray:
        """Posterior standard deviation of ``x . w`` per row of ``x``."""
        return np.sqrt(np.maximum(np.einsum("ki,ij,kj->k", x, self.cov, x), 0.0))


class FunnelFeatures:
    """Features of (shopper, candidate) pairs from the observation, shared by all items.

    Columns: intercept; segment one-hot x item embedding (``S x d``: each segment's taste); segment x item
    category (``S x C``); ``taste x e`` per pair of dimensions (``d x d``, taste-major: the weights are a learned
    linear map ``M`` with ``e' M taste`` the shopper's affinity to the item; the clicked-items mean embedding leans
    toward the shopper's preference but blurred by the catalog's own spread, which ``M`` learns to undo, where
    ``taste . e`` alone cannot; ``taste`` is the observation's block when the env has it, pre-episode record
    included, with the policy's own per-shopper memory otherwise or when carried); category match; popularity; ``complement`` (the item complements the last item this policy sold to this shopper,
    ``Catalog.complements()``, public); then the price terms, log price x sensitivity tertile (3 columns,
    last: ``PRICE_COLUMNS``).
    """

    #: The price columns are the last three (log price x low / mid / high sensitivity tertile).
    PRICE_COLUMNS = 3

    def __init__(self, view):
        self.view = view
        self.n_seg, self.n_cat, self.dim = view.n_segments, view.n_categories, view.world.catalog.features.shape[1]
        self.size = 1 + self.n_seg * self.dim + self.n_seg * self.n_cat + self.dim * self.dim + 3 + self.PRICE_COLUMNS
        #: Where the ``taste x embedding`` block starts (``dim x dim`` columns, taste-major).
        self.taste_at = 1 + self.n_seg * self.dim + self.n_seg * self.n_cat

    def __call__(self, f: dict, taste: np.ndarray, complement: np.ndarray) -> np.ndarray:
        """``(K, size)`` features of the candidates of one session (``f``: ``view.parse(obs)``)."""
        k = self.view.k
        seg = np.array([f[f"segment_{s}"] for s in range(self.n_seg)])
        tert = np.array([f["sensitivity_low"], f["sensitivity_mid"], f["sensitivity_high"]])
        emb = np.column_stack([f[f"e_{j}"] for j in range(self.dim)])  # (K, d)
        cat = np.column_stack([f[f"category_{c}"] for c in range(self.n_cat)])  # (K, C)
        return np.column_stack([
            np.ones(k),
            (seg[None, :, None] * emb[:, None, :]).reshape(k, -1),
            (seg[None, :, None] * cat[:, None, :]).reshape(k, -1),
            (taste[None, :, None] * emb[:, None, :]).reshape(k, -1), f["category_match"], f["popularity"], complement,
            f["log_price"][:, None] * tert[None, :],
        ])


class FunnelBandit(RecommendPolicy):
    """The shared funnel model (module docstring); subclasses choose how to score under uncertainty.

    Args:
        env: the Recommend env.
        carry: keep the models and the per-shopper memory across episodes (see the module docstring).
        price_prior: prior slope of the purchase-given-click log-odds per unit of log price, times
            ``PRICE_TERTILES`` for the shopper's low / mid / high sensitivity tertile.
        explore: Thompson sampling's posterior spread multiplier (1: plain Thompson sampling).
    """

    def __init__(self, env, carry: bool = False, price_prior: float = PRICE_PRIOR, explore: float = 1.0):
        super().__init__(env)
        self.feat = FunnelFeatures(self.view)
        self.carry = carry
        self.price_prior, self.explore = price_prior, explore
        self.complements = self.env.world.catalog.complements()
        self.features = self.env.world.catalog.features
        n_shoppers = self.env.world.shoppers.n_shoppers
        self._shopper_taste = np.zeros((n_shoppers, self.feat.dim))  # own memory: sum of clicked embeddings
        self._shopper_clicks = np.zeros(n_shoppers)
        self._last_sale = np.full(n_shoppers, -1, dtype=np.int64)
        self._fresh_models()

    def _fresh_models(self) -> None:
        d = self.feat.size
        prior_sd = np.full(d, PRIOR_SD)
        m0 = np.zeros(d)
        m0[0], prior_sd[0] = CLICK_PRIOR
        self.click = BayesLogit(m0, prior_sd)
        b0, bsd = np.zeros(2 + FunnelFeatures.PRICE_COLUMNS), np.full(2 + FunnelFeatures.PRICE_COLUMNS, PRIOR_SD)
        b0[0], bsd[0] = BUY_PRIOR
        b0[1] = 1.0  # the affinity score acts on conversion as on clicks, a priori
        b0[2:] = self.price_prior * np.array(PRICE_TERTILES)
        self.buy = BayesLogit(b0, bsd)

    def reset(self, seed=None):
        super().reset(seed)
        if not self.carry:
            self._fresh_models()
            self._shopper_taste[:] = 0.0
            self._shopper_clicks[:] = 0.0
        self._last_sale[:] = -1  # the world's complement lift counts purchases of this episode only
        self._x = None
        self._items = None

    # ------------------------------------------------------------------ learning
    def _buy_inputs(self, x: np.ndarray, w_click: np.ndarray) -> np.ndarray:
        """Inputs of the purchase-given-click model: intercept, the click model's affinity score, price terms."""
        p = FunnelFeatures.PRICE_COLUMNS
        affinity = x[:, 1:-p] @ w_click[1:-p]
        return np.column_stack([np.ones(len(x)), affinity, x[:, -p:]])

    def learn(self) -> None:
        """Learn from the last session's impressions of this policy's own candidates (its logs)."""
        out = self.feedback()
        if out is None or self._x is None or not len(out.item):
            return
        match = out.item[:, None] == self._items[None, :]
        rows = match.argmax(1)
        keep = match.any(1)
        if out.complement is not None:  # a bundle's complement row was not chosen as a candidate
            keep &= ~out.complement
        x = self._x[rows[keep]]
        click, purchase = out.click[keep], out.purchase[keep]
        self.click.update(x, click.astype(float))
        if click.any():
            self.buy.update(self._buy_inputs(x[click], self.click.w), purchase[click].astype(float))
        np.add.at(self._shopper_taste, out.shopper[out.click], self.features[out.item[out.click]])
        np.add.at(self._shopper_clicks, out.shopper[out.click], 1.0)
        self._last_sale[out.shopper[out.purchase]] = out.item[out.purchase]

    # ------------------------------------------------------------------ acting
    def _context(self, obs) -> tuple[dict, np.ndarray]:
        f = self.view.parse(obs)
        shopper = self.env.current_shopper
        taste = f.get("taste")
        if self.carry or taste is None:  # own memory (across episodes when carried)
            taste = np.zeros(self.feat.dim)
            if shopper is not None and self._shopper_clicks[shopper] > 0:
                taste = self._shopper_taste[shopper] / self._shopper_clicks[shopper]
        items = self.env.candidate_items
        last = self._last_sale[shopper] if shopper is not None else -1
        complement = (self.complements[max(last, 0)] == items) & (last >= 0)
        self._items = items
        self._x = self.feat(f, np.asarray(taste, dtype=float), complement.astype(float))
        return f, self._x

    def purchase_scores(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - per subclass
        """``p(click)`` and ``p(purchase | click)`` per candidate under the subclass's rule."""
        raise NotImplementedError

    def scores(self, obs):
        f, x = self._context(obs)
        p_click, p_buy = self.purchase_scores(x)
        margin = f["margin"] * self.view.median_price
        value = p_click * p_buy * margin
        return np.where(f["in_stock"] > 0, value, -1.0 + 1e-3 * value)

    def act(self, obs):
        self.learn()
        return with_no_offers(top(self.scores(obs), self.slots), self.view)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class FunnelThompson(FunnelBandit):
    """Thompson sampling on the funnel: one posterior draw of each model per session."""

    name = "funnel_ts"

    def purchase_scores(self, x):
        wc = self.click.sample(self.rng, self.explore)
        wb = self.buy.sample(self.rng, self.explore)
        return _sigmoid(x @ wc), _sigmoid(self._buy_inputs(x, wc) @ wb)


class FunnelUCB(FunnelBandit):
    """Optimism on the funnel: each probability at its logit's posterior mean + ``alpha`` standard deviations."""

    name = "funnel_ucb"

    def __init__(self, env, alpha: float = 1.0, **kwargs):
        super().__init__(env, **kwargs)
        self.alpha = alpha

    def purchase_scores(self, x):
        xb = self._buy_inputs(x, self.click.w)
        return (_sigmoid(x @ self.click.w + self.alpha * self.click.logit_sd(x)),
                _sigmoid(xb @ self.buy.w + self.alpha * self.buy.logit_sd(xb)))


class HybridLinUCB(FunnelBandit):
    """LinUCB with shared features (the shared part of Li et al. 2010's hybrid model): one ridge regression of
    the margin per impression (currency) on ``FunnelFeatures``, scored ``theta . x + alpha sqrt(x A^-1 x)``."""

    name = "hybrid_linucb"

    def __init__(self, env, alpha: float = 1.0, ridge: float = 1.0, **kwargs):
        super().__init__(env, **kwargs)
        self.alpha, self.ridge = alpha, ridge

    def _fresh_models(self):
        super()._fresh_models()
        self.a_inv = np.eye(self.feat.size) / getattr(self, "ridge", 1.0)
        self.b = np.zeros(self.feat.size)

    def learn(self):
        out = self.feedback()
        if out is None or self._x is None or not len(out.item):
            return
        pos = {int(i): j for j, i in enumerate(self._items)}
        for item, r in zip(out.item, out.margin, strict=True):  # the slate's few items (Sherman-Morrison)
            j = pos.get(int(item), -1)
            if j < 0:
                continue
            x = self._x[j]
            ax = self.a_inv @ x
            self.a_inv -= np.outer(ax, ax) / (1.0 + x @ ax)
            self.b += r * x
        self._last_sale[out.shopper[out.purchase]] = out.item[out.purchase]
        np.add.at(self._shopper_taste, out.shopper[out.click], self.features[out.item[out.click]])
        np.add.at(self._shopper_clicks, out.shopper[out.click], 1.0)

    def scores(self, obs):
        f, x = self._context(obs)
        theta = self.a_inv @ self.b
        value = x @ theta + self.alpha * self.view.median_price * np.sqrt(np.einsum("ki,ij,kj->k", x, self.a_inv, x))
        return np.where(f["in_stock"] > 0, value, -1e9)


#: name -> (class, one-line description) of the shared-feature bandits.
BANDIT_POLICIES = {
    "funnel_ts": (FunnelThompson, "Thompson sampling on a shared-feature click x purchase funnel (logistic, Laplace)"),
    "funnel_ucb": (FunnelUCB, "UCB on a shared-feature click x purchase funnel (logistic, Laplace)"),
    "hybrid_linucb": (HybridLinUCB, "LinUCB with shared (shopper x item) features on the margin per impression"),
}
