"""A policy's expected profit as a percentage of a known optimum, estimated on paired episodes.

On an exact-reference scenario the optimal expected episode profit ``V*`` (currency) is known, and
the exact optimal policy can be played on the same seeds as the policy under test. Its profit ``O``
then serves as a control variate: ``E[O] = V*`` exactly, so

    100 * (1 + mean(P - O) / V*)

is an unbiased estimate of ``100 * E[P] / V*`` (the quantity a "95% of the optimum" target is about),
and its variance comes from the paired differences ``P - O`` only. The seeds' demand luck, shared by
both policies, cancels, which narrows the 95% interval several-fold against ``100 * mean(P) / V*``
(docs/agents.md shows both for the trained agents on ``quickstart``).
"""

from __future__ import annotations

import numpy as np

from shopgym.stats import mean_ci95


def pct_of_optimum(profit, optimal_profit, reference: float) -> tuple[float, float]:
    """Estimate ``100 * E[profit] / reference`` from episodes paired with the optimal policy's.

    ``profit`` and ``optimal_profit``: episode profits (currency) of the policy and of the exact
    optimal policy on the same seeds, in the same order; ``reference``: the optimal expected episode
    profit (currency). Returns the estimate and the half-width of its 95% t-interval (percentage
    points; ``nan`` with a single episode).
    """
    p = np.asarray(profit, dtype=float)
    o = np.asarray(optimal_profit, dtype=float)
    if p.shape != o.shape or p.ndim != 1 or len(p) == 0:
        raise ValueError(f"pct_of_optimum needs two equally long 1-D sequences of episode profits on the same seeds; "
                         f"got shapes {p.shape} and {o.shape}")
    if not (np.isfinite(p).all() and np.isfinite(o).all()):
        raise ValueError("pct_of_optimum: an episode profit is NaN or infinite (a seed missing for one of the two "
                         "policies?); pass the profits of both policies on exactly the same seeds")
    if not np.isfinite(reference) or reference <= 0:
        raise ValueError(f"pct_of_optimum: the optimal expected profit must be a positive number, got {reference!r}")
    mean, half = mean_ci95(100.0 * (p - o) / reference)
    return 100.0 + mean, half
