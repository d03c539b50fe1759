"""Forecaster registry: ``make("lstm", **params)`` builds any model by name."""

from __future__ import annotations

import importlib

from shopgym.errors import did_you_mean

#: name -> "module:Class"; modules are imported only when a model is made.
REGISTRY: dict[str, str] = {
    "seasonal_naive": "forecasters.models.naive:SeasonalNaive",
    "moving_average": "forecasters.models.naive:MovingAverage",
    "ets": "forecasters.models.ets:HoltWinters",
    "svr": "forecasters.models.svr:SVRForecaster",
    "cnn": "forecasters.neural.cnn:CNNForecaster",
    "lstm": "forecasters.neural.lstm:LSTMForecaster",
    "transformer": "forecasters.neural.transformer:TransformerForecaster",
    "ensemble": "forecasters.models.ensemble:Ensemble",
    "autoets": "forecasters.models.autoets:StatsForecastAutoETS",
}


def model_class(name: str):
    """The class registered under ``name`` (``KeyError`` with a suggestion for an unknown name)."""
    if name not in REGISTRY:
        raise KeyError(f"Unknown forecaster {name!r}.{did_you_mean(name, REGISTRY)} Known: {', '.join(REGISTRY)}.")
    module, cls = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make(name: str, **params):
    """A new, unfitted forecaster: ``make("lstm", h=7, epochs=5)``; ``make("ets", seasonal="multiplicative")``."""
    return model_class(name)(**params)


def available() -> list[str]:
    return list(REGISTRY)
