"""Learned responses in the loop on Recommend-v0: fidelity of learned worlds and the sim-to-real gap
(docs/recommend.md, sections "fidelity" and "sim-to-real").

    python benchmarks/recommend_fidelity.py [--scenario recommend] [--horizon 4] [--seeds 3] [--impressions 200000]
        [--epsilon 0.3] [--models shared_bottom,esmm] [--sizes 20000,60000] [--epsilons 0.05,1.0]
        [--sensitivity-impressions 60000] [--ppo-steps 20000] [--quick]

1. Logs: ``forecasters.conversion.logs.generate_logs`` runs the world's logging policy (epsilon-greedy over the
   myopic oracle, propensities recorded) in the scenario's own shop (slates of one item, as the env shows),
   log seed 12345; they are written as CSV and each model is fitted and saved by ``shopgym conversion fit``
   (its command function, ``shopgym.cli.conversion.fit``).
2. Fidelity: every policy of ``--policies`` on ``shopgym/Recommend-v0`` with ``response_model = "learned:PATH"``
   and in the true world, same seeds 0 .. n-1 (``scenarios.fidelity_recommend``).
3. Sensitivity: the margin error over policies for shared-bottom models fitted on ``--sizes`` impressions (at
   ``--epsilon``) and on logs of exploration ``--epsilons`` (``--sensitivity-impressions`` impressions).
4. Sim-to-real: the best policy of each world played in the true world (the myopic oracle of the learned world
   is greedy under the learned model: ``learned_greedy:PATH``), and SB3 PPO (``scenarios.sim_to_real``)
   trained ``--ppo-steps`` steps in the learned world vs in the true world, both evaluated in the true world
   on seeds 0 .. n-1 (training env seeds from 700,000).
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
from scenarios.doc_sections import write_section  # noqa: E402
from scenarios.fidelity_recommend import (  # noqa: E402
    MARGIN,
    ci,
    compare,
    evaluate_policies,
    fidelity_table,
    mean_abs_error,
    recommend_env,
    share,
)
from shopgym.atomic import atomic_write_text  # noqa: E402

#: The baselines of the fidelity table by default: agents/registry.py's Recommend set less the slow funnel
#: bandits and the group oracle (a bound); ``--policies`` takes any of them.
POLICIES = ("random", "most_popular", "myopic_oracle", "stock_aware_greedy", "epsilon_greedy", "ucb1", "thompson",
            "linucb")
LOG_SEED = 12345
#: ``--quick``: a small shop with the dense funnel of before the Taobao calibration (so that a short episode
#: holds purchases) and a short run, for tests; its figures mean nothing.
QUICK = {"horizon": 2, "seeds": 2, "impressions": 3000, "models": "shared_bottom", "sizes": "1500", "epsilons": "1.0",
         "sensitivity_impressions": 1500, "epochs": 1, "ppo_steps": 256, "policies": "random,myopic_oracle"}
QUICK_KEYS = {"n_shoppers": 300, "sessions_per_day": 60.0, "base_ctr": 0.1, "base_cart_rate": 0.3,
              "base_purchase_rate": 0.5}


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def fit_model(scenario: str, keys: dict, n: int, epsilon: float, model: str, epochs: int, folder: Path) -> Path:
    """Logs of ``n`` impressions under the logging policy with ``epsilon``, then ``shopgym conversion fit``."""
    from forecasters.conversion.logs import generate_logs, save_logs
    from shopgym.cli.conversion import fit
    from shopgym.config import load_scenario

    logs = folder / f"logs-{n}-{epsilon}.csv"
    if not logs.exists():
        save_logs(generate_logs(load_scenario(scenario, slate_size=1, **keys), n_impressions=n, seed=LOG_SEED,
                                epsilon=epsilon), logs)
    out = folder / f"{model}-{n}-{epsilon}.pt"
    fit(logs=logs, out=out, model=model, tasks="click,cart,purchase", epochs=epochs, batch_size=512,
        weighting="fixed", seed=0, threads=1)
    return out


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="recommend")
    p.add_argument("--horizon", type=int, default=4, help="days per episode (0: the scenario's)")
    p.add_argument("--seeds", type=int, default=3, help="evaluation episodes per policy and world (seeds 0 .. n-1)")
    p.add_argument("--policies", default=",".join(POLICIES))
    p.add_argument("--impressions", type=int, default=200_000, help="log impressions of the fidelity table's models")
    p.add_argument("--epsilon", type=float, default=0.3, help="logging policy's share of random sessions")
    p.add_argument("--models", default="shared_bottom,esmm", help="conversion models of the fidelity table")
    p.add_argument("--sizes", default="20000,60000", help="other log sizes for the sensitivity (shared_bottom)")
    p.add_argument("--epsilons", default="0.05,1.0", help="other logging epsilons for the sensitivity")
    p.add_argument("--sensitivity-impressions", type=int, default=60_000, help="log size of the epsilon sensitivity")
    p.add_argument("--sensitivity-policies", default="random,most_popular,myopic_oracle,stock_aware_greedy,linucb,thompson")
    p.add_argument("--epochs", type=int, default=3, help="training epochs of each conversion model")
    p.add_argument("--ppo-steps", type=int, default=20_000, help="PPO training steps in each world (0: skip PPO)")
    p.add_argument("--quick", action="store_true", help="a small shop and a short run (tests); overrides the above")
    p.add_argument("--out", default=str(ROOT / "docs" / "recommend.md"))
    p.add_argument("--workdir", default="", help="folder for logs and models (default: a new temporary folder)")
    p.add_argument("--from-results", default="", help="rewrite the doc sections from a run's results.json (no run)")
    args = p.parse_args(argv)
    args.keys = dict(QUICK_KEYS) if args.quick else {}
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
        args.sensitivity_policies = args.policies
    return args


def command_line(args) -> str:
    if args.quick:
        return "python benchmarks/recommend_fidelity.py --quick"
    return (f"python benchmarks/recommend_fidelity.py --scenario {args.scenario} --horizon {args.horizon} "
            f"--seeds {args.seeds} --policies {args.policies} --impressions {args.impressions} --epsilon {args.epsilon} "
            f"--models {args.models} --sizes {args.sizes} --epsilons {args.epsilons} "
            f"--sensitivity-impressions {args.sensitivity_impressions} --sensitivity-policies "
            f"{args.sensitivity_policies} --epochs {args.epochs} --ppo-steps {args.ppo_steps}")


def _encode(obj):
    """The run's figures as plain JSON (tagged frames, arrays and tuples): a results file can hold no code."""
    if isinstance(obj, pd.DataFrame):
        return {"__frame__": {"columns": [str(c) for c in obj.columns], "index": _encode(obj.index.to_numpy()),
                              "data": {str(c): _encode(obj[c].to_numpy()) for c in obj.columns}}}
    if isinstance(obj, np.ndarray):
        return {"__array__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _encode(v) for k, v in obj.items()}
    return obj.item() if isinstance(obj, np.generic) else obj


def _decode(obj):
    """The inverse of ``_encode``."""
    if isinstance(obj, dict):
        if "__frame__" in obj:
            f = obj["__frame__"]
            return pd.DataFrame({c: _decode(f["data"][c]) for c in f["columns"]}, index=_decode(f["index"]))
        if "__array__" in obj:
            return np.asarray(obj["__array__"], dtype=obj["dtype"])
        if "__tuple__" in obj:
            return tuple(_decode(v) for v in obj["__tuple__"])
        return {k: _decode(v) for k, v in obj.items()}
    return [_decode(v) for v in obj] if isinstance(obj, list) else obj


def rewrite(results: Path, out: str) -> dict:
    """Write the doc sections again from the figures a run saved in ``results`` (its ``results.json``)."""
    if not results.is_file():
        raise SystemExit(f"--from-results {str(results)!r}: no such file; give the results.json a run wrote in its "
                         "--workdir.")
    try:
        saved = _decode(json.loads(results.read_text()))
    except (ValueError, KeyError, TypeError) as e:
        raise SystemExit(f"--from-results {str(results)!r}: not a results.json of this script ({e}); "
                         "run the benchmark again.") from None
    args = argparse.Namespace(**{**saved["args"], "out": out})
    write_docs(args, saved["keys"], saved["true"], saved["tables"], saved["sens"], saved["sim"], saved["seconds"])
    return saved


def main(argv=None) -> dict:
    args = parse(argv)
    if args.from_results:
        return rewrite(Path(args.from_results), args.out)
    start = time.time()
    folder = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="shopgym-fidelity-"))
    folder.mkdir(parents=True, exist_ok=True)
    keys = dict(args.keys)
    if args.horizon:
        keys["horizon"] = args.horizon
    seeds = list(range(args.seeds))
    policies, sens_policies = args.policies.split(","), args.sensitivity_policies.split(",")
    every = list(dict.fromkeys([*policies, *sens_policies]))

    def run(path, names, label):
        env = recommend_env(args.scenario, path, **keys)
        return evaluate_policies(env, make_policy, names, seeds, lambda n: say(f"{label}: {n}"))

    true = run(None, every, "true world")
    main_models = {m: fit_model(args.scenario, args.keys, args.impressions, args.epsilon, m, args.epochs, folder)
                   for m in args.models.split(",")}
    learned = {m: run(p, policies, m) for m, p in main_models.items()}
    tables = {m: compare({k: true[k] for k in policies}, learned[m]) for m in main_models}

    sens = []  # (what, n, epsilon, rows)
    base = "shared_bottom"
    settings = [(int(n), args.epsilon) for n in args.sizes.split(",") if n] + [(args.impressions, args.epsilon)]
    settings += [(args.sensitivity_impressions, float(e)) for e in args.epsilons.split(",") if e]
    if args.sensitivity_impressions != args.impressions:
        settings.append((args.sensitivity_impressions, args.epsilon))
    for n, eps in sorted(set(settings), key=lambda s: (s[1] != args.epsilon, s[0], s[1])):
        if (n, eps) == (args.impressions, args.epsilon) and base in learned:
            rows = compare({k: true[k] for k in sens_policies}, {k: learned[base][k] for k in sens_policies
                                                                 if k in learned[base]})
            if len(rows) == len(sens_policies):
                sens.append((n, eps, rows))
                continue
        path = fit_model(args.scenario, args.keys, n, eps, base, args.epochs, folder)
        sens.append((n, eps, compare({k: true[k] for k in sens_policies}, run(path, sens_policies, f"{base} {n} eps {eps}"))))

    # sim-to-real: each world's best policy, then PPO trained in each world; all played in the true world
    sim = {}
    main_path = main_models.get(base, next(iter(main_models.values())))
    true_env = recommend_env(args.scenario, None, **keys)
    say("sim-to-real: learned_greedy in the true world")
    sim["plan"] = (true["myopic_oracle"][:, MARGIN] if "myopic_oracle" in true else
                   evaluate_policies(true_env, make_policy, ["myopic_oracle"], seeds)["myopic_oracle"][:, MARGIN],
                   evaluate_policies(true_env, make_policy, [f"learned_greedy:{main_path}"], seeds)
                   [f"learned_greedy:{main_path}"][:, MARGIN])
    if args.ppo_steps:
        from scenarios.fidelity_recommend import episode_metrics
        from scenarios.sim_to_real import ppo_policy, train_ppo

        out = []
        for label, path in (("true", None), ("learned", main_path)):
            say(f"PPO: training {args.ppo_steps} steps in the {label} world")
            t0 = time.time()
            model, vn = train_ppo(lambda p=path: recommend_env(args.scenario, p, **keys), args.ppo_steps,
                                  scenario=args.scenario)
            out.append((episode_metrics(true_env, ppo_policy(model, vn), seeds)[:, MARGIN], time.time() - t0))
        sim["ppo"] = (out[0][0], out[1][0], out[0][1], out[1][1])
    seconds = time.time() - start
    # the figures, to rewrite the sections without a rerun (plain JSON, written whole or not at all)
    atomic_write_text(folder / "results.json", json.dumps(_encode(
        {"args": vars(args), "keys": keys, "true": true, "tables": tables, "sens": sens, "sim": sim,
         "seconds": seconds})))
    write_docs(args, keys, true, tables, sens, sim, seconds)
    say(f"done in {seconds / 60:.1f} min")
    return {"true": true, "tables": tables, "sensitivity": sens, "sim": sim}


def pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def fidelity_body(args, keys, tables, sens) -> str:
    """The fidelity section: setup, one table per model, the target, the sensitivity table."""
    scen = f"`{args.scenario}`" + (f" with {', '.join(f'{k} = {v}' for k, v in keys.items())}" if keys else "")
    lines = [
        f"Scenario {scen}; seeds 0 .. {args.seeds - 1}, the same in both worlds (same shoppers, same uniforms for the "
        "response draws: the paired CI of the margin ratio is much tighter than either mean's). Logs: "
        f"{args.impressions:,} impressions of the logging policy (epsilon-greedy over the myopic oracle, epsilon "
        f"{args.epsilon}, slates of one item as the env shows them, propensities recorded; "
        f"`forecasters.conversion.logs.generate_logs`, seed {LOG_SEED}) in the scenario's own shop; each model fitted "
        f"by `shopgym conversion fit` ({args.epochs} epochs, batch 512, seed 0) and driving the env as "
        "`response_model = \"learned:PATH\"`. CTR: clicks per impression; CVR: purchases per click; margin: the "
        "episode's recommendation margin (currency), mean ± 95% CI over episodes; learned / true: the ratio of mean "
        "margins ± the 95% CI of the paired per-seed difference (as a share of the true mean).",
        "",
        "In a learned world the myopic oracle (and the group oracle) rank by the LEARNED model's probabilities: "
        "`RecommendEnv.privileged_expected_margin` reads `world.response_model`, which is the learned model there. "
        "So its row is the learned world's own myopic optimum, played in the learned world.",
        ""]
    for model, rows in tables.items():
        lines += [f"**{model}**", "", fidelity_table(rows), ""]
        out = [f"{r.name} {pct(r.error)}" for r in rows if not r.within()]
        verdict = "**Met**" if not out else "**Not met**"
        lines.append(f"Target (each baseline's margin within 10% of the true one), {model}: {verdict}: mean |error| "
                     f"{100 * mean_abs_error(rows):.1f}%" + (f"; outside: {', '.join(out)}." if out else "."))
        unresolved = sum(abs(r.error) <= r.ratio_half for r in rows)
        lines.append(f"How sure: the paired 95% CI of learned / true contains 1 for {unresolved} of {len(rows)} "
                     f"policies, and its half-width is {100 * np.nanmedian([r.ratio_half for r in rows]):.0f}% (median "
                     "over policies): on these seeds a margin error of 10% cannot be told from none (few purchases an "
                     "episode with the calibrated funnel), so 'not met' here means 'not shown'.")
        lines.append("")
    lines += ["**Sensitivity** (shared_bottom; policies: " + ", ".join(r.name for r in sens[0][2]) + "): the mean "
              "and largest |learned / true - 1| of the margin over the policies, by log size and logging epsilon.", "",
              "| log impressions | logging epsilon | mean abs margin error | largest (policy) | within 10% |",
              "|---|---|---|---|---|"]
    for n, eps, rows in sens:
        worst = max(rows, key=lambda r: abs(r.error))
        lines.append(f"| {n:,} | {eps} | {100 * mean_abs_error(rows):.1f}% | {pct(worst.error)} ({worst.name}) "
                     f"| {sum(r.within() for r in rows)} / {len(rows)} |")
    return "\n".join(lines) + "\n"


