"""Output folders of commands (``--out``): checked before any work, never silently replaced, and each
one records what produced it in ``config.json``.

``prepare_out`` runs before a command simulates or trains anything: an ``--out`` that is an existing
file, or a folder that cannot be created or written, is a one-line ``OutputError`` naming the path
and the fix, so no work is lost after the fact. A folder that already holds the files of an earlier
run is refused unless the caller passes ``overwrite``. ``fresh_out`` names a new timestamped folder
that does not exist yet (the default of ``shopgym run`` and ``shopgym benchmark``).
``run_config`` / ``write_config`` give every command the same ``config.json``: command line, the
resolved scenarios with their ``scenario_hash``, the command's settings and the library versions.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from shopgym.atomic import atomic_write_text
from shopgym.config import Scenario
from shopgym.content import scenario_hash
from shopgym.errors import OutputError

#: Libraries whose versions ``config.json`` records (those imported by the time it is written).
LIBRARIES = ("shopgym", "numpy", "pandas", "gymnasium", "scipy", "numba", "torch", "stable_baselines3")


def fresh_out(prefix: str, root: str | Path = "runs") -> Path:
    """A folder ``root/prefix-YYYYmmdd-HHMMSS`` that does not exist yet (``-2``, ``-3``, ... appended when
    a run started in the same second already took the name)."""
    base = Path(root) / f"{prefix}-{datetime.now():%Y%m%d-%H%M%S}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def prepare_out(out: str | Path, earlier: Iterable[str] = (), overwrite: bool = False,
                option: str = "--out") -> Path:
    """Create ``out`` if needed and check that files can be written in it; returns it as a ``Path``.

    ``earlier`` names the files a previous run of the command leaves there: if any exists, the folder
    holds an earlier run and is refused unless ``overwrite`` (then the caller replaces those files).
    Raises ``OutputError`` (one line: the path, what is wrong, the fix) for an existing file, a folder
    that cannot be created or written, or an earlier run.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{option} {out} is an existing file, not a folder; pass a folder path (new or existing).")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{option} {out}: cannot create the folder ({exc.strerror or exc}); "
                          f"pass a folder path under a writable folder.") from None
    try:
        fd, probe = tempfile.mkstemp(dir=out, prefix=".write-check.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{option} {out}: cannot write in this folder ({exc.strerror or exc}); "
                          f"make it writable or pass another {option}.") from None
    found = [name for name in earlier if (out / name).exists()]
    if found and not overwrite:
        raise OutputError(f"{option} {out} already holds an earlier run ({', '.join(found)}); pass --overwrite to "
                          f"replace it, or a new {option} (or none, for a fresh timestamped folder).")
    return out


def library_versions() -> dict[str, str]:
    """The versions of the ``LIBRARIES`` imported so far (others are not imported just to ask)."""
    return {m: str(getattr(sys.modules[m], "__version__", "?")) for m in LIBRARIES if m in sys.modules}


def run_config(command: str, scenarios: dict[str, Scenario], **settings: Any) -> dict[str, Any]:
    """What a command's results depend on: its command line, each resolved scenario (every value after
    overrides) with its ``scenario_hash``, the command's ``settings`` (policy, seeds, ...), the Python and
    library versions."""
    return {
        "command": command,
        "scenarios": {name: sc.to_dict() for name, sc in scenarios.items()},
        "scenario_hashes": {name: scenario_hash(sc) for name, sc in scenarios.items()},
        **settings,
        "python": platform.python_version(),
        "versions": library_versions(),
    }


def write_config(out: str | Path, config: dict[str, Any]) -> Path:
    """Write ``config`` to ``out/config.json`` atomically (values JSON cannot hold are written as text)."""
    return atomic_write_text(Path(out) / "config.json", json.dumps(config, indent=2, default=str) + "\n")
