"""Shared machinery of the global neural forecasters: windowing, scaling, training, prediction.

A subclass only says how to build its network (``_build_net(n_context_features, n_future_features)``,
returning a module mapping ``x (B, L, C)`` and ``f (B, h, F)`` to quantiles ``(B, h, len(GRID))``).
All series train one network (global model). Training minimises the pinball loss over the
quantile grid with Adam, keeps the weights of the epoch with the best validation loss (the last
``h`` steps of every series) and stops after ``patience`` epochs without improvement.

Randomness: weights are initialised and batches shuffled from ``seed`` only; the global torch RNG
is forked (``torch.random.fork_rng``) so fitting leaves it untouched.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from forecasters.base import Forecaster
from forecasters.distribution import GRID, Distribution, from_quantiles
from forecasters.neural.heads import pinball_loss
from forecasters.neural.windows import WindowData, dense_batch
from forecasters.panel import Panel
from shopgym.errors import DataError


class NeuralForecaster(Forecaster):
    """Base of the CNN, LSTM and Transformer forecasters.

    Args:
        h: steps forecast by one forward pass (longer horizons are forecast recursively, feeding
            back the mean); steps of the data's frequency.
        input_size: context length in steps (``None``: ``max(2 * h, season_length)``, and for daily data
            with a year of history at least ``DAILY_CONTEXT`` (56) days: see ``default_input_size``).
        hidden: width of the network.
        epochs: maximum passes (each over at most ``windows_per_epoch`` sampled windows).
        windows_per_epoch: training windows sampled per epoch (CPU budget).
        batch_size: windows per gradient step.
        lr: Adam learning rate.
        patience: epochs without validation improvement before stopping (0 = no early stopping).
        min_context: fewest observed context steps a training window may have (``None``: ``input_size``);
            smaller values teach the model short histories (cold start).
        update_epochs: epochs of continued training run by ``update(new_df)``.
        progress: show tqdm progress bars.
    """

    def __init__(self, h: int = 14, input_size: int | None = None, hidden: int = 32, epochs: int = 20,
                 windows_per_epoch: int = 4096, batch_size: int = 256, lr: float = 2e-3, patience: int = 4,
                 min_context: int | None = None, update_epochs: int = 3, progress: bool = True, **kwargs):
        super().__init__(**kwargs)
        for name, v in [("h", h), ("hidden", hidden), ("epochs", epochs), ("windows_per_epoch", windows_per_epoch),
                        ("batch_size", batch_size)]:
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}.")
        if input_size is not None and (not isinstance(input_size, (int, np.integer)) or input_size < 1):
            raise ValueError(f"input_size must be a positive integer or None, got {input_size!r}.")
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr}.")
        self.h, self.input_size, self.hidden, self.epochs = h, input_size, hidden, epochs
        self.windows_per_epoch, self.batch_size, self.lr, self.patience = windows_per_epoch, batch_size, lr, patience
        self.min_context, self.update_epochs, self.progress = min_context, update_epochs, progress

    # ------------------------------------------------------------------ hooks for subclasses
    def _build_net(self, n_context: int, n_future: int) -> torch.nn.Module:
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers
    @property
    def L_(self) -> int:
        """Context length in steps: fixed when fitting (``input_size_``); models saved before it was stored
        get the default of their version, ``max(2 * h, season_length)``."""
        fitted = getattr(self, "input_size_", None)
        return fitted or self.input_size or max(2 * self.h, self.season_length_)

    def _min_ctx(self) -> int:
        return min(self.L_, self.min_context) if self.min_context else self.L_

    def _data(self, panel: Panel) -> WindowData:
        return WindowData(panel, self.L_, self.h, self.season_length_)

    def _levels(self) -> torch.Tensor:
        return torch.tensor(GRID, dtype=torch.float32)

    def _loss(self, data: WindowData, idx: tuple[np.ndarray, np.ndarray]) -> float:
        self.net_.eval()
        total, n = 0.0, 0
        with torch.no_grad():
            for lo in range(0, len(idx[0]), 4096):
                b = data.batch(idx[0][lo : lo + 4096], idx[1][lo : lo + 4096])
                total += float(pinball_loss(self.net_(b["x"], b["f"]), b["target"], self._levels())) * len(b["x"])
                n += len(b["x"])
        return total / max(n, 1)

    def _train(self, data: WindowData, train_idx, val_idx=None, epochs: int | None = None, lr: float | None = None,
               desc: str = "fit", rng: np.random.Generator | None = None, early_stopping: bool = True) -> list[dict]:
        """Train ``self.net_`` on windows ``train_idx`` (pairs of arrays); returns the per-epoch log."""
        epochs = self.epochs if epochs is None else epochs
        rng = np.random.default_rng(self.seed) if rng is None else rng
        if len(train_idx[0]) == 0:
            raise DataError(
                f"no training windows: every series is shorter than input_size + h = {self.L_} + {self.h} "
                f"(min_context {self._min_ctx()}). Use longer series, a smaller input_size/h or min_context."
            )
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr if lr is None else lr)
        levels = self._levels()
        use_val = early_stopping and val_idx is not None and len(val_idx[0]) > 0 and self.patience > 0
        best, best_state, bad, log = np.inf, None, 0, []
        bar = tqdm(range(epochs), desc=f"{self.name} {desc}", disable=not self.progress, leave=False)
        for epoch in bar:
            self.net_.train()
            n = len(train_idx[0])
            pick = rng.permutation(n)[: self.windows_per_epoch] if n > self.windows_per_epoch else rng.permutation(n)
            run = 0.0
            for lo in range(0, len(pick), self.batch_size):
                sel = pick[lo : lo + self.batch_size]
                b = data.batch(train_idx[0][sel], train_idx[1][sel])
                loss = pinball_loss(self.net_(b["x"], b["f"]), b["target"], levels)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.net_.parameters(), 1.0)
                opt.step()
                run += loss.item() * len(sel)
            entry = {"epoch": epoch, "train_loss": run / len(pick)}
            if use_val:
                entry["val_loss"] = self._loss(data, val_idx)
                if entry["val_loss"] < best - 1e-5:
                    best, best_state, bad = entry["val_loss"], copy.deepcopy(self.net_.state_dict()), 0
                else:
                    bad += 1
            log.append(entry)
            bar.set_postfix({k: round(v, 4) for k, v in entry.items() if k != "epoch"})
            if use_val and bad >= self.patience:
                break
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        self.net_.eval()
        return log

    # ------------------------------------------------------------------ Forecaster hooks
    def _fit(self, panel: Panel) -> None:
        self.input_size_ = self.input_size or default_input_size(self.h, self.season_length_, panel)
        data = self._data(panel)
        train_idx, val_idx = data.windows(self._min_ctx(), val_h=self.h if self.patience > 0 else 0)
        if len(train_idx[0]) == 0 and len(val_idx[0]):  # too short to hold out: train on everything
            train_idx, val_idx = data.windows(self._min_ctx())
        self.dims_ = (data.n_context_features, data.n_future_features)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.net_ = self._build_net(*self.dims_)
            if getattr(self, "_no_training", False):
                self.log_ = []
            else:
                self.log_ = self._train(data, train_idx, val_idx, rng=np.random.default_rng(self.seed))

    def initialize(self, df: pd.DataFrame) -> NeuralForecaster:
        """Like ``fit`` (preprocessing, dimensions, history) but leave the network at its random
        initialisation: the starting point of meta-learning (``forecasters.meta.Reptile``)."""
        self._no_training = True
        try:
            return self.fit(df)
        finally:
            del self._no_training

    def fine_tune(self, df: pd.DataFrame, epochs: int = 5, lr: float | None = None, seed: int | None = None) -> NeuralForecaster:
        """Continue training the fitted network on the windows of ``df`` (may hold new series).

        Used for transfer learning (pretrain on source groups, fine-tune on a target).
        ``history_`` is left as it is: forecast the target with ``predict(h, df=...)``. ``lr``
        defaults to a tenth of the training learning rate (small steps keep what was pretrained).
        """
        self._check_fitted()
        panel = self._panel(self._prepare(df))
        data = self._data(panel)
        idx, _ = data.windows(self._min_ctx())
        seed = self.seed if seed is None else seed
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.log_ = self._train(data, idx, epochs=epochs, lr=self.lr * 0.1 if lr is None else lr, desc="fine-tune",
                                    rng=np.random.default_rng(seed), early_stopping=False)
        return self

    def _update(self, panel: Panel, n_old: pd.Series) -> None:
        """Train ``update_epochs`` epochs on windows whose targets reach into the new rows, plus as
        many replayed old windows (against forgetting), at half the learning rate."""
        if self.update_epochs < 1:
            return
        data = self._data(panel)
        (si, st), _ = data.windows(self._min_ctx())
        old = np.array([n_old.get(u, 0) for u in panel.ids])[si]
        new = st + self.h > old
        if not new.any():
            return
        rng = np.random.default_rng([self.seed, len(self.history_)])
        replay = rng.permutation(np.flatnonzero(~new))[: new.sum()]
        keep = np.concatenate([np.flatnonzero(new), replay])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed + 1)
            self._train(data, (si[keep], st[keep]), epochs=self.update_epochs, lr=self.lr * 0.5,
                        desc="update", rng=rng, early_stopping=False)

    def _forward(self, panel: Panel, future_exog: np.ndarray) -> np.ndarray:
        """Quantile grid for the next ``self.h`` steps of every series, ``(n, h, Q)``, units of ``y``."""
        data = WindowData(panel, self.L_, self.h, self.season_length_, future_exog)
        series = np.arange(panel.n)
        t = data.lengths.copy()
        out = np.empty((panel.n, self.h, len(GRID)))
        for lo in range(0, panel.n, 8192):
            out[lo : lo + 8192] = self._run(data.batch(series[lo : lo + 8192], t[lo : lo + 8192]))
        return out

    def _run(self, b: dict[str, torch.Tensor]) -> np.ndarray:
        """The network's quantiles for one batch of windows, back in the units of ``y``."""
        self.net_.eval()
        with torch.inference_mode():
            return (self.net_(b["x"], b["f"]) * b["scale"][:, None, None]).numpy()

    def _distribution(self, panel: Panel, h: int, future_exog: np.ndarray) -> Distribution:
        grids, cur, done = [], panel, 0
        k = future_exog.shape[-1]
        while done < h:
            fx = future_exog[:, done : done + self.h]
            if fx.shape[1] < self.h:  # beyond the requested horizon: hold the last known values
                pad = np.repeat(fx[:, -1:] if fx.shape[1] else np.zeros((panel.n, 1, k)), self.h - fx.shape[1], axis=1)
                fx = np.concatenate([fx, pad], axis=1)
            g = self._forward(cur, fx)
            take = min(self.h, h - done)
            grids.append(g[:, :take])
            done += take
            if done < h:  # recursive step: feed the mean back as if observed
                mean = g[:, :take].mean(-1)
                cur = Panel(cur.ids, [np.concatenate([y, m]) for y, m in zip(cur.y, mean, strict=True)], cur.start, cur.freq,
                            [np.concatenate([e, x[:take]]) for e, x in zip(cur.exog, fx, strict=True)], cur.exog_names)
        return from_quantiles(np.concatenate(grids, axis=1))

    def distribution_dense(self, y: np.ndarray, start, h: int, exog: np.ndarray | None = None,
                           future_exog: np.ndarray | None = None) -> Distribution:
        """``distribution_panel`` for ``n`` aligned series given as arrays (the fast path of ``LearnedDemand``).

        Same result as ``distribution_panel(Panel.from_arrays(ids, y, start, freq_, exog, exog), h, future_exog)``
        without building per-series windows: ``y (n, T)`` in units of ``y``, all series starting on ``start``,
        ``exog (n, T, k)`` and ``future_exog (n, h, k)`` the exogenous columns (``None`` when there are none).
        """
        self._check_fitted()
        y = np.asarray(y, dtype=float)
        n, k = len(y), len(self.exog)
        exog = np.zeros((*y.shape, k)) if exog is None else np.asarray(exog, dtype=float)
        future_exog = np.zeros((n, h, k)) if future_exog is None else np.asarray(future_exog, dtype=float)
        start = pd.Timestamp(start)
        grids, done = [], 0
        while done < h:
            fx = future_exog[:, done : done + self.h]
            if fx.shape[1] < self.h:  # beyond the requested horizon: hold the last known values
                pad = np.repeat(fx[:, -1:] if fx.shape[1] else np.zeros((n, 1, k)), self.h - fx.shape[1], axis=1)
                fx = np.concatenate([fx, pad], axis=1)
            g = np.empty((n, self.h, len(GRID)))
            for lo in range(0, n, 8192):
                sl = slice(lo, lo + 8192)
                g[sl] = self._run(dense_batch(y[sl], exog[sl], fx[sl], start, self.freq_, self.L_, self.h, self.season_length_))
            take = min(self.h, h - done)
            grids.append(g[:, :take])
            done += take
            if done < h:  # recursive step: feed the mean back as if observed
                y = np.concatenate([y, g[:, :take].mean(-1)], axis=1)
                exog = np.concatenate([exog, fx[:, :take]], axis=1)
        dist = from_quantiles(np.concatenate(grids, axis=1))
        return dist.clip(0.0) if self.nonnegative else dist

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict:
        state = super()._state()
        state["net_"] = {k: v.clone() for k, v in self.net_.state_dict().items()}
        return state

    def _set_state(self, state: dict) -> None:
        state = dict(state)
        weights = state.pop("net_")
        super()._set_state(state)
        self.net_ = self._build_net(*self.dims_)
        self.net_.load_state_dict(weights)
        self.net_.eval()


#: Default context of daily models (days): eight weeks. 28 days (the old default, ``2 * h`` for ``h=14``) is
#: too short to tell a slow mover's level from noise: 56 days cut the CNN's RMSSE by 8% on the Favorita
#: store panel and 1% on the world panel (docs/forecasting.md, "Daily retail benchmark", written by
#: ``python benchmarks/forecast_daily.py``); in a trial run 112 days did worse than 56.
DAILY_CONTEXT = 56
#: Days of history (longest series) from which daily models get ``DAILY_CONTEXT``: one year.
DAILY_MIN_HISTORY = 365


def default_input_size(h: int, season_length: int, panel: Panel) -> int:
    """The context length used when ``input_size`` is ``None``: ``max(2 * h, season_length)``; for daily data
    (one-day steps) whose longest series holds at least ``DAILY_MIN_HISTORY`` days, at least
    ``DAILY_CONTEXT`` days. Short panels (tests, cold starts) keep the old default."""
    base = max(2 * h, season_length)
    if pd.Timedelta(panel.freq) != pd.Timedelta(days=1):
        return base
    longest = max((len(y) for y in panel.y), default=0)
    return max(base, DAILY_CONTEXT) if longest >= DAILY_MIN_HISTORY else base
