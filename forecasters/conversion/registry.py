"""Conversion models by name, for scenario files, the CLI and the benchmarks."""

from __future__ import annotations

from forecasters.conversion.base import ConversionModel
from forecasters.conversion.esmm import ESMM
from forecasters.conversion.lr import LogisticRegression
from forecasters.conversion.mlp import SingleTaskMLP
from forecasters.conversion.mmoe import MMoE
from forecasters.conversion.ple import PLE
from forecasters.conversion.shared_bottom import SharedBottom
from forecasters.conversion.soft_sharing import SoftSharing
from shopgym.errors import did_you_mean

MODELS: dict[str, type[ConversionModel]] = {
    cls.name: cls for cls in (LogisticRegression, SingleTaskMLP, SharedBottom, SoftSharing, MMoE, PLE, ESMM)
}


def model_class(name: str) -> type[ConversionModel]:
    """The model class registered as ``name``."""
    if name not in MODELS:
        raise KeyError(f"Unknown conversion model {name!r}.{did_you_mean(name, MODELS)} Known: {', '.join(MODELS)}.")
    return MODELS[name]


def make_model(name: str, **kwargs) -> ConversionModel:
    """A new, unfitted model ``name`` with constructor arguments ``kwargs``."""
    return model_class(name)(**kwargs)


def load_model(path) -> ConversionModel:
    """A model saved by ``ConversionModel.save``."""
    return ConversionModel.load(path)
