"""Callbacks of SB3 training runs: observation statistics frozen after a warm-up or saved with the best
model, and evaluations that replay the same episodes every time and survive a resume."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, EvalCallback
from stable_baselines3.common.vec_env import VecNormalize


class FreezeNormalization(BaseCallback):
    """Stop updating the VecNormalize observation statistics once ``after`` env steps are done (also on resume)."""

    def __init__(self, after: int):
        super().__init__()
        self.after = after

    def _on_step(self) -> bool:
        env = self.model.get_env()
        if isinstance(env, VecNormalize) and env.training and self.model.num_timesteps >= self.after:
            env.training = False
        return True


class SaveNormalization(BaseCallback):
    """On a new best evaluation, save the VecNormalize statistics next to ``best_model.zip``."""

    def __init__(self, directory: Path):
        super().__init__()
        self.directory = Path(directory)

    def _on_step(self) -> bool:
        if isinstance(self.model.get_env(), VecNormalize):
            self.model.get_env().save(str(self.directory / "vecnormalize.pkl"))
        return True


def resume_eval_history(cb: EvalCallback, log_path: Path, num_timesteps: int) -> None:
    """Keep the evaluations of earlier segments up to the checkpoint's ``num_timesteps`` (EvalCallback
    rewrites its file from its own lists; the steps after the checkpoint are replayed and evaluated again).

    SB3 writes ``evaluations.npz`` with a plain ``np.savez``: one cut short by a kill is set aside with a
    warning and the history starts again, rather than stopping the resume with a traceback.
    """
    path = log_path / "evaluations.npz"
    if not path.exists():
        return
    try:
        with np.load(path) as d:
            steps, results, lengths = np.asarray(d["timesteps"]), np.asarray(d["results"]), np.asarray(d["ep_lengths"])
    except (zipfile.BadZipFile, ValueError, KeyError, EOFError, OSError) as exc:
        warnings.warn(f"{path} is unreadable ({exc}); the evaluation history starts again.", UserWarning, stacklevel=2)
        return
    keep = steps <= num_timesteps
    cb.evaluations_timesteps = list(steps[keep])
    cb.evaluations_results = [list(r) for r in results[keep]]
    cb.evaluations_length = [list(r) for r in lengths[keep]]
    cb.best_mean_reward = float(np.max(np.mean(results[keep], axis=1))) if keep.any() else -np.inf


class SeededEvalCallback(EvalCallback):
    """SB3's ``EvalCallback`` that plays the same evaluation episodes every time (the eval env is re-seeded
    with ``seed`` before each evaluation), as our DQN does: evaluations, and so ``select: best``, do not
    depend on how many evaluations came before, and a resumed run evaluates as an uninterrupted one."""

    def __init__(self, *args, seed: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.eval_seed = int(seed)

    def _on_step(self) -> bool:
        if self.eval_freq > 0 and self.n_calls % self.eval_freq == 0:
            self.eval_env.seed(self.eval_seed)
        return super()._on_step()
