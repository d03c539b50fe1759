"""The benchmark's resumable state in its ``out`` folder, keyed by content.

Four files let an interrupted benchmark resume: ``results.csv`` (one row per finished episode of a
Restock scenario; a Recommend scenario's episodes go to ``results_recommend.csv``, with that kind's own
columns, ``RESULT_FILES``), ``tuned.json`` (tuned heuristic parameters), ``references.json`` (exact expected values of each kind's
headline KPI: episode profit for Restock, recommendation margin for Recommend) and
``scenarios.json`` (each scenario's resolved content). Every row and entry records the
``scenario_hash`` (``shopgym.content``) of the scenario that produced it, and every row a
``policy_hash`` (the policy name plus, for a trained agent, a digest of its model files), so
``check_fresh`` recognises results of an edited scenario file, override or model file and refuses to
mix them with new ones (``StaleResultsError``, naming the keys that changed; ``--overwrite`` starts
again). Nothing is reused silently.

Rows are appended a cell at a time in one write, flushed and fsynced (``append_rows``); a partial
last line (a kill mid-append) is dropped with a ``ResumeWarning`` on load and its episodes are
simulated again. An empty or corrupt JSON state file is recomputed with a warning; the JSON files
are written atomically (``shopgym.atomic``).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from agents.registry import LEARNED_GREEDY, TRAINED_PREFIXES
from agents.tuning import GRIDS, METHOD, TRAIN_SEED_BASE
from scenarios.bench_ads import ADS_RESULT_COLUMNS
from shopgym.atomic import atomic_write_bytes
from shopgym.content import content_hash, scenario_content
from shopgym.errors import OutputError
from shopgym.world.kpis import EPISODE_KPIS, SESSION_KPIS

#: One row per episode of a Restock scenario: its scenario, policy and seed, every episode KPI
#: (``shopgym.world.kpis.EPISODE_KPIS``, defined there), the wall time (s), and the hashes of the scenario content
#: and policy that produced it.
RESULT_COLUMNS = ["scenario", "policy", "seed", *EPISODE_KPIS, "seconds", "scenario_hash", "policy_hash"]
#: One row per episode of a Recommend scenario: the recommendation KPIs (``SESSION_KPIS``) first, then the shop's
#: episode KPIs (``EPISODE_KPIS``; its revenue and sales include recommendation-driven ones), then as above.
RECOMMEND_RESULT_COLUMNS = ["scenario", "policy", "seed", *SESSION_KPIS, *EPISODE_KPIS, "seconds", "scenario_hash",
                            "policy_hash"]
#: Per env kind (``agents.registry.env_kind``): its results file and columns. One file per kind, so that every
#: column of a file is defined for every row (no NaN-padding of one kind's KPIs in the other's rows).
RESULT_FILES = {"restock": "results.csv", "recommend": "results_recommend.csv", "ads": "results_ads.csv"}
COLUMNS = {"restock": RESULT_COLUMNS, "recommend": RECOMMEND_RESULT_COLUMNS, "ads": ADS_RESULT_COLUMNS}
KEY_COLUMNS = ["scenario", "policy", "seed", "scenario_hash", "policy_hash"]
#: Files that hold resumable state; ``discard`` removes them (and ``RESULT_FILES``) together with the reports.
STATE_FILES = ("results.csv", "tuned.json", "references.json", "scenarios.json")
REPORT_FILES = ("summary.csv", "summary.md", "benchmark.png", "config.json", "results.old.csv", "results.corrupt.csv",
                "summary_recommend.csv", "results_recommend.old.csv", "results_recommend.corrupt.csv",
                "summary_ads.csv", "results_ads.old.csv", "results_ads.corrupt.csv",
                "results.parquet", "results_recommend.parquet", "results_ads.parquet", "timing.json")


class ResumeWarning(UserWarning):
    """Part of a benchmark's saved state was unusable (partial row, empty or corrupt file) and is recomputed."""


class StaleResultsError(OutputError):
    """The ``out`` folder holds results of a scenario or policy whose content has changed since."""


#: Folders of a training run that change without changing its final policy (resumable training state, logs).
TRAINING_ONLY = frozenset({"checkpoints", "logs", "eval"})
#: Files of a training run that change without changing its final policy: ``run.json`` gains a line on every
#: ``shopgym train`` start, ``evaluation_*.json`` are written by ``shopgym evaluate``.
def _not_policy(rel: Path) -> bool:
    return rel.parts[0] in TRAINING_ONLY or rel.name == "run.json" or (
        len(rel.parts) == 1 and rel.name.startswith("evaluation_") and rel.suffix == ".json")


