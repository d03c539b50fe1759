"""Forecaster registry: ``make("lstm", **params)`` builds any model by name (``shopgym.registry`` style)."""

from __future__ import annotations

from shopgym.registry import Entry, describe, lookup

#: name -> Entry("module:Class", description); modules are imported only when a model is made.
FORECASTERS: dict[str, Entry] = {
    "seasonal_naive": Entry("forecasters.models.naive:SeasonalNaive", "the value one season earlier"),
    "moving_average": Entry("forecasters.models.naive:MovingAverage", "mean of the last `window` values, flat"),
    "ets": Entry("forecasters.models.ets:HoltWinters", "damped-trend Holt-Winters smoothing per series"),
    "svr": Entry("forecasters.models.svr:SVRForecaster", "one RBF-kernel SVR across all series"),
    "cnn": Entry("forecasters.neural.cnn:CNNForecaster", "global dilated causal CNN with a quantile head"),
    "lstm": Entry("forecasters.neural.lstm:LSTMForecaster", "global LSTM with a quantile head"),
    "transformer": Entry("forecasters.neural.transformer:TransformerForecaster",
                         "global Transformer encoder with a quantile head"),
    "ensemble": Entry("forecasters.models.ensemble:Ensemble", "mean, median or validation-weighted mean of member forecasts"),
    "autoets": Entry("forecasters.models.autoets:StatsForecastAutoETS",
                     "statsforecast AutoETS per series (optional `stats` extra)"),
    "ses": Entry("forecasters.models.intermittent:SES", "simple exponential smoothing, alpha 0.1, per series"),
    "croston": Entry("forecasters.models.intermittent:CrostonSBA",
                     "Croston's intermittent-demand method, SBA bias correction, per series"),
    "tsb": Entry("forecasters.models.intermittent:TSB",
                 "Teunter-Syntetos-Babai: demand probability x size, per series"),
    "lgbm": Entry("forecasters.models.lgbm:LGBMForecaster",
                  "global LightGBM, Tweedie loss, lag/window/calendar features, recursive (optional `lgbm` extra)"),
    "meta_svr": Entry("forecasters.meta_svr:MetaSVR",
                      "META-SVM: per-series linear SVRs on random Fourier features around a learned common mean"),
}
#: name -> "module:Class" (the table before ``FORECASTERS``; kept for existing imports).
REGISTRY: dict[str, str] = {name: entry.factory for name, entry in FORECASTERS.items()}


def model_class(name: str):
    """The class registered under ``name`` (``UnknownNameError``, a ``KeyError``, with a suggestion otherwise)."""
    return lookup(FORECASTERS, name, "forecaster")


def make(name: str, **params):
    """A new, unfitted forecaster: ``make("lstm", h=7, epochs=5)``; ``make("ets", seasonal="multiplicative")``."""
    return model_class(name)(**params)


def available() -> list[str]:
    """The registered forecaster names."""
    return list(FORECASTERS)


def help_text() -> str:
    """One ``name: description`` line per forecaster."""
    return describe(FORECASTERS)
