"""The daily retail models: ses, croston (SBA), tsb against hand-computed values, lgbm round-trips and exog."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasters import load
from forecasters.registry import make

#: One intermittent series; demands 3, 2, 1 at steps 1, 4, 6 (0-based).
SPARSE = [0.0, 3.0, 0.0, 0.0, 2.0, 0.0, 1.0]


def frame(series: dict[str, list[float]], end: str = "2024-03-31") -> pd.DataFrame:
    """Daily long frame; every series ends on ``end`` (so shorter series start later)."""
    parts = [pd.DataFrame({"unique_id": k, "ds": pd.date_range(end=end, periods=len(v)), "y": v})
             for k, v in series.items()]
    return pd.concat(parts, ignore_index=True)


# Hand computation (alpha = 0.1):
#   SES level: 0 -> 0.3 -> 0.27 -> 0.243 -> 0.4187 -> 0.37683 -> 0.439147.
#   Croston: sizes 3, 2, 1 -> z = 3, 2.9, 2.71; intervals 2, 3, 2 (the first counted from the start)
#   -> p = 2, 2.1, 2.09; SBA = 0.95 * 2.71 / 2.09.
#   TSB: indicators 0,1,0,0,1,0,1 -> d = 0, .1, .09, .081, .1729, .15561, .240049; z = 2.71.
HAND = {"ses": 0.439147, "croston": 0.95 * 2.71 / 2.09, "tsb": 0.240049 * 2.71}


@pytest.mark.parametrize("name", list(HAND))
def test_hand_computed_forecasts(name):
    df = frame({"sparse": SPARSE, "long": [4.0, 0, 1, 5, 0, 0, 2, 3, 0, 1, 0, 0, 6, 0]})
    fc = make(name).fit(df).predict(3)
    sparse = fc[fc["unique_id"] == "sparse"]
    np.testing.assert_allclose(sparse["mean"], HAND[name], rtol=1e-6)
    # The vectorised filter over series of different lengths equals fitting each series alone.
    long_alone = make(name).fit(frame({"long": [4.0, 0, 1, 5, 0, 0, 2, 3, 0, 1, 0, 0, 6, 0]})).predict(3)
    np.testing.assert_allclose(fc.loc[fc["unique_id"] == "long", "mean"], long_alone["mean"], rtol=1e-12)


@pytest.mark.parametrize("name", ["croston", "tsb"])
def test_series_without_demand_forecasts_zero(name):
    fc = make(name).fit(frame({"dead": [0.0] * 10, "live": SPARSE * 2})).predict(4)
    dead = fc[fc["unique_id"] == "dead"]
    assert (dead[["mean", "q0.1", "q0.5", "q0.9"]].to_numpy() == 0).all()
    assert (fc.loc[fc["unique_id"] == "live", "mean"] > 0).all()


def test_count_quantiles_of_an_intermittent_series():
    fc = make("croston").fit(frame({"sparse": SPARSE * 6})).predict(2)
    q = fc[["q0.1", "q0.5", "q0.9"]].to_numpy()
    assert (q == np.round(q)).all(), "quantiles of a count distribution are whole units"
    assert (fc["q0.5"] == 0).all() and (fc["q0.9"] >= 1).all()  # sells on 3 days in 7: median 0, tail >= 1


def test_tsb_decays_while_nothing_sells_and_croston_does_not():
    busy, stale = SPARSE * 3, SPARSE * 3 + [0.0] * 20
    tsb = make("tsb").fit(frame({"busy": busy})).predict(1)["mean"].iloc[0]
    tsb_stale = make("tsb").fit(frame({"stale": stale})).predict(1)["mean"].iloc[0]
    cro = make("croston").fit(frame({"busy": busy})).predict(1)["mean"].iloc[0]
    cro_stale = make("croston").fit(frame({"stale": stale})).predict(1)["mean"].iloc[0]
    assert tsb_stale < 0.2 * tsb
    assert cro_stale == pytest.approx(cro)


@pytest.mark.parametrize(("name", "arg", "bad"), [("ses", "alpha", 0.0), ("croston", "alpha", 1.5),
                                                   ("tsb", "alpha_p", "0.1"), ("tsb", "alpha_d", -1)])
def test_bad_smoothing_constant_is_named(name, arg, bad):
    with pytest.raises(ValueError, match=f"{arg} must be a number in \\(0, 1\\]"):
        make(name, **{arg: bad})


def test_against_statsforecast():
    sf = pytest.importorskip("statsforecast.models", reason="statsforecast (optional `stats` extra) is the reference")
    rng = np.random.default_rng(3)
    y = (rng.random(120) < 0.3) * rng.poisson(3, 120).astype(float)
    y[0] = 0.0
    df = frame({"s": list(y)})
    refs = {"ses": sf.SimpleExponentialSmoothing(alpha=0.1), "croston": sf.CrostonSBA(),
            "tsb": sf.TSB(alpha_d=0.1, alpha_p=0.1)}
    for name, ref in refs.items():
        ours = make(name).fit(df).predict(5)["mean"].to_numpy()
        np.testing.assert_allclose(ours, ref.forecast(y=y, h=5)["mean"], rtol=1e-6, err_msg=name)


# ---------------------------------------------------------------------- neural daily defaults
def test_daily_context_default():
    from forecasters.neural.base import DAILY_CONTEXT, default_input_size
    from forecasters.panel import Panel

    def panel(days: int, step: int = 1) -> Panel:
        return Panel.from_arrays(["a"], np.ones((1, days)), "2024-01-01", pd.Timedelta(days=step))

    assert default_input_size(14, 7, panel(400)) == DAILY_CONTEXT == 56  # a year of daily history: 8 weeks
    assert default_input_size(14, 7, panel(200)) == 28  # short daily panels keep max(2h, season)
    assert default_input_size(40, 7, panel(400)) == 80  # 2h beyond 8 weeks wins
    assert default_input_size(13, 52, panel(400, 7)) == 52  # weekly data: unchanged


def test_models_saved_before_the_daily_default_keep_their_context():
    model = make("cnn", h=7)
    model.season_length_ = 7
    assert model.L_ == 14  # no input_size_ (an older file): the old default, so its weights still fit
    model.input_size_ = 56
    assert model.L_ == 56


# ---------------------------------------------------------------------- lgbm
@pytest.mark.parametrize(("arg", "bad"), [("variance_power", 2.5), ("n_estimators", 0), ("num_threads", 1.5),
                                          ("objective", ""), ("learning_rate", 0)])
def test_lgbm_bad_hyperparameters_are_named(arg, bad):
    with pytest.raises(ValueError, match=arg):
        make("lgbm", **{arg: bad})


def test_lgbm_missing_extra_is_a_clear_error(daily):
    try:
        import lightgbm  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"shopgym\[lgbm\]"):
            make("lgbm").fit(daily)
    else:
        pytest.skip("lightgbm is installed: the missing-extra message cannot be shown here")


def _promo_frame(n_series: int = 4, n_days: int = 140, seed: int = 0) -> pd.DataFrame:
    """Poisson demand at 2 units/day, x3 on promotion days (one in five)."""
    rng = np.random.default_rng(seed)
    d = pd.date_range("2024-01-01", periods=n_days)
    parts = []
    for i in range(n_series):
        promo = (rng.random(n_days) < 0.2).astype(float)
        parts.append(pd.DataFrame({"unique_id": f"s{i}", "ds": d, "y": rng.poisson(2.0 * (1 + 2 * promo)).astype(float),
                                   "promo": promo}))
    return pd.concat(parts, ignore_index=True)


def test_lgbm_learns_promotions_and_round_trips_as_text(tmp_path):
    pytest.importorskip("lightgbm", reason="lgbm needs the optional extra: pip install 'shopgym[lgbm]'")
    df = _promo_frame()
    cut = df["ds"].max() - pd.Timedelta(days=14)
    train, test = df[df["ds"] <= cut], df[df["ds"] > cut]
    model = make("lgbm", exog=("promo",), n_estimators=60, num_leaves=7, min_data_in_leaf=10, valid_days=14,
                 num_threads=1).fit(train)
    fc = model.predict(14, X_df=test[["unique_id", "ds", "promo"]]).merge(test, on=["unique_id", "ds"])
    on, off = fc.loc[fc["promo"] == 1, "mean"].mean(), fc.loc[fc["promo"] == 0, "mean"].mean()
    assert on > 1.8 * off, (on, off)  # the truth is 3x
    state = model._state()
    assert isinstance(state["booster_text_"], str) and "booster_" not in state  # text, not a pickled Booster
    path = model.save(tmp_path / "lgbm.pkl")
    loaded = load(path)  # through the safe-load allowlist (no trust)
    X = test[["unique_id", "ds", "promo"]]
    pd.testing.assert_frame_equal(loaded.predict(14, X_df=X), model.predict(14, X_df=X))


# ---------------------------------------------------------------------- validated ensemble weights
def test_validated_ensemble_weights_the_better_member():
    d = pd.date_range("2024-01-01", periods=120)
    weekly = np.array([0.8, 0.8, 0.9, 1.0, 1.2, 1.5, 0.8])
    df = pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": d, "y": (5 + 3 * i) * weekly[d.day_of_week]})
                    for i in range(3)], ignore_index=True)  # exactly weekly: seasonal naive is perfect
    model = make("ensemble", members=["moving_average", "seasonal_naive"], how="validated", val_h=14).fit(df)
    assert model.weights_.sum() == pytest.approx(1.0) and model.weights_[1] > 0.99
    plain = make("ensemble", members=["moving_average", "seasonal_naive"]).fit(df).predict(7)
    truth = 8 * weekly[pd.date_range(d[-1] + pd.Timedelta(days=1), periods=7).day_of_week]
    err = lambda fc: np.abs(fc.loc[fc["unique_id"] == "s1", "mean"].to_numpy() - truth).max()  # noqa: E731
    assert err(model.predict(7)) < 0.05 * err(plain)


def test_validated_ensemble_bad_val_h():
    with pytest.raises(ValueError, match="val_h must be a positive integer"):
        make("ensemble", how="validated", val_h=0)
