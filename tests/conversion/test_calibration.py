"""Post-hoc Platt recalibration per funnel stage (forecasters/conversion/calibration.py) and its place in a model:
predict_proba, save/load, the learned world and its response table, ``shopgym conversion calibrate``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from forecasters.conversion import ConversionModel, make_model
from forecasters.conversion.calibration import FunnelCalibration, _sigmoid, fit_platt, separated
from forecasters.conversion.learned import LearnedConversion
from forecasters.conversion.metrics import log_loss
from forecasters.conversion.response_table import ResponseTable
from shopgym.errors import DataError
from shopgym.world.catalog import Catalog
from shopgym.world.protocols import ImpressionBatch
from shopgym.world.response import joint_to_funnel
from shopgym.world.shoppers import ShopperPopulation

from .conformance import FAST

STAGES = ("click", "cart", "purchase")


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def logit(p):
    return np.log(p) - np.log1p(-p)


def synthetic(n: int, seed: int = 0):
    """True conditionals per stage, nested labels drawn from them, and a model's joint probabilities that are the
    true conditionals passed through a known logit map ``sigmoid(a logit(p) + b)`` per stage."""
    rng = np.random.default_rng(seed)
    cond = sigmoid(rng.normal([-2.0, -1.0, 0.0], 1.0, size=(n, 3)))
    labels = np.cumprod(rng.random((n, 3)) < cond, axis=1).astype(float)
    a, b = np.array([0.8, 0.7, 1.5]), np.array([0.6, -0.6, -1.2])
    model = np.cumprod(sigmoid(a * logit(cond) + b), axis=1)
    return np.cumprod(cond, axis=1), labels, model, a, b


def test_recovers_a_known_miscalibration():
    truth, labels, model, a, b = synthetic(60_000)
    cal = FunnelCalibration(STAGES).fit(model, labels)
    # the inverse of the distortion: logit p = (logit q - b) / a
    np.testing.assert_allclose(cal.scale_, 1 / a, rtol=0.08)
    np.testing.assert_allclose(cal.shift_, -b / a, atol=0.12)
    assert cal.n_[0] == 60_000 and cal.n_[1] == labels[:, 0].sum() and cal.n_[2] == labels[:, 1].sum()
    fixed = cal.transform(model)
    assert (fixed[:, 1] <= fixed[:, 0]).all() and (fixed[:, 2] <= fixed[:, 1]).all()  # nested by construction
    for j in range(3):
        before = model[:, j].mean() / truth[:, j].mean()
        after = fixed[:, j].mean() / truth[:, j].mean()
        assert abs(before - 1) > 0.1, j  # the distortion is visible on average ...
        assert after == pytest.approx(1.0, abs=0.04), j  # ... and gone after calibration
        assert log_loss(labels[:, j], fixed[:, j]) < log_loss(labels[:, j], model[:, j]), j
    # on fresh rows of the same law (out of sample) it is as close to the truth
    truth2, labels2, model2, *_ = synthetic(60_000, seed=1)
    assert np.abs(cal.transform(model2) - truth2).mean() < 0.2 * np.abs(model2 - truth2).mean()


def test_a_calibrated_model_stays_put():
    """True probabilities need no correction: the fit stays near the identity (scale 1, shift 0)."""
    truth, labels, *_ = synthetic(60_000, seed=2)
    cal = FunnelCalibration(STAGES).fit(truth, labels)
    np.testing.assert_allclose(cal.scale_, 1.0, atol=0.08)
    np.testing.assert_allclose(cal.shift_, 0.0, atol=0.12)


def test_fit_platt_refuses_one_class_and_separated_outcomes():
    z = np.linspace(-3, 3, 200)
    with pytest.raises(DataError, match=r"no positive purchase .* give more"):
        fit_platt(z, np.zeros(200), "purchase")
    with pytest.raises(DataError, match="no negative"):
        fit_platt(z, np.ones(200), "cart")
    with pytest.raises(DataError, match="separated"):
        fit_platt(z, (z > 0).astype(float), "click")
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        FunnelCalibration(STAGES).fit(np.zeros((5, 2)), np.zeros((5, 2)))


def test_separation_is_refused_before_any_fit():
    """Separated outcomes have no maximum likelihood estimate, whatever scale Newton would stop at: the 4-row case
    (scale ~60 before the check, under the old backstop of 1,000) and a funnel whose few carted rows are split by
    their purchase score are refused with a DataError naming the stage and the fix."""
    z, y = np.array([-1.0, -0.5, 0.5, 1.0]), np.array([0.0, 0.0, 1.0, 1.0])
    with pytest.raises(DataError, match=r"purchase \(given cart\) outcomes .* separated .* give more calibration logs"):
        fit_platt(z, y, "purchase (given cart)")
    with pytest.raises(DataError, match="separated"):
        fit_platt(-z, y)  # separated the other way round (higher score, fewer positives)
    with pytest.raises(DataError, match="separated"):
        fit_platt(np.array([0.0, 0.5, 0.5, 1.0]), y)  # quasi-complete: a tie on the boundary, still no MLE
    assert separated(z, y) and not separated(np.array([-1.0, 0.5, -0.5, 1.0]), y)
    assert not separated(np.full(4, 2.0), np.array([0.0, 1.0, 1.0, 1.0]))  # one score: bounded likelihood
    scale, shift = fit_platt(np.array([-1.0, 0.5, -0.5, 1.0]), y)  # overlapping: a finite fit
    assert 0 < scale < 10 and np.isfinite(shift)
    # a funnel: 6 carted rows, the 2 highest purchase scores bought -> the purchase stage is separated
    n = 400
    rng = np.random.default_rng(0)
    click = np.full(n, 0.3) + rng.uniform(-0.05, 0.05, n)
    cond_buy = np.full(n, 0.5)
    cond_buy[:6] = [0.30, 0.35, 0.40, 0.45, 0.60, 0.70]
    joint = np.column_stack([click, click * 0.33, click * 0.33 * cond_buy])
    labels = np.zeros((n, 3))
    labels[:120, 0], labels[:6, 1], labels[4:6, 2] = 1, 1, 1
    with pytest.raises(DataError, match=r"purchase \(given cart\) outcomes .* separated"):
        FunnelCalibration(STAGES).fit(joint, labels)


def test_sigmoid_keeps_relative_precision_far_in_the_tail():
    t = np.array([-30.0, -40.0, -100.0, -700.0, 0.0, 40.0])
    np.testing.assert_allclose(_sigmoid(t)[:4], np.exp(t[:4]) / (1 + np.exp(t[:4])), rtol=1e-12)
    assert _sigmoid(t)[4] == 0.5 and _sigmoid(t)[5] == 1.0
    assert np.isfinite(_sigmoid(np.array([-1e6, 1e6]))).all()


@pytest.fixture(scope="module")
def fitted(tiny_logs):
    """A shared-bottom model fitted on the first 2,000 rows of the tiny logs; the other 1,000 calibrate it."""
    model = make_model("shared_bottom", **FAST).fit(tiny_logs.iloc[:2000])
    return model, tiny_logs.iloc[2000:].reset_index(drop=True)


def test_model_calibrate_changes_predict_proba_and_save_load_keeps_it(fitted, tmp_path):
    model, cal_logs = fitted
    raw = model.predict_proba(cal_logs)
    model.calibrate(cal_logs)
    assert model.calibration_.stages == STAGES and model.calibration_.n_[0] == len(cal_logs)
    fixed = model.predict_proba(cal_logs)
    assert np.abs(fixed - raw).max() > 1e-3
    np.testing.assert_allclose(fixed, model.calibration_.transform(raw))
    for j, t in enumerate(STAGES):  # Platt's fit matches the mean on the rows it was fitted on (score equation)
        reached = np.ones(len(cal_logs), bool) if j == 0 else cal_logs[STAGES[j - 1]].to_numpy() == 1
        cond = joint_to_funnel(fixed)[reached, j]
        assert cond.mean() == pytest.approx(cal_logs[t].to_numpy()[reached].mean(), rel=1e-5), t
    path = model.save(tmp_path / "cal.pt")
    back = ConversionModel.load(path)
    assert back.calibration_.state() == model.calibration_.state()
    np.testing.assert_allclose(back.predict_proba(cal_logs), fixed, rtol=1e-6, atol=1e-12)
    blob = torch.load(path, weights_only=True)
    assert isinstance(blob["calibration"]["scale"][0], float)  # plain data in the weights-only file
    # a file of before (no calibration entry) loads uncalibrated
    del blob["calibration"]
    torch.save(blob, tmp_path / "old.pt")
    old = ConversionModel.load(tmp_path / "old.pt")
    assert old.calibration_ is None
    np.testing.assert_allclose(old.predict_proba(cal_logs), raw, rtol=1e-6, atol=1e-12)
    # fitting again drops the calibration (it was of the old network)
    assert back.fine_tune(cal_logs, epochs=1).calibration_ is None
    model.calibration_ = None


def test_a_broken_calibration_entry_is_a_model_file_error(fitted, tmp_path):
    from shopgym.errors import ModelFileError

    model, cal_logs = fitted
    try:  # (a model fitted on cal_logs itself separates their purchases in sample: calibrate the fixture's)
        path = model.calibrate(cal_logs).save(tmp_path / "c.pt")
    finally:
        model.calibration_ = None
    blob = torch.load(path, weights_only=True)
    blob["calibration"]["method"] = "isotonic"
    torch.save(blob, tmp_path / "bad.pt")
    with pytest.raises(ModelFileError, match="isotonic"):
        ConversionModel.load(tmp_path / "bad.pt")


def test_bad_calibration_logs_are_named(fitted):
    model, cal_logs = fitted
    with pytest.raises(DataError, match=r"calibration logs lacks label column\(s\) \['purchase'\]"):
        model.calibrate(cal_logs.drop(columns=["purchase"]))
    with pytest.raises(DataError, match=r"lack feature column\(s\) \['price'\].*layout of the training logs"):
        model.calibrate(cal_logs.drop(columns=["price"]))
    no_buy = cal_logs.assign(purchase=0)
    with pytest.raises(DataError, match=r"no positive purchase \(given cart\).*give more"):
        model.calibrate(no_buy)
    unnested = cal_logs.assign(purchase=1)
    with pytest.raises(DataError, match="nested"):
        model.calibrate(unnested)
    assert getattr(model, "calibration_", None) is None  # a refused calibration leaves the model as it was


def _shop_and_batch(scenario):
    """The tiny scenario's catalog and shoppers, and one unseen, undiscounted impression of every item to shopper 3."""
    cat = Catalog.generate(scenario.catalog, scenario.demand)
    pop = ShopperPopulation.generate(scenario.shoppers, scenario.catalog.embedding_dim)
    n = cat.n_skus
    batch = ImpressionBatch(shopper=np.full(n, 3), item=np.arange(n), position=np.zeros(n, int),
                            seen=np.zeros(n, int), discount=np.zeros(n), in_stock=np.ones(n, bool), day=np.full(n, 2))
    return cat, pop, batch


