"""The Adult loader (skipped when the shared data are absent)."""

from __future__ import annotations

import pytest

from forecasters.conversion import make_model
from forecasters.conversion.adult import TASKS, load_adult
from forecasters.conversion.metrics import evaluate
from shopgym.errors import DataError

from .conftest import data_root


def adult_root():
    root = data_root() / "adult"
    if not (root / "census-income.data").exists():
        pytest.skip(f"Adult data not found under {root}; set SHOPGYM_DATA to the shared data directory.")
    return root


def test_load_adult():
    train = load_adult(adult_root())
    test = load_adult(adult_root(), "test")
    assert len(train) == 32561 and len(test) == 16281
    for df in (train, test):
        assert set(df[list(TASKS)].stack().unique()) <= {0, 1}
        assert "marital_status" not in df and "relationship" not in df
    assert 0.2 < test["income"].mean() < 0.3 and 0.3 < test["never_married"].mean() < 0.4


def test_missing_directory(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_adult(tmp_path)
    with pytest.raises(ValueError, match="split"):
        load_adult(tmp_path, "dev")


@pytest.mark.slow
def test_mmoe_on_adult_beats_chance():
    train, test = load_adult(adult_root()), load_adult(adult_root(), "test")
    m = make_model("mmoe", tasks=TASKS, epochs=2).fit(train)
    table = evaluate(test, m.predict_proba(test), TASKS)
    assert (table["auc"] > 0.8).all()
