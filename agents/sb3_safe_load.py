"""Load SB3 run files (``model.zip``, ``vecnormalize.pkl``, ``replay_buffer.pkl``) without running code from them.

Three SB3 load paths unpickle, and a pickle runs whatever callable it names:

* ``BaseAlgorithm.load(model.zip)``: the weights (``*.pth``) are read with ``torch.load(weights_only=True)``,
  but the ``data`` JSON stores every value that is not plain JSON (``policy_class``, the spaces, the
  schedules, ``_last_obs``, ``ep_info_buffer``, ...) as base64 ``cloudpickle`` and SB3 decodes each with
  ``cloudpickle.loads``, unless the caller passes that key in ``custom_objects``.
* ``VecNormalize.load(vecnormalize.pkl)``: a plain ``pickle.load`` of the whole wrapper.
* ``OffPolicyAlgorithm.load_replay_buffer(replay_buffer.pkl)``: a plain ``pickle.load`` of the buffer.

Here each pickle goes through ``_Unpickler``, which resolves only what these files hold: the numpy,
torch-device and ``collections`` globals in ``ALLOWED``, and classes (never functions) under
``stable_baselines3``, ``gymnasium.spaces``, ``torch.nn``, ``torch.optim`` and ``agents`` that derive from
one of ``_BASES`` (policies, schedules, buffers, spaces, running statistics, ``VecNormalize``, modules,
optimizers). ``load_model`` decodes every serialized entry of ``data`` this way and hands SB3 the results
as ``custom_objects``, so SB3's own ``cloudpickle.loads`` is never reached. A file that names anything else
raises ``ModelFileError`` before any of it runs; so does a missing, empty or corrupt file.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

from shopgym.errors import ModelFileError

#: ``(module, name)`` globals (functions and helpers) that SB3 pickles of our runs reference.
ALLOWED = frozenset({
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"), ("builtins", "complex"),
    ("builtins", "range"), ("builtins", "bytearray"), ("builtins", "float"), ("builtins", "int"),
    ("collections", "deque"), ("collections", "OrderedDict"), ("copyreg", "_reconstructor"),
    ("builtins", "object"),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy.random._pickle", "__bit_generator_ctor"), ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random._pcg64", "PCG64"), ("numpy.random._mt19937", "MT19937"),
    ("numpy.random.bit_generator", "SeedSequence"), ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("torch", "device"), ("torch", "float32"), ("torch", "float64"),
})

#: Packages whose classes may appear (a class must also derive from one of ``_BASES``).
_PACKAGES = ("stable_baselines3.", "gymnasium.spaces.", "torch.nn.", "torch.optim.", "agents.")


def _bases() -> tuple[type, ...]:
    """The base classes an allowed class derives from (imported lazily: SB3 and torch are heavy)."""
    import gymnasium as gym
    import torch
    from stable_baselines3.common import type_aliases, utils
    from stable_baselines3.common.buffers import BaseBuffer
    from stable_baselines3.common.policies import BasePolicy
    from stable_baselines3.common.running_mean_std import RunningMeanStd
    from stable_baselines3.common.vec_env import VecNormalize

    return (BasePolicy, BaseBuffer, RunningMeanStd, VecNormalize, gym.spaces.Space, torch.nn.Module,
            torch.optim.Optimizer, type_aliases.TrainFreq, type_aliases.TrainFrequencyUnit,
            utils.ConstantSchedule, utils.FloatSchedule, utils.LinearSchedule)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, path: Path, what: str):
        super().__init__(file)
        self.path, self.what = path, what

    def find_class(self, module: str, name: str):
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        obj = None
        if module.startswith(_PACKAGES) and "." not in name:
            obj = getattr(importlib.import_module(module), name, None)
        if isinstance(obj, type) and issubclass(obj, _bases()):
            return obj
        raise ModelFileError(
            f"{str(self.path)!r} ({self.what}) references {module}.{name}, which no SB3 run file of shopgym needs; "
            "it was not loaded (a pickle can run code). Use run folders you trained yourself, or, if you trust "
            f"this one, load it with stable_baselines3 directly (its load unpickles, running any code in the file)."
        )


def _unpickle(data: bytes, path: Path, what: str) -> Any:
    try:
        return _Unpickler(io.BytesIO(data), path, what).load()
    except ModelFileError:
        raise
    except Exception as e:  # truncated or corrupt: EOFError, UnpicklingError, ...
        raise ModelFileError(f"{str(path)!r} ({what}) is corrupt or truncated ({type(e).__name__}: {e}); "
                             "train the run again or copy the file again.") from e


def _read(path: Path, what: str) -> bytes:
    if not path.is_file():
        raise ModelFileError(f"{str(path)!r}: {'no such file' if not path.exists() else 'a folder, not a file'} "
                             f"({what}); pass a run folder written by `shopgym train`.")
    data = path.read_bytes()
    if not data:
        raise ModelFileError(f"{str(path)!r} is empty (0 bytes; {what}): the save was interrupted. "
                             "Re-run the training command to write it again.")
    return data


def load_vecnormalize(path: str | Path, venv):
    """The ``VecNormalize`` saved at ``path`` (``VecNormalize.save``) wrapped around ``venv``, loaded safely."""
    from stable_baselines3.common.vec_env import VecNormalize

    path = Path(path)
    norm = _unpickle(_read(path, "normalisation statistics"), path, "normalisation statistics")
    if not isinstance(norm, VecNormalize):
        raise ModelFileError(f"{str(path)!r} holds a {type(norm).__name__}, not saved VecNormalize statistics.")
    norm.set_venv(venv)
    return norm


#: ``data`` entries that are training schedules: they matter only to further training, never to acting.
SCHEDULE_KEYS = ("learning_rate", "lr_schedule", "clip_range", "clip_range_vf", "exploration_schedule")


def serialized_objects(path: str | Path, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every cloudpickled entry of ``model.zip``'s ``data`` but those in ``skip``, decoded safely
    (``custom_objects`` for SB3's load)."""
    path = Path(path)
    raw = _read(path, "SB3 model")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            data = json.loads(z.read("data"))
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{str(path)!r} is not an SB3 model archive ({type(e).__name__}: {e}); it is corrupt, "
                             "truncated or another kind of file. Re-run the training command to write it again.") from e
    if not isinstance(data, dict):
        raise ModelFileError(f"{str(path)!r} is not an SB3 model archive (its data is not a mapping).")
    out = {}
    for key, value in data.items():
        if key not in skip and isinstance(value, dict) and ":serialized:" in value:
            try:
                blob = base64.b64decode(value[":serialized:"])
            except (ValueError, TypeError) as e:
                raise ModelFileError(f"{str(path)!r}: entry {key!r} is corrupt ({e}).") from e
            out[key] = _unpickle(blob, path, f"SB3 model entry {key!r}")
    return out


