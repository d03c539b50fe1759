"""Every registered conversion model passes the shared conformance check; bad input fails clearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasters.conversion import MODELS, ConversionModel, make_model, model_class
from forecasters.conversion.esmm import ESMM
from forecasters.conversion.mmoe import MMoE
from shopgym.errors import DataError

from .conformance import FAST, check_model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_conformance(name, tiny_logs, tmp_path):
    check_model(MODELS[name], tiny_logs, tmp_path)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_conformance_uncertainty_weighting(name, tiny_logs, tmp_path):
    check_model(MODELS[name], tiny_logs, tmp_path, weighting="uncertainty")


@pytest.mark.parametrize("name", ["shared_bottom", "esmm", "soft_sharing"])
def test_conformance_with_cross_layers(name, tiny_logs, tmp_path):
    check_model(MODELS[name], tiny_logs, tmp_path, cross_layers=1)


def test_uncertainty_weights_move(tiny_logs):
    m = make_model("shared_bottom", weighting="uncertainty", **FAST).fit(tiny_logs)
    w = m.weighting_.current()
    assert len(w) == 3 and w != [1.0, 1.0, 1.0]


def test_esmm_outputs_are_nested(tiny_logs):
    p = ESMM(**FAST).fit(tiny_logs).predict_proba(tiny_logs)
    assert (p[:, 1] <= p[:, 0] + 1e-12).all() and (p[:, 2] <= p[:, 1] + 1e-12).all()


def test_single_task_and_custom_labels(tiny_logs):
    m = make_model("mlp", tasks=("purchase",), **FAST).fit(tiny_logs[tiny_logs.click == 1])
    assert m.predict_proba(tiny_logs).shape == (len(tiny_logs), 1)
    used = set(m.encoder_.numeric_) | set(m.encoder_.categories_)
    assert not used & {"click", "cart", "purchase", "true_purchase", "shopper_id", "item_id", "day", "session_id"}
    y = tiny_logs[["click", "cart"]].to_numpy()
    m2 = make_model("lr", tasks=("a", "b"), **FAST).fit(tiny_logs.drop(columns=["click", "cart", "purchase"]), y)
    assert m2.predict_proba(tiny_logs).shape == (len(tiny_logs), 2)


def test_missing_label_column_is_a_data_error(tiny_logs):
    with pytest.raises(DataError, match="lacks label column"):
        make_model("shared_bottom", **FAST).fit(tiny_logs.drop(columns=["cart"]))


@pytest.mark.parametrize("bad", [2, -1, 0.5, np.nan])
def test_label_outside_01_is_a_data_error(tiny_logs, bad):
    df = tiny_logs.copy()
    df["purchase"] = df["purchase"].astype(float)
    df.loc[df.index[3], "purchase"] = bad
    with pytest.raises(DataError, match="only 0 or 1"):
        make_model("mmoe", **FAST).fit(df)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="tasks"):
        make_model("lr", tasks="click")
    with pytest.raises(ValueError, match="epochs"):
        make_model("lr", epochs=-1)
    with pytest.raises(ValueError, match="weighting"):
        make_model("lr", weighting="gradnormm")
    with pytest.raises(ValueError, match="loss_weights"):
        make_model("lr", loss_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="cross_layers"):
        make_model("lr", cross_layers=-1)
    with pytest.raises(ValueError, match="n_experts"):
        MMoE(n_experts=0)
    with pytest.raises(KeyError, match="Did you mean 'mmoe'"):
        model_class("mmo")


def test_predict_before_fit_and_missing_features(tiny_logs):
    with pytest.raises(RuntimeError, match="not fitted"):
        make_model("lr").predict_proba(tiny_logs)
    m = make_model("lr", **FAST).fit(tiny_logs)
    with pytest.raises(DataError, match="lacks feature column"):
        m.predict_proba(tiny_logs.drop(columns=["price"]))
    with pytest.raises(DataError, match="DataFrame"):
        m.predict_proba(np.zeros((3, 3)))


def test_nan_feature_is_a_data_error(tiny_logs):
    df = tiny_logs.copy()
    df.loc[df.index[0], "price"] = np.nan
    with pytest.raises(DataError, match="missing values"):
        make_model("lr", **FAST).fit(df)


def test_load_rejects_other_files(tmp_path):
    import torch

    torch.save({"x": 1}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a conversion model"):
        ConversionModel.load(tmp_path / "x.pt")


def test_sample_weight_changes_the_model(tiny_logs):
    w = np.where(tiny_logs["category"].to_numpy() == 0, 5.0, 0.2)
    a = make_model("lr", **FAST).fit(tiny_logs).predict_proba(tiny_logs)
    b = make_model("lr", **FAST).fit(tiny_logs, sample_weight=w).predict_proba(tiny_logs)
    assert not np.allclose(a, b)
    with pytest.raises(ValueError, match="sample_weight"):
        make_model("lr", **FAST).fit(tiny_logs, sample_weight=-w)


def test_string_categories_are_one_hot(tiny_logs):
    df = tiny_logs.copy()
    df["colour"] = pd.Series(np.where(df["item_id"] % 2 == 0, "red", "blue"))
    m = make_model("shared_bottom", **FAST).fit(df)
    assert "colour" in m.encoder_.categories_
    df.loc[df.index[0], "colour"] = "green"  # unseen value -> all-zero one-hot, no error
    assert np.isfinite(m.predict_proba(df)).all()


def test_fit_leaves_torch_global_rng_alone(tiny_logs):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make_model("mmoe", **FAST).fit(tiny_logs)
    assert torch.equal(torch.rand(3), expected)
