"""Conversion models by name, for scenario files, the CLI and the benchmarks (``shopgym.registry`` style)."""

from __future__ import annotations

from forecasters.conversion.base import ConversionModel
from forecasters.conversion.esmm import ESMM
from forecasters.conversion.lr import LogisticRegression
from forecasters.conversion.mlp import SingleTaskMLP
from forecasters.conversion.mmoe import MMoE
from forecasters.conversion.ple import PLE
from forecasters.conversion.shared_bottom import SharedBottom
from forecasters.conversion.soft_sharing import SoftSharing
from shopgym.registry import Entry, describe, lookup

#: name (the class's ``name``) -> Entry(class, description).
CONVERSION_MODELS: dict[str, Entry] = {cls.name: Entry(cls, text) for cls, text in (
    (LogisticRegression, "one logistic regression per task"),
    (SingleTaskMLP, "one MLP per task, nothing shared"),
    (SharedBottom, "a shared bottom network with one tower per task"),
    (SoftSharing, "one bottom per task, tied by an L2 penalty between the bottoms"),
    (MMoE, "multi-gate mixture of experts"),
    (PLE, "progressive layered extraction: shared and task-specific experts"),
    (ESMM, "entire-space multi-task model: each funnel stage as a product of conditional probabilities"),
)}
#: name -> class (kept for existing imports).
MODELS: dict[str, type[ConversionModel]] = {name: entry.factory for name, entry in CONVERSION_MODELS.items()}


def model_class(name: str) -> type[ConversionModel]:
    """The model class registered as ``name`` (``UnknownNameError``, a ``KeyError``, with a suggestion otherwise)."""
    return lookup(CONVERSION_MODELS, name, "conversion model")


def make_model(name: str, **kwargs) -> ConversionModel:
    """A new, unfitted model ``name`` with constructor arguments ``kwargs``."""
    return model_class(name)(**kwargs)


def load_model(path) -> ConversionModel:
    """A model saved by ``ConversionModel.save``."""
    return ConversionModel.load(path)


def help_text() -> str:
    """One ``name: description`` line per conversion model."""
    return describe(CONVERSION_MODELS)
