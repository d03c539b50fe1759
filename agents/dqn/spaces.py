"""JSON descriptions of Gymnasium spaces, to save with a model and check on load."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces


def describe(space: spaces.Space) -> dict[str, Any]:
    """A JSON-able description that two equal spaces share."""
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.Box):
        return {"type": "Box", "shape": list(space.shape), "dtype": str(space.dtype),
                "low": np.asarray(space.low, dtype=np.float64).ravel().tolist(),
                "high": np.asarray(space.high, dtype=np.float64).ravel().tolist()}
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": np.asarray(space.nvec).ravel().tolist()}
    return {"type": type(space).__name__, "repr": repr(space)}


def short(desc: dict[str, Any]) -> str:
    """A one-line summary of a description, for error messages."""
    if desc["type"] == "Box":
        return f"Box(shape={tuple(desc['shape'])}, dtype={desc['dtype']})"
    if desc["type"] == "Discrete":
        return f"Discrete({desc['n']}, start={desc['start']})"
    return str({k: v for k, v in desc.items() if k not in ("low", "high")})
