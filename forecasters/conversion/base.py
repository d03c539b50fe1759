"""The shared base of every conversion model: validation, training loop, predict, save/load.

A subclass only builds its network (``_build``): a ``torch.nn.Module`` mapping a float matrix
``(n, n_features)`` to per-task probabilities ``(n, n_tasks)``. It may define ``penalty()`` (added to
the loss) and ``shared_parameters()`` (frozen by ``fine_tune(freeze_shared=True)``).

Contract (scikit-learn style): the constructor only stores and validates; ``fit`` sets attributes
ending in ``_`` and returns ``self``; ``predict_proba`` returns one column per task, in ``tasks``
order, each the per-row probability of that label.

``calibrate(logs)`` fits a per-stage Platt recalibration (``calibration.FunnelCalibration``) on logs the model was
not fitted on; from then on ``predict_proba`` returns calibrated probabilities, and ``save``/``load`` keep it (a
file saved before calibration existed loads uncalibrated). ``fit`` and ``fine_tune`` drop it.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from forecasters.conversion.calibration import FunnelCalibration
from forecasters.conversion.cross import Crossed, CrossNet
from forecasters.conversion.data import check_nested, validate_labels
from forecasters.conversion.features import DEFAULT_CATEGORICAL, TabularEncoder
from forecasters.conversion.weighting import GRADNORM_ALPHA, LossWeighting, gradnorm_parameters
from shopgym.errors import DataError

FORMAT_VERSION = 1
EPS = 1e-7


class ConversionModel:
    """Base class; see the module docstring.

    Args:
        tasks: label columns, one output column each (default the funnel ``click, cart, purchase``).
        hidden: widths of the shared (or per-task) hidden layers.
        tower_hidden: widths of each task tower's hidden layers.
        epochs: passes over the training data.
        batch_size: rows per gradient step.
        lr: Adam learning rate.
        weight_decay: Adam L2 weight decay.
        loss_weights: fixed per-task loss weights (default all 1).
        weighting: ``"fixed"``, ``"uncertainty"`` (learned task weights) or ``"gradnorm"`` (task weights moved
            to balance the tasks' gradient norms on the last shared layer; see ``weighting.LossWeighting``).
        gradnorm_alpha: GradNorm's asymmetry ``alpha`` (used with ``weighting="gradnorm"`` only).
        categorical: columns one-hot encoded even if numeric.
        cross_layers: DCN-v2 feature-crossing layers in front of the network (0 = none; see ``cross.py``).
        seed: seeds weight init and batch order; same seed and data give the same model.
        progress: show a progress bar per epoch.
    """

    name: ClassVar[str] = "base"
    #: Names of subclass-specific constructor arguments (saved with the weights).
    extra_params: ClassVar[tuple[str, ...]] = ()
    base_params: ClassVar[tuple[str, ...]] = (
        "tasks", "hidden", "tower_hidden", "epochs", "batch_size", "lr", "weight_decay",
        "loss_weights", "weighting", "categorical", "cross_layers", "seed", "progress", "gradnorm_alpha",
    )

    def __init__(
        self,
        tasks: Sequence[str] = ("click", "cart", "purchase"),
        hidden: Sequence[int] = (64, 32),
        tower_hidden: Sequence[int] = (16,),
        epochs: int = 3,
        batch_size: int = 512,
        lr: float = 2e-3,
        weight_decay: float = 0.0,
        loss_weights: Sequence[float] | None = None,
        weighting: str = "fixed",
        categorical: Sequence[str] = DEFAULT_CATEGORICAL,
        cross_layers: int = 0,
        seed: int = 0,
        progress: bool = False,
        gradnorm_alpha: float = GRADNORM_ALPHA,
    ):
        if isinstance(tasks, str) or len(tasks) < 1 or len(set(tasks)) != len(tasks):
            raise ValueError(f"tasks must be a list of distinct label column names, got {tasks!r}.")
        for label, value, lo in (("epochs", epochs, 0), ("batch_size", batch_size, 1)):
            if not isinstance(value, (int, np.integer)) or value < lo:
                raise ValueError(f"{label} must be an integer >= {lo}, got {value!r}.")
        if any((not isinstance(h, (int, np.integer))) or h < 1 for h in [*hidden, *tower_hidden]):
            raise ValueError(f"hidden and tower_hidden must be positive integers, got {hidden!r}, {tower_hidden!r}.")
        if lr <= 0 or weight_decay < 0:
            raise ValueError(f"lr must be > 0 and weight_decay >= 0, got {lr}, {weight_decay}.")
        if not isinstance(cross_layers, (int, np.integer)) or cross_layers < 0:
            raise ValueError(f"cross_layers must be an integer >= 0, got {cross_layers!r}.")
        LossWeighting(len(tasks), weighting, loss_weights, gradnorm_alpha)  # validates mode, weights and alpha
        self.gradnorm_alpha = float(gradnorm_alpha)
        self.tasks, self.hidden, self.tower_hidden = tuple(tasks), tuple(hidden), tuple(tower_hidden)
        self.epochs, self.batch_size, self.lr, self.weight_decay = int(epochs), int(batch_size), float(lr), float(weight_decay)
        self.loss_weights = None if loss_weights is None else tuple(float(w) for w in loss_weights)
        self.weighting, self.categorical, self.seed, self.progress = weighting, tuple(categorical), int(seed), bool(progress)
        self.cross_layers = int(cross_layers)

    # ------------------------------------------------------------------ to override
    def _build(self, n_inputs: int) -> nn.Module:
        raise NotImplementedError

    # ------------------------------------------------------------------ public API
    def get_params(self) -> dict:
        """Constructor arguments (as saved with the weights)."""
        return {p: getattr(self, p) for p in (*self.base_params, *self.extra_params)}

    def fit(self, X: pd.DataFrame, y: pd.DataFrame | np.ndarray | None = None, sample_weight: np.ndarray | None = None) -> ConversionModel:
        """Fit on a log frame ``X`` (labels taken from its ``tasks`` columns unless ``y`` is given)."""
        labels = self._labels(X, y)
        self.encoder_ = TabularEncoder(self.tasks, self.categorical).fit(X)
        self.network_ = self._seeded_build(self.seed)
        self.weighting_ = LossWeighting(len(self.tasks), self.weighting, self.loss_weights, self.gradnorm_alpha)
        self.history_ = []
        self.calibration_ = None  # a refitted model's old calibration no longer applies
        self._train(self.encoder_.transform(X), labels, sample_weight, self.epochs, freeze_shared=False, lr=self.lr)
        return self

    def fine_tune(self, X: pd.DataFrame, y=None, epochs: int | None = None, freeze_shared: bool = False,
                  sample_weight: np.ndarray | None = None, reset_towers: bool = False, lr: float | None = None) -> ConversionModel:
        """Continue training a fitted model on new data (same encoder).

        ``freeze_shared`` keeps the shared layers fixed; ``reset_towers`` re-initialises every other
        layer first; ``lr`` overrides the learning rate for this call (default the model's ``lr``).
        """
        self._check_fitted()
        labels = self._labels(X, y)
        self.calibration_ = None  # the network changes: its old calibration no longer applies
        if reset_towers:  # re-initialise everything but the shared layers
            fresh = dict(self._seeded_build(self.seed + 1).named_parameters())
            shared = {id(p) for p in getattr(self.network_, "shared_parameters", lambda: [])()}
            with torch.no_grad():
                for name, p in self.network_.named_parameters():
                    if id(p) not in shared:
                        p.copy_(fresh[name])
        self._train(self.encoder_.transform(X), labels, sample_weight, self.epochs if epochs is None else epochs, freeze_shared,
                    self.lr if lr is None else lr)
        return self

    def predict_proba(self, X: pd.DataFrame, batch_size: int = 65536) -> np.ndarray:
        """Per-row probability of each task's label, ``(n, n_tasks)``, float64 in ``[0, 1]`` (calibrated once
        ``calibrate`` was called: then nested, each column at most the one before it)."""
        p = self._raw_proba(X, batch_size)
        calibration = getattr(self, "calibration_", None)
        return p if calibration is None else calibration.transform(p)

    def calibrate(self, X: pd.DataFrame, y: pd.DataFrame | np.ndarray | None = None,
                  batch_size: int = 65536) -> ConversionModel:
        """Fit a per-stage Platt recalibration on logs ``X`` the model was NOT fitted on (labels from its ``tasks``
        columns unless ``y`` is given; they must be nested, e.g. no purchase without a cart) and keep it in
        ``calibration_``; returns ``self``. It replaces any earlier calibration (it is fitted on the network's own
        answers). The tasks must be a nested funnel in order (``calibration`` module)."""
        self._check_fitted()
        if not isinstance(X, pd.DataFrame):
            raise DataError(f"calibration logs must be a pandas DataFrame, got {type(X).__name__}.")
        labels = validate_labels(X, self.tasks, what="calibration logs") if y is None else self._labels(X, y)
        features = [*self.encoder_.numeric_, *self.encoder_.categories_]
        missing = [c for c in features if c not in X.columns]
        if missing:
            raise DataError(f"calibration logs lack feature column(s) {missing} that the model was fitted with; "
                            "calibrate on logs in the layout of the training logs (what `shopgym conversion "
                            "generate` writes), from the same logging policy.")
        check_nested(labels, self.tasks, what="calibration logs")
        self.calibration_ = FunnelCalibration(self.tasks).fit(self._raw_proba(X, batch_size), labels)
        return self

    def calibration_key(self) -> tuple | None:
        """What ``predict_proba``'s calibration is, as a hashable value: ``None`` when uncalibrated, else the
        calibration's stages, scales and shifts. Equal keys give equal answers from the same network; a
        ``ResponseTable`` drops its tables when the key changes."""
        calibration = getattr(self, "calibration_", None)
        return None if calibration is None else calibration.key()

    def _raw_proba(self, X: pd.DataFrame, batch_size: int = 65536) -> np.ndarray:
        """The network's own probabilities, ``(n, n_tasks)`` in ``[0, 1]``, before any calibration."""
        self._check_fitted()
        x = torch.from_numpy(self.encoder_.transform(X))
        self.network_.eval()
        with torch.no_grad():
            out = [self.network_(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        p = torch.cat(out).double().numpy() if out else np.zeros((0, len(self.tasks)))
        return np.clip(p, 0.0, 1.0)

    def save(self, path: str | Path) -> Path:
        """Write hyperparameters, encoder and weights to ``path`` (a torch file of plain data and tensors,
        loadable with ``weights_only=True``; written whole or not at all: ``shopgym.atomic``)."""
        import io

        from shopgym.atomic import atomic_write_bytes

        self._check_fitted()
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()}
        buf = io.BytesIO()
        blob = {"format": FORMAT_VERSION, "model": self.name, "params": params, "encoder": self.encoder_.state(),
                "state_dict": self.network_.state_dict(), "weighting": self.weighting_.state_dict()}
        if getattr(self, "calibration_", None) is not None:  # plain data; absent = uncalibrated (older files too)
            blob["calibration"] = self.calibration_.state()
        torch.save(blob, buf)
        return atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> ConversionModel:
        """Rebuild a model saved by ``save`` (any registered class when called on the base).

        The file is read with ``torch.load(weights_only=True)``: it can hold only tensors and plain data, so
        loading runs no code from it. A missing, empty, corrupt or foreign file raises ``ModelFileError``
        naming it and the fix.
        """
        from forecasters.conversion.registry import model_class
        from shopgym.errors import ModelFileError, UnknownNameError

        path = Path(path)
        refit = "Fit and save a model there with `shopgym conversion fit LOGS OUT` (or model.save(path))."
        if not path.is_file():
            raise ModelFileError(f"{str(path)!r}: {'no such file' if not path.exists() else 'a folder, not a file'}. {refit}")
        if path.stat().st_size == 0:
            raise ModelFileError(f"{str(path)!r} is empty (0 bytes): the save was interrupted. {refit}")
        if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; anything else is not a saved model
            raise ModelFileError(f"{str(path)!r} is not a readable torch file (not a zip archive): it is corrupt, "
                                 f"truncated or another kind of file. {refit}")
        try:
            blob = torch.load(path, weights_only=True)
        except pickle.UnpicklingError as e:  # weights_only refused a global: the file would run code
            raise ModelFileError(f"{str(path)!r} holds objects other than tensors and plain data, so it was not loaded "
                                 f"(loading it could run code). {refit}") from e
        except Exception as e:  # EOFError, zip errors, ...: corrupt, truncated or another kind of file
            raise ModelFileError(f"{str(path)!r} is not a readable torch file ({type(e).__name__}): it is corrupt, "
                                 f"truncated or another kind of file. {refit}") from e
        if not isinstance(blob, dict) or blob.get("format") != FORMAT_VERSION:
            raise ModelFileError(f"{str(path)!r} is not a conversion model saved by save() (format {FORMAT_VERSION}). {refit}")
        try:
            klass = model_class(blob["model"])
        except (KeyError, UnknownNameError) as e:
            raise ModelFileError(f"{str(path)!r} names no known conversion model ({e}). {refit}") from e
        if cls is not ConversionModel and not issubclass(klass, cls):
            raise ValueError(f"{path} holds a {blob['model']!r} model, not a {cls.name!r}.")
        try:
            model = klass(**blob["params"])
            model.encoder_ = TabularEncoder.from_state(blob["encoder"])
            model.network_ = model._seeded_build(0)
            model.network_.load_state_dict(blob["state_dict"])
            model.weighting_ = LossWeighting(len(model.tasks), model.weighting, model.loss_weights, model.gradnorm_alpha)
            model.weighting_.load_state_dict(blob["weighting"])
            cal = blob.get("calibration")  # files saved before calibration existed have none: uncalibrated
            model.calibration_ = None if cal is None else FunnelCalibration.from_state(cal)
            if cal is not None and model.calibration_.stages != tuple(model.tasks):
                raise ValueError(f"its calibration is of stages {model.calibration_.stages}, the model's tasks are "
                                 f"{tuple(model.tasks)}")
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
            raise ModelFileError(f"{str(path)!r} holds a {blob['model']!r} model that cannot be rebuilt "
                                 f"({type(e).__name__}: {str(e)[:200]}); it was saved by another version. {refit}") from e
        model.history_ = []
        return model

    # ------------------------------------------------------------------ internals
    def _seeded_build(self, seed: int) -> nn.Module:
        """The network with weights initialised from ``seed``, leaving torch's global RNG as it was."""
        n = self.encoder_.n_features
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            body = self._build(n)
            return Crossed(CrossNet(n, self.cross_layers), body) if self.cross_layers else body

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; call fit(X) first.")

    def _labels(self, X, y) -> np.ndarray:
        if y is None:
            return validate_labels(X, self.tasks, what="X")
        if isinstance(y, pd.DataFrame):
            return validate_labels(y, self.tasks, what="y")
        y = np.asarray(y, dtype=float).reshape(len(X), -1)
        if y.shape[1] != len(self.tasks):
            raise ValueError(f"y has {y.shape[1]} columns, tasks {len(self.tasks)}.")
        return validate_labels(pd.DataFrame(y, columns=list(self.tasks)), self.tasks, what="y")

    def _train(self, x: np.ndarray, labels: np.ndarray, sample_weight, epochs: int, freeze_shared: bool, lr: float) -> None:
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr}.")
        n = len(x)
        w = np.ones(n, dtype=np.float32) if sample_weight is None else np.asarray(sample_weight, dtype=np.float32)
        if w.shape != (n,) or (w < 0).any() or not np.isfinite(w).all():
            raise ValueError(f"sample_weight must be {n} non-negative finite numbers.")
        xt, yt, wt = torch.from_numpy(x), torch.from_numpy(labels), torch.from_numpy(w / max(w.mean(), 1e-12))
        net, weighting = self.network_, self.weighting_
        shared = {id(p) for p in getattr(net, "shared_parameters", lambda: [])()} if freeze_shared else set()
        params = [p for p in net.parameters() if id(p) not in shared]
        if self.weighting == "uncertainty":
            params.append(weighting.log_vars)
        opt = torch.optim.Adam(params, lr=lr, weight_decay=self.weight_decay)
        gradnorm = self.weighting == "gradnorm"
        if gradnorm:  # GradNorm's weights have their own optimiser, fed only by its gradient-norm loss
            gn_params = gradnorm_parameters(net)
            gn_opt = torch.optim.Adam([weighting.task_weights], lr=lr)
        gen = torch.Generator().manual_seed(self.seed + len(self.history_))
        penalty = getattr(net, "penalty", None)
        epochs_iter = range(epochs)
        if self.progress:
            from tqdm import tqdm

            epochs_iter = tqdm(epochs_iter, desc=f"fit {self.name}", unit="epoch")
        net.train()
        for _ in epochs_iter:
            perm = torch.randperm(n, generator=gen)
            total, batches = 0.0, 0
            for i in range(0, n, self.batch_size):
                idx = perm[i : i + self.batch_size]
                p = net(xt[idx]).clamp(EPS, 1 - EPS)
                per_row = F.binary_cross_entropy(p, yt[idx], reduction="none")
                losses = (per_row * wt[idx, None]).mean(0)
                loss = weighting(losses) + (penalty() if penalty is not None else 0.0)
                if gradnorm:
                    gn_opt.zero_grad()
                    (weighting.task_weights.grad,) = torch.autograd.grad(
                        weighting.gradnorm_loss(losses, gn_params), [weighting.task_weights], retain_graph=True)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if gradnorm:
                    gn_opt.step()
                    weighting.renormalise()
                total, batches = total + float(loss.detach()), batches + 1
            self.history_.append(total / max(batches, 1))
        net.eval()
