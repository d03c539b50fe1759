"""Learned responses in the loop on Recommend-v0: fidelity of learned worlds and the sim-to-real gap
(docs/recommend.md, sections "fidelity" and "sim-to-real").

    python benchmarks/recommend_fidelity.py [--scenario recommend] [--horizon 7] [--seeds 10]
        [--impressions 1000000] [--epsilon 1.0] [--models shared_bottom,esmm] [--fits 3x512,4x4096,8x8192,16x8192]
        [--holdout 500000] [--calibrate platt|none]
        [--sizes 100000,300000] [--epsilons 0.05,0.3] [--sensitivity-impressions 300000] [--sensitivity-seeds 5]
        [--ppo-steps 0] [--quick]
    python benchmarks/recommend_fidelity.py --from-results WORKDIR/results.json [--backfill-counts]
        [--ran-at 'YYYY-MM-DD HH:MM UTC']

The measure is the EXPECTED margin of an episode (``scenarios.expected_margin``): per session, the margin of the
impressions served weighted by their purchase probabilities under the world's own response model; the realised
margin (a few sampled purchases an episode) is kept next to it.

1. Logs: ``forecasters.conversion.logs.generate_logs`` runs the world's logging policy (epsilon-greedy over the
   myopic oracle, propensities recorded) in the scenario's own shop (slates of one item, as the env shows),
   log seed 12345 (held-out logs: seed 12346, ``--holdout`` impressions, same epsilon); they are written as CSV
   and each candidate (every model of ``--models`` with every recipe ``EPOCHSxBATCH`` of ``--fits``) is fitted
   and saved by ``shopgym conversion fit`` (its command function).
2. Selection (the rule, declared before the run that first used it; ``--calibrate platt``, the default): every
   candidate is recalibrated per funnel stage (``forecasters.conversion.calibration``: a 2-parameter Platt map of
   the model's logit of p(click), p(cart | click) and p(purchase | cart), fitted by maximum likelihood) on separate
   CALIBRATION logs (seed 12347, ``--holdout`` impressions, same logging policy), saved to a new file next to the
   uncalibrated one (``...-platt-N-12347.pt``; the cached fit is never overwritten); then the calibrated candidate
   with the lowest held-out log loss (seed 12346 logs, summed over click, cart, purchase) drives the learned world.
   ``--calibrate none`` is the rule of before: the uncalibrated candidate with the lowest held-out log loss. The
   choice never looks at the fidelity figures.
3. Fidelity: every policy of ``--policies`` on ``shopgym/Recommend-v0`` with ``response_model = "learned:PATH"``
   and in the true world, same seeds 0 .. n-1 (``scenarios.fidelity_recommend``).
4. Sensitivity: the margin error over ``--sensitivity-policies`` for the selected candidate's recipe fitted on ``--sizes``
   impressions (at ``--epsilon``) and on logs of exploration ``--epsilons`` (``--sensitivity-impressions``),
   seeds 0 .. ``--sensitivity-seeds`` - 1.
5. Sim-to-real: the myopic optimum of each world played in the true world (the learned world's is greedy under
   the learned model: ``learned_greedy:PATH``), on expected margin under the true model; optionally SB3 PPO
   (``scenarios.sim_to_real``) trained ``--ppo-steps`` steps in each world (training env seeds from 1,700,000).
6. Results: the figures, the arguments and the run's finishing time go to ``WORKDIR/results.json``
   (``scenarios.fidelity_results``); the sections' text is ``scenarios.fidelity_report``'s. ``--from-results``
   writes the sections again from that file without a rerun, stamped with the run's finishing time and the
   rewrite's; ``--ran-at`` records the finishing time once in a file written before runs saved it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.registry import make_policy  # noqa: E402
from scenarios.doc_sections import check_stamp, utc_stamp  # noqa: E402
from scenarios.fidelity_recommend import evaluate_policies, recommend_env  # noqa: E402

# the doc text and the saved figures live in their own modules; the names tests and callers took from this script
# before the split stay importable from it
from scenarios.fidelity_report import command_line, fidelity_body, sim_body, tables, write_docs  # noqa: E402, F401
from scenarios.fidelity_results import (  # noqa: E402, F401
    CALIBRATION_SEED,
    CALIBRATIONS,
    HOLDOUT_SEED,
    LOG_SEED,
    TASKS,
    calibrated,
    candidate,
    decode,
    encode,
    load_results,
    read_raw,
    recipe,
    record_ran_at,
    save_results,
)
from shopgym.atomic import atomic_write_text  # noqa: E402

_encode, _decode = encode, decode  # the names of before the split

#: The baselines of the fidelity table by default: agents/registry.py's Recommend set less the slow funnel
#: bandits and the group oracle (a bound); ``--policies`` takes any of them.
POLICIES = ("random", "most_popular", "myopic_oracle", "stock_aware_greedy", "epsilon_greedy", "ucb1", "thompson",
            "linucb")
#: ``--quick``: a small shop with the dense funnel of before the Taobao calibration (so that a short episode
#: holds purchases) and a short run, for tests; its figures mean nothing.
QUICK = {"horizon": 2, "seeds": 2, "impressions": 3000, "models": "shared_bottom,esmm", "holdout": 1500,
         "sizes": "1500", "epsilons": "0.3", "sensitivity_impressions": 1500, "sensitivity_seeds": 2, "fits": "1x512,2x1024",
         "ppo_steps": 256, "policies": "random,myopic_oracle"}
QUICK_KEYS = {"n_shoppers": 300, "sessions_per_day": 60.0, "base_ctr": 0.1, "base_cart_rate": 0.3,
              "base_purchase_rate": 0.5}


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def logs_file(scenario: str, keys: dict, n: int, epsilon: float, folder: Path, seed: int = LOG_SEED) -> Path:
    """Logs of ``n`` impressions under the logging policy with ``epsilon`` (written once per folder)."""
    from forecasters.conversion.logs import generate_logs, save_logs
    from shopgym.config import load_scenario

    logs = folder / f"logs-{n}-{epsilon}-{seed}.csv"
    if not logs.exists():
        save_logs(generate_logs(load_scenario(scenario, slate_size=1, **keys), n_impressions=n, seed=seed,
                                epsilon=epsilon), logs)
    return logs


def fit_model(scenario: str, keys: dict, n: int, epsilon: float, name: str, folder: Path) -> Path:
    """Logs of ``n`` impressions under the logging policy with ``epsilon``, then ``shopgym conversion fit`` with
    the candidate ``name``'s model, epochs and batch size (seed 0, one torch thread)."""
    from shopgym.cli.conversion import fit

    model, epochs, batch = recipe(name)
    logs = logs_file(scenario, keys, n, epsilon, folder)
    out = fitted_path(folder, name, n, epsilon)
    if not out.exists():
        fit(logs=logs, out=out, model=model, tasks=",".join(TASKS), epochs=epochs, batch_size=batch,
            weighting="fixed", seed=0, threads=1)
    return out


