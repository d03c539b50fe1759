"""Proportional prioritized replay (Schaul et al. 2016) over a vectorised numpy sum tree."""

from __future__ import annotations

import numpy as np

from agents.dqn.buffer import Batch, ReplayBuffer


class SumTree:
    """Binary tree of non-negative priorities; every node holds the sum of its leaves.

    ``update`` and ``find`` are vectorised over a batch of leaves, level by level (log2 capacity
    numpy operations, no per-item Python loop).
    """

    def __init__(self, capacity: int):
        self.n_leaves = 1 << max(0, int(capacity - 1).bit_length())
        self.tree = np.zeros(2 * self.n_leaves, dtype=np.float64)

    @property
    def total(self) -> float:
        return float(self.tree[1])

    def update(self, leaves: np.ndarray, priorities: np.ndarray) -> None:
        """Set the priorities of ``leaves`` (the last write wins on duplicates) and refresh their sums."""
        nodes = np.asarray(leaves, dtype=np.int64) + self.n_leaves
        self.tree[nodes] = priorities
        nodes = np.unique(nodes // 2)
        while nodes[0] >= 1:
            self.tree[nodes] = self.tree[2 * nodes] + self.tree[2 * nodes + 1]
            if nodes[0] == 1:
                break
            nodes = np.unique(nodes // 2)

    def find(self, values: np.ndarray) -> np.ndarray:
        """The leaf whose cumulative-priority interval holds each value in ``[0, total)``."""
        nodes = np.ones(len(values), dtype=np.int64)
        values = np.array(values, dtype=np.float64)
        while nodes[0] < self.n_leaves:
            left = 2 * nodes
            go_right = values >= self.tree[left]
            values = np.where(go_right, values - self.tree[left], values)
            nodes = np.where(go_right, left + 1, left)
        return nodes - self.n_leaves


class PrioritizedReplayBuffer(ReplayBuffer):
    """Samples slot ``i`` with probability ``p_i**alpha / sum_j p_j**alpha``; ``p_i`` = |TD error| + eps.

    New transitions get the largest priority seen so far. ``sample`` returns importance-sampling
    weights ``(N P(i))**-beta`` normalised by their maximum.
    """

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], alpha: float = 0.6, eps: float = 1e-6):
        super().__init__(capacity, obs_shape)
        self.alpha, self.eps = alpha, eps
        self.tree = SumTree(capacity)
        self.max_priority = 1.0

    def add(self, *transition) -> int:
        i = super().add(*transition)
        self.tree.update(np.array([i]), np.array([self.max_priority**self.alpha]))
        return i

    def sample(self, batch_size: int, rng: np.random.Generator, beta: float = 1.0) -> Batch:
        if self.size == 0:
            raise RuntimeError("cannot sample from an empty replay buffer; collect transitions first.")
        total = self.tree.total
        bounds = np.linspace(0.0, total, batch_size + 1)  # stratified: one draw per segment
        values = rng.uniform(bounds[:-1], bounds[1:])
        idx = np.minimum(self.tree.find(np.minimum(values, np.nextafter(total, 0))), self.size - 1)
        probs = self.tree.tree[idx + self.tree.n_leaves] / total
        weights = (self.size * np.maximum(probs, 1e-12)) ** (-beta)
        return self._batch(idx, (weights / weights.max()).astype(np.float32))

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        prio = np.abs(td_errors) + self.eps
        self.max_priority = max(self.max_priority, float(prio.max()))
        self.tree.update(indices, prio**self.alpha)

    def state(self) -> dict[str, np.ndarray]:
        out = super().state()
        out["priorities"] = self.tree.tree[self.tree.n_leaves : self.tree.n_leaves + self.size].copy()
        out["max_priority"] = np.array(self.max_priority)
        return out

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        super().load_state(state)
        self.tree.update(np.arange(self.size), state["priorities"])
        self.max_priority = float(state["max_priority"])
