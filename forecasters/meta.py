"""Meta-learning for cold start: Reptile and first-order MAML over series-as-tasks.

Reptile (Nichol, Achiam & Schulman, 2018) learns an initialisation of a global neural forecaster's
weights from which a few gradient steps on a *new* series' short history give a good model of that
series. Each meta-iteration samples ``meta_batch`` series (tasks); for each it copies the weights,
runs ``inner_steps`` SGD steps on that series' windows, and then moves the shared weights a step
``meta_lr`` (annealed linearly to 0) towards the average of the adapted weights.

``FOMAML`` (first-order MAML) instead trains on episodes shaped like the cold-start situation:
adapt on a short stretch of a series, then score the forecast of the steps right after it.

``MetaSVR`` (META-SVM, ``forecasters/meta_svr.py``, re-exported here) does the same for a support-vector
regression: it meta-learns the common mean that each new series' SVR is regularised towards.

``adapt_predict`` adapts a copy of the network to every new series separately (``adapt_steps``
steps on the windows of its own history) and forecasts it. With ``adapt_steps = 0`` it is the
global model without adaptation; with a freshly initialised network it is a per-series model
trained from scratch: the three arms of the cold-start comparison.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from forecasters.data import DS, ID
from forecasters.distribution import GRID, from_quantiles
from forecasters.meta_svr import MetaSVR
from forecasters.neural.base import NeuralForecaster
from forecasters.neural.heads import pinball_loss
from forecasters.neural.windows import WindowData

__all__ = ["FOMAML", "MetaSVR", "Reptile", "adapt_predict", "default_support"]


def default_support(h: int) -> int:
    """FOMAML's default support length for horizon ``h``: ``max(8, 2 h)`` steps, so an episode's support
    always holds a training window (the support must exceed ``h``) whatever the horizon."""
    return max(8, 2 * int(h))


class Reptile:
    """Meta-train the initial weights of ``model`` (an unfitted ``NeuralForecaster``) with Reptile.

    Args:
        model: template; its ``input_size``, ``h``, ``min_context`` etc. define the windows.
        meta_iters: outer iterations.
        meta_batch: tasks (series) per outer iteration.
        inner_steps: SGD steps on one task.
        inner_lr: inner SGD learning rate.
        inner_batch: windows per inner step (sampled from the task's windows).
        meta_lr: outer step size at the start (linearly annealed to 0).
        adapt_steps, adapt_lr: defaults of ``adapt_predict`` (``adapt_lr`` None: a tenth of ``inner_lr``. Adapting
            at ``inner_lr`` on the one window of an 8-week history fitted its noise: Walmart cold-start MASE 1.270
            without adaptation, 1.451 after 10 steps at 0.02, 1.278 at 0.002; docs/forecasting.md).
        seed: seed of task sampling and initialisation.
        progress: tqdm bar over meta-iterations.
    """

    def __init__(self, model: NeuralForecaster, meta_iters: int = 300, meta_batch: int = 4, inner_steps: int = 5,
                 inner_lr: float = 0.02, inner_batch: int = 32, meta_lr: float = 0.5, adapt_steps: int = 10,
                 adapt_lr: float | None = None, seed: int = 0, progress: bool = True):
        if not isinstance(model, NeuralForecaster):
            raise ValueError(f"Reptile meta-trains a neural forecaster, got {type(model).__name__}; for an SVR "
                             "use forecasters.meta.MetaSVR (META-SVM), which meta-learns across series itself.")
        for name, v in [("meta_iters", meta_iters), ("meta_batch", meta_batch), ("inner_steps", inner_steps),
                        ("inner_batch", inner_batch)]:
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}.")
        if not 0 < meta_lr <= 1:
            raise ValueError(f"meta_lr must be in (0, 1], got {meta_lr}.")
        self.model, self.meta_iters, self.meta_batch, self.inner_steps = model, meta_iters, meta_batch, inner_steps
        self.inner_lr, self.inner_batch, self.meta_lr = inner_lr, inner_batch, meta_lr
        self.adapt_steps, self.adapt_lr, self.seed, self.progress = adapt_steps, adapt_lr or inner_lr / 10, seed, progress

    def fit(self, df: pd.DataFrame) -> Reptile:
        """Meta-train on the series of ``df`` (each series is a task); sets ``model_``."""
        model = self.model.clone(seed=self.seed, progress=False).initialize(df)
        data = WindowData(model._panel(model.history_), model.L_, model.h, model.season_length_)
        (si, st), _ = data.windows(model._min_ctx())
        if len(si) == 0:
            raise ValueError("no training windows for meta-learning; series are too short for input_size/h.")
        tasks = [np.flatnonzero(si == i) for i in np.unique(si)]
        rng = np.random.default_rng(self.seed)
        levels = torch.tensor(GRID, dtype=torch.float32)
        net = model.net_
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            for it in tqdm(range(self.meta_iters), desc="reptile", disable=not self.progress, leave=False):
                start = {k: v.clone() for k, v in net.state_dict().items()}
                acc = {k: torch.zeros_like(v) for k, v in start.items()}
                for task in rng.choice(len(tasks), size=min(self.meta_batch, len(tasks)), replace=False):
                    net.load_state_dict(start)
                    _inner(net, data, si[tasks[task]], st[tasks[task]], self.inner_steps, self.inner_lr,
                           self.inner_batch, rng, levels)
                    for k, v in net.state_dict().items():
                        acc[k] += v
                eps = self.meta_lr * (1 - it / self.meta_iters)
                n = min(self.meta_batch, len(tasks))
                net.load_state_dict({k: start[k] + eps * (acc[k] / n - start[k]) for k in start})
        net.eval()
        self.model_ = model
        return self

    def adapt_predict(self, df: pd.DataFrame, h: int, steps: int | None = None) -> pd.DataFrame:
        """Adapt to each series of ``df`` separately and forecast its next ``h`` steps (see module docstring)."""
        return adapt_predict(self.model_, df, h, self.adapt_steps if steps is None else steps, self.adapt_lr,
                             self.inner_batch, self.seed)


def _inner(net, data: WindowData, si, st, steps: int, lr: float, batch: int, rng, levels) -> None:
    """``steps`` plain SGD steps of ``net`` on windows ``(si, st)`` (as in MAML/Reptile: Adam's
    sign-like first steps move every weight by ``lr`` and wreck a good initialisation)."""
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    for _ in range(steps):
        pick = rng.choice(len(si), size=min(batch, len(si)), replace=False)
        b = data.batch(si[pick], st[pick])
        loss = pinball_loss(net(b["x"], b["f"]), b["target"], levels)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
    net.eval()


def adapt_predict(model: NeuralForecaster, df: pd.DataFrame, h: int, steps: int, lr: float, batch: int = 32,
                  seed: int = 0, reinit: bool = False) -> pd.DataFrame:
    """Forecast each series of ``df`` with its own copy of ``model``'s network adapted for ``steps`` steps.

    Args:
        model: a fitted (or meta-trained) neural forecaster; it is not modified.
        df: short histories of the new series.
        h: horizon (at most ``model.h``).
        steps: SGD steps per series (0 = no adaptation).
        lr: learning rate of the adaptation.
        reinit: start every series from a fresh random network (training from scratch).

    Returns:
        The ``predict`` frame (``unique_id, ds, mean, q0.1, q0.5, q0.9``).
    """
    if h > model.h:
        raise ValueError(f"h={h} exceeds the model's h={model.h}.")
    panel = model._panel(model._prepare(df))
    rng = np.random.default_rng(seed)
    levels = torch.tensor(GRID, dtype=torch.float32)
    grids = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(panel.n):
            sub = panel.subset([i])
            net = model._build_net(*model.dims_) if reinit else copy.deepcopy(model.net_)
            if steps:
                data = WindowData(sub, model.L_, model.h, model.season_length_)
                (si, st), _ = data.windows(max(1, min(model._min_ctx(), len(sub.y[0]) - model.h)))
                if len(si):
                    _inner(net, data, si, st, steps, lr, batch, rng, levels)
            data = WindowData(sub, model.L_, model.h, model.season_length_, np.zeros((1, model.h, len(model.exog))))
            with torch.no_grad():
                b = data.batch(np.array([0]), data.lengths.copy())
                grids.append((net(b["x"], b["f"]) * b["scale"][:, None, None]).numpy()[:, :h])
    dist = from_quantiles(np.concatenate(grids)).clip(0.0)
    out = {ID: np.repeat(np.asarray(panel.ids, dtype=object), h),
           DS: np.concatenate([panel.future_dates(i, h) for i in range(panel.n)]), "mean": dist.mean.ravel()}
    for q in (0.1, 0.5, 0.9):
        out[f"q{q:g}"] = dist.quantile(q).ravel()
    return pd.DataFrame(out)


class FOMAML:
    """First-order MAML for cold start, trained on episodes that look like the test situation.

    An episode is a random stretch of ``support + h`` steps of one training series, cut off from
    the rest of its history: the network takes ``inner_steps`` SGD steps on the support windows
    (inside the first ``support`` steps), then its loss on the query (the next ``h`` steps given
    the ``support`` steps as context) is differentiated at the adapted weights, and that gradient
    (first-order approximation: adaptation steps are not differentiated through) updates the
    shared initialisation with Adam.

    Args:
        model: template ``NeuralForecaster`` (``input_size >= support`` is typical).
        support: steps of history a new series has (e.g. 8 weeks); ``None``: ``default_support(model.h)``.
        n_episodes: episodes sampled once from the training series.
        meta_iters, meta_batch: outer iterations and episodes per iteration.
        inner_steps, inner_lr: SGD adaptation on the support windows (also the defaults of ``adapt_predict``).
        meta_lr: Adam learning rate of the outer loop.
    """

    def __init__(self, model: NeuralForecaster, support: int | None = None, n_episodes: int = 4000, meta_iters: int = 300,
                 meta_batch: int = 8, inner_steps: int = 5, inner_lr: float = 0.02, meta_lr: float = 1e-3,
                 seed: int = 0, progress: bool = True):
        if not isinstance(model, NeuralForecaster):
            raise ValueError(f"FOMAML meta-trains a neural forecaster, got {type(model).__name__}.")
        support = default_support(model.h) if support is None else support
        if support <= model.h:
            raise ValueError(f"support ({support}) must exceed the model's h ({model.h}) to hold a training window; "
                             f"give support > {model.h} or leave it out (default {default_support(model.h)}).")
        self.model, self.support, self.n_episodes, self.meta_iters = model, support, n_episodes, meta_iters
        self.meta_batch, self.inner_steps, self.inner_lr, self.meta_lr = meta_batch, inner_steps, inner_lr, meta_lr
        self.seed, self.progress = seed, progress

    def _episodes(self, model: NeuralForecaster, rng) -> WindowData:
        panel = model._panel(model.history_)
        span = self.support + model.h
        ids, ys, starts, ex = [], [], [], []
        long = [i for i in range(panel.n) if len(panel.y[i]) >= span]
        if not long:
            raise ValueError(f"no training series has {span} steps for an episode.")
        for _ in range(self.n_episodes):
            i = long[rng.integers(len(long))]
            o = int(rng.integers(len(panel.y[i]) - span + 1))
            ids.append(f"{panel.ids[i]}@{o}")
            ys.append(panel.y[i][o : o + span])
            starts.append(panel.start[i] + o * panel.freq)
            ex.append(panel.exog[i][o : o + span])
        from forecasters.panel import Panel

        return WindowData(Panel(ids, ys, starts, panel.freq, ex, panel.exog_names), model.L_, model.h, model.season_length_)

    def fit(self, df: pd.DataFrame) -> FOMAML:
        """Meta-train on episodes cut from the series of ``df``; sets ``model_``."""
        model = self.model.clone(seed=self.seed, progress=False).initialize(df)
        rng = np.random.default_rng(self.seed)
        data = self._episodes(model, rng)
        min_ctx = max(1, min(model._min_ctx(), self.support - model.h))
        sup_t = np.arange(min_ctx, self.support - model.h + 1)
        levels = torch.tensor(GRID, dtype=torch.float32)
        net = model.net_
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            meta_opt = torch.optim.Adam(net.parameters(), lr=self.meta_lr)
            for _ in tqdm(range(self.meta_iters), desc="fomaml", disable=not self.progress, leave=False):
                start = {k: v.clone() for k, v in net.state_dict().items()}
                grads = [torch.zeros_like(p) for p in net.parameters()]
                for e in rng.choice(self.n_episodes, size=self.meta_batch, replace=False):
                    net.load_state_dict(start)
                    _inner(net, data, np.full(len(sup_t), e), sup_t, self.inner_steps, self.inner_lr, len(sup_t), rng, levels)
                    q = data.batch(np.array([e]), np.array([self.support]))
                    net.zero_grad()
                    pinball_loss(net(q["x"], q["f"]), q["target"], levels).backward()
                    for g, p in zip(grads, net.parameters(), strict=True):
                        g += p.grad / self.meta_batch
                net.load_state_dict(start)
                meta_opt.zero_grad()
                for g, p in zip(grads, net.parameters(), strict=True):
                    p.grad = g
                meta_opt.step()
        net.eval()
        self.model_ = model
        return self

    def adapt_predict(self, df: pd.DataFrame, h: int, steps: int | None = None) -> pd.DataFrame:
        """Adapt to each series of ``df`` (``inner_steps`` SGD steps by default) and forecast ``h`` steps."""
        return adapt_predict(self.model_, df, h, self.inner_steps if steps is None else steps, self.inner_lr,
                             batch=32, seed=self.seed)
