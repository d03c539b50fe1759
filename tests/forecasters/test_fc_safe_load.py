"""``forecasters.safe_load``: every kind of saved forecaster loads without a plain unpickler, and gives the same forecast."""

from __future__ import annotations

import numpy as np
import pytest
from fc_helpers import TINY, make_daily, model_name

from forecasters.registry import make
from forecasters.safe_load import load_forecaster
from shopgym.errors import ModelFileError


@pytest.mark.parametrize("key", ["seasonal_naive", "moving_average", "ets", "svr", "cnn", "lstm", "transformer", "ensemble"])
def test_round_trip_gives_the_same_forecast(tmp_path, key):
    df = make_daily(n_series=2, n_days=60)
    model = make(model_name(key), **TINY[key]).fit(df)
    back = load_forecaster(model.save(tmp_path / f"{key}.pkl"))
    assert type(back) is type(model)
    a, b = model.predict(3), back.predict(3)
    np.testing.assert_allclose(b[["mean", "q0.1", "q0.9"]].to_numpy(), a[["mean", "q0.1", "q0.9"]].to_numpy())


def test_not_a_forecaster_blob(tmp_path):
    import pickle

    path = tmp_path / "list.pkl"
    path.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(ModelFileError, match="not a forecaster saved by forecasters"):
        load_forecaster(path)
    path.write_bytes(pickle.dumps({"format": 1, "module": "forecasters.base", "class": "season_for", "params": {},
                                   "state": {}}))
    with pytest.raises(ModelFileError, match="not a forecaster class"):
        load_forecaster(path)
