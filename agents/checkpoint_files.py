"""Checkpoint folders that a kill or a corrupt file cannot take away: a checked latest, and the one before it.

A checkpoint is written whole into ``latest.tmp``, its ``manifest.json`` (sha256 of every file) last,
then swapped in: the current ``latest`` becomes ``previous`` and ``latest.tmp`` becomes ``latest``. A
kill at any moment leaves a complete ``latest`` or ``previous``. ``load_newest`` tries ``latest``, then
``previous`` (then ``latest.old``, from runs of older versions); one whose files do not match its
manifest, or that its loader cannot read, is skipped with a warning naming the folder and the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from shopgym.atomic import atomic_write_json
from shopgym.errors import ModelFileError

T = TypeVar("T")
MANIFEST = "manifest.json"
ORDER = ("latest", "previous", "latest.old")  #: checkpoint folders, newest first


def write_manifest(folder: Path) -> None:
    """Write ``folder/manifest.json``: the sha256 of every other file in ``folder`` (write it last)."""
    folder = Path(folder)
    files = {p.name: _digest(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}
    atomic_write_json(folder / MANIFEST, {"sha256": files})


def check_manifest(folder: Path) -> str | None:
    """``None`` when every file of ``folder``'s manifest is there with its digest (or it has no manifest),
    else what is wrong (one line)."""
    path = Path(folder) / MANIFEST
    try:
        files = json.loads(path.read_text())["sha256"]
    except FileNotFoundError:
        return None  # written by an older version (no manifest): its loader checks what it can
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        return f"its manifest.json is unreadable ({e.__class__.__name__})"
    for name, digest in files.items():
        f = Path(folder) / name
        if not f.is_file():
            return f"{name} is missing"
        if _digest(f) != digest:
            return f"{name} does not match its checksum (truncated or corrupt)"
    return None


def swap_in(tmp: Path, latest: Path) -> Path:
    """Make the fully written folder ``tmp`` the new ``latest``; the current ``latest`` becomes ``previous``."""
    previous = latest.with_name("previous")
    if latest.exists():
        shutil.rmtree(previous, ignore_errors=True)
        os.replace(latest, previous)
    os.replace(tmp, latest)
    shutil.rmtree(latest.with_name(latest.name + ".old"), ignore_errors=True)  # left by older versions
    return latest


def newest_good(directory: Path) -> Path | None:
    """The newest checkpoint folder under ``directory`` whose files match its manifest (older ones are
    skipped with a warning), or ``None``."""
    return load_newest(directory, lambda folder: folder)


def candidates(directory: Path) -> list[Path]:
    """The checkpoint folders under ``directory`` that exist, newest first."""
    return [Path(directory) / name for name in ORDER if (Path(directory) / name).is_dir()]


def load_newest(directory: Path, load: Callable[[Path], T], needs_manifest: bool = True) -> T | None:
    """``load`` of the newest good checkpoint under ``directory``; ``None`` when there is none at all.

    A checkpoint that fails its manifest (with ``needs_manifest``) or its loader is skipped with a
    ``UserWarning``; if every one fails, ``ModelFileError`` lists why and names the fix.
    """
    problems = []
    for folder in candidates(directory):
        problem = check_manifest(folder) if needs_manifest else None
        if problem is None:
            try:
                return load(folder)
            except Exception as e:  # noqa: BLE001  (any unreadable file: fall back, and say why)
                problem = f"it cannot be loaded ({e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        problems.append(f"{folder}: {problem}")
        warnings.warn(f"skipping checkpoint {folder}: {problem}; trying an older one.", UserWarning, stacklevel=2)
    if problems:
        raise ModelFileError(f"no readable checkpoint in {directory} ({'; '.join(problems)}); "
                              "start the run again with --overwrite, or restore the folder from a backup.")
    return None


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
