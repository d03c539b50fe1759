"""Build the demand model of the ``cold-start`` scenario: a meta-learned forecaster of new products.

    python -m scenarios.cold_start_model --data ../shared/data/walmart/train.csv.zip --out models/cold-start.pkl

Walmart's weekly store-department sales stand in for a catalog: ``--n-train`` series with their whole history
are the products the shop already knows, and ``--n-new`` other series, cut to their last ``--history-weeks``
weeks, are the new products (named ``0-new-<id>`` so that they sort first: SKU ``i`` of the world follows series
``i``, ``forecasters.learned_demand``). A ``MetaSVR`` (META-SVM, ``forecasters/meta_svr.py``) meta-learns a
common mean over all series; the scenario's demand is its zero-shot forecast (``adapt=False``: the common mean
applied to each new product's own recent weeks, scaled by its level), drawn auto-regressively. Sales are converted from USD/week to units/week by dividing by
``--unit-price`` (the scenario's catalog price). The model file is not part of the repository: build it before
running the scenario (about a minute on one core). The series are a random choice, seeded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: The prefix that makes the new products' series sort before the known ones.
NEW = "0-new-"


def build(data: str | Path, out: str | Path, n_new: int = 5, history_weeks: int = 12, n_train: int = 60,
          unit_price: float = 20.0, seed: int = 0) -> Path:
    """Fit and save the model; returns the path written. ``n_new`` should equal the scenario's ``n_skus``."""
    import pandas as pd

    import forecasters
    from forecasters.loaders import load_walmart

    if n_new < 1 or n_train < 1 or history_weeks < 4 or not unit_price > 0:
        raise ValueError(f"need n_new >= 1, n_train >= 1, history_weeks >= 4 and unit_price > 0, got {n_new}, "
                         f"{n_train}, {history_weeks}, {unit_price}.")
    df = load_walmart(data, complete_only=True)[["unique_id", "ds", "y"]]
    df = df[df.groupby("unique_id")["y"].transform("mean") >= 50 * unit_price]  # at least 50 units a week
    ids = np.sort(df["unique_id"].unique())
    pick = np.random.default_rng(seed).choice(ids, min(n_new + n_train, len(ids)), replace=False)
    new, known = pick[:n_new], pick[n_new:]
    last = df["ds"].max() - np.timedelta64(7 * history_weeks, "D")
    fresh = df[df["unique_id"].isin(new) & (df["ds"] > last)].assign(unique_id=lambda d: NEW + d["unique_id"])
    panel = pd.concat([fresh, df[df["unique_id"].isin(known)]], ignore_index=True)
    panel = panel.assign(y=panel["y"] / unit_price)
    # adapt=False: the zero-shot common mean. Adapting per series refits one SVR per world and SKU every simulated
    # day (thousands a day when heuristics are tuned on a batch of worlds): too slow to drive a world.
    model = forecasters.make("meta_svr", seed=seed, adapt=False).fit(panel)
    return model.save(out)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "walmart" / "train.csv.zip"),
                   help="Walmart train.csv(.zip)")
    p.add_argument("--out", default="models/cold-start.pkl", help="where to write the model (the scenario names this path)")
    p.add_argument("--n-new", type=int, default=5, help="new products: the scenario's catalog.n_skus")
    p.add_argument("--history-weeks", type=int, default=12, help="weeks of history of each new product")
    p.add_argument("--n-train", type=int, default=60, help="known products the common mean is meta-learned on")
    p.add_argument("--unit-price", type=float, default=20.0, help="USD per unit: the scenario's catalog.price")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    path = build(args.data, args.out, args.n_new, args.history_weeks, args.n_train, args.unit_price, args.seed)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
