"""Rolling-origin backtests: refit (or update, or freeze) at each origin and score the next ``h`` steps."""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from forecasters.base import Forecaster, season_for
from forecasters.data import DS, ID, Y, check_horizon, infer_freq, validate_frame
from forecasters.metrics import insample_scale, score

MODES = ("refit", "update", "frozen")


def cutoffs(df: pd.DataFrame, h: int, n_windows: int, step: int | None = None) -> list[pd.Timestamp]:
    """Forecast origins: the last ``h + (n_windows - 1) * step`` dates are held out, origins ``step`` apart."""
    step = h if step is None else step
    dates = np.sort(df[DS].unique())
    first = len(dates) - h - (n_windows - 1) * step - 1
    if first < 1:
        raise ValueError(f"{len(dates)} dates are too few for {n_windows} windows of h={h} (step {step}).")
    return [pd.Timestamp(dates[first + w * step]) for w in range(n_windows)]


def backtest(model: Forecaster, df: pd.DataFrame, h: int, n_windows: int = 3, step: int | None = None,
             mode: str = "refit", progress: bool = False) -> pd.DataFrame:
    """Rolling-origin forecasts of ``model`` on ``df``.

    Args:
        model: a forecaster (fitted or not; it is cloned, never modified).
        df: long frame with the full history.
        h: steps forecast from each origin.
        n_windows: number of origins.
        step: steps between origins (default ``h``: windows tile the held-out period).
        mode: ``"refit"`` fits from scratch at every origin; ``"update"`` fits at the first origin and
            then calls ``update(new rows)``; ``"frozen"`` fits once and only conditions on the longer
            history (``predict(h, df=history)``).
        progress: show a progress bar over origins.

    Returns:
        Long frame ``unique_id, ds, cutoff, y, mean, q0.1, q0.5, q0.9`` for every series and origin.
    """
    h = check_horizon(h)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
    df = validate_frame(df)
    freq = infer_freq(df)
    out, fitted, prev = [], None, None
    for cutoff in tqdm(cutoffs(df, h, n_windows, step), desc=f"backtest {model.name}", disable=not progress):
        train = df[df[DS] <= cutoff]
        test = df[(df[DS] > cutoff) & (df[DS] <= cutoff + h * freq)]
        X_df = test[[ID, DS, *model.exog]] if model.exog else None
        if mode == "refit" or fitted is None:
            fitted = model.clone().fit(train)
            fc = fitted.predict(h, X_df=X_df)
        elif mode == "update":
            fitted.update(df[(df[DS] > prev) & (df[DS] <= cutoff)])
            fc = fitted.predict(h, X_df=X_df)
        else:
            fc = fitted.predict(h, df=train, X_df=X_df)
        prev = cutoff
        fc = fc.merge(test[[ID, DS, Y]].assign(**{ID: test[ID].astype(str)}), on=[ID, DS], how="inner")
        out.append(fc.assign(cutoff=cutoff))
    return pd.concat(out, ignore_index=True)


def evaluate(forecasts: pd.DataFrame, df: pd.DataFrame, season_length: int | None = None, point: str = "mean") -> dict:
    """Metrics of backtest ``forecasts`` (see ``metrics.score``; ``point`` = ``"mean"`` or ``"q0.5"``),
    scaled by each series' seasonal-naive in-sample MAE on ``df`` before the first origin."""
    df = validate_frame(df)
    m = season_length or season_for(infer_freq(df))
    scale = insample_scale(df[df[DS] <= forecasts["cutoff"].min()], m)
    return score(forecasts, scale, point=point)
