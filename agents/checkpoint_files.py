"""Replace a checkpoint folder so that a kill at any moment leaves a complete one behind."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def swap_in(tmp: Path, latest: Path) -> Path:
    """Make the fully written folder ``tmp`` the new ``latest``.

    The previous ``latest`` is first renamed to ``latest.old`` (a kill between the two renames leaves
    ``latest.old``, which the loaders fall back to), then removed.
    """
    old = latest.with_name(latest.name + ".old")
    if latest.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(latest, old)
    os.replace(tmp, latest)
    shutil.rmtree(old, ignore_errors=True)
    return latest
