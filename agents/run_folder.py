"""What a training run owns in its ``--out`` folder, so that ``--overwrite`` replaces the run and nothing else.

A folder holds a run when its ``config.yml`` is a run's: a YAML mapping with the keys ``algo`` and ``env_id``
(what ``shopgym train`` and ``python -m agents.slateq`` write). Replacing a run deletes only the files and
folders a run writes (``RUN_FILES``, ``RUN_FOLDERS``, the ``evaluation_*.json`` of ``shopgym evaluate`` and the
temporary files an interrupted atomic write may leave of them); anything else in the folder stays. A folder whose
``config.yml`` is not a run's is refused: training there would write over that file.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from shopgym.errors import OutputError

#: Files a run writes in its folder: SB3 (``agents.sb3``: config.yml, run.json, model.zip, vecnormalize.pkl), our
#: DQN and the per-SKU DQN (config.yml, run.json), SlateQ (``agents.slateq``: config.yml, model.pt, slateq.json).
RUN_FILES = ("config.yml", "run.json", "model.zip", "vecnormalize.pkl", "model.pt", "slateq.json")
#: Folders a run writes: checkpoints, the best model, evaluations and logs during training, our DQN's ``model/``.
RUN_FOLDERS = ("checkpoints", "best", "eval", "logs", "model")
#: Results of ``shopgym evaluate`` on the run's model (``evaluation_<scenario>.json``).
EVALUATIONS = "evaluation_*.json"
#: The keys that make a ``config.yml`` a run's.
RUN_KEYS = ("algo", "env_id")


def run_config(out: str | Path) -> dict[str, Any] | None:
    """The run configuration in ``out/config.yml``, or ``None`` when there is none or it is not a run's (not
    readable YAML, not a mapping, or without ``RUN_KEYS``)."""
    path = Path(out) / "config.yml"
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return cfg if isinstance(cfg, dict) and set(RUN_KEYS) <= set(cfg) else None


def refuse_foreign_config(out: str | Path, option: str = "--out") -> None:
    """``OutputError`` when ``out`` holds a ``config.yml`` that is not a run's (``run_config``): a run would
    write over it, and ``--overwrite`` replaces only a run's files."""
    out = Path(out)
    if (out / "config.yml").exists() and run_config(out) is None:
        raise OutputError(f"{option} {out} holds a config.yml that is not a training run's (a YAML mapping with "
                          f"{' and '.join(RUN_KEYS)}), so it is not a run folder and a run would write over that file; "
                          f"pass another {option} (--overwrite replaces only a run's own files).")


def run_entries(out: str | Path, files: tuple[str, ...] = RUN_FILES,
                folders: tuple[str, ...] = RUN_FOLDERS) -> list[Path]:
    """The entries of ``out`` that belong to a run: ``files``, ``folders``, ``evaluation_*.json`` and the
    temporary files (``.NAME.*.tmp``) an interrupted atomic write of one of them leaves."""
    out = Path(out)
    if not out.is_dir():
        return []
    found = [out / name for name in (*files, *folders) if (out / name).exists() or (out / name).is_symlink()]
    found += sorted(out.glob(EVALUATIONS))
    for name in files:
        found += sorted(out.glob(f".{name}.*.tmp"))
    return found


def remove_run(out: str | Path, files: tuple[str, ...] = RUN_FILES, folders: tuple[str, ...] = RUN_FOLDERS) -> list[str]:
    """Delete the entries of a run in ``out`` (``run_entries``) and leave everything else; returns their names."""
    removed = []
    for path in run_entries(out, files, folders):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        removed.append(path.name)
    return removed
