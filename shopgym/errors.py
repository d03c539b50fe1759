"""Errors raised by shopgym. Each message quotes the bad value and says how to fix it."""

from __future__ import annotations

import difflib


class ShopgymError(Exception):
    """Base class of every error shopgym raises on purpose."""


class ScenarioError(ShopgymError, ValueError):
    """A scenario file or override is malformed: unknown key, wrong type or out-of-range value."""


class LearnedModelError(ScenarioError):
    """A learned model named by a scenario (``learned:PATH``) is unusable: missing file, wrong kind of
    model, mismatched world, or non-finite predictions while it drives the world."""


class UnknownScenarioError(ScenarioError, KeyError):
    """A scenario name that is neither a shipped scenario nor an existing file."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class ActionError(ShopgymError, ValueError):
    """An action that does not belong to the env's action space."""


class HyperparameterError(ShopgymError, ValueError):
    """A hyperparameter file or value is malformed: unknown key, wrong type, missing env section."""


class DataError(ShopgymError, ValueError):
    """An input data frame or file lacks a required column or holds invalid values."""


class OutputError(ShopgymError):
    """An output folder (``--out``) that cannot be used: an existing file, a folder that cannot be written,
    or one holding earlier results that this command would replace or that came from different content."""


class ModelFileError(ShopgymError, ValueError):
    """A saved model or checkpoint file is missing, empty, corrupt, of the wrong kind, or would run code if
    loaded (a pickle naming anything a saved model does not need)."""


class RenderModeError(ShopgymError, ValueError):
    """A ``render_mode`` the env does not offer."""


class UnknownNameError(ShopgymError, KeyError):
    """A name that no registry table holds (a forecaster, a conversion model); see ``shopgym.registry``."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def did_you_mean(name: str, choices) -> str:
    """A ' Did you mean ...?' suffix naming the closest valid choice, or '' if none is close."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""
