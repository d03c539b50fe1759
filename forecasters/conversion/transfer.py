"""Transfer to a new category with few logs: model-, feature- and instance-based, against from-scratch.

Given logs of several categories, one category is the *target*: only ``n_target`` of its
impressions may be used for training; the rest of it is the test set. The *source* is every
other category.

- **scratch**: a model fitted on the target rows only.
- **model-based**: fitted on the source, then fine-tuned (all weights, at ``finetune_lr_scale`` times
  the learning rate) on the target rows.
- **feature-based**: the source model's shared layers (the representation) are frozen; the
  task towers are re-initialised and trained on the target rows.
- **instance-based**: one model fitted on source + target rows, each source row weighted by the
  similarity of its item embedding to the target category's mean embedding,
  ``w = exp(-sharpness x (1 - cos))``; target rows weigh 1 each.

Each method's gain is its AUC minus scratch's, per task; ``negative_transfer`` flags a method
whose mean gain over tasks is below zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecasters.conversion.metrics import auc
from forecasters.conversion.registry import make_model
from shopgym.errors import DataError

METHODS = ("scratch", "model_based", "feature_based", "instance_based")


def similarity_weights(source: pd.DataFrame, target: pd.DataFrame, prefix: str = "e_", sharpness: float = 5.0) -> np.ndarray:
    """``exp(-sharpness (1 - cos(e_row, mean target embedding)))`` per source row, in ``(0, 1]``."""
    cols = [c for c in source.columns if c.startswith(prefix)]
    if not cols:
        raise DataError(f"instance-based transfer needs item embedding columns starting with {prefix!r}.")
    centre = target[cols].to_numpy(float).mean(0)
    e = source[cols].to_numpy(float)
    cos = e @ centre / (np.linalg.norm(e, axis=1) * np.linalg.norm(centre) + 1e-12)
    return np.exp(-sharpness * (1.0 - cos))


def split_target(df: pd.DataFrame, target_category, n_target: int, seed: int = 0, category: str = "category"):
    """``(source, target_train, target_test)``: target rows shuffled with ``seed``; the first ``n_target`` train."""
    is_t = df[category] == target_category
    if not is_t.any():
        raise DataError(f"no rows with {category} == {target_category!r}.")
    target = df[is_t].sample(frac=1.0, random_state=seed)
    if n_target >= len(target):
        raise DataError(f"n_target = {n_target} leaves no test rows ({len(target)} target rows).")
    return df[~is_t], target.iloc[:n_target], target.iloc[n_target:]


def transfer_experiment(df: pd.DataFrame, target_category, n_target: int, model: str = "shared_bottom",
                        tasks: Sequence[str] = ("click", "cart", "purchase"), epochs: int = 3,
                        target_epochs: int = 20, finetune_lr_scale: float = 0.1, seed: int = 0, **model_kwargs) -> pd.DataFrame:
    """AUC per method and task on the target's test rows, with ``gain`` vs scratch and ``negative_transfer``.

    ``epochs`` trains on the source; ``target_epochs`` on the (small) target set, for scratch,
    fine-tuning and the towers alike. Returns one row per (method, task).
    """
    source, t_train, t_test = split_target(df, target_category, n_target, seed)
    kw = {"tasks": tasks, "seed": seed, **model_kwargs}
    models = {
        "scratch": make_model(model, epochs=target_epochs, **kw).fit(t_train),
        "model_based": make_model(model, epochs=epochs, **kw).fit(source).fine_tune(
            t_train, epochs=target_epochs, lr=finetune_lr_scale * make_model(model, **kw).lr),
        "feature_based": make_model(model, epochs=epochs, **kw).fit(source).fine_tune(
            t_train, epochs=target_epochs, freeze_shared=True, reset_towers=True),
    }
    both = pd.concat([source, t_train], ignore_index=True)
    w = np.concatenate([similarity_weights(source, t_train), np.ones(len(t_train))])
    models["instance_based"] = make_model(model, epochs=epochs, **kw).fit(both, sample_weight=w)
    labels = t_test[list(tasks)].to_numpy()
    rows = []
    for method, m in models.items():
        p = m.predict_proba(t_test)
        rows += [{"method": method, "task": t, "auc": auc(labels[:, j], p[:, j])} for j, t in enumerate(tasks)]
    out = pd.DataFrame(rows)
    scratch = out[out.method == "scratch"].set_index("task")["auc"]
    out["gain"] = out["auc"] - out["task"].map(scratch)
    mean_gain = out.groupby("method")["gain"].mean()
    out["negative_transfer"] = out["method"].map(mean_gain < 0) & (out["method"] != "scratch")
    return out
