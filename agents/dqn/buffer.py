"""A numpy ring buffer of n-step transitions, and the per-env accumulator that builds them."""

from __future__ import annotations

import io
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shopgym.atomic import atomic_write_bytes


@dataclass
class Batch:
    """A sampled minibatch. ``discount`` is gamma**k for a k-step return; ``done`` means no bootstrap."""

    obs: np.ndarray
    actions: np.ndarray
    returns: np.ndarray
    next_obs: np.ndarray
    done: np.ndarray
    discount: np.ndarray
    weights: np.ndarray  #: importance-sampling weights (ones without prioritized replay)
    indices: np.ndarray  #: buffer slots, for priority updates


class ReplayBuffer:
    """Fixed-capacity ring of transitions ``(obs, action, n-step return, next obs, done, discount)``.

    Each slot holds a finished n-step transition (see ``NStepAccumulator``), so sampling is uniform
    over slots and needs no look-ahead across episode ends.
    """

    FIELDS = ("obs", "actions", "returns", "next_obs", "done", "discount")

    def __init__(self, capacity: int, obs_shape: tuple[int, ...]):
        self.capacity = int(capacity)
        self.obs = np.zeros((capacity, *obs_shape), dtype=np.float32)
        self.next_obs = np.zeros((capacity, *obs_shape), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.returns = np.zeros(capacity, dtype=np.float32)
        self.done = np.zeros(capacity, dtype=np.float32)
        self.discount = np.zeros(capacity, dtype=np.float32)
        self.pos = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs, action, ret, next_obs, done, discount) -> int:
        """Store one transition, overwriting the oldest when full; returns its slot."""
        i = self.pos
        self.obs[i], self.actions[i], self.returns[i] = obs, action, ret
        self.next_obs[i], self.done[i], self.discount[i] = next_obs, done, discount
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)
        return i

    def sample(self, batch_size: int, rng: np.random.Generator, beta: float = 1.0) -> Batch:
        """A uniform minibatch drawn with ``rng`` (``beta`` is ignored; see the prioritized buffer)."""
        if self.size == 0:
            raise RuntimeError("cannot sample from an empty replay buffer; collect transitions first.")
        idx = rng.integers(0, self.size, size=batch_size)
        return self._batch(idx, np.ones(batch_size, dtype=np.float32))

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        """Uniform replay keeps no priorities."""

    def _batch(self, idx: np.ndarray, weights: np.ndarray) -> Batch:
        return Batch(self.obs[idx], self.actions[idx], self.returns[idx], self.next_obs[idx],
                     self.done[idx], self.discount[idx], weights, idx)

    def state(self) -> dict[str, np.ndarray]:
        """Arrays that restore the buffer exactly (see ``save``)."""
        n = self.size
        out = {k: getattr(self, k)[:n] for k in self.FIELDS}
        out["pos"] = np.array(self.pos)
        return out

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        n = len(state["obs"])
        if n > self.capacity:
            raise ValueError(f"saved replay buffer holds {n} transitions, more than the capacity {self.capacity}.")
        for k in self.FIELDS:
            getattr(self, k)[:n] = state[k]
        self.size, self.pos = n, int(state["pos"])

    def save(self, path: str | Path) -> None:
        """Write the buffer to an ``.npz`` file, whole or not at all."""
        data = io.BytesIO()
        np.savez(data, **self.state())
        atomic_write_bytes(path, data.getvalue())

    def load(self, path: str | Path) -> None:
        with np.load(path) as data:
            self.load_state(dict(data))


class NStepAccumulator:
    """Turns one env's stream of 1-step transitions into n-step transitions.

    ``push`` returns the transitions that are complete: the oldest pending one once ``n`` steps are
    pending, and every pending one when the episode ends. A termination stops bootstrapping; a
    truncation bootstraps from the final observation with the discount of the steps actually summed.
    """

    def __init__(self, n: int, gamma: float):
        self.n, self.gamma = n, gamma
        self.pending: deque = deque()

    def clear(self) -> None:
        self.pending.clear()

    def push(self, obs, action, reward, next_obs, terminated: bool, truncated: bool) -> list[tuple]:
        self.pending.append((obs, action, float(reward)))
        out = []
        if len(self.pending) == self.n:
            out.append(self._emit(next_obs, terminated))
        if terminated or truncated:
            while self.pending:
                out.append(self._emit(next_obs, terminated))
        return out

    def _emit(self, next_obs, terminated: bool) -> tuple:
        ret, disc = 0.0, 1.0
        for _, _, r in self.pending:
            ret += disc * r
            disc *= self.gamma
        obs, action, _ = self.pending.popleft()
        return obs, action, ret, next_obs, float(terminated), disc
