"""Resolve the ``learned:PATH`` plug points of a scenario into model objects, above the world core.

A scenario may fill a plug point with a saved model (``demand.demand_model = "learned:PATH"``,
``shoppers.response_model = "learned:PATH"``). The world core (``shopgym.world``) never loads files and
never imports ``forecasters`` (pandas/torch): ``build_world`` loads and checks each named file here and
hands the World model objects. ``PLUG_POINTS`` is the one table of plug points; a new one is a new row.

Every file is checked when the world is built, each failure a ``LearnedModelError`` naming the scenario
key and the fix: a missing file, a file that is not that kind of model (a conversion model given as the
demand model, a forecaster given as the response model, any other file), a model that does not fit the
world (SKU count, feature columns). Files are recognised by their first bytes before anything is loaded;
no file runs code while it loads: conversion models load with ``torch.load(weights_only=True)``,
forecasters (pickle files written by ``Forecaster.save``) with ``forecasters.safe_load``, which resolves
only the globals a saved forecaster needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shopgym.config import Scenario
from shopgym.errors import LearnedModelError, ScenarioError
from shopgym.world.catalog import Catalog
from shopgym.world.protocols import ImpressionBatch
from shopgym.world.world import World

#: Prefix of a scenario value that names a saved model.
LEARNED = "learned:"

#: First bytes of the two kinds of model file: a torch zip archive and a pickle (protocol 2 or newer).
_ZIP, _PICKLE = b"PK\x03\x04", b"\x80"


@dataclass(frozen=True)
class PlugPoint:
    """One plug point a scenario can fill with a saved model.

    Attributes:
        key: the scenario key, e.g. ``"demand.demand_model"``.
        argument: the ``World`` argument the model fills.
        kind: which file kind it reads: ``"pickle"`` (``Forecaster.save``) or ``"torch"`` (``ConversionModel.save``).
        what: what the file must hold, for messages.
        load: ``load(path, scenario, catalog)`` -> the model object (imports its library lazily).
    """

    key: str
    argument: str
    kind: str
    what: str
    load: Callable[[Path, Scenario, Catalog], Any]

    def value(self, scenario: Scenario) -> str:
        """The scenario's value at ``key``."""
        section, name = self.key.split(".")
        return getattr(getattr(scenario, section), name)

    def error(self, path: Path, problem: str, fix: str) -> LearnedModelError:
        return LearnedModelError(f"{self.key} = '{LEARNED}{path}': {problem}. {fix}")


def _load_demand(path: Path, scenario: Scenario, catalog: Catalog):
    from forecasters.learned_demand import LearnedDemand

    return LearnedDemand.from_saved(path, catalog=catalog, scenario=scenario)


def _load_response(path: Path, scenario: Scenario, catalog: Catalog):
    from forecasters.conversion.learned import LearnedConversion
    from shopgym.world.calendar import start_weekday
    from shopgym.world.shoppers import ShopperPopulation

    population = ShopperPopulation.generate(scenario.shoppers, scenario.catalog.embedding_dim)
    return LearnedConversion.from_saved(path, catalog=catalog, population=population,
                                        start_weekday=start_weekday(scenario.env.start_date))


#: Every plug point a scenario can fill with ``learned:PATH``, by name.
PLUG_POINTS: dict[str, PlugPoint] = {
    "demand": PlugPoint("demand.demand_model", "demand_model", "pickle",
                        "a daily demand forecaster saved by forecaster.save(path)", _load_demand),
    "response": PlugPoint("shoppers.response_model", "response_model", "torch",
                          "a click/cart/purchase conversion model saved by model.save(path)", _load_response),
}

#: What each file kind is, for messages about a file given to the wrong plug point.
_KIND_NAMES = {"pickle": "a forecaster file (pickle)", "torch": "a conversion model file (torch)"}


def learned_path(scenario: Scenario, point: str) -> Path | None:
    """The file named at plug point ``point`` (a key of ``PLUG_POINTS``), or ``None`` for the ground truth."""
    value = PLUG_POINTS[point].value(scenario)
    return Path(value[len(LEARNED):]) if value.startswith(LEARNED) else None


def _file_kind(path: Path) -> str:
    """``"torch"``, ``"pickle"`` or ``"other"`` from the file's first bytes (nothing is loaded)."""
    with open(path, "rb") as f:
        head = f.read(4)
    return "torch" if head == _ZIP else "pickle" if head[:1] == _PICKLE else "other"


