"""Bad input gets a clear ``DataError`` (or ``ValueError``) naming the problem and the fix."""

from __future__ import annotations

import pandas as pd
import pytest

from forecasters.base import Forecaster
from forecasters.registry import make
from shopgym.errors import DataError, ModelFileError


@pytest.fixture
def model():
    return make("seasonal_naive")


def test_missing_y(model, daily):
    with pytest.raises(DataError, match="lacks column.*'y'"):
        model.fit(daily.rename(columns={"y": "sales"}))


def test_missing_ids(model, daily):
    with pytest.raises(DataError, match="unique_id"):
        model.fit(daily.drop(columns="unique_id"))


def test_duplicate_dates(model, daily):
    with pytest.raises(DataError, match="duplicate dates"):
        model.fit(pd.concat([daily, daily.head(1)]).sort_values(["unique_id", "ds"]))


def test_unsorted_dates(model, daily):
    bad = daily.copy()
    bad.iloc[[0, 1]] = bad.iloc[[1, 0]].to_numpy()
    with pytest.raises(DataError, match="unsorted dates"):
        model.fit(bad)


def test_non_numeric_y(model, daily):
    with pytest.raises(DataError, match="numeric"):
        model.fit(daily.assign(y="a"))


@pytest.mark.parametrize("h", [-1, 0, 2.5, "3", True])
def test_bad_horizon(model, daily, h):
    model.fit(daily)
    with pytest.raises(DataError, match="horizon"):
        model.predict(h)


def test_predict_before_fit(model):
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict(3)


def test_unknown_model_suggests():
    with pytest.raises(KeyError, match="Did you mean 'lstm'"):
        make("lstmm")


@pytest.mark.parametrize("name,kw", [("cnn", {"h": 0}), ("moving_average", {"window": 0}), ("ets", {"seasonal": "x"}),
                                     ("transformer", {"hidden": 10, "heads": 4}), ("ensemble", {"how": "max"})])
def test_constructor_validates(name, kw):
    with pytest.raises(ValueError):
        make(name, **kw)


def test_update_rejects_old_rows(model, daily):
    model.fit(daily)
    with pytest.raises(DataError, match="not after"):
        model.update(daily.tail(3))


def test_neural_too_short(daily):
    with pytest.raises(DataError, match="no training windows"):
        make("lstm", h=7, input_size=80, epochs=1, progress=False).fit(daily)


def test_load_rejects_foreign_file(tmp_path):
    p = tmp_path / "x.pkl"
    import pickle

    p.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelFileError, match="not a forecaster"):
        Forecaster.load(p)
