"""Content hashes of scenarios and atomic file writes."""

from __future__ import annotations

import json
import os

import pytest

from shopgym.atomic import atomic_write_json, atomic_write_text
from shopgym.config import load_scenario
from shopgym.content import content_hash, scenario_hash


def test_scenario_hash_follows_content_not_labels():
    base = load_scenario("quickstart")
    assert scenario_hash(base) == scenario_hash(load_scenario("quickstart"))
    assert scenario_hash(base.replace(holding_cost=base.catalog.holding_cost)) == scenario_hash(base)
    assert scenario_hash(base.replace(horizon=base.env.horizon + 1)) != scenario_hash(base)
    assert content_hash({"a": 1, "b": [2]}) == content_hash({"b": [2.0], "a": 1.0})
    assert content_hash({"a": 1}) != content_hash({"a": 2})
    with pytest.raises(ValueError):
        content_hash({"a": float("nan")})
    # large ints are not rounded through a float: seeds above 2**53 that differ hash differently
    assert content_hash({"seed": 2**53}) != content_hash({"seed": 2**53 + 1})
    assert scenario_hash(base.replace(catalog_seed=2**53)) != scenario_hash(base.replace(catalog_seed=2**53 + 1))


def test_atomic_write_replaces_whole_or_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "state.json"
    atomic_write_json(path, {"step": 1})
    assert json.loads(path.read_text()) == {"step": 1}

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "partial")
    assert json.loads(path.read_text()) == {"step": 1}
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no stray temporary file


def test_atomic_write_gives_the_mode_a_plain_open_would(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic = atomic_write_text(tmp_path / "atomic.txt", "x")
    assert (atomic.stat().st_mode & 0o777) == (plain.stat().st_mode & 0o777)
