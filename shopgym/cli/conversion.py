"""``shopgym conversion``: generate interaction logs, fit a multi-task model, evaluate it against the oracle.

Example::

    shopgym conversion generate logs.csv --n-impressions 100000 --seed 0
    shopgym conversion fit logs.csv model.pt --model mmoe --epochs 3
    shopgym conversion calibrate model.pt other_logs.csv calibrated.pt
    shopgym conversion evaluate model.pt logs.csv
"""

from __future__ import annotations

from pathlib import Path

import typer

from shopgym.errors import ModelFileError, ShopgymError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Multi-task conversion models (click, cart, purchase): generate logs, fit, evaluate vs the oracle.")


def _fail(exc: Exception) -> None:
    """Print the one-line message for ``exc`` (``shopgym.cli.faults``) and exit with status 2."""
    from shopgym.cli.faults import EXIT_CODE, report

    report(exc)
    raise typer.Exit(EXIT_CODE)


#: Everything reading a user's file can raise that the commands report as one line (exit status 2).
FILE_FAULTS = (ShopgymError, ValueError, KeyError, OSError)


def _check_logs(logs: Path) -> None:
    """Refuse a missing, empty, corrupt or non-CSV log file in one line naming it, before any work."""
    if logs.suffix != ".parquet":
        from forecasters.files import read_csv

        read_csv(logs, what="log file", nrows=1,
                 fix="Give logs written by `shopgym conversion generate` (a UTF-8 CSV or .parquet file).")


def _tasks(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


@app.command()
def generate(
    out: Path = typer.Argument(..., help="Output file: .csv (default format) or .parquet (needs pyarrow)."),
    n_impressions: int = typer.Option(100_000, help="Number of impressions (rows) to simulate."),
    seed: int = typer.Option(0, help="Episode seed: same seed, same logs."),
    scenario: str = typer.Option("", help="Scenario name or .toml path; default: 200 SKUs in 10 categories."),
    discount_prob: float = typer.Option(0.2, help="Chance an impression shows a discount or coupon."),
    epsilon: float = typer.Option(0.5, help="Share of sessions the logging policy shows a random slate (the rest: "
                                  "the myopic oracle's). Stock-outs come from the world's inventory."),
) -> None:
    """Run a logging policy in the world and write one row per impression (features, labels, true probabilities)."""
    from forecasters.conversion.logs import generate_logs, log_scenario, save_logs
    from shopgym.config import load_scenario

    try:
        scen = load_scenario(scenario) if scenario else log_scenario()
        df = generate_logs(scen, n_impressions, seed=seed, progress=True, discount_prob=discount_prob, epsilon=epsilon)
        path = save_logs(df, out)
    except (ShopgymError, ValueError, ImportError) as exc:
        _fail(exc)
    rates = ", ".join(f"{t} {df[t].mean():.4f}" for t in ("click", "cart", "purchase"))
    typer.echo(f"wrote {len(df)} impressions to {path} (rates: {rates})")


@app.command()
def fit(
    logs: Path = typer.Argument(..., help="Log file (.csv or .parquet) with label columns."),
    out: Path = typer.Argument(..., help="Where to save the fitted model (torch file)."),
    model: str = typer.Option("shared_bottom", help="Model name: lr, mlp, shared_bottom, soft_sharing, mmoe, ple, esmm."),
    tasks: str = typer.Option("click,cart,purchase", help="Comma-separated label columns (one task each)."),
    epochs: int = typer.Option(3, min=1, help="Passes over the logs (>= 1)."),
    batch_size: int = typer.Option(512, min=1, help="Rows per gradient step (>= 1)."),
    weighting: str = typer.Option("fixed", help="Task-loss weighting: fixed or uncertainty."),
    seed: int = typer.Option(0, help="Seed of weights and batch order."),
    threads: int = typer.Option(1, min=1, help="torch CPU threads (>= 1)."),
) -> None:
    """Fit a conversion model on logs and save it."""
    import torch

    from forecasters.conversion.data import load_logs
    from forecasters.conversion.registry import make_model

    torch.set_num_threads(threads)
    try:
        task_list = _tasks(tasks)
        if out.is_dir():
            raise ModelFileError(f"OUT {str(out)!r} is a folder; name the model file to write, e.g. {str(out / 'model.pt')!r}.")
        _check_logs(logs)
        df = load_logs(logs, task_list, nested=False)
        m = make_model(model, tasks=task_list, epochs=epochs, batch_size=batch_size, weighting=weighting, seed=seed, progress=True)
        m.fit(df)
        m.save(out)
    except FILE_FAULTS as exc:
        _fail(exc)
    typer.echo(f"fitted {model} on {len(df)} rows; saved to {out}")


@app.command()
def calibrate(
    model_path: Path = typer.Argument(..., help="A model saved by `fit`."),
    logs: Path = typer.Argument(..., help="Calibration logs: same layout and logging policy as the training logs, "
                                "but NOT the rows the model was fitted on."),
    out: Path = typer.Argument(..., help="Where to save the calibrated model (a new file; MODEL_PATH is kept)."),
) -> None:
    """Recalibrate a fitted funnel model per stage (Platt: p(click), p(cart | click), p(purchase | cart)) on logs it
    was not fitted on; the saved copy answers calibrated wherever it is used (e.g. ``learned:OUT``)."""
    from forecasters.conversion.data import load_logs
    from forecasters.conversion.registry import load_model

    try:
        if out.resolve() == model_path.resolve():
            raise ModelFileError(f"OUT {str(out)!r} is MODEL_PATH; write the calibrated model to a new file.")
        if out.is_dir():
            raise ModelFileError(f"OUT {str(out)!r} is a folder; name the model file to write, e.g. {str(out / 'model.pt')!r}.")
        m = load_model(model_path)
        _check_logs(logs)
        df = load_logs(logs, m.tasks, nested=True)
        m.calibrate(df).save(out)
    except FILE_FAULTS as exc:
        _fail(exc)
    cal = m.calibration_
    fitted = ", ".join(f"{t} {a:.3f} z {b:+.3f} ({k:,} rows)" for t, a, b, k in zip(cal.stages, cal.scale_, cal.shift_,
                                                                                      cal.n_, strict=True))
    typer.echo(f"calibrated on {len(df)} rows (logit scale, shift per stage: {fitted}); saved to {out}")


@app.command()
def evaluate(
    model_path: Path = typer.Argument(..., help="A model saved by `fit`."),
    logs: Path = typer.Argument(..., help="Log file to evaluate on (held-out logs)."),
) -> None:
    """Per-task AUC, log loss and calibration error, next to the oracle when the logs carry true probabilities."""
    from tqdm import tqdm

    from forecasters.conversion.data import load_logs
    from forecasters.conversion.metrics import evaluate as evaluate_metrics
    from forecasters.conversion.registry import load_model

    try:
        m = load_model(model_path)  # weights-only: a missing, empty or corrupt file is one ModelFileError line
        _check_logs(logs)
        df = load_logs(logs, m.tasks, nested=False)
        chunk = 50_000
        import numpy as np

        parts = [m.predict_proba(df.iloc[i : i + chunk]) for i in tqdm(range(0, len(df), chunk), desc="predict", unit="chunk")]
        table = evaluate_metrics(df, np.concatenate(parts), m.tasks)
    except FILE_FAULTS as exc:
        _fail(exc)
    typer.echo(table.round(4).to_string())


if __name__ == "__main__":  # pragma: no cover
    app()
