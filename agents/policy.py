"""The ``Policy`` protocol: anything the benchmark can run on an env."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Policy(Protocol):
    """Maps an observation to an action.

    Heuristics, trained agents and exact optima all satisfy it, so the benchmark treats them alike.
    ``reset`` is called at the start of every episode (with the episode's seed, for policies that
    randomise); ``act`` is called once per env step with the observation the env returned.
    """

    name: str

    def reset(self, seed: int | None = None) -> None:
        """Prepare for a new episode."""

    def act(self, obs: np.ndarray) -> Any:
        """The action to take, an element of the env's action space."""
