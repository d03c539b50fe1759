"""Hyperparameter files (``<algo>.yml``, keyed by env id, in RL Zoo 3's format) and the run files written next to a model.

A file maps env ids to sections. A section holds only what RL Zoo 3 reads (``n_timesteps``,
``policy``, ``n_envs``, ``normalize``, ``env_kwargs``, ``policy_kwargs``, ...) and the algorithm's
constructor arguments, so ``python -m rl_zoo3.train --algo ppo --env shopgym/Restock-v0
--gym-packages shopgym --conf-file agents/hyperparams/ppo.yml`` builds the model ``shopgym train
--algo ppo`` builds (same class, policy and arguments: ``tests/agents/test_rl_zoo.py``), though it
trains without our options below and on copies of the env rather than its native vector version. Options that only ``shopgym train`` reads (evaluation and model
selection, checkpoints, reward centering, target variants: ``OWN_KEYS``) sit under the top-level key
``shopgym``, keyed the same way; RL Zoo looks up only the env id it trains, so it never sees them::

    shopgym/Restock-v0:            # RL Zoo and shopgym train
      n_timesteps: 200000
      policy_kwargs: "dict(net_arch=[128, 128], activation_fn=nn.Tanh)"
    shopgym:                       # shopgym train only
      shopgym/Restock-v0: {n_eval_episodes: 10, select: best}

A section ``"<env id>@<scenario>"`` (top level, or under ``shopgym`` for options) overrides the env's
section key by key for that scenario; RL Zoo ignores it. Merge order: env section, its options,
scenario section, its options; ``env_kwargs``, ``policy_kwargs`` and ``normalize`` merge one level
deeper. Older files with our options inside the env sections still load here (not in RL Zoo).

Files are parsed with ``yaml.safe_load``. RL Zoo ``eval``s text values of ``policy_kwargs``,
``replay_buffer_kwargs`` and ``normalize`` (the only way to name ``nn.Tanh`` in YAML); we read that
text with ``ast`` (``agents.hyperparams.zoo_text``), so values stay data, never executed code. Numbers
(``n_timesteps``, SlateQ's hyperparameters) go through ``agents.hyperparams.numbers``: PyYAML reads ``1e4`` as
text, which is taken as the number it means; other text is refused with one line naming the key and the fix.
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

from agents.hyperparams.numbers import number, step_count  # noqa: F401  (one number parser for all algos)
from agents.hyperparams.zoo_text import parse_kwargs_text
from agents.run_folder import refuse_foreign_config, remove_run, run_config
from shopgym.atomic import atomic_write_text
from shopgym.errors import HyperparameterError, OutputError, did_you_mean

HERE = Path(__file__).parent
OPTIONS = "shopgym"  #: top-level key of the options RL Zoo does not read
#: Keys the ``shopgym`` block may hold: options of ``shopgym train`` that RL Zoo would pass to the
#: algorithm's constructor (a ``TypeError`` there); ``normalize`` only with ``center_reward``.
OWN_KEYS = ("eval_freq", "checkpoint_freq", "n_eval_episodes", "select", "freeze_normalize_after", "double_q",
            "advantage_learning", "normalize")
OWN_NORMALIZE_KEYS = ("center_reward",)
MERGED_DEEPER = ("env_kwargs", "policy_kwargs", "normalize")
TEXT_KWARGS = ("policy_kwargs", "replay_buffer_kwargs", "normalize")  #: RL Zoo evals these when text
VERSIONED = ("shopgym", "numpy", "torch", "gymnasium", "stable-baselines3", "pyyaml")


def hyperparams_path(algo: str) -> Path:
    """The shipped file for ``algo`` (``agents/hyperparams/<algo>.yml``)."""
    return HERE / f"{algo}.yml"


def load_hyperparams(algo: str, env_id: str, scenario: str | None = None, path: str | Path | None = None) -> dict[str, Any]:
    """The section of ``env_id`` from the algo's file, merged with its ``shopgym`` options and with the
    ``env_id@scenario`` sections when present (see the module docstring for the order).

    Raises ``HyperparameterError`` when the file is not a mapping of mappings, has no section for
    ``env_id``, or its ``shopgym`` block holds a key RL Zoo reads or names no section. Other keys are
    checked by the consumer (``check_keys``), which knows what is valid.
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
    options = _options(data, path)
    sections = [k for k in data if k != OPTIONS]
    if env_id not in sections:
        raise HyperparameterError(
            f"{path} has no section for env {env_id!r}.{did_you_mean(env_id, sections)} "
            f"Sections: {', '.join(map(str, sections))}. Add one (copy the closest) to train {algo} on it."
        )
    section: dict[str, Any] = {}
    for key in (env_id, f"{env_id}@{scenario}" if scenario else None):
        for source, where in ((data, str(path)), (options, f"the {OPTIONS!r} block of {path}")):
            if key is not None and key in source:
                _merge(section, _section(source, key, where))
    return section


