"""Metrics on hand-built cases, and the oracle computed from the true probabilities."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecasters.conversion.metrics import auc, calibration_error, evaluate, log_loss, oracle_proba
from shopgym.errors import DataError


def test_log_loss_by_hand():
    y, p = np.array([1, 0, 1, 0]), np.array([0.8, 0.2, 0.5, 0.5])
    want = -(math.log(0.8) + math.log(0.8) + math.log(0.5) + math.log(0.5)) / 4
    assert log_loss(y, p) == pytest.approx(want)


def test_auc_by_hand():
    # positives score 0.9, 0.4; negatives 0.5, 0.1: pairs (0.9>0.5, 0.9>0.1, 0.4<0.5, 0.4>0.1) -> 3/4
    assert auc(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.5, 0.1])) == pytest.approx(0.75)
    assert math.isnan(auc(np.zeros(3), np.array([0.1, 0.2, 0.3])))


def test_calibration_error_by_hand():
    # two equal-count bins: {0.1, 0.1} with labels {0, 0}; {0.7, 0.7} with labels {1, 0}
    y, p = np.array([0, 0, 1, 0]), np.array([0.1, 0.1, 0.7, 0.7])
    assert calibration_error(y, p, n_bins=2) == pytest.approx(0.5 * 0.1 + 0.5 * 0.2)
    assert calibration_error(np.array([1, 0]), np.array([0.5, 0.5]), n_bins=1) == pytest.approx(0.0)


def test_oracle_metrics_on_a_hand_built_case():
    df = pd.DataFrame({
        "click": [1, 0, 1, 0], "cart": [1, 0, 0, 0],
        "true_click": [0.8, 0.2, 0.5, 0.5], "true_cart": [0.4, 0.1, 0.3, 0.2],
    })
    proba = np.full((4, 2), 0.5)
    table = evaluate(df, proba, ("click", "cart"))
    assert table.loc["click", "oracle_log_loss"] == pytest.approx(-(2 * math.log(0.8) + 2 * math.log(0.5)) / 4)
    assert table.loc["click", "oracle_auc"] == pytest.approx(0.875)  # (1 + 1 + 0.5 + 1) / 4 pairs
    assert table.loc["cart", "oracle_auc"] == pytest.approx(1.0)
    assert table.loc["click", "auc"] == pytest.approx(0.5)
    assert table.loc["click", "auc_gap"] == pytest.approx(0.375)
    assert table.loc["click", "log_loss"] == pytest.approx(math.log(2))


def test_oracle_needs_true_columns():
    with pytest.raises(DataError, match="true"):
        oracle_proba(pd.DataFrame({"click": [0, 1]}), ("click",))
    table = evaluate(pd.DataFrame({"click": [0, 1]}), np.array([[0.2], [0.7]]), ("click",))
    assert "oracle_auc" not in table.columns


def test_oracle_beats_models_on_simulated_logs(tiny_logs):
    table = evaluate(tiny_logs, np.full((len(tiny_logs), 3), tiny_logs[["click", "cart", "purchase"]].mean().to_numpy()),
                     ("click", "cart", "purchase"))
    assert (table["oracle_log_loss"] < table["log_loss"]).all()
