"""Build the demand model of the ``walmart-calibrated`` scenario from Walmart's weekly sales.

    python -m scenarios.walmart_model --data ../shared/data/walmart/train.csv.zip --out models/walmart.pkl

Fits additive Holt-Winters (``ets``, 52-week season) on ``--n-series`` store-department series observed in
every week (a random choice, seeded), with sales converted from USD/week to units/week by dividing by
``--unit-price`` (the scenario's catalog price), and saves it. The world then disaggregates each weekly
forecast into days with the scenario's weekday profile (``forecasters.disaggregate``). The model file is
not part of the repository: build it before running the scenario. Takes a few seconds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def build(data: str | Path, out: str | Path, n_series: int = 10, unit_price: float = 20.0, seed: int = 0) -> Path:
    """Fit and save the model; returns the path written. ``n_series`` should equal the scenario's ``n_skus``
    (SKU ``i`` follows series ``i mod n_series``)."""
    import forecasters
    from forecasters.loaders import load_walmart

    if n_series < 1 or not unit_price > 0:
        raise ValueError(f"need n_series >= 1 and unit_price > 0, got {n_series}, {unit_price}.")
    df = load_walmart(data, complete_only=True)
    ids = np.sort(df["unique_id"].unique())
    keep = np.random.default_rng(seed).choice(ids, min(n_series, len(ids)), replace=False)
    df = df[df["unique_id"].isin(keep)][["unique_id", "ds", "y"]].assign(y=lambda d: d["y"] / unit_price)
    model = forecasters.make("ets", seed=seed).fit(df)
    return model.save(out)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "walmart" / "train.csv.zip"),
                   help="Walmart train.csv(.zip) (stores.csv next to it is optional)")
    p.add_argument("--out", default="models/walmart.pkl", help="where to write the model (the scenario names this path)")
    p.add_argument("--n-series", type=int, default=10, help="series to fit: the scenario's catalog.n_skus")
    p.add_argument("--unit-price", type=float, default=20.0, help="USD per unit: the scenario's catalog.price")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    path = build(args.data, args.out, args.n_series, args.unit_price, args.seed)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
