"""Fixtures of the forecaster tests (helpers live in ``fc_helpers``)."""

from __future__ import annotations

import pandas as pd
import pytest
from fc_helpers import make_daily


@pytest.fixture
def daily() -> pd.DataFrame:
    """Three daily series, 84 days, weekly cycle (see ``fc_helpers.make_daily``)."""
    return make_daily()


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tiny networks run fastest on one thread (and CI machines are shared); restored afterwards."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