def test_the_learned_world_and_its_table_answer_calibrated(fitted, tiny_scenario):
    model, cal_logs = fitted
    cat, pop, batch = _shop_and_batch(tiny_scenario)
    n = cat.n_skus
    raw = LearnedConversion(model, cat, pop).probabilities(batch)
    model.calibrate(cal_logs)
    try:
        learned = LearnedConversion(model, cat, pop)
        direct = learned.probabilities(batch)
        assert np.abs(direct - raw).max() > 1e-3
        table = ResponseTable(learned._predict, pop.n_shoppers, n, learned.start_weekday)
        np.testing.assert_allclose(table.probabilities(batch), direct, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(learned.tabulate().probabilities(batch), direct, rtol=1e-6, atol=1e-9)
    finally:
        model.calibration_ = None


def test_a_table_built_before_calibration_follows_the_model(fitted, tiny_scenario):
    """A world tabulated while the model was uncalibrated answers calibrated once the same in-memory model is
    calibrated (its tables are dropped and rebuilt), and uncalibrated again once the calibration is dropped."""
    model, cal_logs = fitted
    cat, pop, batch = _shop_and_batch(tiny_scenario)
    learned = LearnedConversion(model, cat, pop).tabulate()
    before = learned.probabilities(batch)
    built = learned.table.built
    assert learned.probabilities(batch) is not None and learned.table.built == built  # same key: the table is reused
    model.calibrate(cal_logs)
    try:
        after = learned.probabilities(batch)
        fresh = LearnedConversion(model, cat, pop).probabilities(batch)
        assert np.abs(fresh - before).max() > 1e-3  # the calibration moves the answers ...
        np.testing.assert_allclose(after, fresh, rtol=1e-6, atol=1e-9)  # ... and the old table follows
        assert learned.table.built == built + 1
    finally:
        model.calibration_ = None
    np.testing.assert_allclose(learned.probabilities(batch), before, rtol=1e-6, atol=1e-9)


def test_cli_calibrate(fitted, tmp_path):
    from shopgym.cli.conversion import app

    model, cal_logs = fitted
    src, logs, out = tmp_path / "m.pt", tmp_path / "cal.csv", tmp_path / "m-cal.pt"
    model.save(src)
    cal_logs.to_csv(logs, index=False)
    runner = CliRunner()
    r = runner.invoke(app, ["calibrate", str(src), str(logs), str(out)])
    assert r.exit_code == 0, r.output
    assert "calibrated on 1000 rows" in r.output and "purchase" in r.output
    assert ConversionModel.load(out).calibration_ is not None
    assert ConversionModel.load(src).calibration_ is None  # the source file is kept as it was
    r = runner.invoke(app, ["calibrate", str(src), str(logs), str(src)])
    assert r.exit_code == 2 and "new file" in r.output
    pd.read_csv(logs).assign(purchase=0).to_csv(tmp_path / "nobuy.csv", index=False)
    r = runner.invoke(app, ["calibrate", str(src), str(tmp_path / "nobuy.csv"), str(tmp_path / "x.pt")])
    assert r.exit_code == 2 and "no positive purchase" in r.output and not (tmp_path / "x.pt").exists()
