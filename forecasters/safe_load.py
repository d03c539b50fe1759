"""Load a saved forecaster without running code from the file: every forecaster load goes through here.

``Forecaster.save`` writes a pickle, and a plain ``pickle.load`` calls whatever the file names. Here the
unpickler resolves only the globals that saved forecasters need (numpy arrays, pandas frames, scikit-learn's
``SVR``, torch tensors: ``ALLOWED``), nested torch storages load with ``weights_only=True``, and the model
class must be a ``Forecaster`` subclass from the ``forecasters`` package (or from a module already imported:
a user's own model class). A file that names anything else is refused with ``ModelFileError`` before any of
it runs; so is a missing, empty, truncated or corrupt file, each in one message naming the file and the fix.

``load_forecaster(path, trust=True)`` (and ``forecasters.load(path, trust=True)``) is the one remaining plain
pickle path: for a file you wrote yourself whose model needs globals outside ``ALLOWED``. It can run any code
the file holds.
"""

from __future__ import annotations

import importlib
import io
import pickle
import sys
from pathlib import Path

from forecasters.base import FORMAT_VERSION, Forecaster
from shopgym.errors import ModelFileError


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
    # pandas 2.x pickles name the same data types by their defining modules:
    ("pandas.core.frame", "DataFrame"), ("pandas.core.series", "Series"), ("pandas.core.indexes.base", "Index"),
    ("pandas.core.indexes.range", "RangeIndex"), ("pandas.core.arrays.datetimes", "DatetimeArray"),
    ("pandas.core.arrays.string_", "StringArray"), ("pandas.core.arrays.string_", "StringDtype"),
    ("pandas.core.arrays.categorical", "Categorical"), ("pandas.core.dtypes.dtypes", "CategoricalDtype"),
    ("pandas.core.dtypes.dtypes", "DatetimeTZDtype"),
    # with pyarrow installed (e.g. the parquet extra) pandas stores strings as Arrow arrays: their pickles rebuild
    # the array from its buffers and its type's name (data constructors, nothing that runs a named callable)
    ("pandas.arrays", "ArrowStringArray"), ("pandas.core.arrays.string_arrow", "ArrowStringArray"),
    ("pyarrow.lib", "_restore_array"), ("pyarrow.lib", "py_buffer"), ("pyarrow.lib", "type_for_alias"),
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
            raise ModelFileError(
                f"{str(self.path)!r} references {module}.{name}, which no saved forecaster needs; it was not loaded "
                "(a pickle can run code). If you wrote the file yourself and trust it, load it with "
                "forecasters.load(path, trust=True) (and pass forecasters.learned_demand.LearnedDemand(model, ...) "
                "as demand_model= to use it in a world)."
            )
        if (module, name) == ("torch.storage", "_load_from_bytes"):
            return _torch_storage_from_bytes
        return super().find_class(module, name)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ModelFileError(f"{str(path)!r}: no such file. Save a fitted forecaster there with model.save(path).")
    if not path.is_file():
        raise ModelFileError(f"{str(path)!r} is a folder, not a saved forecaster; name the file written by model.save(path).")
    if path.stat().st_size == 0:
        raise ModelFileError(f"{str(path)!r} is empty (0 bytes): the save was interrupted or the file was truncated. "
                             "Save the model again with model.save(path).")


def _unpickle(path: Path, trust: bool) -> object:
    """The object pickled at ``path``: through the allowlist, or (``trust=True``) a plain unpickler."""
    try:
        with open(path, "rb") as f:
            return pickle.load(f) if trust else _Unpickler(f, path).load()
    except ModelFileError:
        raise
    except OSError as e:
        raise ModelFileError(f"{str(path)!r} could not be read ({e.strerror or e}); check the path and its permissions.") from e
    except Exception as e:  # a corrupt or truncated pickle fails in many ways (EOFError, UnpicklingError, ...)
        raise ModelFileError(f"{str(path)!r} is not a readable forecaster file ({type(e).__name__}: {e}): it is corrupt, "
                             "truncated or another kind of file. Save the model again with model.save(path).") from e


def load_forecaster(path: str | Path, trust: bool = False) -> Forecaster:
    """The forecaster saved at ``path`` by ``Forecaster.save``.

    Args:
        path: a file written by ``Forecaster.save``.
        trust: ``False`` (default): resolve only the globals in ``ALLOWED`` and model classes of the
            ``forecasters`` package or of modules already imported, so nothing in the file runs. ``True``: a
            plain ``pickle.load`` that runs whatever the file names; only for files you wrote yourself.

    Raises:
        ModelFileError: the file is missing, empty, corrupt, not a saved forecaster, or (without ``trust``)
            references a global that no saved forecaster needs.
    """
    path = Path(path)
    _check_file(path)
    blob = _unpickle(path, trust)
    if not isinstance(blob, dict) or blob.get("format") != FORMAT_VERSION:
        raise ModelFileError(f"{str(path)!r} is not a forecaster saved by forecasters (format {FORMAT_VERSION}); "
                             "save one with model.save(path).")
    module, cls_name = str(blob.get("module")), str(blob.get("class"))
    if not trust and module.split(".")[0] != "forecasters" and module not in sys.modules:
        raise ModelFileError(f"{str(path)!r} names model class {module}.{cls_name}, outside the forecasters package "
                             f"and not imported: import {module} first if you trust it.")
    try:
        cls = getattr(importlib.import_module(module), cls_name, None)
    except ImportError as e:
        raise ModelFileError(f"{str(path)!r} names model class {module}.{cls_name}, whose module cannot be imported "
                             f"({e}); install or import it first.") from e
    if not (isinstance(cls, type) and issubclass(cls, Forecaster)):
        raise ModelFileError(f"{str(path)!r} names {module}.{cls_name}, which is not a forecaster class.")
    try:
        model = cls(**blob["params"])
        model._set_state(blob["state"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{str(path)!r} holds a {cls_name} that cannot be rebuilt ({type(e).__name__}: {e}); it was "
                             "saved by another version of forecasters. Fit and save the model again.") from e
    return model
