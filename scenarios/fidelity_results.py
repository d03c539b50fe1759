"""What a run of ``benchmarks/recommend_fidelity.py`` records: the fixed settings its figures imply but its
arguments do not hold (log seeds, funnel tasks, candidate names), and its figures as plain JSON in
``WORKDIR/results.json``, read back by ``--from-results`` to rewrite the doc sections without a rerun."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from scenarios.doc_sections import check_stamp
from shopgym.atomic import atomic_write_text

LOG_SEED = 12345
#: Seed of the held-out logs the models are selected on (a different episode stream from the training logs').
HOLDOUT_SEED = LOG_SEED + 1
#: Seed of the calibration logs every candidate is recalibrated on under ``--calibrate platt`` (neither the training
#: nor the held-out logs: the held-out loss that selects stays out of sample).
CALIBRATION_SEED = LOG_SEED + 2
#: ``--calibrate`` choices: ``platt`` (recalibrate every candidate, then select) or ``none`` (select as fitted).
CALIBRATIONS = ("platt", "none")
TASKS = ("click", "cart", "purchase")
#: The figures a results file holds besides ``args`` and ``ran_at`` (the run's finishing time, UTC to the minute;
#: absent from files written before it was saved).
FIGURES = ("keys", "true", "learned", "selection", "sens", "sim", "seconds")


def candidate(model: str, fit: str) -> str:
    """The name of a candidate: ``MODEL/EPOCHSxBATCH`` (e.g. ``shared_bottom/4x4096``)."""
    return f"{model}/{fit}"


def recipe(name: str) -> tuple[str, int, int]:
    """``(model, epochs, batch_size)`` of a candidate name (``candidate``)."""
    model, fit = name.split("/")
    epochs, batch = fit.split("x")
    return model, int(epochs), int(batch)


def calibrated(args) -> bool:
    """Whether the run recalibrates its candidates (``--calibrate platt``; results of before hold no such key)."""
    return getattr(args, "calibrate", "none") == "platt"


def encode(obj):
    """The run's figures as plain JSON (tagged frames, arrays and tuples): a results file can hold no code."""
    if isinstance(obj, pd.DataFrame):
        return {"__frame__": {"columns": [str(c) for c in obj.columns], "index": encode(obj.index.to_numpy()),
                              "data": {str(c): encode(obj[c].to_numpy()) for c in obj.columns}}}
    if isinstance(obj, np.ndarray):
        return {"__array__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v) for v in obj]}
    if isinstance(obj, list):
        return [encode(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): encode(v) for k, v in obj.items()}
    return obj.item() if isinstance(obj, np.generic) else obj


def decode(obj):
    """The inverse of ``encode``."""
    if isinstance(obj, dict):
        if "__frame__" in obj:
            f = obj["__frame__"]
            return pd.DataFrame({c: decode(f["data"][c]) for c in f["columns"]}, index=decode(f["index"]))
        if "__array__" in obj:
            return np.asarray(obj["__array__"], dtype=obj["dtype"])
        if "__tuple__" in obj:
            return tuple(decode(v) for v in obj["__tuple__"])
        return {k: decode(v) for k, v in obj.items()}
    return [decode(v) for v in obj] if isinstance(obj, list) else obj


def save_results(path: Path, args: argparse.Namespace, figures: dict, ran_at: str) -> None:
    """Write the run's arguments, ``figures`` (``FIGURES``) and finishing time ``ran_at`` (``YYYY-MM-DD HH:MM
    UTC``) to ``path`` as plain JSON, whole or not at all."""
    atomic_write_text(path, json.dumps(encode({"args": vars(args), **figures, "ran_at": check_stamp(ran_at)})))


def read_raw(results: Path) -> dict:
    """The JSON of a run's ``results.json`` as saved (still encoded); a clear exit when there is no such file."""
    if not results.is_file():
        raise SystemExit(f"--from-results {str(results)!r}: no such file; give the results.json a run wrote in its "
                         "--workdir.")
    try:
        raw = json.loads(results.read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"--from-results {str(results)!r}: not readable JSON ({type(e).__name__}: {e}); give the "
                         "results.json a run wrote in its --workdir, or run the benchmark again.") from None
    if not isinstance(raw, dict):
        raise SystemExit(f"--from-results {str(results)!r}: holds a JSON {type(raw).__name__}, not a run's results; "
                         "give the results.json a run wrote in its --workdir.")
    return raw


def load_results(results: Path) -> tuple[argparse.Namespace, dict]:
    """The saved arguments of a run and its figures (``FIGURES``, plus ``ran_at``: None when the file records no
    finishing time)."""
    try:
        saved = decode(read_raw(results))
        args = argparse.Namespace(**saved["args"])
        figures = {k: saved[k] for k in FIGURES}
        if saved.get("ran_at") is not None:
            check_stamp(saved["ran_at"], "the recorded ran_at")
    except (ValueError, KeyError, TypeError) as e:
        raise SystemExit(f"--from-results {str(results)!r}: not a results.json of this script's version ({e}); "
                         "run the benchmark again.") from None
    return args, {**figures, "ran_at": saved.get("ran_at")}


def record_ran_at(results: Path, ran_at: str) -> bool:
    """Record ``ran_at`` (``YYYY-MM-DD HH:MM UTC``) as the finishing time of the run that wrote ``results``, for a
    file written before runs saved it; True when written, False when the file already records that time. A
    different recorded time is kept and refused with a clear exit; every other figure is left byte for byte."""
    check_stamp(ran_at, "--ran-at")
    raw = read_raw(results)
    recorded = raw.get("ran_at")
    if recorded == ran_at:
        return False
    try:
        valid = recorded is not None and check_stamp(recorded) is not None
    except ValueError:
        valid = False  # a malformed recorded time may be replaced: it cannot be used as it is
    if valid:
        raise SystemExit(f"--ran-at {ran_at!r}: {results} already records its run's finishing time {recorded!r}; "
                         "drop --ran-at (the recorded time is used).")
    atomic_write_text(results, json.dumps({**raw, "ran_at": ran_at}))
    return True
