"""The UCI Adult (census income) data as a two-task problem: income > 50K and never married.

Read in place from a directory holding ``census-income.data`` and ``census-income.test`` (the
Adult files, 15 comma-separated columns, no header). ``marital_status`` is the second label and
``relationship`` (husband, wife, own child...) nearly restates it, so both are dropped from the
features.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopgym.errors import DataError

COLUMNS = ["age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
           "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country", "income_raw"]
TASKS = ("income", "never_married")
FILES = {"train": "census-income.data", "test": "census-income.test"}


def load_adult(root: str | Path, split: str = "train") -> pd.DataFrame:
    """Features plus 0/1 columns ``income`` (> 50K) and ``never_married`` for ``split`` in {train, test}."""
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    path = Path(root) / FILES[split]
    if not path.exists():
        raise DataError(f"{str(path)!r} does not exist; pass the directory holding the Adult files ({', '.join(FILES.values())}).")
    df = pd.read_csv(path, header=None, names=COLUMNS, skipinitialspace=True, comment="|", na_values="?")
    df = df.dropna(subset=["income_raw"])
    df["income"] = df["income_raw"].str.rstrip(".").eq(">50K").astype(int)
    df["never_married"] = df["marital_status"].eq("Never-married").astype(int)
    df = df.drop(columns=["income_raw", "marital_status", "relationship"])
    for c in ("workclass", "occupation", "native_country"):
        df[c] = df[c].fillna("unknown")
    return df.reset_index(drop=True)
