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


#: Dense funnel rates (the defaults before the Taobao calibration) for the model-mechanics fixture: with the
#: calibrated defaults 3,000 impressions hold about 6 carts and 2 purchases, too few to give every task of every
#: category positives (AUC, transfer gains); realism is tested in tests/calibrate.
DENSE_FUNNEL = {"base_ctr": 0.1, "base_cart_rate": 0.3, "base_purchase_rate": 0.5}


@pytest.fixture(scope="session")
def tiny_scenario():
    return log_scenario(n_skus=30, n_categories=3, n_shoppers=200, sessions_per_day=50, slate_size=5, **DENSE_FUNNEL)


@pytest.fixture(scope="session")
def tiny_logs(tiny_scenario):
    return generate_logs(tiny_scenario, n_impressions=3000, seed=1)