def fitted_path(folder: Path, name: str, n: int, epsilon: float) -> Path:
    """Where ``fit_model`` saves the candidate ``name`` fitted on ``n`` impressions at ``epsilon``."""
    model, epochs, batch = recipe(name)
    return folder / f"{model}-{epochs}x{batch}-{n}-{epsilon}.pt"


def calibrated_path(path: Path, calibration_logs: Path) -> Path:
    """Where ``calibrate_model`` saves the model at ``path`` recalibrated on the logs file ``calibration_logs``."""
    return path.with_name(f"{path.stem}-platt-{calibration_logs.stem.removeprefix('logs-')}.pt")


def calibrate_model(path: Path, calibration_logs: Path, df: pd.DataFrame) -> Path:
    """The saved model at ``path`` recalibrated on the logs ``df`` (read from ``calibration_logs``), saved to a NEW
    file (``<path stem>-platt-<calibration logs stem>.pt``, written once per folder); ``path`` is left as it is."""
    from forecasters.conversion.registry import load_model

    out = calibrated_path(path, calibration_logs)
    if not out.exists():
        model = load_model(path).calibrate(df)
        model.save(out)
        say(f"calibrated {path.name} -> {out.name}: " + ", ".join(
            f"{t} {a:.3f} z {b:+.3f}" for t, a, b in zip(TASKS, model.calibration_.scale_, model.calibration_.shift_,
                                                         strict=True)))
    return out


