"""Structured restocking agents against tuned (s, S) and the exact optimum: the ``directbackprop`` residual agent.

    python benchmarks/agents_structured.py                       # train (cached), evaluate, write docs/agents.md
    python benchmarks/agents_structured.py --retrain seasonal    # redo one scenario's training

For each scenario: train ``agents.directbackprop`` (training seeds 3_000_000.., validation seeds 950_000..;
skipped when ``--out/<scenario>-directbackprop`` already holds a run), then evaluate it with ``shopgym
benchmark``'s runner on the evaluation seeds 0..N-1 beside tuned (s, S) (and the exact optimum on
``quickstart``). Reported: the paired difference to tuned (s, S) with its 95% t-interval (same seeds), on
``quickstart`` the paired % of the optimum (``scenarios.optimality``), training wall and CPU time and the
machine's load. Writes the ``structured-agents`` section of ``--doc`` (``scenarios.doc_sections``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.directbackprop.train import TRAIN_SEED_BASE, VAL_SEED_BASE, train  # noqa: E402
from agents.exact import solve  # noqa: E402
from scenarios.benchmark import run_benchmark  # noqa: E402
from scenarios.doc_sections import write_section  # noqa: E402
from scenarios.optimality import pct_of_optimum  # noqa: E402
from shopgym.config import load_scenario  # noqa: E402
from shopgym.content import content_hash, scenario_content  # noqa: E402
from shopgym.stats import mean_ci95  # noqa: E402

SCENARIOS = ("quickstart", "seasonal", "supply-shock")
#: Training settings per scenario (``agents.directbackprop.train.train`` keywords), fixed before evaluation.
SETTINGS = {name: {"steps": 200, "batch": 16, "pairs": 8, "sigma": 0.05, "lr": 3e-2, "eval_every": 5, "seconds": 300.0}
            for name in SCENARIOS}
# The first seasonal run's validation profit was still rising when its 300 s ran out (best at its last step):
# the 10-SKU scenarios train twice as long (chosen on validation seeds, before any evaluation of it was read).
for _name in ("seasonal", "supply-shock"):
    SETTINGS[_name].update(steps=400, seconds=600.0)
#: ``--quick``: a smoke test of the whole script (2 steps on 4 training and 2 validation seeds).
QUICK = {"steps": 2, "batch": 4, "n_train": 4, "n_val": 2, "pairs": 2, "eval_every": 1}


def run_folder(scenario: str, out: Path, quick: bool = False) -> Path:
    """The training run's folder, keyed by what the run depends on (the scenario's content, the training settings
    and seed ranges): a changed scenario or setting, or a ``--quick`` smoke run, never reuses another's training."""
    key = content_hash({"scenario": scenario_content(load_scenario(scenario)),
                        "settings": {**SETTINGS[scenario], **(QUICK if quick else {})},
                        "seeds": [TRAIN_SEED_BASE, VAL_SEED_BASE]})[:12]
    return out / f"{scenario}-directbackprop-{key}"


def trained(scenario: str, out: Path, retrain: bool, quick: bool = False) -> dict:
    """The run's config (training it first when missing or ``retrain``)."""
    run = run_folder(scenario, out, quick)
    if retrain or not (run / "config.json").is_file():
        load0 = os.getloadavg()[0]
        cfg = train(scenario, run, progress=True, **{**SETTINGS[scenario], **(QUICK if quick else {})})
        cfg["load_before"], cfg["load_after"] = load0, os.getloadavg()[0]
        (run / "load.json").write_text(json.dumps({"load_before": load0, "load_after": cfg["load_after"]}))
    cfg = json.loads((run / "config.json").read_text())
    if (run / "load.json").is_file():
        cfg.update(json.loads((run / "load.json").read_text()))
    return cfg


def evaluate(scenario: str, run: Path, out: Path, n_seeds: int, fresh: bool = False) -> dict[str, np.ndarray]:
    """Episode profits (currency) per policy on seeds 0..n_seeds-1, same seeds for all (``run_benchmark``; ``fresh``
    discards earlier evaluations, e.g. of a retrained agent)."""
    policies = ["sS", f"directbackprop:{run}"] + (["optimal"] if scenario == "quickstart" else [])
    res = run_benchmark([scenario], policies, n_seeds=n_seeds, out=out / f"eval-{scenario}", progress=False,
                        overwrite=fresh)
    df = res.results.sort_values("seed")
    return {p: df.loc[df.policy == p, "profit"].to_numpy(float) for p in policies}


