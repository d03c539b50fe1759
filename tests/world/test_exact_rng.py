"""shopgym/world/exact_rng.py replays numpy's PCG64 generator number for number, in compiled code."""

from __future__ import annotations

import numpy as np
import pytest

from shopgym.world import exact_rng

pytestmark = pytest.mark.skipif(exact_rng.next64 is None, reason="the replay is compiled (numba)")

if exact_rng.next64 is not None:
    import numba

    @numba.njit
    def _draw(st, kind, lam, out):
        for i in range(out.shape[0]):
            if kind == 0:
                out[i] = exact_rng.next_double(st)
            elif kind == 1:
                out[i] = exact_rng.standard_normal(st)
            else:
                out[i] = exact_rng.poisson(st, lam[i % lam.shape[0]])


def test_raw_bits_uniforms_and_normals_are_numpys():
    for seed in (0, 1, 2**40 + 3):
        g = np.random.default_rng(seed)
        st = exact_rng.load_state(g)
        raw = np.array([exact_rng.next64(st) for _ in range(50)], dtype=np.uint64)
        assert np.array_equal(raw, g.bit_generator.random_raw(50))
        u = np.empty(10_000)
        _draw(st, 0, np.zeros(1), u)
        assert np.array_equal(u, g.random(10_000))
        z = np.empty(300_000)  # enough for the ziggurat's wedge and tail branches (~1% and ~0.03% of draws)
        _draw(st, 1, np.zeros(1), z)
        assert np.array_equal(z, g.standard_normal(300_000))
        assert (np.abs(z) > 3.6541528853610088).any()  # the tail branch ran


def test_poisson_is_numpys_for_small_and_large_means():
    lams = np.array([0.0, 0.3, 2.5, 9.99, 10.0, 10.5, 37.0, 480.0, 12_345.6])
    g = np.random.default_rng(5)
    st = exact_rng.load_state(g)
    out = np.empty(90_000)
    _draw(st, 2, lams, out)
    ref = np.array([g.poisson(lams[i % len(lams)]) for i in range(len(out))], dtype=np.float64)
    assert np.array_equal(out, ref)


def test_the_state_goes_back_into_the_generator():
    g, h = np.random.default_rng(9), np.random.default_rng(9)
    st = exact_rng.load_state(g)
    out = np.empty(1001)
    _draw(st, 1, np.zeros(1), out)
    exact_rng.store_state(g, st)
    h.standard_normal(1001)
    assert g.bit_generator.state == h.bit_generator.state
    assert g.random() == h.random()


def test_other_bit_generators_and_buffered_halves_are_refused():
    assert exact_rng.load_state(np.random.Generator(np.random.MT19937(0))) is None
    g = np.random.default_rng(0)
    g.integers(0, 10, dtype=np.int32)  # a 32-bit draw buffers half of a 64-bit word
    assert exact_rng.load_state(g) is None


def test_the_self_check_passes_here_and_fails_on_a_generator_that_draws_differently(monkeypatch):
    assert exact_rng.replays_numpy.__wrapped__(200)
    monkeypatch.setattr(exact_rng, "next_double", lambda st: 0.5)  # as if numpy changed its doubles
    with pytest.warns(RuntimeWarning, match="draws differently.*reference path"):
        assert not exact_rng.replays_numpy.__wrapped__(200)
    monkeypatch.setattr(exact_rng, "next_double", None)  # a kernel that did not compile
    with pytest.warns(RuntimeWarning, match="replay of numpy's generator failed"):
        assert not exact_rng.replays_numpy.__wrapped__(200)


def test_the_ads_env_keeps_the_reference_path_where_the_draws_do_not_replay(monkeypatch):
    import shopgym  # noqa: F401  (registers the envs)
    from shopgym.envs.ads import AdsEnv

    fast = AdsEnv("ads-steady", horizon=1, ticks_per_day=2)
    monkeypatch.setattr(exact_rng, "replays_numpy", lambda: False)
    ref = AdsEnv("ads-steady", horizon=1, ticks_per_day=2)
    assert fast.fast is not None and ref.fast is None
    assert np.array_equal(fast.reset(seed=3)[0], ref.reset(seed=3)[0])
    for level in (2, 5):
        a, b = fast.step(np.full(4, level)), ref.step(np.full(4, level))
        assert np.array_equal(a[0], b[0]) and a[1] == b[1]
