"""The vectorised inverse-CDF samplers agree exactly with SciPy's quantile functions."""

import numpy as np
import pytest
from scipy import stats

from shopgym.world.sampling import nbinom_ppf, poisson_ppf


@pytest.mark.parametrize("lam", [0.0, 0.2, 3.0, 40.0, 900.0])
def test_poisson_ppf_is_exact(lam):
    u = np.random.default_rng(1).random(5000)
    np.testing.assert_array_equal(poisson_ppf(u, np.full_like(u, lam)), stats.poisson.ppf(u, lam))


@pytest.mark.parametrize("mean,shape", [(0.5, 0.7), (6.0, 8.0), (50.0, 2.0)])
def test_nbinom_ppf_is_exact(mean, shape):
    u = np.random.default_rng(2).random(5000)
    got = nbinom_ppf(u, np.full_like(u, mean), shape)
    np.testing.assert_array_equal(got, stats.nbinom.ppf(u, shape, shape / (shape + mean)))


def test_mixed_parameters_in_one_batch_match_elementwise():
    rng = np.random.default_rng(3)
    u, lam = rng.random((8, 30)), rng.uniform(0, 30, (8, 30))
    batch = poisson_ppf(u, lam)
    one_by_one = np.array([[poisson_ppf(u[i, j : j + 1], lam[i, j : j + 1])[0] for j in range(30)] for i in range(8)])
    np.testing.assert_array_equal(batch, one_by_one)
