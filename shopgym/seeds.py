"""Seed discipline: disjoint ranges of episode seeds for training, validation and evaluation.

An episode seed is the integer passed to ``env.reset(seed=...)``; it fixes the episode's world (demand,
shoppers, lead times). A policy judged on an episode it was trained or selected on is judged on what it
may have memorised, so every seed belongs to exactly one range:

========== ======================= ===========================================================================
range      seeds                   used by
========== ======================= ===========================================================================
evaluation ``0 .. 899_999``        ``shopgym benchmark`` (``--seed-base``, default 0), ``shopgym evaluate``
validation ``900_000 .. 999_999``  evaluation during training: best-model selection of ``shopgym train``
                                   (``agents.dqn.run.EVAL_SEED_BASE``, SB3's ``SeededEvalCallback``)
training   ``1_000_000`` and up    training envs (``training_env_seed``), tuning of heuristics
                                   (``agents.tuning.TRAIN_SEED_BASE``)
========== ======================= ===========================================================================

A training run starting from env seed ``s`` resets its envs with seeds ``s + steps taken + i`` (``i`` < the
number of envs), so every seed it can have seen lies in ``s .. s + timesteps + n_envs - 1``. The run's
``config.yml`` records that interval and its validation seeds (``seeds_seen``), and the benchmark refuses to
evaluate a trained agent on any of them (``check_unseen``); a run written before the record existed is
checked against the same interval, recomputed from its seed, timesteps and number of envs.

It sits in the core package and imports only numpy, so the training code (``agents``) and the benchmark (``scenarios``) both read it without crossing layers.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from shopgym.errors import ShopgymError

#: Seeds the benchmark evaluates on.
EVALUATION = range(0, 900_000)
#: Seeds of evaluation during training (model selection).
VALIDATION = range(900_000, 1_000_000)
#: The first training seed; training seeds have no upper bound.
TRAINING_START = 1_000_000


class SeedError(ShopgymError, ValueError):
    """Evaluation seeds outside the evaluation range, or seeds a trained agent saw while training."""


def seed_range(seed: int) -> str:
    """``"evaluation"``, ``"validation"`` or ``"training"``: the range ``seed`` belongs to (a negative seed is an
    error: numpy takes non-negative seeds)."""
    if seed < 0:
        raise SeedError(f"seed {seed} is negative; seeds are integers >= 0.")
    return "evaluation" if seed in EVALUATION else "validation" if seed in VALIDATION else "training"


def training_env_seed(seed: int) -> int:
    """The first env seed of a training run with ``seed`` (``shopgym train --seed``): a 32-bit draw from
    ``SeedSequence(seed)``, moved up by ``TRAINING_START`` when it falls below it (22 of the first 100_000
    seeds), so that it lies in the training range."""
    draw = int(np.random.SeedSequence(int(seed)).generate_state(1)[0])
    return draw if draw >= TRAINING_START else draw + TRAINING_START


def validation_seeds(n: int) -> list[int]:
    """The ``n`` seeds of evaluation during training: the first ``n`` of the validation range."""
    if not 0 <= n <= len(VALIDATION):
        raise SeedError(f"{n} validation episodes: give 0 .. {len(VALIDATION)}.")
    return list(VALIDATION[:n])


def seeds_seen(seed: int, timesteps: int, n_envs: int, n_validation: int) -> dict[str, list[int]]:
    """What a training run's ``config.yml`` records under ``seeds_seen``: ``training``, ``[first, last]`` of the
    interval that holds every env seed the run can reset with (``timesteps`` env steps over ``n_envs`` envs from
    ``training_env_seed(seed)``), and ``validation``, the seeds of its evaluations during training."""
    first = training_env_seed(seed)
    return {"training": [first, first + int(timesteps) + max(int(n_envs), 1) - 1],
            "validation": validation_seeds(int(n_validation))}


def recorded_seeds(cfg: dict) -> dict[str, list[int]]:
    """The ``seeds_seen`` of a run's configuration (``config.yml``), or, for a run written before it was
    recorded, the same record recomputed from its ``seed``, ``timesteps``, number of envs and
    ``n_eval_episodes``."""
    seen = cfg.get("seeds_seen")
    if isinstance(seen, dict) and "training" in seen and "validation" in seen:
        return seen
    n_envs = max(int(cfg.get("n_envs") or 1), int((cfg.get("hyperparams") or {}).get("n_envs") or 1))
    return seeds_seen(int(cfg.get("seed", 0)), int(cfg.get("timesteps", 0)), n_envs, int(cfg.get("n_eval_episodes", 5)))


def _spans(seeds: list[int]) -> str:
    """``seeds`` (sorted) as runs ``a..b``, at most four, then how many more."""
    runs, start = [], seeds[0]
    for prev, cur in zip(seeds, [*seeds[1:], None], strict=True):
        if cur != prev + 1:
            runs.append(f"{start}" if start == prev else f"{start}..{prev}")
            start = cur
    return ", ".join(runs[:4]) + (f" and {len(runs) - 4} more" if len(runs) > 4 else "")


def check_evaluation(seeds: Iterable[int]) -> None:
    """Raise ``SeedError`` unless every seed lies in the evaluation range."""
    bad = sorted(s for s in seeds if s not in EVALUATION)
    if bad:
        raise SeedError(f"evaluation seeds {_spans(bad)} lie outside the evaluation range {EVALUATION.start}.."
                        f"{EVALUATION.stop - 1} (validation and training seeds start at {VALIDATION.start}); "
                        "lower --seed-base or --seeds.")


def check_unseen(policy: str, cfg: dict, seeds: Iterable[int]) -> None:
    """Raise ``SeedError`` if trained agent ``policy`` (its run's ``config.yml`` as ``cfg``) saw any of ``seeds``
    while training or validating (``recorded_seeds``)."""
    seen = recorded_seeds(cfg)
    lo, hi = seen["training"]
    val = set(seen["validation"])
    hits = sorted(s for s in seeds if lo <= s <= hi or s in val)
    if hits:
        which = "training" if lo <= hits[0] <= hi else "validation"
        raise SeedError(f"policy {policy!r} saw seeds {_spans(hits)} while training (its config.yml: {which} seeds "
                        f"{lo}..{hi} and validation seeds {_spans(sorted(val)) if val else 'none'}); evaluate it on "
                        "other seeds (--seed-base), or retrain it with another --seed.")
