"""Fixtures for the whole suite."""

from __future__ import annotations

import pytest

from shopgym.config import scenario_path


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own empty shopgym cache (``SHOPGYM_CACHE_DIR``): tests never write to the real
    home folder and never depend on what is cached there. Returns the cache root."""
    root = tmp_path / "shopgym-cache"
    monkeypatch.setenv("SHOPGYM_CACHE_DIR", str(root))
    return root


@pytest.fixture
def tiny_ads(tmp_path):
    """A scenario file (path): the shipped ``ads-stockout`` over one day of 6 ticks (a third of the opportunities)."""
    text = scenario_path("ads-stockout").read_text()
    for old, new in {"horizon = 3": "horizon = 1", "ticks_per_day = 24": "ticks_per_day = 6",
                     "opportunities_per_day = 12000.0": "opportunities_per_day = 4000.0"}.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "tinyads.toml"
    path.write_text(text)
    return path
