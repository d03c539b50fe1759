"""Every registered model passes the shared conformance check on tiny data."""

from __future__ import annotations

import pandas as pd
import pytest
from fc_helpers import TINY, check_model, model_name

from forecasters.registry import available, make
from shopgym.errors import DataError

#: The intermittent-demand models (forecasters/models/intermittent.py) at their defaults.
INTERMITTENT = {"ses": {}, "croston": {}, "tsb": {}}
#: A tiny LightGBM (optional extra): few small trees, one thread.
TINY_LGBM = {"n_estimators": 20, "num_leaves": 7, "min_data_in_leaf": 5, "valid_days": 7, "num_threads": 1}


@pytest.mark.parametrize("key", list(TINY) + list(INTERMITTENT))
def test_conformance(key, daily, tmp_path):
    params = TINY.get(key, INTERMITTENT.get(key))
    check_model(lambda: make(model_name(key), **params), daily, h=10, tmp_path=tmp_path)


def test_every_registered_model_is_checked():
    covered = {model_name(k) for k in TINY} | set(INTERMITTENT)
    # optional extras checked below; meta_svr's conformance check is in test_fc_meta_svr.py
    assert set(available()) - covered == {"autoets", "lgbm", "meta_svr"}


def test_lgbm_optional(daily, tmp_path):
    pytest.importorskip("lightgbm", reason="lgbm needs the optional extra: pip install 'shopgym[lgbm]'")
    check_model(lambda: make("lgbm", **TINY_LGBM), daily, h=10, tmp_path=tmp_path)


def test_autoets_optional(daily, tmp_path):
    pytest.importorskip("statsforecast")
    check_model(lambda: make("autoets"), daily, h=7, tmp_path=tmp_path)


def test_clone_and_repr():
    m = make("lstm", h=3, hidden=4)
    c = m.clone(hidden=8)
    assert c.hidden == 8 and c.h == 3 and not c.is_fitted
    assert "LSTMForecaster(" in repr(m)


def test_exogenous_columns(daily):
    df = daily.assign(promo=(daily["ds"].dt.day % 5 == 0).astype(float))
    model = make("cnn", h=7, hidden=8, epochs=2, progress=False, exog=("promo",)).fit(df)
    X = df[df["ds"] > df["ds"].max() - pd.Timedelta(days=7)].copy()
    X["ds"] = X["ds"] + pd.Timedelta(days=7)
    fc = model.predict(7, X_df=X[["unique_id", "ds", "promo"]])
    assert len(fc) == 21
    with pytest.raises(DataError, match="X_df"):
        model.predict(7)


def test_validated_ensemble_conformance(daily, tmp_path):
    members = ["seasonal_naive", "ses"]
    check_model(lambda: make("ensemble", members=members, how="validated", val_h=14), daily, h=10, tmp_path=tmp_path)
