"""``shopgym forecast``: backtest demand forecasters on a data file.

Mounted by ``shopgym/cli/main.py``; try it directly with
``python -c "from shopgym.cli.forecast import app; app()" backtest --data PATH --h 13``.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

app = typer.Typer(help="Demand forecasters: backtests on real or simulated sales.", no_args_is_help=True)


@app.callback()
def forecast() -> None:
    """Demand forecasters: backtests on real or simulated sales."""


DEFAULT_MODELS = "seasonal_naive,ets,cnn,lstm,transformer,ensemble"


def _fail(exc: Exception) -> None:
    """Print the one-line message for ``exc`` (``shopgym.cli.faults``) and exit with status 2."""
    from shopgym.cli.faults import EXIT_CODE, report

    report(exc)
    raise typer.Exit(EXIT_CODE)


def _load(data: Path, max_series: int | None, seed: int):
    """A long frame from ``data``: the Walmart ``train.csv(.zip)`` layout or a long CSV (unique_id, ds, y).

    An unreadable, empty or corrupt file, or one with neither layout's columns, is a ``DataError`` naming it.
    """
    import numpy as np

    from forecasters.files import read_csv
    from forecasters.loaders import load_walmart
    from shopgym.errors import DataError

    head = read_csv(data, what="--data file", nrows=1)
    if {"Store", "Dept", "Weekly_Sales"} <= set(head.columns):
        df = load_walmart(data, complete_only=True)
    else:
        need = ["unique_id", "ds", "y"]
        missing = [c for c in need if c not in head.columns]
        if missing:
            raise DataError(f"--data file {str(data)!r} lacks column(s) {missing} (it has {list(head.columns)}); give a "
                            "long CSV with unique_id, ds, y or the Walmart train.csv (Store, Dept, Date, Weekly_Sales).")
        df = read_csv(data, what="--data file")
    ids = df["unique_id"].astype(str).unique()
    if max_series and len(ids) > max_series:
        keep = np.random.default_rng(seed).choice(ids, max_series, replace=False)
        df = df[df["unique_id"].astype(str).isin(keep)]
    return df[["unique_id", "ds", "y"]]


@app.command()
def backtest(
    data: Path = typer.Option(..., "--data", exists=True, dir_okay=False, help="Walmart train.csv(.zip) or a long CSV with unique_id, ds, y."),
    models: str = typer.Option(DEFAULT_MODELS, "--models", help="Comma-separated model names (forecasters.available())."),
    h: int = typer.Option(13, "--h", min=1, help="Forecast horizon (steps of the data's frequency)."),
    n_windows: int = typer.Option(3, "--n-windows", min=1, help="Rolling origins, h steps apart."),
    max_series: int = typer.Option(200, "--max-series", min=0, help="Random subset of series (0 = all)."),
    epochs: int = typer.Option(20, "--epochs", min=1, help="Max epochs of the neural models."),
    point: str = typer.Option("q0.5", "--point", help="Point forecast scored by MASE/sMAPE: q0.5 (median) or mean."),
    seed: int = typer.Option(0, "--seed", help="Seed of the series subset and of the models."),
) -> None:
    """Rolling-origin backtest of each model; prints MASE, sMAPE, pinball, coverage and the ratio to seasonal naive."""
    import torch

    from forecasters.backtest import backtest as run_backtest
    from forecasters.backtest import evaluate
    from forecasters.benchmarking import combine_forecasts
    from forecasters.data import validate_frame
    from forecasters.registry import available, make
    from shopgym.errors import DataError, ShopgymError

    torch.set_num_threads(1)
    names = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [m for m in names if m not in available()]
    if unknown:
        raise typer.BadParameter(f"unknown model(s) {unknown}; known: {', '.join(available())}.")
    try:
        df = _load(data, max_series or None, seed)
        validate_frame(df, what=f"--data file {str(data)!r}")
    except ShopgymError as exc:
        _fail(exc)
    typer.echo(f"{df['unique_id'].nunique()} series, {df['ds'].nunique()} dates; h={h}, {n_windows} windows")
    neural = {"cnn", "lstm", "transformer"}
    forecasts, rows = {}, []
    for name in names:
        t0 = time.time()
        if name == "ensemble":
            members = [m for m in names if m not in ("ensemble", "seasonal_naive")] or ["ets"]
            missing = [m for m in members if m not in forecasts]
            if missing:
                raise typer.BadParameter(f"ensemble combines models run before it; add {missing} to --models first.")
            fc = combine_forecasts([forecasts[m] for m in members])
        else:
            params = {"seed": seed}
            if name in neural:
                params.update(h=h, epochs=epochs)
            try:
                fc = run_backtest(make(name, **params), df, h, n_windows, progress=True)
            except ShopgymError as exc:  # e.g. series too short for h and n_windows
                _fail(DataError(f"{name} on --data file {str(data)!r}: {exc}"))
        forecasts[name] = fc
        rows.append({"model": name, **evaluate(fc, df, point=point), "seconds": time.time() - t0})
    base = next((r["MASE"] for r in rows if r["model"] == "seasonal_naive"), None)
    typer.echo(f"\n{'model':<16}{'MASE':>8}{'sMAPE':>8}{'pinball':>9}{'cover80':>9}{'vs snaive':>10}{'sec':>8}")
    for r in rows:
        ratio = f"{r['MASE'] / base:.3f}" if base else "-"
        typer.echo(f"{r['model']:<16}{r['MASE']:>8.3f}{r['sMAPE']:>8.2f}{r['pinball']:>9.3f}{r['coverage80']:>9.3f}"
                   f"{ratio:>10}{r['seconds']:>8.0f}")
