"""What a result depends on, as a hash: the resolved scenario's content and settings, canonically.

Every resumable output (tuned parameters, benchmark cells, references, training runs) records the
``content_hash`` of what produced it, so that a re-run after an edit (a scenario file, an override,
a model file behind ``learned:PATH``) is recognised as different and never reuses stale results.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from shopgym.config import Scenario

LEARNED = "learned:"


def numbers_as_floats(value: Any) -> Any:
    """``value`` with numbers in one canonical form, so ``1`` and ``1.0`` hash alike: a float with an
    integral value becomes that int (ints are never rounded through a float, so seeds above 2**53 that
    differ stay different)."""
    if isinstance(value, dict):
        return {str(k): numbers_as_floats(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [numbers_as_floats(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def path_digest(path: str | Path) -> str:
    """sha256 of the files at ``path`` (one file, or every file below a folder with its relative name);
    ``"missing"`` when nothing is there."""
    root = Path(path)
    if not root.exists():
        return "missing"
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(root) if f != root else f.name).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def scenario_content(scenario: Scenario) -> dict[str, Any]:
    """Every value of the resolved scenario that shapes its worlds, as plain JSON-able data.

    Drops ``name`` and ``description`` (labels only); a ``learned:PATH`` demand or response model
    adds the digest of the files at ``PATH``, since the same path may hold another model tomorrow.
    """
    data = scenario.to_dict()
    data.pop("name", None)
    data.pop("description", None)
    models = {}
    for section, key in (("demand", "demand_model"), ("shoppers", "response_model")):
        value = data[section][key]
        if isinstance(value, str) and value.startswith(LEARNED):
            models[key] = path_digest(value[len(LEARNED):])
    if models:
        data["learned_model_files"] = models
    return numbers_as_floats(data)


def canonical_json(obj: Any) -> str:
    """Compact JSON with sorted keys; NaN or infinity is an error (no canonical form)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def content_hash(obj: Any) -> str:
    """sha256 hex digest of ``obj``'s canonical JSON (ints and floats of equal value hash alike)."""
    return hashlib.sha256(canonical_json(numbers_as_floats(obj)).encode()).hexdigest()


def scenario_hash(scenario: Scenario) -> str:
    """``content_hash`` of ``scenario_content(scenario)``: equal for scenarios that build the same worlds."""
    return content_hash(scenario_content(scenario))
