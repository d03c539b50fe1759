"""Shared fixtures: tiny simulated logs and the shared-data root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from forecasters.conversion.logs import generate_logs, log_scenario

REPO = Path(__file__).resolve().parents[2]

torch.set_num_threads(1)


def data_root() -> Path:
    """``$SHOPGYM_DATA``, default ``../shared/data`` relative to the repository root."""
    return Path(os.environ.get("SHOPGYM_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def tiny_scenario():
    return log_scenario(n_skus=30, n_categories=3, n_shoppers=200, sessions_per_day=50, slate_size=5)


@pytest.fixture(scope="session")
def tiny_logs(tiny_scenario):
    return generate_logs(tiny_scenario, n_impressions=3000, seed=1)
