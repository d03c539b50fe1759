"""Load a saved forecaster without running code from the file (for files named by a scenario).

``Forecaster.save`` writes a pickle, and a plain ``pickle.load`` calls whatever the file names. Here the
unpickler resolves only the globals that saved forecasters need (numpy arrays, pandas frames, scikit-learn's
``SVR``, torch tensors: ``ALLOWED``), nested torch storages load with ``weights_only=True``, and the model
class must be a ``Forecaster`` subclass from the ``forecasters`` package (or from a module already imported:
a user's own model class). A file that names anything else
is refused with ``LearnedModelError`` before any of it runs.
"""

from __future__ import annotations

import importlib
import io
import pickle
import sys
from pathlib import Path

from forecasters.base import FORMAT_VERSION, Forecaster
from shopgym.errors import LearnedModelError


def _torch_storage_from_bytes(b: bytes):
    """What ``torch.storage._load_from_bytes`` does, but weights-only (it would unpickle anything)."""
    import torch

    return torch.load(io.BytesIO(b), weights_only=True)


#: ``(module, name)`` globals a saved forecaster may reference (numpy 1.x and 2.x spellings).
ALLOWED = frozenset({
    ("builtins", "slice"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
    ("builtins", "range"), ("builtins", "bytearray"), ("collections", "OrderedDict"),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy.core.numeric", "_frombuffer"),
    ("pandas", "DataFrame"), ("pandas", "Series"), ("pandas", "Index"), ("pandas", "RangeIndex"),
    ("pandas", "StringDtype"), ("pandas", "CategoricalDtype"), ("pandas", "DatetimeTZDtype"),
    ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"), ("pandas._libs.internals", "_unpickle_block"),
    ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"),
    ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
    ("pandas.arrays", "DatetimeArray"), ("pandas.arrays", "StringArray"), ("pandas.arrays", "Categorical"),
    ("pandas.core.indexes.base", "_new_Index"), ("pandas.core.indexes.datetimes", "_new_DatetimeIndex"),
    ("pandas.core.internals.managers", "BlockManager"), ("pandas.core.internals.managers", "SingleBlockManager"),
    ("sklearn.svm._classes", "SVR"),
    ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter"),
    ("torch.storage", "_load_from_bytes"),
})


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, path: Path):
        super().__init__(file)
        self.path = path

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED:
            raise LearnedModelError(
                f"{str(self.path)!r} references {module}.{name}, which no saved forecaster needs; it was not loaded "
                "(a pickle can run code). If you trust the file, load it yourself with forecasters.load(path) and "
                "pass forecasters.learned_demand.LearnedDemand(model, ...) as demand_model=."
            )
        if (module, name) == ("torch.storage", "_load_from_bytes"):
            return _torch_storage_from_bytes
        return super().find_class(module, name)


def load_forecaster(path: str | Path) -> Forecaster:
    """The forecaster saved at ``path`` by ``Forecaster.save``, loaded without running code from the file."""
    path = Path(path)
    with open(path, "rb") as f:
        blob = _Unpickler(f, path).load()
    if not isinstance(blob, dict) or blob.get("format") != FORMAT_VERSION:
        raise LearnedModelError(f"{str(path)!r} is not a forecaster saved by forecasters (format {FORMAT_VERSION}).")
    module, cls_name = str(blob.get("module")), str(blob.get("class"))
    if module.split(".")[0] != "forecasters" and module not in sys.modules:
        raise LearnedModelError(f"{str(path)!r} names model class {module}.{cls_name}, outside the forecasters package "
                                f"and not imported: import {module} before building the world if you trust it.")
    cls = getattr(importlib.import_module(module), cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Forecaster)):
        raise LearnedModelError(f"{str(path)!r} names {module}.{cls_name}, which is not a forecaster class.")
    model = cls(**blob["params"])
    model._set_state(blob["state"])
    return model
