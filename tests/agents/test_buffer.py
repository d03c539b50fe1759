"""Replay buffers and the n-step accumulator."""

import numpy as np
import pytest

from agents.dqn.buffer import NStepAccumulator, ReplayBuffer
from agents.dqn.prioritized import PrioritizedReplayBuffer, SumTree


def test_nstep_returns_and_flush_on_truncation():
    acc = NStepAccumulator(n=2, gamma=0.5)
    assert acc.push(0, 0, 1.0, 1, False, False) == []
    (t,) = acc.push(1, 1, 2.0, 2, False, False)
    assert t[0] == 0 and t[2] == pytest.approx(1 + 0.5 * 2) and t[3] == 2 and t[4] == 0.0 and t[5] == 0.25
    out = acc.push(2, 0, 4.0, 3, False, True)  # truncated: bootstrap from obs 3, shorter discount for the last
    assert [(o, r, nxt, d, disc) for o, _, r, nxt, d, disc in out] == [(1, 2 + 0.5 * 4, 3, 0.0, 0.25), (2, 4.0, 3, 0.0, 0.5)]
    assert acc.pending == type(acc.pending)()


def test_nstep_termination_stops_bootstrap():
    acc = NStepAccumulator(n=3, gamma=0.9)
    acc.push(0, 0, 1.0, 1, False, False)
    out = acc.push(1, 0, 1.0, 2, True, False)
    assert [t[4] for t in out] == [1.0, 1.0] and out[0][2] == pytest.approx(1.9)


def test_ring_buffer_wraps_and_round_trips(tmp_path):
    buf = ReplayBuffer(4, (2,))
    for i in range(6):
        buf.add(np.full(2, i), i % 3, float(i), np.full(2, i + 1), 0.0, 0.99)
    assert len(buf) == 4 and sorted(buf.returns.tolist()) == [2.0, 3.0, 4.0, 5.0]
    buf.save(tmp_path / "b.npz")
    other = ReplayBuffer(4, (2,))
    other.load(tmp_path / "b.npz")
    np.testing.assert_array_equal(other.obs, buf.obs)
    assert other.pos == buf.pos


def test_sum_tree_samples_in_proportion():
    tree = SumTree(5)
    tree.update(np.arange(5), np.array([1.0, 0.0, 3.0, 0.0, 6.0]))
    assert tree.total == pytest.approx(10.0)
    rng = np.random.default_rng(0)
    counts = np.bincount(tree.find(rng.uniform(0, tree.total, 20_000)), minlength=5) / 20_000
    np.testing.assert_allclose(counts, [0.1, 0, 0.3, 0, 0.6], atol=0.015)


def test_prioritized_buffer_prefers_large_td_errors():
    buf = PrioritizedReplayBuffer(8, (1,), alpha=1.0)
    for i in range(8):
        buf.add(np.array([i]), 0, 0.0, np.array([i]), 0.0, 1.0)
    buf.update_priorities(np.arange(8), np.array([0, 0, 0, 0, 0, 0, 0, 10.0]))
    batch = buf.sample(64, np.random.default_rng(0), beta=1.0)
    assert (batch.indices == 7).mean() > 0.9
    assert batch.weights.max() == pytest.approx(1.0)
