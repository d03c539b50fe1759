"""Exact inverse-CDF sampling of Poisson and negative-binomial counts, vectorised over any array.

Drawing ``rng.poisson`` once per world costs tens of microseconds of argument checks per call, which
dominates a batch of many small worlds. Instead each world draws plain uniforms from its own
generator and one vectorised inverse CDF turns the whole batch into counts. The result for an
element depends only on its own uniform and parameters, so a batch of worlds reproduces the same
worlds stepped alone.

The search is bounded: it walks from a guess (normal approximation; for a negative-binomial shape below 1,
the quantile of the gamma-distributed Poisson rate) for at most ``MAX_WALK`` steps, evaluating the CDF only
where an element still moves (ordinary means and shapes are placed within a few steps), then finishes the
elements it has not placed by exponential search and bisection, ``O(log count)`` evaluations. Both find the same
count (the smallest ``k`` with ``cdf(k) >= u``), so the cut-over changes no draw; it only keeps heavy
tails, such as a negative binomial of tiny shape (``dispersion = 1e-12``), from walking millions of steps.
"""

from __future__ import annotations

import numpy as np
from scipy import special

#: Steps the walk from the guess may take (up, then down) before bisection finishes the element.
MAX_WALK = 16
#: Largest count drawn (2**53, the largest integer a float holds exactly); a draw beyond it is cut to it.
#: Validated scenarios reach it with probability below 1e-11 per SKU-day (see ``DemandConfig.dispersion``).
MAX_COUNT = float(2**53)


def _invert(cdf, u: np.ndarray, guess: np.ndarray, *params: np.ndarray) -> np.ndarray:
    """Smallest integer ``k >= 0`` with ``cdf(k, *params) >= u``, elementwise (``params`` broadcast to ``u``).

    Walks from ``guess`` one step at a time, at most ``MAX_WALK`` steps each way, evaluating the CDF only
    where an element is still moving; elements still unplaced are bracketed by doubling and finished by
    bisection, so the work is bounded for any parameters.
    """
    arrays = np.broadcast_arrays(np.asarray(u, dtype=float), guess, *params)
    shape = arrays[0].shape
    u, guess, *params = (np.ascontiguousarray(a, dtype=float).ravel() for a in arrays)
    k = np.minimum(np.maximum(guess, 0.0), MAX_COUNT)
    idx = np.flatnonzero(cdf(k, *params) < u)  # below the target: walk up
    for _ in range(MAX_WALK):
        if not idx.size:
            break
        k[idx] += 1
        idx = idx[cdf(k[idx], *[p[idx] for p in params]) < u[idx]]
    unplaced_low = idx
    above = np.ones(k.shape, dtype=bool)
    above[unplaced_low] = False
    idx = np.flatnonzero(above & (k > 0))  # walk down while the previous count already reaches u
    idx = idx[cdf(k[idx] - 1, *[p[idx] for p in params]) >= u[idx]]
    for _ in range(MAX_WALK):
        if not idx.size:
            break
        k[idx] -= 1
        idx = idx[k[idx] > 0]
        idx = idx[cdf(k[idx] - 1, *[p[idx] for p in params]) >= u[idx]]
    for rows, up in ((unplaced_low, True), (idx, False)):
        if rows.size:
            k[rows] = _bisect(cdf, u[rows], k[rows], [p[rows] for p in params], up)
    return k.astype(np.int64).reshape(shape)


def _bisect(cdf, u: np.ndarray, k: np.ndarray, params: list, up: bool) -> np.ndarray:
    """The smallest count reaching ``u``, given ``k``: above it (``up``, ``cdf(k) < u``) or at most it (``cdf(k) >= u``)."""
    if up:  # bracket by doubling: lo < answer <= hi
        lo, step = k.copy(), np.maximum(k, 1.0)
        hi = np.minimum(lo + step, MAX_COUNT)
        short = cdf(hi, *params) < u
        while short.any():  # at most 53 doublings before hi reaches MAX_COUNT
            lo = np.where(short, hi, lo)
            step = np.where(short, 2 * step, step)
            hi = np.where(short, np.minimum(lo + step, MAX_COUNT), hi)
            short = short & (hi < MAX_COUNT) & (cdf(hi, *params) < u)
    else:  # the answer is at most k; the count -1 stands for "below zero"
        lo, hi = np.full_like(k, -1.0), k.copy()
    while (hi - lo > 1).any():  # at most 54 halvings
        mid = np.floor((lo + hi) / 2)
        ok = cdf(np.maximum(mid, 0.0), *params) >= u
        wide = hi - lo > 1
        hi = np.where(wide & ok, mid, hi)
        lo = np.where(wide & ~ok, mid, lo)
    return hi


def _poisson_cdf(k, lam):
    return special.pdtr(k, lam)


def poisson_ppf(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Poisson(``lam``) quantile of ``u`` in [0, 1): exact inverse CDF, integer counts."""
    lam = np.asarray(lam, dtype=float)
    z = special.ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    guess = np.floor(lam + np.sqrt(lam) * z + (z * z - 1) / 6)  # Cornish-Fisher start
    return _invert(_poisson_cdf, u, guess, lam)


def nbinom_ppf(u: np.ndarray, mean: np.ndarray, shape: float) -> np.ndarray:
    """Negative-binomial quantile of ``u`` with the given mean and shape ``k`` (variance mean + mean^2 / k)."""
    mean = np.asarray(mean, dtype=float)
    p = shape / (shape + mean)
    z = special.ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    if shape >= 1:
        sd = np.sqrt(mean + mean * mean / shape)
        guess = np.floor(mean + sd * z)
    else:  # heavy tail: start from the quantile of the gamma-distributed Poisson rate (the normal one is far off)
        guess = np.floor(special.gammaincinv(shape, np.clip(u, 0.0, 1 - 1e-16)) * (mean / shape))
    return _invert(lambda k, p: special.betainc(shape, k + 1, p), u, guess, p)
