"""Exact inverse-CDF sampling of Poisson and negative-binomial counts, vectorised over any array.

Drawing ``rng.poisson`` once per world costs tens of microseconds of argument checks per call, which
dominates a batch of many small worlds. Instead each world draws plain uniforms from its own
generator and one vectorised inverse CDF turns the whole batch into counts. The result for an
element depends only on its own uniform and parameters, so a batch of worlds reproduces the same
worlds stepped alone.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def _invert(cdf, u: np.ndarray, guess: np.ndarray) -> np.ndarray:
    """Smallest integer ``k >= 0`` with ``cdf(k) >= u``, searched from ``guess`` one step at a time."""
    k = np.maximum(guess, 0.0)
    below = cdf(k) < u
    while below.any():  # walk up
        k = k + below
        below = cdf(k) < u
    while True:  # walk down while the previous count already reaches u
        prev_ok = (k > 0) & (cdf(np.maximum(k - 1, 0)) >= u)
        if not prev_ok.any():
            return k.astype(np.int64)
        k = k - prev_ok


def poisson_ppf(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Poisson(``lam``) quantile of ``u`` in [0, 1): exact inverse CDF, integer counts."""
    lam = np.asarray(lam, dtype=float)
    z = special.ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    guess = np.floor(lam + np.sqrt(lam) * z + (z * z - 1) / 6)  # Cornish-Fisher start
    return _invert(lambda k: special.pdtr(k, lam), u, guess)


def nbinom_ppf(u: np.ndarray, mean: np.ndarray, shape: float) -> np.ndarray:
    """Negative-binomial quantile of ``u`` with the given mean and shape ``k`` (variance mean + mean^2 / k)."""
    mean = np.asarray(mean, dtype=float)
    p = shape / (shape + mean)
    z = special.ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    sd = np.sqrt(mean + mean * mean / shape)
    guess = np.floor(mean + sd * z)
    return _invert(lambda k: special.betainc(shape, k + 1, p), u, guess)