def heldout_loss(path: Path, df: pd.DataFrame) -> dict[str, float]:
    """Held-out log loss (nats per impression) on the logs ``df`` of the saved model at ``path`` per task, their
    ``sum``, the ``oracle``'s sum (the true probabilities of the logs: the floor no model beats on average) and the
    model's mean predicted probability over the true one per task (``bias_click`` ...: 1 is calibrated on average);
    for a calibrated model also its calibration's counts (``calibration_counts``)."""
    from forecasters.conversion.logs import TRUE_COLUMNS
    from forecasters.conversion.metrics import log_loss
    from forecasters.conversion.registry import load_model

    model = load_model(path)
    proba = np.concatenate([model.predict_proba(df.iloc[i : i + 50_000]) for i in range(0, len(df), 50_000)])
    out = {t: log_loss(df[t].to_numpy(), proba[:, j]) for j, t in enumerate(TASKS)}
    out["sum"] = float(sum(out[t] for t in TASKS))
    out["oracle"] = float(sum(log_loss(df[t].to_numpy(), df[c].to_numpy()) for t, c in zip(TASKS, TRUE_COLUMNS, strict=True)))
    for j, (t, c) in enumerate(zip(TASKS, TRUE_COLUMNS, strict=True)):
        out[f"bias_{t}"] = float(proba[:, j].mean() / df[c].mean())
    return {**out, **calibration_counts(model)}


def calibration_counts(model) -> dict[str, int]:
    """The rows each funnel stage of ``model``'s calibration was fitted on (``n_click``: impressions, ``n_cart``:
    clicks, ``n_purchase``: carts of the calibration logs) and their positive outcomes (``positives_click`` ...);
    empty for an uncalibrated model."""
    cal = getattr(model, "calibration_", None)
    if cal is None:
        return {}
    return {**{f"n_{t}": int(v) for t, v in zip(cal.stages, cal.n_, strict=True)},
            **{f"positives_{t}": int(v) for t, v in zip(cal.stages, cal.positives_, strict=True)}}