def _options(data: dict, path: Path) -> dict[str, Any]:
    """The ``shopgym`` block of a file, checked: a mapping of sections that only hold ``OWN_KEYS``."""
    options = data.get(OPTIONS) or {}
    where = f"the {OPTIONS!r} block of {path}"
    if not isinstance(options, dict):
        raise HyperparameterError(f"{where} must map env ids to options, got {options!r}.")
    envs = [k for k in data if k != OPTIONS]
    for key in options:
        env = str(key).split("@")[0]
        if env not in envs:
            raise HyperparameterError(f"{where} has options for {key!r}, but the file has no section for env "
                                      f"{env!r}.{did_you_mean(env, envs)} Options apply to a section of the same file.")
        section = _section(options, key, where)
        for name, value in section.items():
            if name not in OWN_KEYS:
                raise HyperparameterError(
                    f"{name!r} under {key!r} in {where}: RL Zoo reads that key, so it belongs in the {key!r} "
                    f"section itself; the {OPTIONS!r} block holds only {', '.join(OWN_KEYS)}."
                )
            if name == "normalize" and not (isinstance(value, dict) and set(value) <= set(OWN_NORMALIZE_KEYS)):
                raise HyperparameterError(
                    f"normalize={value!r} under {key!r} in {where}: only {', '.join(OWN_NORMALIZE_KEYS)} goes here; "
                    f"put VecNormalize arguments in the {key!r} section's normalize."
                )
    return options


def _merge(section: dict[str, Any], update: dict[str, Any]) -> None:
    """Override ``section`` with ``update`` key by key; ``MERGED_DEEPER`` mappings merge one level deeper."""
    for k, v in update.items():
        if k in MERGED_DEEPER and isinstance(v, dict) and isinstance(section.get(k), dict):
            section[k] = {**section[k], **v}
        else:
            section[k] = v


def _section(data: dict, key: str, where: str | Path) -> dict[str, Any]:
    """Section ``key`` of ``data`` as a new dict, with RL Zoo's text values of ``TEXT_KWARGS`` read as mappings."""
    section = data[key]
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise HyperparameterError(f"section {key!r} of {where} must be a mapping of hyperparameters, got {section!r}.")
    section = dict(section)
    for name in TEXT_KWARGS:
        if isinstance(section.get(name), str):
            section[name] = parse_kwargs_text(section[name], name, f"section {key!r} of {where}")
    return section


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
    atomic_write_text(out / "config.yml", yaml.safe_dump(config, sort_keys=False))
    runs_path = out / "run.json"
    runs = []
    if runs_path.exists():
        try:
            runs = list(json.loads(runs_path.read_text())["runs"])
        except (ValueError, KeyError, TypeError) as exc:
            raise HyperparameterError(f"{runs_path} is not a run.json written by shopgym train ({exc}); repair or "
                                      "delete it (it only lists the commands of earlier segments), or pass --overwrite.") from None
    runs.append({"command": list(command if command is not None else sys.argv), "argv": list(sys.argv),
                 "seed": config.get("seed"), "versions": library_versions()})
    atomic_write_text(runs_path, json.dumps({"runs": runs}, indent=2))


