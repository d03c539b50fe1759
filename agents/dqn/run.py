"""A training run of our DQN in a directory: hyperparameters from the file, checkpoints, logs, resume.

Layout of ``out``: ``config.yml`` and ``run.json`` (see ``agents.hyperparams.write_run_files``),
``model/`` (the final model), ``best/`` (the best model by evaluation during training, on seeds
900000.. that benchmarks never use), ``checkpoints/latest/`` (with the replay buffer), ``logs/*.csv``.
Re-running the same call after a kill resumes from the last checkpoint, exactly: the final model is
the one an uninterrupted run gives (``DQN.save_checkpoint`` keeps the episodes in progress, the RNG, the
replay buffer and the counters; a corrupt ``latest`` checkpoint falls back to ``previous`` with a
warning). Logs are appended. The run is keyed by content: ``config.yml`` records the scenario's
``scenario_hash``, and a re-run whose scenario file, overrides, seed or hyperparameters changed is
refused (``overwrite=True``, ``--overwrite`` on the command line, starts it again).
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym

from agents.dqn.config import DQNConfig
from agents.dqn.dqn import DQN
from agents.hyperparams import (
    HyperparameterError,
    check_keys,
    env_kwargs_for,
    load_hyperparams,
    scenario_hash_for,
    start_run,
)
from agents.hyperparams.numbers import exponent_text_as_numbers, positive_count, train_steps
from shopgym.seeds import VALIDATION, seeds_seen, training_env_seed

ALGO = "shopgym-dqn"
RUN_KEYS = ("n_timesteps", "env_kwargs", "eval_freq", "checkpoint_freq", "n_eval_episodes", "select")
TIMESTEPS = 100_000  #: env steps to train for when neither ``--timesteps`` nor the section's ``n_timesteps`` says
EVAL_SEED_BASE = VALIDATION.start  #: evaluation during training uses seeds 900000.. (``shopgym.seeds``: validation)


def train_seed(seed: int) -> int:
    """The env seed of a run with ``seed``: a 32-bit draw from ``SeedSequence(seed)`` in the training range
    (``shopgym.seeds.training_env_seed``), so that training episodes never reuse the seeds benchmarks evaluate on."""
    return training_env_seed(seed)


def resolve(env_id: str, scenario: str | None, timesteps: int | None, seed: int,
            hyperparams_file: str | Path | None = None) -> dict:
    """The resolved run configuration: file section, scenario (and the hash of its content), timesteps and seed."""
    hp = exponent_text_as_numbers(load_hyperparams(ALGO, env_id, scenario, hyperparams_file))
    where = f"the {env_id!r} section of {hyperparams_file or f'{ALGO}.yml'}"
    check_keys(hp, [*RUN_KEYS, *DQNConfig().to_dict()], where)
    run = {k: hp.pop(k) for k in RUN_KEYS if k in hp}
    config = DQNConfig.from_dict(hp).to_dict()
    n = train_steps(run.get("n_timesteps", TIMESTEPS), timesteps, where, TIMESTEPS)
    n_eval = positive_count("n_eval_episodes", run.get("n_eval_episodes", 5), where)
    env_kwargs = env_kwargs_for(env_id, scenario, run.get("env_kwargs"))
    return {"algo": ALGO, "env_id": env_id, "scenario": scenario, "scenario_hash": scenario_hash_for(env_id, env_kwargs),
            "seed": int(seed), "timesteps": n, "env_kwargs": env_kwargs,
            "eval_freq": positive_count("eval_freq", run.get("eval_freq", max(1, n // 10)), where),
            "checkpoint_freq": positive_count("checkpoint_freq", run.get("checkpoint_freq", max(1, n // 10)), where),
            "n_eval_episodes": n_eval,
            "select": check_select(run.get("select", "last")), "hyperparams": config,
            "seeds_seen": seeds_seen(seed, n, config["n_envs"], n_eval)}


def check_select(value: str) -> str:
    """Which model a run's policy is: ``last`` (the final one) or ``best`` (best evaluation during training)."""
    if value not in ("last", "best"):
        raise HyperparameterError(f"select={value!r}: choose 'last' (the final model) or 'best' (best evaluation).")
    return value


def train(env_id: str, out: str | Path, timesteps: int | None = None, seed: int = 0, scenario: str | None = None,
          hyperparams_file: str | Path | None = None, progress_bar: bool = True, command: list[str] | None = None,
          overwrite: bool = False) -> DQN:
    """Train (or resume) our DQN into ``out`` and save the final model to ``out/model``; ``overwrite``
    deletes an earlier run in ``out`` first."""
    out = Path(out)
    cfg = resolve(env_id, scenario, timesteps, seed, hyperparams_file)
    start_run(out, cfg, command, overwrite)
    model = DQN.load_checkpoint(out / "checkpoints")
    if model is None:
        model = DQN(env_id, cfg["hyperparams"], seed=train_seed(seed), env_kwargs=cfg["env_kwargs"])
    return learn_and_save(model, cfg, out, gym.make(env_id, **cfg["env_kwargs"]), progress_bar)


def learn_and_save(model: DQN, cfg: dict, out: Path, eval_env: gym.Env, progress_bar: bool) -> DQN:
    """Train ``model`` to ``cfg["timesteps"]`` with the run directory's logs, checkpoints, evaluations
    (seeds ``EVAL_SEED_BASE..``) and best model, then save it to ``out/model``."""
    eval_seeds = [EVAL_SEED_BASE + i for i in range(cfg["n_eval_episodes"])]
    model.learn(cfg["timesteps"], eval_env=eval_env, eval_freq=cfg["eval_freq"], eval_seeds=eval_seeds,
                log_dir=out / "logs", checkpoint_dir=out / "checkpoints", checkpoint_freq=cfg["checkpoint_freq"],
                progress_bar=progress_bar, tensorboard=True, best_dir=out / "best")
    model.save(out / "model")
    return model