def policy_hash(policy: str) -> str:
    """The hash of what a policy's actions depend on besides the scenario: its name; for a tuned heuristic
    the grid, method and training seeds it is tuned with (``agents.tuning``); for a trained agent (``sb3:DIR``,
    ``dqn:DIR``, ...) the bytes of the files in ``DIR`` outside ``TRAINING_ONLY``, ``run.json`` and ``evaluation_*.json``; for ``learned_greedy:PATH``
    (Recommend) the bytes of the conversion model at ``PATH`` (a file, or every file under a folder)."""
    tuning = None
    if policy in GRIDS:
        tuning = {"grid": {k: v.tolist() for k, v in GRIDS[policy].items()}, "method": METHOD,
                  "train_seed_base": TRAIN_SEED_BASE}
    files: dict[str, str] = {}
    if policy.startswith(TRAINED_PREFIXES):
        root = Path(policy.partition(":")[2])
        for f in sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []:
            rel = f.relative_to(root)
            if not _not_policy(rel):
                files[rel.as_posix()] = hashlib.sha256(f.read_bytes()).hexdigest()
    if policy.startswith(LEARNED_GREEDY):
        root = Path(policy[len(LEARNED_GREEDY):])
        found = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        files = {(f.relative_to(root).as_posix() if f != root else f.name): hashlib.sha256(f.read_bytes()).hexdigest()
                 for f in found}
    return content_hash({"policy": policy, "tuning": tuning, "model_files": files})


def append_rows(path: Path, rows: pd.DataFrame, columns: list[str] = RESULT_COLUMNS) -> None:
    """Append ``rows`` (``columns``: the kind's, ``COLUMNS``) to ``path`` in one write, flushed and fsynced; the
    header goes first when the file is new or empty."""
    new = not path.exists() or path.stat().st_size == 0
    data = rows[columns].to_csv(index=False, header=new).encode()
    with open(path, "ab") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _warn(message: str) -> None:
    warnings.warn(message, ResumeWarning, stacklevel=3)


def _set_aside(path: Path, suffix: str, why: str, columns: list[str]) -> pd.DataFrame:
    aside = path.with_name(f"{path.stem}.{suffix}.csv")
    path.replace(aside)
    _warn(f"{path} {why}: moved to {aside}; its episodes are simulated again.")
    return pd.DataFrame(columns=columns)


def load_results(path: Path, columns: list[str] = RESULT_COLUMNS) -> pd.DataFrame:
    """The finished episodes in ``results.csv`` (or a kind's ``RESULT_FILES`` entry, with its ``columns``;
    empty frame when there are none).

    A partial last line is dropped (and the file rewritten without it) with a ``ResumeWarning``; an
    empty file is removed; a file that does not parse, or lacks today's columns (an older shopgym, or
    no content hashes), is set aside as ``results.corrupt.csv`` / ``results.old.csv`` (``results_recommend.*``
    for that file). Those episodes are simulated again.
    """
    if not path.exists():
        return pd.DataFrame(columns=columns)
    raw = path.read_bytes()
    if raw and not raw.endswith(b"\n"):
        cut = raw.rfind(b"\n") + 1
        _warn(f"{path} ends in a partial line (an interrupted write): dropped {raw[cut:][:60]!r}; "
              "its episodes are simulated again.")
        raw = raw[:cut]
        atomic_write_bytes(path, raw)
    if not raw.strip():
        path.unlink()
        return pd.DataFrame(columns=columns)
    try:
        done = pd.read_csv(io.BytesIO(raw), dtype={c: str for c in KEY_COLUMNS if c != "seed"})  # "2024" stays a name
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' ParserError and EmptyDataError are ValueErrors
        return _set_aside(path, "corrupt", f"cannot be read as CSV ({str(exc).splitlines()[0]})", columns)
    missing = [c for c in columns if c not in done.columns]
    if missing:
        names = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        return _set_aside(path, "old", f"lacks the columns {names} (written by an older shopgym)", columns)
    bad = done[KEY_COLUMNS].isna().any(axis=1) | pd.to_numeric(done["seed"], errors="coerce").isna()
    if bad.any():
        done = done[~bad]
        _warn(f"{path}: dropped {int(bad.sum())} incomplete rows; their episodes are simulated again.")
        atomic_write_bytes(path, done[columns].to_csv(index=False).encode())
    return done.astype({"seed": int}).reset_index(drop=True)