def expected_purchases(df: pd.DataFrame) -> float:
    """The purchases a logs frame holds in expectation: the sum of its rows' true joint purchase probabilities."""
    from forecasters.conversion.logs import TRUE_COLUMNS

    return float(df[TRUE_COLUMNS[-1]].sum())


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="recommend")
    p.add_argument("--horizon", type=int, default=7, help="days per episode (0: the scenario's)")
    p.add_argument("--seeds", type=int, default=10, help="evaluation episodes per policy and world (seeds 0 .. n-1)")
    p.add_argument("--policies", default=",".join(POLICIES))
    p.add_argument("--impressions", type=int, default=1_000_000, help="log impressions of the fidelity table's model")
    p.add_argument("--epsilon", type=float, default=1.0, help="logging policy's share of random sessions")
    p.add_argument("--models", default="shared_bottom,esmm", help="candidate conversion models (held-out selection)")
    p.add_argument("--fits", default="3x512,4x4096,8x8192,16x8192",
                   help="candidate training recipes, EPOCHSxBATCH each, crossed with --models")
    p.add_argument("--holdout", type=int, default=500_000,
                   help="held-out log impressions of the model selection (and of the calibration logs)")
    p.add_argument("--calibrate", default="platt", choices=CALIBRATIONS,
                   help="platt: recalibrate every candidate on calibration logs (seed 12347), then select by held-out "
                        "log loss; none: select the candidates as fitted (the rule of before)")
    p.add_argument("--sizes", default="100000,300000", help="other log sizes for the sensitivity (at --epsilon)")
    p.add_argument("--epsilons", default="0.05,0.3", help="other logging epsilons for the sensitivity")
    p.add_argument("--sensitivity-impressions", type=int, default=300_000, help="log size of the epsilon sensitivity")
    p.add_argument("--sensitivity-policies", default="random,most_popular,myopic_oracle,stock_aware_greedy")
    p.add_argument("--sensitivity-seeds", type=int, default=5, help="evaluation seeds of the sensitivity (0 .. n-1)")
    p.add_argument("--ppo-steps", type=int, default=0, help="PPO training steps in each world (0: skip PPO)")
    p.add_argument("--quick", action="store_true", help="a small shop and a short run (tests); overrides the above")
    p.add_argument("--out", default=str(ROOT / "docs" / "recommend.md"))
    p.add_argument("--workdir", default="", help="folder for logs and models (default: a new temporary folder)")
    p.add_argument("--from-results", default="", help="rewrite the doc sections from a run's results.json (no run)")
    p.add_argument("--backfill-counts", action="store_true",
                   help="with --from-results: first add the calibration counts a results.json written before they "
                        "were saved lacks, read from the run's --workdir (its calibrated models and calibration logs)")
    p.add_argument("--ran-at", default="", metavar="'YYYY-MM-DD HH:MM UTC'",
                   help="with --from-results: first record this finishing time of the run (UTC) in a results.json "
                        "written before runs saved it (refused if the file records a different one); the sections' "
                        "stamp then names it next to the rewrite's time")
    args = p.parse_args(argv)
    if args.ran_at:
        if not args.from_results:
            p.error("--ran-at records the finishing time of a saved run: give it with --from-results "
                    "WORKDIR/results.json (a run records its own).")
        try:
            check_stamp(args.ran_at, "--ran-at")
        except ValueError as e:
            p.error(str(e))
    if args.ppo_steps < 0:
        p.error(f"--ppo-steps {args.ppo_steps}: give the PPO training steps in each world, >= 0 (0 skips PPO).")
    args.keys = dict(QUICK_KEYS) if args.quick else {}
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
        args.sensitivity_policies = args.policies
    return args



def rewrite(results: Path, out: str) -> dict:
    """Write the doc sections again from the figures a run saved in ``results`` (its ``results.json``), stamped
    with the run's finishing time and the rewrite's."""
    args, figures = load_results(results)
    if figures["ran_at"] is None:
        raise SystemExit(f"--from-results {str(results)!r}: the file records no finishing time of its run (runs "
                         "before it was saved), so the stamp could not say when the figures were produced; add "
                         "--ran-at 'YYYY-MM-DD HH:MM UTC' once (the date of the run and the time of its log's last "
                         "line, '[HH:MM:SS] done in ... min'), which records it in the file.")
    args.out = out
    write_docs(args, figures, ran_at=figures["ran_at"])
    return {"args": vars(args), **figures}

def backfill_counts(results: Path) -> None:
    """Add to the main selection of a run's ``results.json`` the calibration figures that runs before they were
    saved lack (``calibration_counts`` of each calibrated candidate, ``cal_logs_expected_purchase``), read from the
    run's ``--workdir``: its calibrated model files and its calibration logs. No model is fitted or recalibrated and
    no episode is run; the file is rewritten whole (``shopgym.atomic``) with every other figure as it was."""
    from forecasters.conversion.logs import TRUE_COLUMNS
    from forecasters.conversion.registry import load_model

    raw = read_raw(results)
    saved = decode(raw)
    args = argparse.Namespace(**saved["args"])
    if not calibrated(args):
        raise SystemExit("--backfill-counts: this run selected its candidates uncalibrated (--calibrate none); it "
                         "has no calibration counts to add.")
    folder = Path(args.workdir)
    cal_logs = folder / f"logs-{args.holdout}-{args.epsilon}-{CALIBRATION_SEED}.csv"
    best, losses = saved["selection"]
    paths = {m: calibrated_path(fitted_path(folder, m, args.impressions, args.epsilon), cal_logs) for m in losses}
    missing = [str(p) for p in (cal_logs, *paths.values()) if not p.is_file()]
    if missing:
        raise SystemExit(f"--backfill-counts: the run's workdir lacks {missing}; point the results' workdir at the "
                         "folder the run wrote, or run the benchmark again.")
    expected = expected_purchases(pd.read_csv(cal_logs, usecols=[TRUE_COLUMNS[-1]]))
    for m, path in paths.items():
        losses[m].update({f"cal_{k}": v for k, v in calibration_counts(load_model(path)).items()})
        losses[m]["cal_logs_expected_purchase"] = expected
    raw["selection"] = encode((best, losses))
    atomic_write_text(results, json.dumps(raw))
    say(f"added calibration counts of {len(paths)} candidates to {results}")

