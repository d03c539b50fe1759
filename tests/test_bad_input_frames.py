"""Bad data frames get one clear error naming the column, the row and the fix (issue 20, validation): interaction
logs, forecaster frames, M5 and Walmart files. Split from tests/test_bad_input.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopgym.errors import DataError

# ---------------------------------------------------------------- data frames


@pytest.fixture(scope="module")
def logs():
    from forecasters.conversion.logs import generate_logs, log_scenario

    return generate_logs(log_scenario(n_skus=20, n_categories=2, n_shoppers=50, sessions_per_day=20, slate_size=4),
                         n_impressions=300, seed=0)


@pytest.mark.parametrize("drop,match", [
    (["price"], r"lacks column\(s\) \['price'\]"),
    ("e_", r"lacks column\(s\) \['e_0 \.\. e_\{d-1\}'\]"),
    (["e_3"], r"has e_ columns .* but no e_3"),
])
def test_logs_without_price_or_embedding_are_refused(tmp_path, logs, drop, match):
    from forecasters.conversion.data import load_logs

    cols = [c for c in logs if c.startswith(drop)] if isinstance(drop, str) else drop
    logs.drop(columns=cols).to_csv(tmp_path / "l.csv", index=False)
    with pytest.raises(DataError, match=match):
        load_logs(tmp_path / "l.csv")


@pytest.mark.parametrize("column", ["price", "e_0", "position", "true_click"])
def test_one_string_in_a_numeric_log_column_is_named_not_one_hot_encoded(tmp_path, logs, column):
    from forecasters.conversion.data import load_logs

    bad = logs.copy()
    bad[column] = bad[column].astype(object)
    bad.loc[bad.index[7], column] = "unknown"
    bad.to_csv(tmp_path / "l.csv", index=False)
    with pytest.raises(DataError, match=rf"\['{column}'\] must be numeric, but row 7 holds 'unknown'"):
        load_logs(tmp_path / "l.csv")


def _daily(n_days=30):
    ds = pd.date_range("2024-01-01", periods=n_days)
    return pd.DataFrame({"unique_id": "a", "ds": ds, "y": np.arange(n_days, dtype=float) % 7,
                         "price": 2.0})


def test_negative_sales_are_refused_in_forecaster_frames():
    from forecasters.data import validate_frame
    from forecasters.registry import make as make_forecaster

    df = _daily()
    df.loc[4, "y"] = -3.0
    with pytest.raises(DataError, match=r"negative value\(s\), e\.g\. -3\.0 in series 'a' on 2024-01-05.*clip"):
        validate_frame(df)
    with pytest.raises(DataError, match="negative"):
        make_forecaster("seasonal_naive").fit(df)
    assert (validate_frame(df, allow_negative=True)["y"] < 0).sum() == 1  # explicit opt-in only


def test_a_string_in_price_is_named_in_forecaster_frames():
    from forecasters.data import validate_frame

    df = _daily()
    df["price"] = df["price"].astype(object)
    df.loc[3, "price"] = "sale"
    with pytest.raises(DataError, match=r"df\['price'\] must be numeric, but row 3 holds 'sale'"):
        validate_frame(df)
    df = _daily()
    df["y"] = df["y"].astype(object)
    df.loc[2, "y"] = "12 units"
    with pytest.raises(DataError, match=r"df\['y'\] must be numeric, but row 2 holds '12 units'"):
        validate_frame(df)


def test_frequency_message_names_a_real_parameter():
    from forecasters.data import infer_freq, validate_frame
    from forecasters.preprocessing import fill_missing_dates

    single = validate_frame(pd.DataFrame({"unique_id": ["a", "b"], "ds": ["2024-01-01", "2024-01-03"], "y": [1.0, 2.0]}))
    with pytest.raises(DataError, match=r"freq=pd\.Timedelta\(days=1\)") as info:
        infer_freq(single)
    assert "Pass freq='D'" not in str(info.value)
    assert len(fill_missing_dates(single, freq=pd.Timedelta(days=1))) == 2  # the parameter it names exists
    assert len(fill_missing_dates(single, freq="D")) == 2  # and the unit that the old message named now works
    with pytest.raises(DataError, match=r"freq = 'soon' is not a fixed time step"):
        fill_missing_dates(single, freq="soon")
    with pytest.raises(DataError, match=r"fill_value = -1\.0 must be a finite number >= 0"):
        fill_missing_dates(single, freq="D", fill_value=-1.0)


def _m5_files(tmp_path, prices_edit=None):
    from forecasters.loaders import synthetic_m5

    sales, cal, prices = synthetic_m5(n_items=2, n_days=21)
    if prices_edit is not None:
        prices = prices_edit(prices)
    paths = [tmp_path / f"{n}.csv" for n in ("sales", "calendar", "prices")]
    for frame, path in zip((sales, cal, prices), paths, strict=True):
        frame.to_csv(path, index=False)
    return paths


@pytest.mark.parametrize("edit,match", [
    (lambda p: p.drop(columns=["sell_price"]), r"prices\.csv \(M5 prices file\) lacks column\(s\) \['sell_price'\]"),
    (lambda p: p[p["item_id"] != "ITEM_1"], r"no sell_price for 1 series, e\.g\. 'ITEM_1_CA_1'"),
    (lambda p: p.astype({"sell_price": object}).assign(sell_price=lambda d: d["sell_price"].where(d.index != 1, "free")),
     r"\['sell_price'\] must be numeric, but row 1 holds 'free'"),
])
def test_m5_prices_are_checked(tmp_path, edit, match):
    from forecasters.loaders import load_m5

    with pytest.raises(DataError, match=match):
        load_m5(*_m5_files(tmp_path, edit))


def test_walmart_text_in_sales_is_named(tmp_path):
    from forecasters.loaders import load_walmart

    raw = pd.DataFrame({"Store": [1, 1, 2], "Dept": [1, 1, 1], "Date": ["2010-02-05", "2010-02-12", "2010-02-05"],
                        "Weekly_Sales": ["10.5", "oops", "3"], "IsHoliday": [False, False, True]})
    raw.to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(DataError, match=r"\['Weekly_Sales'\] must be numeric, but row 1 holds 'oops'"):
        load_walmart(tmp_path / "train.csv")
    raw.assign(Weekly_Sales=[1.0, 2.0, 3.0], Date=["2010-02-05", "someday", "2010-02-05"]).to_csv(tmp_path / "t2.csv", index=False)
    with pytest.raises(DataError, match=r"\['Date'\] must hold dates .* row 1 holds 'someday'"):
        load_walmart(tmp_path / "t2.csv")
