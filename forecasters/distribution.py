"""Predictive distributions shared by every forecaster: a mean and a grid of quantiles.

Every model describes its forecast for ``n`` series and ``h`` steps as ``Distribution(mean, grid)``
with ``grid[..., j]`` the quantile at level ``GRID[j]`` (19 levels, 0.05 .. 0.95). Reported columns
``q0.1``, ``q0.5``, ``q0.9`` are read off the grid; samples are drawn by inverse-CDF interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

#: Quantile levels every model predicts internally (the grid), ascending.
GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)
#: Quantile levels reported as columns by ``predict``.
QUANTILES = (0.1, 0.5, 0.9)


def qcol(q: float) -> str:
    """Column name of quantile level ``q``: ``0.1 -> 'q0.1'``, ``0.5 -> 'q0.5'``."""
    return f"q{q:g}"


@dataclass
class Distribution:
    """Forecast of ``n`` series over ``h`` steps.

    Attributes:
        mean: expected value, shape ``(n, h)``, in the units of ``y``.
        grid: quantiles at ``GRID`` levels, shape ``(n, h, len(GRID))``, non-decreasing along the last axis.
    """

    mean: np.ndarray
    grid: np.ndarray

    def __post_init__(self):
        self.grid = _sorted(np.asarray(self.grid, dtype=float))  # monotone rearrangement
        self.mean = np.asarray(self.mean, dtype=float)

    def quantile(self, q: float) -> np.ndarray:
        """Quantile at level ``q`` in (0, 1), shape ``(n, h)``; linear between grid levels and beyond."""
        return _interp(self.grid, np.full(self.mean.shape, q))

    def sample(self, rng: np.random.Generator, n_samples: int) -> np.ndarray:
        """``n_samples`` draws per series and step, shape ``(n_samples, n, h)`` (steps drawn independently)."""
        u = rng.random((n_samples, *self.mean.shape))
        return _interp(self.grid[None], u)

    def clip(self, lo: float = 0.0) -> Distribution:
        return Distribution(np.maximum(self.mean, lo), np.maximum(self.grid, lo))

    def head(self, h: int) -> Distribution:
        return Distribution(self.mean[:, :h], self.grid[:, :h])


def _sorted(grid: np.ndarray) -> np.ndarray:
    """``grid`` sorted along the last axis; returned as is when it already is (the usual case: sorting
    costs more than checking). NaN compares false, so a grid holding NaN is sorted (NaN last) as before."""
    if grid.shape[-1] < 2 or (grid[..., 1:] >= grid[..., :-1]).all():
        return grid
    return np.sort(grid, axis=-1)


def _interp(grid: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse CDF at probabilities ``u`` from quantiles ``grid`` at ``GRID`` (linear extrapolation in the tails)."""
    pos = (u - GRID[0]) / (GRID[1] - GRID[0])
    j = np.clip(np.floor(pos).astype(np.int64), 0, len(GRID) - 2)
    frac = pos - j
    lo = np.take_along_axis(grid, j[..., None], -1)[..., 0]
    hi = np.take_along_axis(grid, (j + 1)[..., None], -1)[..., 0]
    # Below 0.05 and above 0.95, frac leaves [0, 1]: the outer segment is extended linearly.
    return lo + frac * (hi - lo)


def normal(mean: np.ndarray, sd: np.ndarray) -> Distribution:
    """A normal predictive distribution (used by the classical models, from residual spread)."""
    z = stats.norm.ppf(GRID)
    return Distribution(mean, mean[..., None] + np.asarray(sd)[..., None] * z)


def from_quantiles(grid: np.ndarray) -> Distribution:
    """A distribution given only its grid quantiles; the mean is approximated by their average."""
    grid = _sorted(np.asarray(grid, dtype=float))
    return Distribution(grid.mean(-1), grid)


def combine(dists: list[Distribution], how: str = "mean") -> Distribution:
    """Ensemble: the mean or median of the members' means and quantiles (quantile averaging)."""
    f = np.mean if how == "mean" else np.median
    return Distribution(f([d.mean for d in dists], axis=0), f([d.grid for d in dists], axis=0))
