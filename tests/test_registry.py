"""``shopgym.registry``: every name -> object table (policies, forecasters, conversion models) in one style."""

import gymnasium as gym
import pytest

import shopgym  # noqa: F401  (registers the envs)
from agents.registry import HEURISTICS, POLICIES, PolicyError, make_policy
from forecasters.conversion.registry import CONVERSION_MODELS, MODELS
from forecasters.registry import FORECASTERS, REGISTRY, model_class
from shopgym.errors import UnknownNameError
from shopgym.registry import Entry, describe, lookup

TABLES = {"policies": POLICIES, "forecasters": FORECASTERS, "conversion models": CONVERSION_MODELS}


@pytest.mark.parametrize("table", TABLES.values(), ids=list(TABLES))
def test_every_table_is_flat_entries_with_one_line_descriptions(table):
    for name, entry in table.items():
        assert isinstance(entry, Entry) and name.isidentifier()
        assert entry.description and "\n" not in entry.description and len(entry.description) < 110
    assert describe(table).splitlines()[0].startswith(f"{next(iter(table))}: ")


def test_the_older_public_tables_stay_views_of_the_new_ones():
    assert HEURISTICS == {n: e.description for n, e in POLICIES.items()}
    assert REGISTRY["lstm"] == "forecasters.neural.lstm:LSTMForecaster"
    assert MODELS["mmoe"] is CONVERSION_MODELS["mmoe"].factory and MODELS["mmoe"].name == "mmoe"


def test_lookup_imports_by_string_and_refuses_unknown_names_with_the_closest_one():
    table = {"sqrt": Entry("math:sqrt", "square root"), "floor": Entry(int, "whole part")}
    assert lookup(table, "sqrt", "function")(9.0) == 3.0 and lookup(table, "floor", "function") is int
    with pytest.raises(UnknownNameError, match=r"Unknown function 'sqr'\. Did you mean 'sqrt'\? Known: sqrt, floor\."):
        lookup(table, "sqr", "function")
    with pytest.raises(KeyError, match="Did you mean 'lstm'"):  # a KeyError, as the forecaster registry's always was
        model_class("lstn")
    with pytest.raises(PolicyError, match=r"Unknown policy 's_S'\. Did you mean 'sS'\?.*Trained agents: sb3:DIR"):
        make_policy("s_S", gym.make("shopgym/Restock-v0"))
