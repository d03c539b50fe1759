"""Transfer to a new category: all three methods run and gains are reported against scratch."""

from __future__ import annotations

import numpy as np
import pytest

from forecasters.conversion.transfer import METHODS, similarity_weights, split_target, transfer_experiment
from shopgym.errors import DataError


def test_transfer_experiment_table(tiny_logs):
    out = transfer_experiment(tiny_logs, target_category=0, n_target=300, epochs=1, target_epochs=2,
                              hidden=(8,), tower_hidden=(4,), batch_size=256)
    assert set(out["method"]) == set(METHODS) and len(out) == 4 * 3
    assert (out.loc[out.method == "scratch", "gain"] == 0).all()
    assert not out.loc[out.method == "scratch", "negative_transfer"].any()
    assert out["negative_transfer"].dtype == bool


def test_similarity_weights_prefer_the_target(tiny_logs):
    source, t_train, _ = split_target(tiny_logs, 0, 100)
    w = similarity_weights(source, t_train)
    assert ((w > 0) & (w <= 1)).all()
    near = tiny_logs[tiny_logs.category == 0]
    assert similarity_weights(near, t_train).mean() > w.mean()


def test_split_errors(tiny_logs):
    with pytest.raises(DataError, match="no rows"):
        split_target(tiny_logs, 99, 10)
    with pytest.raises(DataError, match="no test rows"):
        split_target(tiny_logs, 0, 10**6)
    with pytest.raises(DataError, match="embedding"):
        similarity_weights(tiny_logs.drop(columns=[c for c in tiny_logs if c.startswith("e_")]), tiny_logs)
    assert np.isfinite(similarity_weights(tiny_logs, tiny_logs)).all()


def test_fine_tune_freezes_shared_layers(tiny_logs):
    import torch

    from forecasters.conversion import make_model

    m = make_model("shared_bottom", hidden=(8,), tower_hidden=(4,), epochs=1).fit(tiny_logs)
    before = [p.detach().clone() for p in m.network_.shared_parameters()]
    towers = [p.detach().clone() for p in m.network_.towers.parameters()]
    m.fine_tune(tiny_logs.iloc[:500], epochs=1, freeze_shared=True, reset_towers=True)
    assert all(torch.equal(a, b) for a, b in zip(before, m.network_.shared_parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(towers, m.network_.towers.parameters(), strict=True))
    with pytest.raises(ValueError, match="lr"):
        m.fine_tune(tiny_logs.iloc[:500], epochs=1, lr=0.0)
