"""Summary statistics shared by the benchmarks, the CLI and the reports: one 95% confidence interval.

Every "mean ± 95% CI" figure shopgym prints or writes comes from ``mean_ci95``, so all of them mean the
same thing: the half-width of a Student-t interval on the mean of independent per-episode values.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from shopgym.errors import DataError


def mean_ci95(values) -> tuple[float, float]:
    """The mean of ``values`` and the half-width of its two-sided 95% Student-t confidence interval.

    ``values``: a 1-D sequence of per-episode numbers (any unit; both results are in that unit).
    The half-width is ``t(0.975, n - 1) * s / sqrt(n)`` with ``s`` the sample standard deviation
    (``ddof=1``). With a single value no spread can be estimated: the half-width is ``nan`` (the mean
    is that value). An empty or non-1-D input is an error.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise DataError(f"mean_ci95 needs a non-empty 1-D sequence of per-episode values, got shape {v.shape}; "
                        "pass one number per episode")
    n = v.size
    if n < 2:
        return float(v[0]), float("nan")
    half = stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / np.sqrt(n)
    return float(v.mean()), float(half)


def format_ci(values, digits: int = 1) -> str:
    """``"mean ± half-width"`` of ``values`` (``mean_ci95``), to ``digits`` decimals, in their unit."""
    mean, half = mean_ci95(values)
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def format_pct_ci(values, reference: float, digits: int = 1) -> str:
    """``format_ci`` as a percentage of ``reference`` (same unit as ``values``; e.g. an exact optimum's value)."""
    mean, half = mean_ci95(values)
    return f"{100 * mean / reference:.{digits}f} ± {100 * half / reference:.{digits}f}"


def share(part: float, whole: float) -> float:
    """``part / whole``, ``nan`` for a zero ``whole`` (a policy that earned nothing has no ratio)."""
    return float(part / whole) if whole != 0 else float("nan")


def ratio_ci(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """``mean(num) / mean(den)`` of paired per-seed values and the half-width of its 95% CI (delta method: the
    Student-t CI of the mean of ``num - ratio x den``, divided by ``|mean(den)|``; ``nan`` with one seed)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    ratio = share(num.mean(), den.mean())
    if len(num) < 2 or not np.isfinite(ratio):
        return ratio, float("nan")
    return ratio, share(mean_ci95(num - ratio * den)[1], abs(den.mean()))
