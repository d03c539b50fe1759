"""Forecast-side transfer of all three kinds (``forecasters.transfer.transfer_kinds``) on synthetic groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fc_helpers import WEEKLY

from forecasters.registry import make
from forecasters.transfer import KINDS, similarity_weights, transfer_kinds
from shopgym.errors import DataError


def group(n: int, seed: int, prefix: str, profile=WEEKLY, n_days: int = 60) -> pd.DataFrame:
    """``n`` series with one weekly ``profile``, each at its own level, 3% noise."""
    rng = np.random.default_rng(seed)
    d = pd.date_range("2023-01-02", periods=n_days)
    return pd.concat([pd.DataFrame({"unique_id": f"{prefix}{i}", "ds": d, "y": rng.uniform(10, 100) * profile[d.day_of_week]
                                    * (1 + 0.03 * rng.standard_normal(n_days))}) for i in range(n)], ignore_index=True)


@pytest.fixture(scope="module")
def pair():
    """Source: 6 series with the target's weekly profile and 6 with it reversed; target: 10 days of history."""
    src = pd.concat([group(6, 0, "a"), group(6, 1, "b", profile=WEEKLY[::-1])], ignore_index=True)
    tgt = group(3, 2, "t")
    end = tgt["ds"].max() - pd.Timedelta(days=7)
    return src, tgt[(tgt["ds"] <= end) & (tgt["ds"] > end - pd.Timedelta(days=10))], tgt[tgt["ds"] > end]


def test_similarity_weights_prefer_series_that_move_like_the_target(pair):
    src, hist, _ = pair
    w = similarity_weights(src, hist)
    assert w.between(0, 1).all()
    assert w.filter(like="a").min() > 0.5 > 0.01 > w.filter(like="b").max()


def test_every_kind_beats_scratch_when_source_shares_the_law(pair):
    """Ten days cannot teach the weekly law; the source groups (same law) can: every kind has gain > 0."""
    src, hist, fut = pair
    out = transfer_kinds(make("svr", max_samples=500), src, hist, fut, 7, season_length=7).set_index("method")
    assert list(out.index) == ["scratch", "zero_shot", "instance_based", "feature_based"]  # no fine-tuning for an SVR
    assert (out.drop("scratch")["gain"] > 0).all() and not out["negative_transfer"].any()
    assert out.loc["scratch", "gain"] == 0


def test_model_based_row_and_flags_with_a_neural_template(pair):
    src, hist, fut = pair
    tmpl = make("cnn", h=7, input_size=7, min_context=3, hidden=4, epochs=1, progress=False)
    out = transfer_kinds(tmpl, src, hist, fut, 7, fine_tune_epochs=1, season_length=7)
    assert list(out["method"]) == list(KINDS)
    assert (out["negative_transfer"] == ((out["gain"] < 0) & (out["method"] != "scratch"))).all()
    assert np.isfinite(out["MASE"]).all()


def test_shared_series_names_are_refused(pair):
    src, hist, fut = pair
    with pytest.raises(DataError, match="share series"):
        transfer_kinds(make("svr"), src, src[src["unique_id"] == "a0"], fut, 7)
