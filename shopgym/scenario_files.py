"""Where scenarios are and how a file is read: the shipped names, a name or path resolved, a TOML file parsed.

``shopgym.config.load_scenario`` resolves a name or path here (``scenario_path``), reads it (``read_scenario_file``)
and validates the dict it gets. A missing file, an unknown name (with the closest shipped name), text that is not
UTF-8 and invalid TOML each raise an error naming the file and the fix.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Any

from shopgym.errors import ScenarioError, UnknownScenarioError, did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def scenario_names() -> list[str]:
    """Names of the scenario files shipped in the ``scenarios`` package."""
    root = resources.files("scenarios")
    return sorted(p.name[: -len(".toml")] for p in root.iterdir() if p.name.endswith(".toml"))


def scenario_path(name_or_path: str | Path) -> Path:
    """Resolve a shipped scenario name or a path to a ``.toml`` file."""
    text = str(name_or_path)
    candidate = Path(text)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise UnknownScenarioError(f"Scenario file {text!r} does not exist.")
        return candidate
    names = scenario_names()
    if text not in names:
        raise UnknownScenarioError(
            f"Unknown scenario {text!r}.{did_you_mean(text, names)} "
            f"Shipped scenarios: {', '.join(names)}; or pass a path to a .toml file."
        )
    return Path(str(resources.files("scenarios") / f"{text}.toml"))


def read_scenario_file(path: Path) -> dict[str, Any]:
    """The nested dict of the TOML file at ``path`` (UTF-8, a byte-order mark allowed), not yet validated."""
    try:
        text = path.read_bytes().decode("utf-8-sig")  # TOML is UTF-8; a byte-order mark is allowed
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{path}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start:exc.start + 1]!r}); TOML files "
            "must be UTF-8: re-save the file as UTF-8 in your editor, or convert it (iconv -t UTF-8)."
        ) from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror or exc}); check the path and its permissions.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from exc
    return data
