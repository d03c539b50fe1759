"""``shopgym.stats.mean_ci95``: the one 95% confidence interval of the project, on hand-computed values."""

import math

import numpy as np
import pytest

from shopgym.errors import DataError
from shopgym.stats import mean_ci95


def test_hand_computed_intervals():
    # two values a, b: s = |a - b| / sqrt(2), so the half-width is t(0.975, 1) x |a - b| / 2 = 12.7062 x 1
    assert mean_ci95([5.0, 7.0]) == pytest.approx((6.0, 12.7062047), abs=1e-6)
    # 1, 2, 3, 4: mean 2.5, s = sqrt(5 / 3) = 1.2909944, t(0.975, 3) = 3.1824463, half = 3.1824463 x 1.2909944 / 2
    assert mean_ci95([1, 2, 3, 4]) == pytest.approx((2.5, 2.0542603), abs=1e-6)
    assert mean_ci95(np.full(7, 3.25)) == (3.25, 0.0)  # no spread, no interval


def test_the_interval_shrinks_like_one_over_root_n_and_covers_the_mean():
    rng = np.random.default_rng(0)
    halves = {n: mean_ci95(rng.normal(10.0, 2.0, size=n))[1] for n in (100, 10_000)}
    assert halves[10_000] == pytest.approx(halves[100] / 10, rel=0.2)
    covered = [abs(m - 10.0) <= h for m, h in (mean_ci95(rng.normal(10.0, 2.0, size=8)) for _ in range(2000))]
    assert 0.93 < np.mean(covered) < 0.97  # a 95% interval


def test_one_value_has_a_nan_half_width_and_no_values_are_refused():
    mean, half = mean_ci95([4.5])
    assert mean == 4.5 and math.isnan(half)
    for bad in ([], [[1.0, 2.0], [3.0, 4.0]]):
        with pytest.raises(DataError, match="non-empty 1-D"):
            mean_ci95(bad)
