"""Every registered model passes the shared conformance check on tiny data."""

from __future__ import annotations

import pandas as pd
import pytest
from fc_helpers import TINY, check_model, model_name

from forecasters.registry import available, make
from shopgym.errors import DataError


@pytest.mark.parametrize("key", list(TINY))
def test_conformance(key, daily, tmp_path):
    check_model(lambda: make(model_name(key), **TINY[key]), daily, h=10, tmp_path=tmp_path)


def test_every_registered_model_is_checked():
    covered = {model_name(k) for k in TINY}
    assert set(available()) - covered == {"autoets"}  # optional extra, checked below


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
