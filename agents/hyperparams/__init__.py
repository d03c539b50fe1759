"""Hyperparameter files (``<algo>.yml``, keyed by env id, RL Zoo style) and the run files written next to a model.

A file maps env ids to sections of hyperparameters. A section ``"<env id>@<scenario>"`` overrides
the env's section key by key for that scenario (``env_kwargs`` and ``policy_kwargs`` merge one level
deeper). Files are parsed with ``yaml.safe_load``: values are data, never evaluated code.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from shopgym.errors import HyperparameterError, did_you_mean

HERE = Path(__file__).parent
MERGED_DEEPER = ("env_kwargs", "policy_kwargs")
VERSIONED = ("shopgym", "numpy", "torch", "gymnasium", "stable-baselines3", "pyyaml")


def hyperparams_path(algo: str) -> Path:
    """The shipped file for ``algo`` (``agents/hyperparams/<algo>.yml``)."""
    return HERE / f"{algo}.yml"


def load_hyperparams(algo: str, env_id: str, scenario: str | None = None, path: str | Path | None = None) -> dict[str, Any]:
    """The section of ``env_id`` (merged with ``env_id@scenario`` when present) from the algo's file.

    Raises ``HyperparameterError`` when the file is not a mapping of mappings or has no section for
    ``env_id``. Keys are checked by the consumer (``check_keys``), which knows what is valid.
    """
    path = Path(path) if path else hyperparams_path(algo)
    if not path.exists():
        raise HyperparameterError(f"no hyperparameter file for algo {algo!r}: {path} does not exist.")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise HyperparameterError(f"{path} is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise HyperparameterError(f"{path} must map env ids to sections of hyperparameters, got {type(data).__name__}.")
    if env_id not in data:
        raise HyperparameterError(
            f"{path} has no section for env {env_id!r}.{did_you_mean(env_id, data)} "
            f"Sections: {', '.join(map(str, data))}. Add one (copy the closest) to train {algo} on it."
        )
    section = _section(data, env_id, path)
    key = f"{env_id}@{scenario}"
    if scenario and key in data:
        for k, v in _section(data, key, path).items():
            if k in MERGED_DEEPER and isinstance(v, dict) and isinstance(section.get(k), dict):
                section[k] = {**section[k], **v}
            else:
                section[k] = v
    return section


def _section(data: dict, key: str, path: Path) -> dict[str, Any]:
    section = data[key]
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise HyperparameterError(f"section {key!r} of {path} must be a mapping of hyperparameters, got {section!r}.")
    return dict(section)


def check_keys(values: dict[str, Any], allowed: Iterable[str], where: str) -> None:
    """Raise ``HyperparameterError`` naming the first key of ``values`` not in ``allowed``."""
    allowed = list(allowed)
    for key in values:
        if key not in allowed:
            raise HyperparameterError(
                f"unknown hyperparameter {key!r} in {where}.{did_you_mean(key, allowed)} "
                f"Valid keys: {', '.join(sorted(allowed))}."
            )


def library_versions() -> dict[str, str]:
    """Python and the installed versions of the libraries a run depends on."""
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_run_files(out: str | Path, config: dict[str, Any], command: list[str] | None = None) -> None:
    """Write ``config.yml`` (the resolved run configuration, seed included) and ``run.json``
    (the command that reproduces the run, the process's ``sys.argv`` and library versions) into ``out``.

    A resumed run appends its command line to ``run.json`` instead of replacing it.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    runs_path = out / "run.json"
    runs = json.loads(runs_path.read_text())["runs"] if runs_path.exists() else []
    runs.append({"command": list(command if command is not None else sys.argv), "argv": list(sys.argv),
                 "seed": config.get("seed"), "versions": library_versions()})
    runs_path.write_text(json.dumps({"runs": runs}, indent=2))


def read_run_config(out: str | Path) -> dict[str, Any] | None:
    """The ``config.yml`` of a run directory, or ``None`` if there is none."""
    path = Path(out) / "config.yml"
    return yaml.safe_load(path.read_text()) if path.exists() else None


IDENTITY_KEYS = ("algo", "env_id", "scenario", "seed", "hyperparams")


def start_run(out: str | Path, config: dict[str, Any], command: list[str] | None = None) -> bool:
    """Prepare run directory ``out`` for ``config``; returns ``True`` when it continues an earlier run.

    An earlier run with a different algo, env, scenario, seed or hyperparameters is an error (pick
    another ``--out``); one with the same identity is resumed (``timesteps`` may grow).
    """
    old = read_run_config(out)
    if old is not None:
        for key in IDENTITY_KEYS:
            if old.get(key) != config.get(key):
                raise HyperparameterError(
                    f"{out} holds a run with {key}={old.get(key)!r}, not {config.get(key)!r}; "
                    "re-run its own command to resume it, or pass another --out."
                )
    write_run_files(out, config, command)
    return old is not None


def env_kwargs_for(env_id: str, scenario: str | None, env_kwargs: dict | None) -> dict[str, Any]:
    """The kwargs of ``gym.make``: the file's ``env_kwargs`` plus ``scenario`` (shopgym envs only)."""
    kwargs = dict(env_kwargs or {})
    if scenario is not None:
        if not env_id.startswith("shopgym/"):
            raise HyperparameterError(f"--scenario applies to shopgym envs only, not {env_id!r}.")
        kwargs["scenario"] = scenario
    return kwargs