class _Constant(torch.nn.Module):
    """A residual that is the same ``(a_s, a_S)`` for every SKU and day (for the gradient check)."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a.expand(*x.shape[:-1], 2)


def gradient_check(scenario: str, n_seeds: int = 32, h: float = 0.1, tau: float = 1.0) -> dict[str, list[float]]:
    """Pathwise gradient (relaxed rollout, ``tau``) of the mean training profit with respect to a constant residual
    ``(a_s, a_S)`` at 0 (= tuned (s, S)), against central finite differences of the exact rollout (step ``h``),
    on training seeds; currency per unit of ``a``."""
    from agents.directbackprop.agent import order_quantities
    from agents.directbackprop.rollout import draw_paths, rollout
    from agents.tuning import tune
    from shopgym.config import load_scenario

    sc = load_scenario(scenario)
    params = tune(sc, "sS", progress=False)
    paths, c = draw_paths(sc, range(TRAIN_SEED_BASE, TRAIN_SEED_BASE + n_seeds))
    net = _Constant()

    def profit(t: float) -> torch.Tensor:
        return rollout(lambda f: order_quantities(f, net, params["z"], params["cover"], 2.0, sc.demand.dispersion, c,
                                                  t, with_trigger=t > 0), paths, c, t)[0].mean()

    profit(tau).backward()
    pathwise = net.a.grad.tolist()
    finite = []
    with torch.no_grad():
        for i in range(2):
            ends = []
            for e in (h, -h):
                net.a.zero_()
                net.a[i] = e
                ends.append(float(profit(0.0)))
            finite.append((ends[0] - ends[1]) / (2 * h))
    return {"pathwise": pathwise, "finite_difference": finite}


def report(rows: list[dict], n_seeds: int) -> str:
    lines = [
        f"Evaluation: seeds 0..{n_seeds - 1} (`shopgym benchmark`'s runner), paired with tuned (s, S) on the same "
        f"seeds. Training seeds {TRAIN_SEED_BASE:,}.. and validation seeds {VAL_SEED_BASE:,}.. (disjoint from the "
        "evaluation seeds, from each other and from the heuristics' tuning seeds 1,000,000..; `shopgym/seeds.py`). "
        "Agent: `agents/directbackprop` (a per-SKU MLP scaling the tuned (s, S)'s s and S by 2^[-1, 1] per SKU and "
        "day, trained on whole-episode profit of the exact torch rollout `agents/directbackprop/rollout.py` by "
        "evolution strategies (the default; the pathwise gradient through the rollout is available as `--estimator "
        "pathwise` but measured biased here: see below), best network on the validation seeds kept; the untrained network is "
        "exactly tuned (s, S), so selection can return it). Trainings and evaluations are cached under `--out` "
        "(default `runs/agents-structured`), so the time in the stamp above counts only that invocation; the "
        "training times are in the table (2 cores shared with other jobs: see the load column).",
        "",
        "| scenario | policy | train wall / CPU (s) | load (1-min avg, start / end) | best step | mean profit ± 95% CI "
        "| paired difference to tuned (s, S) ± 95% CI | % of (s, S) | % of optimum (paired) | target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    verdicts = []
    for r in rows:
        m, h = mean_ci95(r["agent"])
        ms, hs = mean_ci95(r["sS"])
        d, hd = mean_ci95(r["agent"] - r["sS"])
        pct = f"{r['pct'][0]:.2f} ± {r['pct'][1]:.2f}" if "pct" in r else ""
        if "pct" in r:
            met = r["pct"][0] - r["pct"][1] >= 98.0
            target = (f"≥ 98% of optimum (whole CI): {'met' if met else 'not met'} (tuned (s, S) alone: "
                      f"{r['pct_sS'][0]:.2f} ± {r['pct_sS'][1]:.2f}%)")
        else:
            met = d - hd > 0
            target = f"beats (s, S), CI excludes 0: {'met' if met else 'not met'}"
        c = r["cfg"]
        load = f"{c.get('load_before', float('nan')):.1f} / {c.get('load_after', float('nan')):.1f}"
        lines.append(f"| `{r['scenario']}` | tuned (s, S) |  |  |  | {ms:,.0f} ± {hs:,.0f} |  |  | "
                     f"{r['pct_sS'][0]:.2f} ± {r['pct_sS'][1]:.2f} |  |" if "pct_sS" in r else
                     f"| `{r['scenario']}` | tuned (s, S) |  |  |  | {ms:,.0f} ± {hs:,.0f} |  |  |  |  |")
        lines.append(f"| `{r['scenario']}` | directbackprop | {c['train_wall_s']:.0f} / {c['train_cpu_s']:.0f} | {load} "
                     f"| {c['best_step']} of {c['steps']} | {m:,.0f} ± {h:,.0f} | {d:+,.1f} ± {hd:,.1f} | "
                     f"{100 * m / ms:.2f} | {pct} | {target} |")
        verdicts.append(f"- `{r['scenario']}`: {target}; trained in {c['train_wall_s']:.0f} s wall "
                        f"({'within' if c['train_wall_s'] <= 1800 else 'over'} the 30-minute budget); validation "
                        f"profit {c['val_profit_best']:,.0f} against tuned (s, S)'s {c['val_profit_sS']:,.0f} "
                        f"({'the untrained network, i.e. (s, S) itself, was selected' if c['best_step'] == 0 else 'a trained network was selected'}).")
    checks = [r for r in rows if "gradient" in r]
    if checks:
        lines += ["", "Why the default estimator is evolution strategies, not backpropagation: the gradient of the mean "
                  f"training profit ({TRAIN_SEED_BASE:,}.., 32 seeds) with respect to a constant residual (a_s, a_S) at "
                  "0, i.e. at tuned (s, S) (currency per unit of a; `gradient_check`):", "",
                  "| scenario | pathwise (relaxed rollout, tau = 1), d/da_s, d/da_S | central finite difference (h = 0.1, "
                  "exact rollout), d/da_s, d/da_S |", "|---|---:|---:|"]
        for r in checks:
            g = r["gradient"]
            lines.append(f"| `{r['scenario']}` | {g['pathwise'][0]:,.0f}, {g['pathwise'][1]:,.0f} | "
                         f"{g['finite_difference'][0]:,.0f}, {g['finite_difference'][1]:,.0f} |")
        lines += ["", "Backpropagation through the relaxed (s, S) trigger reports slopes far larger than the exact "
                  "profit's finite differences, and of the other sign where those are positive: the straight-through "
                  "trigger counts every day near the reorder point as a possible extra order and its fixed cost, while "
                  "moving s only shifts orders in time. (The trigger's gradient reaches s only: let through the stock "
                  "position too, it multiplied along the 365-day chain to about 1e29 in a one-off trial on seasonal.) So the agent trains with "
                  "antithetic evolution strategies on the exact rollout (`--estimator es`, the default; the same "
                  "episodes for every perturbation); `--estimator pathwise` keeps backpropagation for policies without "
                  "a trigger."]
    dqn_speed = ("- Our DQN reaches 95% of the optimum on `quickstart` in <= 0.5x SB3 DQN's wall time: not met, not "
                 "re-measured in this round; the last measurement (the quickstart table above, `python "
                 "benchmarks/agents_restock.py`) is 893 s against 1,224 s, 0.73x. Neither DQN was changed here.")
    lines += ["", *verdicts, dqn_speed, "",
              "Retrain one agent (fresh clone; the settings of `SETTINGS` in `benchmarks/agents_structured.py`): "
              "`python -m agents.directbackprop.train --scenario seasonal --out runs/directbackprop-seasonal "
              "--eval-every 5 --steps 400 --seconds 600`; run it: `shopgym benchmark --scenarios seasonal --policies "
              "sS,directbackprop:runs/directbackprop-seasonal`. All three: `python benchmarks/agents_structured.py`."]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/agents-structured", type=Path, help="runs and evaluations")
    p.add_argument("--doc", default="docs/agents.md", type=Path, help="the Markdown doc whose section is written")
    p.add_argument("--episodes", type=int, default=100, help="evaluation seeds 0..N-1")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset of " + ",".join(SCENARIOS))
    p.add_argument("--retrain", action="append", default=[], metavar="SCENARIO", help="retrain this scenario's agent")
    p.add_argument("--quick", action="store_true", help="smoke test: 2 training steps (use with --out and --doc elsewhere)")
    a = p.parse_args()
    if a.quick and (a.out == p.get_default("out") or a.doc == p.get_default("doc")):
        p.error("--quick is a smoke test: pass --out and --doc elsewhere (e.g. --out /tmp/q --doc /tmp/q/agents.md), "
                "so that it neither rewrites docs/agents.md nor sits beside the real runs")
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    rows = []
    for sc in a.scenarios.split(","):
        if sc not in SCENARIOS:
            p.error(f"--scenarios: {sc!r} is not one of {', '.join(SCENARIOS)}")
        cfg = trained(sc, a.out, sc in a.retrain, a.quick)
        profits = evaluate(sc, run_folder(sc, a.out, a.quick), a.out, a.episodes, sc in a.retrain)
        row = {"scenario": sc, "cfg": cfg, "sS": profits["sS"],
               "agent": profits[f"directbackprop:{a.out / f'{sc}-directbackprop'}"]}
        if sc != "quickstart":
            row["gradient"] = gradient_check(sc)
        if sc == "quickstart":
            v = solve(sc).value
            row["pct"] = pct_of_optimum(row["agent"], profits["optimal"], v)
            row["pct_sS"] = pct_of_optimum(row["sS"], profits["optimal"], v)
        rows.append(row)
    command = "python benchmarks/agents_structured.py" + "".join(f" {x}" for x in sys.argv[1:])
    write_section(a.doc, "structured-agents", "Structured agents: directbackprop (residual (s, S)) vs tuned (s, S)",
                  report(rows, a.episodes), command, time.perf_counter() - t0, "torch.set_num_threads(1)")
    print(report(rows, a.episodes))


if __name__ == "__main__":
    main()