def load_entries(path: Path, what: str, valid) -> dict[str, dict]:
    """The entries of the JSON object in ``path`` that pass ``valid(entry)``; an empty, corrupt or
    older-format file or entry is left out with a ``ResumeWarning`` (``what`` is then recomputed)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError(f"a JSON {type(data).__name__}, not an object")
    except (ValueError, UnicodeDecodeError) as exc:
        _warn(f"{path} is empty or corrupt ({str(exc).splitlines()[0] if str(exc) else 'empty'}): "
              f"{what} are recomputed.")
        return {}
    kept = {k: v for k, v in data.items() if isinstance(v, dict) and valid(v)}
    if len(kept) < len(data):
        _warn(f"{path}: {len(data) - len(kept)} entries without a valid content hash (older or edited file): "
              f"{what} for them are recomputed.")
    return kept


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def valid_tuned(e: dict) -> bool:
    """A ``tuned.json`` entry: ``scenario``, ``policy``, ``scenario_hash``, ``policy_hash`` and ``params`` (a
    name -> finite number mapping)."""
    p = e.get("params")
    return (all(isinstance(e.get(k), str) for k in ("scenario", "policy", "scenario_hash", "policy_hash"))
            and isinstance(p, dict) and all(map(_finite, p.values())))


def valid_reference(e: dict) -> bool:
    """A ``references.json`` entry: ``scenario_hash`` and ``profit`` (finite, or null when none is known): the
    exact expected value of the kind's headline KPI (Restock: episode profit; Recommend: recommendation margin,
    named by the entry's ``metric``), both currency."""
    return isinstance(e.get("scenario_hash"), str) and (e.get("profit") is None or _finite(e.get("profit")))


def valid_scenario(e: dict) -> bool:
    """A ``scenarios.json`` entry: ``scenario_hash`` and the scenario ``content`` it hashes."""
    return isinstance(e.get("scenario_hash"), str) and isinstance(e.get("content"), dict)


def content_diff(old: dict, new: dict, limit: int = 4) -> str:
    """The keys (dotted, e.g. ``demand.base_rate``) whose values differ between two scenario contents,
    as ``key old -> new`` (at most ``limit``, then how many more)."""
    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            if isinstance(v, dict):
                out.update(flat(v, f"{prefix}{k}."))
            else:
                out[f"{prefix}{k}"] = v
        return out

    a, b = flat(old), flat(new)
    keys = sorted(k for k in a.keys() | b.keys() if a.get(k, "<unset>") != b.get(k, "<unset>"))

    def short(v):
        s = json.dumps(v) if v != "<unset>" else "unset"
        return s if len(s) <= 40 else s[:37] + "..."

    parts = [f"{k} {short(a.get(k, '<unset>'))} -> {short(b.get(k, '<unset>'))}" for k in keys[:limit]]
    if len(keys) > limit:
        parts.append(f"and {len(keys) - limit} more")
    return ", ".join(parts)


def check_fresh(out: Path, loaded: dict, hashes: dict[str, str], policy_hashes: dict[str, str],
                results: pd.DataFrame, tuned: dict, refs: dict, stored: dict) -> None:
    """Raise ``StaleResultsError`` if ``out`` holds results, tuned parameters or references of one of the
    ``loaded`` scenarios (name -> Scenario, current ``hashes``) or of one of the policies (name -> current
    ``policy_hashes``) made from different content."""
    fix = "re-run with --overwrite to discard them and start again, or pass a new --out"
    for name, sc in loaded.items():
        old = set(results.loc[results["scenario"] == name, "scenario_hash"])
        old |= {e["scenario_hash"] for e in tuned.values() if e.get("scenario") == name}
        old |= {refs[name]["scenario_hash"]} if name in refs else set()
        old |= {stored[name]["scenario_hash"]} if name in stored else set()
        if old - {hashes[name]}:
            diff = content_diff(stored[name]["content"], scenario_content(sc)) if name in stored else ""
            raise StaleResultsError(
                f"{out} holds results of scenario {name!r} made from different content "
                f"({'changed: ' + diff if diff else 'its file, an override or a learned model file changed'}); {fix}.")
    for pol, h in policy_hashes.items():
        rows = results[(results["policy"] == pol) & results["scenario"].isin(list(loaded))]
        entries = [e for e in tuned.values() if e["policy"] == pol and e["scenario"] in loaded]
        if (rows["policy_hash"] != h).any() or any(e["policy_hash"] != h for e in entries):
            raise StaleResultsError(f"{out} holds results of policy {pol!r} made with different settings "
                                    f"(its model files, or its tuning grid or method); {fix}.")


def discard(out: Path) -> None:
    """Remove the benchmark's state and reports from ``out`` (``--overwrite``); other files stay."""
    for name in (*STATE_FILES, *RESULT_FILES.values(), *REPORT_FILES):
        (out / name).unlink(missing_ok=True)
    for plot in (*out.glob("trajectory_*.png"), *out.glob("traces_*.png")):
        plot.unlink()