def select_model(args, folder: Path, n: int, epsilon: float, names: list[str]) \
        -> tuple[str, dict[str, Path], dict[str, dict[str, float]]]:
    """Fit every candidate of ``names`` on logs of ``n`` impressions at ``epsilon``; under ``--calibrate platt``
    recalibrate each on calibration logs (seed ``CALIBRATION_SEED``, ``--holdout`` impressions, same logging policy).
    Return the candidate with the lowest summed log loss on held-out logs of the same logging policy (after
    calibration under ``platt``), the paths of the models that drive a world (the calibrated files under ``platt``)
    and every candidate's held-out figures (``heldout_loss``; under ``platt`` also with ``cal_`` in front: after
    calibration, with the calibration's counts, and ``cal_logs_expected_purchase``: ``expected_purchases`` of the
    calibration logs)."""
    import gc

    from forecasters.conversion.data import load_logs

    paths = {m: fit_model(args.scenario, args.keys, n, epsilon, m, folder) for m in names}
    if calibrated(args):
        cal_logs = logs_file(args.scenario, args.keys, args.holdout, epsilon, folder, CALIBRATION_SEED)
        cal_df = load_logs(cal_logs, TASKS, nested=True)
        cal_paths = {m: calibrate_model(p, cal_logs, cal_df) for m, p in paths.items()}
        cal_expected = expected_purchases(cal_df)
        del cal_df
        gc.collect()
    holdout = load_logs(logs_file(args.scenario, args.keys, args.holdout, epsilon, folder, HOLDOUT_SEED), TASKS,
                        nested=False)
    losses = {m: heldout_loss(p, holdout) for m, p in paths.items()}
    key = "sum"
    if calibrated(args):
        for m, p in cal_paths.items():
            losses[m].update({f"cal_{k}": v for k, v in heldout_loss(p, holdout).items()})
            losses[m]["cal_logs_expected_purchase"] = cal_expected
        paths, key = cal_paths, "cal_sum"
    best = min(losses, key=lambda m: losses[m][key])
    say(f"held-out log loss ({n:,} eps {epsilon}{', after calibration' if calibrated(args) else ''}): "
        + ", ".join(f"{m} {v[key]:.5f}" for m, v in losses.items()) + f" -> {best}")
    return best, paths, losses


def sensitivity(args, base: str, main_rows, run, folder: Path) -> list:
    """``(n, epsilon, chosen, learned)`` per log setting: the recipe of ``--fits`` (for ``base``'s model) with the
    lowest held-out log loss on that setting's logs, and the sensitivity policies' per-seed ``METRICS`` (seeds 0 ..
    ``--sensitivity-seeds`` - 1) in its world (the main setting reuses the main table's model and episodes)."""
    names, k = args.sensitivity_policies.split(","), args.sensitivity_seeds
    model = recipe(base)[0]
    settings = {(int(n), args.epsilon) for n in args.sizes.split(",") if n} | {(args.impressions, args.epsilon)}
    settings |= {(args.sensitivity_impressions, float(e)) for e in args.epsilons.split(",") if e}
    settings |= {(args.sensitivity_impressions, args.epsilon)}
    out = []
    for n, eps in sorted(settings, key=lambda s: (s[1] != args.epsilon, s[0], s[1])):
        if (n, eps) == (args.impressions, args.epsilon) and all(name in main_rows for name in names):
            chosen, learned = base, {name: main_rows[name][:k] for name in names}
        else:
            chosen, paths, _ = select_model(args, folder, n, eps, [candidate(model, f) for f in args.fits.split(",")])
            learned = run(paths[chosen], names, list(range(k)), f"{chosen} {n:,} eps {eps}")
        out.append((n, eps, chosen, learned))
    return out


