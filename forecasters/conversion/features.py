"""Turning a log frame into a float matrix: standardised numbers, one-hot categories."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecasters.conversion.data import is_feature_column
from shopgym.errors import DataError

#: Integer columns of simulated logs that are categories, not quantities.
DEFAULT_CATEGORICAL = ("segment", "category", "weekday")


class TabularEncoder:
    """Numeric columns -> (x - mean) / std; categorical columns -> one-hot (unknown values -> zeros).

    Args:
        tasks: label columns (never features).
        categorical: columns to one-hot even if numeric; non-numeric columns are one-hot anyway.
    """

    def __init__(self, tasks: Sequence[str], categorical: Sequence[str] = DEFAULT_CATEGORICAL):
        self.tasks = tuple(tasks)
        self.categorical = tuple(categorical)

    def fit(self, df: pd.DataFrame) -> TabularEncoder:
        cols = [c for c in df.columns if is_feature_column(str(c), self.tasks)]
        if not cols:
            raise DataError(f"no feature columns left in {list(df.columns)} after removing labels, ids and true_*.")
        self.numeric_ = [c for c in cols if c not in self.categorical and pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
        self.categories_ = {c: sorted(df[c].astype(str).unique().tolist()) for c in cols if c not in self.numeric_}
        x = self._numeric(df)
        self.mean_ = x.mean(0).tolist()
        std = x.std(0)
        self.std_ = np.where(std > 0, std, 1.0).tolist()
        return self

    def _numeric(self, df: pd.DataFrame) -> np.ndarray:
        missing = [c for c in [*self.numeric_, *self.categories_] if c not in df.columns]
        if missing:
            raise DataError(f"input lacks feature column(s) {missing} that the model was fitted with.")
        x = df[self.numeric_].to_numpy(dtype=np.float64) if self.numeric_ else np.zeros((len(df), 0))
        if np.isnan(x).any():
            bad = [c for c, b in zip(self.numeric_, np.isnan(x).any(0), strict=True) if b]
            raise DataError(f"feature column(s) {bad} hold missing values; fill or drop them first.")
        return x

    @property
    def n_features(self) -> int:
        return len(self.numeric_) + sum(len(v) for v in self.categories_.values())

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Float32 matrix ``(n, n_features)``."""
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"X must be a pandas DataFrame, got {type(df).__name__}.")
        x = (self._numeric(df) - np.asarray(self.mean_)) / np.asarray(self.std_)
        parts = [x.astype(np.float32)]
        for c, values in self.categories_.items():
            idx = pd.Index(values).get_indexer(df[c].astype(str))
            onehot = np.zeros((len(df), len(values)), dtype=np.float32)
            ok = idx >= 0
            onehot[np.flatnonzero(ok), idx[ok]] = 1.0
            parts.append(onehot)
        return np.concatenate(parts, axis=1)

    def state(self) -> dict:
        return {"tasks": list(self.tasks), "categorical": list(self.categorical), "numeric": list(self.numeric_),
                "categories": {k: list(v) for k, v in self.categories_.items()}, "mean": self.mean_, "std": self.std_}

    @classmethod
    def from_state(cls, state: dict) -> TabularEncoder:
        enc = cls(state["tasks"], state["categorical"])
        enc.numeric_, enc.categories_ = list(state["numeric"]), {k: list(v) for k, v in state["categories"].items()}
        enc.mean_, enc.std_ = list(state["mean"]), list(state["std"])
        return enc