def load_model(cls, path: str | Path, env=None, device: str = "cpu", for_acting: bool = False, **kwargs):
    """``cls.load(path, env=env, device=device)`` with no ``cloudpickle.loads``: every serialized entry is
    decoded by ``serialized_objects`` and passed as ``custom_objects`` (the weights load weights-only).

    With ``for_acting`` the training schedules (``SCHEDULE_KEYS``; a ``lin_`` schedule is a lambda, pickled
    by value, which the safe decoder refuses) are replaced by a constant 0: right for a policy that only acts,
    wrong for training further (resume loads them, and needs schedules pickled by reference).
    """
    from stable_baselines3.common.utils import ConstantSchedule

    skip = SCHEDULE_KEYS if for_acting else ()
    custom = {**serialized_objects(path, skip), **{k: ConstantSchedule(0.0) for k in skip},
              **kwargs.pop("custom_objects", {})}
    try:
        return cls.load(path, env=env, device=device, custom_objects=custom, **kwargs)
    except (ValueError, KeyError, RuntimeError, EOFError, zipfile.BadZipFile) as e:
        raise ModelFileError(f"{str(path)!r} could not be loaded as a {cls.__name__} model ({type(e).__name__}: "
                             f"{str(e)[:200]}); train the run again.") from e


def load_replay_buffer(model, path: str | Path) -> None:
    """What ``model.load_replay_buffer(path)`` does, with the pickle decoded safely."""
    from stable_baselines3.common.buffers import ReplayBuffer

    path = Path(path)
    buffer = _unpickle(_read(path, "replay buffer"), path, "replay buffer")
    if not isinstance(buffer, ReplayBuffer):
        raise ModelFileError(f"{str(path)!r} holds a {type(buffer).__name__}, not an SB3 replay buffer.")
    model.replay_buffer = buffer