def sim_to_real(args, keys: dict, true: dict, path: Path, seeds: list[int]) -> dict:
    """Each world's myopic optimum played in the true world (per-seed ``METRICS``), and PPO with ``--ppo-steps``."""
    true_env = recommend_env(args.scenario, None, **keys)
    say("sim-to-real: learned_greedy in the true world")
    oracle = true["myopic_oracle"] if "myopic_oracle" in true else \
        evaluate_policies(true_env, make_policy, ["myopic_oracle"], seeds)["myopic_oracle"]
    greedy = f"learned_greedy:{path}"
    sim = {"plan": (oracle, evaluate_policies(true_env, make_policy, [greedy], seeds)[greedy])}
    if args.ppo_steps:
        from scenarios.fidelity_recommend import episode_metrics
        from scenarios.sim_to_real import ppo_policy, train_ppo

        out = []
        for label, p in (("true", None), ("learned", path)):
            say(f"PPO: training {args.ppo_steps} steps in the {label} world")
            t0 = time.time()
            model, vn = train_ppo(lambda p=p: recommend_env(args.scenario, p, **keys), args.ppo_steps,
                                  scenario=args.scenario)
            out.append((episode_metrics(true_env, ppo_policy(model, vn), seeds), time.time() - t0))
        sim["ppo"] = (out[0][0], out[1][0], out[0][1], out[1][1])
    return sim


def main(argv=None) -> dict:
    args = parse(argv)
    if args.from_results:
        if args.ran_at and record_ran_at(Path(args.from_results), args.ran_at):
            say(f"recorded the run's finishing time {args.ran_at} in {args.from_results}")
        if args.backfill_counts:
            backfill_counts(Path(args.from_results))
        return rewrite(Path(args.from_results), args.out)
    start = time.time()
    folder = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="shopgym-fidelity-"))
    folder.mkdir(parents=True, exist_ok=True)
    keys = dict(args.keys)
    if args.horizon:
        keys["horizon"] = args.horizon
    seeds = list(range(args.seeds))
    every = list(dict.fromkeys([*args.policies.split(","), *args.sensitivity_policies.split(",")]))

    def run(path, names, on, label):
        env = recommend_env(args.scenario, path, **keys)
        return evaluate_policies(env, make_policy, names, on, lambda n: say(f"{label}: {n}"))

    true = run(None, every, seeds, "true world")
    best, paths, losses = select_model(args, folder, args.impressions, args.epsilon,
                                       [candidate(m, f) for m in args.models.split(",") for f in args.fits.split(",")])
    learned = run(paths[best], every, seeds, best)
    sens = sensitivity(args, best, learned, run, folder)
    sim = sim_to_real(args, keys, true, paths[best], seeds)
    seconds = time.time() - start
    figures = {"keys": keys, "true": true, "learned": {best: learned}, "selection": (best, losses), "sens": sens,
               "sim": sim, "seconds": seconds}
    # the figures and the finishing time, to rewrite the sections without a rerun (``--from-results``)
    save_results(folder / "results.json", args, figures, utc_stamp())
    write_docs(args, figures)
    say(f"done in {seconds / 60:.1f} min")
    return {"true": true, "tables": tables(args, figures), "selection": (best, losses), "sensitivity": sens,
            "sim": sim}


if __name__ == "__main__":
    main()
