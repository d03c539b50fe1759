"""``shopgym train --algo slateq``: SlateQ's run from a hyperparameter file, and the checks of its run folder.

``train_run`` resolves the run (``resolve``: ``agents/hyperparams/slateq.yml`` over ``DEFAULTS``), checks the
env, the settings and ``--out`` (``check_out``) before anything is trained or written, then trains with
``agents.slateq``'s loop into the same run folder ``python -m agents.slateq`` writes (``RUN_FILES``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.run_folder import refuse_foreign_config, run_config
from agents.slateq_settings import DEFAULTS, ENV_ID, RUN_KEYS, TIMESTEPS, check_hyperparams, sessions
from shopgym.errors import HyperparameterError, OutputError

if TYPE_CHECKING:
    from agents.slateq import SlateQPolicy

#: The files of a run folder: one holding any of them holds an earlier run. Replacing it deletes them and the
#: ``evaluation_*.json`` of ``shopgym evaluate`` (``agents.run_folder``), nothing else.
RUN_FILES = ("config.yml", "model.pt", "slateq.json")


def check_out(out: Path, overwrite: bool, option: str = "--out") -> None:
    """Refuse (``OutputError``) an ``out`` SlateQ must not write into: one whose ``config.yml`` is not a run's or
    is another algo's run, and, unless ``overwrite``, one holding a SlateQ run (any of ``RUN_FILES``: no resume)."""
    refuse_foreign_config(out, option)
    cfg = run_config(out)
    if cfg is not None and cfg["algo"] != "slateq":
        raise OutputError(f"{option} {out} holds a {cfg['algo']} run ({cfg['env_id']}), not a SlateQ one; SlateQ would "
                          f"mix its files with it: pass another {option}.")
    found = [name for name in RUN_FILES if (out / name).exists()]
    if found and not overwrite:
        raise OutputError(f"{option} {out} already holds a run ({', '.join(found)}) and SlateQ runs cannot resume (no "
                          "checkpoints); pass --overwrite to train it again, or another --out.")


def check_recordable(env_kwargs: dict[str, Any], hp: dict[str, Any]) -> None:
    """``HyperparameterError`` before training for env kwargs that slateq.json could not record (JSON)."""
    try:
        json.dumps({"env_kwargs": env_kwargs, "hyperparams": hp}, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise HyperparameterError(f"env_kwargs {env_kwargs!r} cannot be recorded in the run's slateq.json ({exc}); "
                                  "give numbers, text, true/false, lists or mappings.") from None


def env_refusal(env_id: str) -> str | None:
    """Why ``shopgym train --algo slateq`` cannot train on ``env_id`` (and the fix), or ``None`` for Recommend-v0."""
    if env_id == ENV_ID:
        return None
    return (f"--algo slateq trains on {ENV_ID} only (it chooses the slate of a shopper's session), not {env_id!r}; "
            f"pass --env {ENV_ID}.")


def resolve(env_id: str, scenario: str | None, timesteps: int | None,
            hyperparams_file: str | Path | None = None) -> tuple[dict[str, Any], dict[str, Any], int]:
    """The run of ``shopgym train --algo slateq``: ``(hyperparameters, env kwargs, sessions)`` from the
    ``env_id`` and ``env_id@scenario`` sections of ``agents/hyperparams/slateq.yml`` (or ``hyperparams_file``),
    over ``DEFAULTS``. The env kwargs always name the scenario (the env's default one when ``scenario`` is
    ``None``); the slate size is the env's ``slate_size`` (the section's ``env_kwargs`` may set it)."""
    import inspect

    from agents.hyperparams import check_keys, env_kwargs_for, load_hyperparams
    from shopgym.envs.recommend import RecommendEnv

    why = env_refusal(env_id)
    if why:
        raise HyperparameterError(why)
    section = load_hyperparams("slateq", env_id, scenario, hyperparams_file)
    where = f"the {env_id!r} section of {hyperparams_file or 'agents/hyperparams/slateq.yml'}"
    check_keys(section, [*RUN_KEYS, *DEFAULTS], where)
    run = {k: section.pop(k) for k in RUN_KEYS if k in section}
    hp = check_hyperparams(section, where)
    n = sessions(run.get("n_timesteps", TIMESTEPS), "n_timesteps", where)  # checked even when --timesteps wins
    if timesteps is not None:
        n = sessions(timesteps, "--timesteps", "the command line")
    if not isinstance(run.get("env_kwargs") or {}, dict):
        raise HyperparameterError(f"env_kwargs={run['env_kwargs']!r} in {where}: give a mapping of Recommend-v0 "
                                  "arguments and scenario keys, e.g. env_kwargs: {slate_size: 2}.")
    # the env's own defaults of scenario and slate_size, recorded as python -m agents.slateq records them
    own = inspect.signature(RecommendEnv).parameters
    env_kwargs = {"scenario": own["scenario"].default, "slate_size": own["slate_size"].default,
                  **env_kwargs_for(env_id, scenario, run.get("env_kwargs"))}
    return hp, env_kwargs, n


def train_run(env_id: str, out: str | Path, timesteps: int | None = None, seed: int = 0, scenario: str | None = None,
              hyperparams_file: str | Path | None = None, progress: bool = False, command: list[str] | None = None,
              overwrite: bool = False) -> SlateQPolicy:
    """``shopgym train --algo slateq``: train into ``out`` the run ``resolve`` gives, with the run folder
    ``python -m agents.slateq`` writes (``slateq:OUT`` in the benchmark and ``shopgym evaluate``).

    SlateQ keeps no checkpoint, so a run cannot resume: an ``out`` that holds an earlier run (any of
    ``RUN_FILES``) raises ``OutputError`` unless ``overwrite``. With it, the earlier run's files (``RUN_FILES``
    and its ``evaluation_*.json``) are replaced once training ends; nothing else in ``out`` is touched, and a
    ``config.yml`` that is not a SlateQ run's is refused (``check_out``). Settings, env and folder are all checked
    before training."""
    from agents.slateq import learn, make_env  # the training loop (agents.slateq imports this module)
    from shopgym.outdir import prepare_out

    hp, env_kwargs, n = resolve(env_id, scenario, timesteps, hyperparams_file)
    env = make_env(env_kwargs)  # a scenario SlateQ cannot act on fails before the folder is touched
    out = Path(out)
    check_out(out, overwrite)
    prepare_out(out)  # an --out that is a file or cannot be written: refused before training
    return learn(env, env_kwargs, out, hp, n, seed, command, progress)
