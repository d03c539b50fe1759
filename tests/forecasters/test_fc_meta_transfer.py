"""Reptile cold start, transfer fine-tuning, online update (tiny data, a few steps)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from fc_helpers import make_daily

from forecasters.backtest import backtest
from forecasters.meta import FOMAML, Reptile, adapt_predict
from forecasters.registry import make
from forecasters.transfer import transfer_experiment


@pytest.fixture(scope="module")
def template():
    return make("cnn", h=4, input_size=8, min_context=4, hidden=8, epochs=2, progress=False)


def test_reptile_adapts_new_series(template):
    train = make_daily(n_series=4, n_days=60)
    new = make_daily(n_series=2, n_days=8, seed=3).assign(unique_id=lambda d: "new_" + d["unique_id"])
    rep = Reptile(template, meta_iters=5, progress=False).fit(train)
    a = rep.adapt_predict(new, 4, steps=0)
    b = rep.adapt_predict(new, 4, steps=3)
    assert len(a) == len(b) == 8 and set(a["unique_id"]) == {"new_s0", "new_s1"}
    assert not np.allclose(a["mean"], b["mean"])  # adaptation changed the forecast
    np.testing.assert_array_equal(b["mean"], rep.adapt_predict(new, 4, steps=3)["mean"])  # deterministic
    scratch = adapt_predict(rep.model_, new, 4, steps=3, lr=0.01, reinit=True)
    assert (scratch[["q0.1", "q0.5", "q0.9"]].diff(axis=1).iloc[:, 1:] >= -1e-9).all().all()


def test_fomaml_meta_trains_and_adapts(template):
    train = make_daily(n_series=3, n_days=40)
    new = make_daily(n_series=2, n_days=8, seed=3)
    fo = FOMAML(template, support=8, n_episodes=20, meta_iters=3, meta_batch=2, progress=False).fit(train)
    fc = fo.adapt_predict(new, 4)
    assert len(fc) == 8 and np.isfinite(fc["mean"]).all()
    np.testing.assert_array_equal(fc["mean"], fo.adapt_predict(new, 4)["mean"])
    with pytest.raises(ValueError, match="support"):
        FOMAML(template, support=4)


def test_reptile_validates(template):
    with pytest.raises(ValueError):
        Reptile(make("ets"))
    with pytest.raises(ValueError):
        Reptile(template, meta_lr=2.0)


def test_transfer_experiment(template):
    src = make_daily(n_series=3, n_days=60)
    tgt = make_daily(n_series=2, n_days=30, seed=7).assign(unique_id=lambda d: "t" + d["unique_id"])
    hist, fut = tgt[tgt["ds"] < tgt["ds"].max() - np.timedelta64(3, "D")], tgt[tgt["ds"] >= tgt["ds"].max() - np.timedelta64(3, "D")]
    res = transfer_experiment(template, src, hist, fut, h=4, fine_tune_epochs=1, season_length=7)
    assert {"MASE", "sMAPE", "pinball"} <= set(res.fine_tuned)
    assert res.negative_transfer == (res.gain < 0)


def test_fine_tune_changes_weights_not_history(template):
    df = make_daily(n_series=2, n_days=40)
    m = template.clone().fit(df)
    before = copy.deepcopy(m.net_.state_dict())
    m.fine_tune(make_daily(n_series=1, n_days=30, seed=9), epochs=1)
    assert any(not np.allclose(before[k], v) for k, v in m.net_.state_dict().items())
    assert m.history_["unique_id"].nunique() == 2


def test_update_continues_training(template):
    df = make_daily(n_series=2, n_days=50)
    m = template.clone().fit(df[df["ds"] < df["ds"].max() - np.timedelta64(6, "D")])
    before = copy.deepcopy(m.net_.state_dict())
    m.update(df[df["ds"] >= df["ds"].max() - np.timedelta64(6, "D")])
    assert any(not np.allclose(before[k], v) for k, v in m.net_.state_dict().items())
    assert m.history_["ds"].max() == df["ds"].max()


def test_ensemble_median_and_combine(daily):
    from forecasters.benchmarking import combine_forecasts

    fa = backtest(make("seasonal_naive"), daily, 7, 2)
    fb = backtest(make("ets"), daily, 7, 2)
    comb = combine_forecasts([fa, fb])
    ens = backtest(make("ensemble", members=["seasonal_naive", "ets"]), daily, 7, 2)
    np.testing.assert_allclose(comb["mean"], ens["mean"])
    np.testing.assert_allclose(comb["q0.9"], ens["q0.9"])
    med = make("ensemble", members=["seasonal_naive", "ets", "moving_average"], how="median").fit(daily)
    assert len(med.predict(3)) == 9
