"""Fixtures for the whole suite."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own empty shopgym cache (``SHOPGYM_CACHE_DIR``): tests never write to the real
    home folder and never depend on what is cached there. Returns the cache root."""
    root = tmp_path / "shopgym-cache"
    monkeypatch.setenv("SHOPGYM_CACHE_DIR", str(root))
    return root