def sim_body(args, sim, true) -> str:
    """The sim-to-real section: margin in the true world of each world's policy, and the target."""
    rnd = true.get("random")
    lines = [
        f"Margin in the TRUE world (currency, mean ± 95% CI over seeds 0 .. {args.seeds - 1}) of a policy made in the "
        "true world and of the same policy made in the learned world (the shared_bottom model of the fidelity "
        "table). Best policy of each world: the myopic oracle is optimal per session without memory; in the learned "
        "world it is greedy by the learned model's expected margin, which is `learned_greedy:PATH` when played in "
        "the true world.", "",
        "| policy | made in the true world | made in the learned world | learned-made / true-made | >= 90% |",
        "|---|---|---|---|---|"]
    rows = [("each world's myopic optimum (myopic_oracle / learned_greedy)", *sim["plan"])]
    if "ppo" in sim:
        t_true, t_learned, s_true, s_learned = sim["ppo"]
        rows.append((f"SB3 PPO, {args.ppo_steps:,} steps (train {s_true / 60:.1f} / {s_learned / 60:.1f} min)",
                     t_true, t_learned))
    verdicts = []
    for name, a, b in rows:
        r = share(b.mean(), a.mean())
        verdicts.append((name, r))
        lines.append(f"| {name} | {ci(a)} | {ci(b)} | {100 * r:.1f}% | {'yes' if r >= 0.9 else 'no'} |")
    if rnd is not None:
        lines += ["", f"For scale: the random policy makes {ci(rnd[:, MARGIN])} in the true world on these seeds. "
                  "The CIs are wide for the same reason as in the fidelity table (few purchases an episode)."]
    lines.append("")
    for name, r in verdicts:
        lines.append(f"- Target (learned-world policy keeps >= 90% of the truly made one's margin), {name}: "
                     f"**{'Met' if r >= 0.9 else 'Not met'}** ({100 * r:.1f}%).")
    if "ppo" in sim:
        lines.append(f"- PPO budget: {args.ppo_steps:,} steps (rounded up to whole rollouts of 2 x 1,024) on 2 envs with ppo.yml's Recommend-v0 hyperparameters "
                     "(the file's full budget is 1,000,000 steps on 8 envs); training env seeds from 700,000, "
                     "evaluation seeds 0 .. n-1. A policy this short-trained may sit near random in both worlds, "
                     "which makes the ratio say little about the model; compare both to the random line.")
    return "\n".join(lines) + "\n"


def write_docs(args, keys, true, tables, sens, sim, seconds) -> None:
    doc, command = Path(args.out), command_line(args)
    write_section(doc, "fidelity", "Learned responses in the loop: fidelity of learned worlds", fidelity_body(
        args, keys, tables, sens), command, seconds, "torch threads 1")
    write_section(doc, "sim-to-real", "Sim-to-real: trained in the learned world, played in the true one",
                  sim_body(args, sim, true), command, seconds, "torch threads 1")


if __name__ == "__main__":
    main()