def read_run_config(out: str | Path) -> dict[str, Any] | None:
    """The ``config.yml`` of a run directory, or ``None`` if there is none.

    An unreadable, empty or malformed file (not YAML, not a mapping, no ``algo`` and ``env_id``) raises
    ``HyperparameterError`` naming it and the fix.
    """
    path = Path(out) / "config.yml"
    if not path.exists():
        return None
    fix = "re-run the run's training command (run.json holds it) with a fresh --out, or restore the file."
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as e:
        raise HyperparameterError(f"{str(path)!r} is not readable YAML ({type(e).__name__}: "
                                  f"{' '.join(str(e).split())[:160]}); {fix}") from e
    if not isinstance(cfg, dict) or not {"algo", "env_id"} <= set(cfg):
        what = "empty" if cfg is None else "not a run configuration (no 'algo' and 'env_id' keys)"
        raise HyperparameterError(f"{str(path)!r} is {what}; {fix}")
    return cfg


#: What a run's result depends on: a resumed run must match on all of them (``timesteps`` may grow).
IDENTITY_KEYS = ("algo", "env_id", "scenario", "scenario_hash", "env_kwargs", "seed", "hyperparams", "policy", "n_envs",
                 "normalize", "freeze_normalize_after", "double_q", "advantage_learning", "n_eval_episodes", "select")
#: Env kwargs of shopgym envs that are not scenario keys (the others override the scenario by name).
ENV_ARGS = ("scenario", "continuous", "render_mode", "stock_shaping",
            "levels", "max_scale", "extra_obs", "expected_reward")  # the last four: shopgym/AdsResidual-v0's


def scenario_hash_for(env_id: str, env_kwargs: dict[str, Any]) -> str | None:
    """``shopgym.content.scenario_hash`` of the fully resolved scenario a shopgym env is made with (the
    scenario file's content and every override in ``env_kwargs``); ``None`` for other envs.

    Loading the scenario also validates it, so a bad one fails before a run directory is written.
    """
    if not env_id.startswith("shopgym/"):
        return None
    from shopgym.config import load_scenario
    from shopgym.content import scenario_hash

    keys = {k: v for k, v in env_kwargs.items() if k not in ENV_ARGS}
    return scenario_hash(load_scenario(env_kwargs.get("scenario") or "quickstart", **keys))


def start_run(out: str | Path, config: dict[str, Any], command: list[str] | None = None,
              overwrite: bool = False) -> bool:
    """Prepare run directory ``out`` for ``config``; returns ``True`` when it continues an earlier run.

    An earlier run that differs in any of ``IDENTITY_KEYS`` (the scenario's content hash included: an
    edited scenario file is a different run) raises ``OutputError`` naming what changed; ``overwrite``
    deletes the earlier run first: only the files and folders a run writes (``agents.run_folder.remove_run``),
    and only when ``config.yml`` is a run's (``algo`` and ``env_id``; another ``config.yml`` is refused with
    ``OutputError``). One with the same identity is resumed (``timesteps`` may grow).
    """
    out = Path(out)
    if overwrite:
        refuse_foreign_config(out)
        if run_config(out) is not None:
            remove_run(out)
    old = read_run_config(out)
    if old is not None:
        for key in IDENTITY_KEYS:
            if old.get(key) != config.get(key):
                raise OutputError(f"{out} holds a run with {_what_changed(key, old.get(key), config.get(key))}; "
                                  "pass --overwrite to start it again, or another --out.")
    write_run_files(out, config, command)
    return old is not None


def _what_changed(key: str, old: Any, new: Any) -> str:
    """One line naming how ``key`` of an earlier run differs from this one."""
    if key == "scenario_hash":
        if old is None:
            return "no scenario hash (written by an older shopgym), so its scenario content is unknown"
        return (f"other scenario content (scenario_hash {str(old)[:12]}, now {str(new)[:12]}: the scenario "
                "file or an override changed since)")
    if isinstance(old, dict) and isinstance(new, dict):
        diff = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
        return f"other {key} ({', '.join(f'{k}={old.get(k)!r}, now {new.get(k)!r}' for k in diff)})"
    return f"{key}={old!r}, not {new!r}"


def env_kwargs_for(env_id: str, scenario: str | None, env_kwargs: dict | None) -> dict[str, Any]:
    """The kwargs of ``gym.make``: the file's ``env_kwargs`` plus ``scenario`` (shopgym envs only)."""
    kwargs = dict(env_kwargs or {})
    if scenario is not None:
        if not env_id.startswith("shopgym/"):
            raise HyperparameterError(f"--scenario applies to shopgym envs only, not {env_id!r}.")
        kwargs["scenario"] = scenario
    return kwargs
