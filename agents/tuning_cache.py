"""A disk cache of tuned heuristic parameters, so ``make_policy("sS", env)`` tunes once per scenario.

An entry is one JSON file ``<key>.json`` in ``cache_dir()`` (``shopgym cache`` prints the folder and
lists the entries). The key is the sha256 of a canonical JSON of everything the result depends on:
the scenario's content (every value after overrides, not its name, description or file path; for a
``learned:PATH`` model also the bytes of the files there), the policy name, the tuning seeds, the
grid, the search method and ``CACHE_FORMAT``, so a changed scenario, grid or method is never reused.
Entries are written atomically (a temporary file in the same folder, then ``os.replace``); one that
is unreadable, partial or does not match its key is ignored, and the caller tunes again. Entries are
plain JSON: loading one never runs code.
"""

from __future__ import annotations

import json
import math
import os
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from shopgym.atomic import atomic_write_json
from shopgym.config import Scenario
from shopgym.content import content_hash, scenario_content

#: Bump when the tuning method or the simulation it scores changes: old entries are then never read.
CACHE_FORMAT = 2  # 2: numbers canonicalised as ints where integral (content.numbers_as_floats)
ENV_VAR = "SHOPGYM_CACHE_DIR"  #: overrides the cache root (the tuning entries go to its ``tuning/`` folder)


def cache_root() -> Path:
    """The shopgym user cache folder: ``$SHOPGYM_CACHE_DIR``, else the platform's user cache dir + ``shopgym``.

    Linux and others: ``$XDG_CACHE_HOME/shopgym`` or ``~/.cache/shopgym``; macOS
    ``~/Library/Caches/shopgym``; Windows ``%LOCALAPPDATA%\\shopgym\\Cache``.
    """
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser().resolve()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "shopgym" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "shopgym"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "shopgym"


def cache_dir() -> Path:
    """The folder of tuned-parameter entries (``cache_root() / "tuning"``); it may not exist yet."""
    return cache_root() / "tuning"


def cache_key(scenario: Scenario, policy: str, seeds: list[int], grid: dict[str, list[float]], method: str) -> str:
    """The sha256 hex digest naming the entry of ``policy`` tuned on ``scenario`` with these seeds and grid."""
    payload = {"format": CACHE_FORMAT, "scenario": scenario_content(scenario), "policy": policy,
               "seeds": [int(s) for s in seeds], "grid": grid, "method": method}
    return content_hash(payload)


def entry_path(key: str) -> Path:
    """Where the entry of ``key`` lives."""
    return cache_dir() / f"{key}.json"


def read_params(key: str, names: list[str]) -> dict[str, float] | None:
    """The cached parameters of ``key``, or ``None`` if there is no valid entry.

    An entry is valid when it parses, carries this ``CACHE_FORMAT`` and ``key``, and its ``params``
    are exactly ``names`` with finite numbers; anything else (empty, truncated, edited) is ignored.
    """
    try:
        entry = json.loads(entry_path(key).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT or entry.get("key") != key:
        return None
    params = entry.get("params")
    if not isinstance(params, dict) or sorted(params) != sorted(names):
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in params.values()):
        return None
    return {k: float(params[k]) for k in names}


def write_params(key: str, params: dict[str, float], info: dict[str, Any]) -> Path | None:
    """Store ``params`` under ``key`` atomically; returns the entry's path, or ``None`` (with a warning)
    if the folder cannot be written: the cache only saves time, so that is never an error.

    ``info`` (policy, scenario name, seeds, seconds, ...) is kept in the entry for ``shopgym cache``.
    """
    path = entry_path(key)
    entry = {"format": CACHE_FORMAT, "key": key, "params": params, **info,
             "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        atomic_write_json(path, entry)
    except OSError as exc:
        warnings.warn(f"could not cache tuned parameters in {path.parent} ({exc}); they will be tuned again "
                      f"next time. Set {ENV_VAR} to a writable folder to keep them.", stacklevel=2)
        return None
    return path


def list_entries() -> list[dict[str, Any]]:
    """The readable entries of ``cache_dir()``, oldest first (``path`` added; unreadable files skipped)."""
    entries = []
    folder = cache_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(entry, dict):
            entries.append({**entry, "path": str(path)})
    return sorted(entries, key=lambda e: str(e.get("created", "")))


def clear() -> int:
    """Delete every entry (and leftover temporary file) in ``cache_dir()``; returns how many files went."""
    folder = cache_dir()
    if not folder.is_dir():
        return 0
    gone = 0
    for path in [*folder.glob("*.json"), *folder.glob(".*.tmp")]:
        path.unlink(missing_ok=True)
        gone += 1
    return gone