def _check_file(p: PlugPoint, path: Path) -> None:
    if not path.is_file():
        raise p.error(path, "no such file" if not path.exists() else "this is not a file",
                      f"Save {p.what} there first, or set {p.key} = 'ground_truth'.")
    kind = _file_kind(path)
    if kind != p.kind:
        other = next((q for q in PLUG_POINTS.values() if q.kind == kind), None)
        is_what = _KIND_NAMES.get(kind, "not a saved model file")
        fix = (f"It looks like {other.what}: name it in {other.key} instead, or give {p.key} {p.what}."
               if other else f"Give {p.key} {p.what}.")
        raise p.error(path, f"this is {is_what}, not {p.what}", fix)


def _check_demand(p: PlugPoint, path: Path, model, catalog: Catalog) -> None:
    n = getattr(model, "n_skus", None)
    if n != catalog.n_skus:
        raise p.error(path, f"the model has {n} SKUs, the catalog (catalog.n_skus) {catalog.n_skus}",
                      "Build it for this catalog or change catalog.n_skus.")


def _check_response(p: PlugPoint, path: Path, model, catalog: Catalog) -> None:
    """A one-impression probe: the model must read only columns this world produces and answer in [0, 1]."""
    from shopgym.world.response import impression_features

    one = np.zeros(1, dtype=np.int64)
    probe = ImpressionBatch(shopper=one, item=one + catalog.n_skus - 1, position=one, seen=one,
                            discount=np.zeros(1), in_stock=np.ones(1, dtype=bool), day=one)
    encoder = getattr(getattr(model, "model", None), "encoder_", None)
    if encoder is not None:
        have = impression_features(probe, catalog, model.population)
        missing = [c for c in [*encoder.numeric_, *encoder.categories_] if c not in have]
        if missing:
            raise p.error(path, f"the model reads feature columns {missing} that this world does not produce "
                          f"(catalog.embedding_dim = {catalog.features.shape[1]})",
                          "Fit it on logs of a world with the same catalog.embedding_dim, or change that key.")
    prob = np.asarray(model.probabilities(probe))
    if prob.shape != (1, 3) or not (np.isfinite(prob) & (prob >= 0) & (prob <= 1)).all():
        raise p.error(path, f"the model answered {prob!r} for one impression, not 3 probabilities in [0, 1]",
                      "Refit it on funnel logs (tasks click, cart, purchase).")


_CHECKS = {"demand": _check_demand, "response": _check_response}


def resolve_models(scenario: Scenario, catalog: Catalog | None = None, points=None) -> dict[str, Any]:
    """Load and check every plug point the scenario fills with ``learned:PATH``.

    Args:
        scenario: the validated scenario.
        catalog: the world's catalog (default: generated from the scenario, as ``World`` does).
        points: names in ``PLUG_POINTS`` to resolve (default: all).

    Returns:
        ``World`` keyword arguments (``demand_model=``, ``response_model=``) for the learned plug points only.
    """
    out: dict[str, Any] = {}
    for name, p in PLUG_POINTS.items():
        if points is not None and name not in points:
            continue
        path = learned_path(scenario, name)
        if path is None:
            continue
        _check_file(p, path)
        if catalog is None:
            catalog = Catalog.generate(scenario.catalog, scenario.demand)
        try:
            model = p.load(path, scenario, catalog)
        except ScenarioError as e:  # the model's own check, which names the fix: add the key
            raise LearnedModelError(f"{p.key} = '{LEARNED}{path}': {e}") from e
        except Exception as e:  # a failed load of a checked file: say which key and file
            raise p.error(path, f"it could not be loaded as {p.what} ({type(e).__name__}: {e})",
                          f"Re-save it with the current version, or set {p.key} = 'ground_truth'.") from e
        _CHECKS[name](p, path, model, catalog)
        out[p.argument] = model
    return out


def build_world(scenario: Scenario, n_worlds: int = 1, *, engine: str | None = None, **models: Any) -> World:
    """A ``World`` of ``scenario`` with its ``learned:PATH`` plug points loaded and checked.

    Every place that builds a World from a scenario goes through here. ``models`` (``demand_model=``,
    ``response_model=``) are objects that take the place of the scenario's choice, as in ``World``.
    """
    unknown = set(models) - {p.argument for p in PLUG_POINTS.values()}
    if unknown:
        raise TypeError(f"build_world() got unexpected model argument(s) {sorted(unknown)}; "
                        f"use {[p.argument for p in PLUG_POINTS.values()]}.")
    given = {k: v for k, v in models.items() if v is not None}
    todo = [n for n, p in PLUG_POINTS.items() if p.argument not in given and learned_path(scenario, n) is not None]
    if todo:
        given.update(resolve_models(scenario, points=todo))
    return World(scenario, n_worlds=n_worlds, engine=engine, **given)
