"""Per-task metrics (AUC, log loss, calibration error), for a model and for the oracle.

The oracle is the simulator's true probability of each label (the ``true_<task>`` columns of the
logs): no model can beat its expected log loss, and its AUC is the best achievable on average.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from forecasters.conversion.data import validate_labels
from shopgym.errors import DataError

EPS = 1e-12


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean binary cross-entropy (nats per row), probabilities clipped to ``[1e-12, 1 - 1e-12]``."""
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    y = np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """Expected calibration error over ``n_bins`` equal-count bins of the predictions.

    ``sum_b (n_b / n) |mean(y in b) - mean(p in b)|``; equal-count bins keep the measure meaningful
    for rare labels (equal-width bins would put nearly every row in the first bin).
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if len(y) == 0:
        raise DataError("calibration_error needs at least one row.")
    order = np.argsort(p, kind="stable")
    bins = np.array_split(order, min(n_bins, len(y)))
    return float(sum(len(b) * abs(y[b].mean() - p[b].mean()) for b in bins) / len(y))


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC; NaN when only one class is present."""
    y = np.asarray(y)
    if y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, p))


def task_metrics(labels: np.ndarray, proba: np.ndarray, tasks: Sequence[str]) -> pd.DataFrame:
    """One row per task: ``auc``, ``log_loss``, ``calibration_error``, ``positive_rate``, ``n``."""
    labels, proba = np.asarray(labels), np.asarray(proba, dtype=float)
    if labels.shape != proba.shape or labels.shape[1] != len(tasks):
        raise ValueError(f"labels {labels.shape} and proba {proba.shape} must both be (n, {len(tasks)}).")
    rows = [{"task": t, "auc": auc(labels[:, j], proba[:, j]), "log_loss": log_loss(labels[:, j], proba[:, j]),
             "calibration_error": calibration_error(labels[:, j], proba[:, j]),
             "positive_rate": float(labels[:, j].mean()), "n": len(labels)} for j, t in enumerate(tasks)]
    return pd.DataFrame(rows).set_index("task")


def oracle_proba(df: pd.DataFrame, tasks: Sequence[str]) -> np.ndarray:
    """The simulator's true per-row probabilities ``true_<task>``, ``(n, n_tasks)``."""
    missing = [f"true_{t}" for t in tasks if f"true_{t}" not in df.columns]
    if missing:
        raise DataError(f"no oracle: the logs lack {missing} (only simulated logs carry true probabilities).")
    return df[[f"true_{t}" for t in tasks]].to_numpy(dtype=float)


def evaluate(df: pd.DataFrame, proba: np.ndarray, tasks: Sequence[str], oracle: bool = True) -> pd.DataFrame:
    """Per-task metrics of ``proba`` on ``df``'s labels, with ``oracle_*`` columns when ``oracle`` and available."""
    labels = validate_labels(df, tasks)
    out = task_metrics(labels, proba, tasks)
    if oracle and all(f"true_{t}" in df.columns for t in tasks):
        ref = task_metrics(labels, oracle_proba(df, tasks), tasks)
        for m in ("auc", "log_loss", "calibration_error"):
            out[f"oracle_{m}"] = ref[m]
        out["auc_gap"] = out["oracle_auc"] - out["auc"]
    return out
