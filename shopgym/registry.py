"""The one style of every name -> object table in shopgym (policies, forecasters, conversion models).

A table is a flat dict ``name -> Entry(factory, description)``: ``factory`` builds the thing (a class or
function), or is a ``"module:attribute"`` string imported on first use (to keep heavy imports such as
torch out of the table's module); ``description`` is one line for help texts. ``lookup`` resolves a
name and, for an unknown one, raises an error that names the closest valid name and lists them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from shopgym.errors import UnknownNameError, did_you_mean


class Entry(NamedTuple):
    """One registered name: what builds it and a one-line description."""

    factory: Callable[..., Any] | str
    description: str


def lookup(table: Mapping[str, Entry], name: str, kind: str, error: type[Exception] = UnknownNameError,
           hint: str = "") -> Callable[..., Any]:
    """The factory registered as ``name`` in ``table`` (a ``"module:attribute"`` string is imported).

    ``kind`` names the table in the message ("forecaster", "policy"); ``error`` is the exception class
    raised for an unknown name; ``hint`` is appended to its message (e.g. other accepted forms).
    """
    if name not in table:
        raise error(f"Unknown {kind} {name!r}.{did_you_mean(name, table)} Known: {', '.join(table)}.{hint}")
    factory = table[name].factory
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    return factory


def describe(table: Mapping[str, Entry]) -> str:
    """One ``name: description`` line per entry, for help texts."""
    return "\n".join(f"{name}: {entry.description}" for name, entry in table.items())
