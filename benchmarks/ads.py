"""Every bid-pacing baseline and trained agent on every Ads scenario, against the hindsight bound: docs/ads.md.

    python benchmarks/ads.py [--seeds 30] [--scenario-seeds SCENARIO=N ...] [--scenarios a,b] \
        [--agent SCENARIO=sb3:DIR ...] [--out docs/ads.md]

Each policy plays ``--seeds`` episodes (evaluation seeds ``0 .. n-1``; ``--scenario-seeds SCENARIO=N`` gives one
scenario its own ``N``, ``--scenarios`` runs a subset; agents train on seeds from 1_000_000 and
select on 900_000.., ``shopgym.seeds``) of ``ads-steady``, ``ads-competitive``, ``ads-budget-cut`` and
``ads-stockout`` in ``shopgym/Ads-v0``'s continuous variant (a multiplier per campaign; the baselines act on either
variant, ``agents.ads_heuristics``), one ``shopgym.rollout.rollout`` per episode. Per episode it records the ad
profit (the env's reward at ``reward_scale = 1``), the expected ad profit and the same episode's hindsight bound
(``scenarios.bench_ads.ads_extras``), ROAS and wasted spend; per policy the means with 95% t-intervals
(``shopgym.stats.mean_ci95``) and the % of the bound (mean of the per-episode ratios); per scenario the paired
difference of each agent to the best baseline; then the issue's targets, met or not, judged on the **first** agent
given for a scenario (the shipped one, chosen before this evaluation; the others are shown as earlier attempts). An
agent's training time is SB3's ``time/time_elapsed`` at the end of its run (``logs/progress.csv``; our DQN: from its
``config.yml`` to its final ``model/state.json``, ``training_minutes``). Agents trained on ``shopgym/AdsResidual-v0``
(``shopgym.envs.ads_actions``) act on the same Ads-v0 env through ``ResidualPolicy`` (``agents.trained.load_policy``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import shopgym  # noqa: E402,F401
from agents.ads_heuristics import ADS_POLICIES  # noqa: E402
from agents.hyperparams import read_run_config  # noqa: E402
from agents.registry import make_policy  # noqa: E402
from scenarios.bench_ads import ads_extras  # noqa: E402
from shopgym.atomic import atomic_write_text  # noqa: E402
from shopgym.errors import UnknownNameError, did_you_mean  # noqa: E402
from shopgym.rollout import rollout  # noqa: E402
from shopgym.seeds import (  # noqa: E402
    EVALUATION,
    VALIDATION,
    SeedError,
    check_evaluation,
    check_unseen,
    seed_range,
)
from shopgym.stats import mean_ci95  # noqa: E402

SCENARIOS = ("ads-steady", "ads-competitive", "ads-budget-cut", "ads-stockout")
PACING = ("even_pacing", "pid_pacing", "dual_pacing", "dual_pacing_stock")


def evaluate(env, name: str, spec: str, seeds: list[int]) -> pd.DataFrame:
    """One row per seed of policy ``spec`` (shown as ``name``) on ``env``: ad KPIs, expected ad profit, bound."""
    policy = make_policy(spec, env)
    rows = []
    for seed in seeds:
        ep = rollout(env, policy, seed)
        rows.append({"policy": name, "seed": seed, **ads_extras(env), "roas": ep.kpis["roas"],
                     "wasted_spend": ep.kpis["wasted_spend"], "ad_spend": ep.kpis["ad_spend"],
                     "purchases": ep.kpis["purchases"]})
    return pd.DataFrame(rows)


def training_minutes(run: str) -> float:
    """Wall minutes of a ``shopgym train`` run: SB3's last ``time/time_elapsed``; for our DQN (which does not log
    it) the time from the run's ``config.yml`` (written at its start) to its final ``model/state.json`` (an
    uninterrupted run only); ``nan`` if neither is there."""
    path = Path(run) / "logs" / "progress.csv"
    if path.exists():
        elapsed = pd.read_csv(path)["time/time_elapsed"].dropna()
        return float(elapsed.max()) / 60 if len(elapsed) else float("nan")
    start, end = Path(run) / "config.yml", Path(run) / "model" / "state.json"
    if start.exists() and end.exists():
        return (end.stat().st_mtime - start.stat().st_mtime) / 60
    return float("nan")


def pm(values, digits: int = 1) -> str:
    mean, half = mean_ci95(np.asarray(values, float))
    return f"{mean:,.{digits}f} ± {half:,.{digits}f}" if np.isfinite(half) else f"{mean:,.{digits}f}"


def scenario_table(rows: pd.DataFrame, minutes: dict[str, float]) -> list[str]:
    lines = ["| policy | ad profit | expected ad profit | % of hindsight bound | ROAS | wasted spend | ad spend | "
             "training (min) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for pol, g in rows.groupby("policy", sort=False):
        train = f"{minutes[pol]:.1f}" if pol in minutes and np.isfinite(minutes[pol]) else "-"
        lines.append(f"| {pol} | {pm(g['ad_profit'])} | {pm(g['expected_ad_profit'])} | {pm(g['pct_of_bound'])} | "
                     f"{g['roas'].mean():.2f} | {g['wasted_spend'].mean():,.1f} | {g['ad_spend'].mean():,.1f} | "
                     f"{train} |")
    return lines


def paired(rows: pd.DataFrame, a: str, b: str, col: str = "ad_profit") -> tuple[float, float]:
    """Mean and 95% half-width of ``a - b`` over the shared seeds (column ``col``)."""
    x = rows[rows["policy"] == a].set_index("seed")[col]
    y = rows[rows["policy"] == b].set_index("seed")[col]
    return mean_ci95((x - y).dropna().to_numpy(float))


def best_of(rows: pd.DataFrame, names) -> str | None:
    means = rows[rows["policy"].isin(list(names))].groupby("policy")["ad_profit"].mean()
    return None if means.empty else str(means.idxmax())


def parse_seeds(default: int, items: list[str], scenarios: list[str], base: int = 0) -> dict[str, list[int]]:
    """The seeds of each scenario: ``base .. base + default - 1``, or ``base .. base + n - 1`` for a scenario given
    as ``SCENARIO=N`` in ``items`` (``--scenario-seeds``). ``base`` 0 (the default) gives evaluation seeds; a
    ``base`` in the validation range gives validation seeds (choosing among trained runs, ``shopgym.seeds``), and
    every seed must then lie in that range; training seeds are refused."""
    counts = dict.fromkeys(scenarios, default)
    for item in items:
        sc, _, n = item.partition("=")
        if sc not in scenarios:
            raise UnknownNameError(f"--scenario-seeds {item!r}: {sc!r} is not a scenario of this run (one of "
                                   f"{', '.join(scenarios)}).{did_you_mean(sc, scenarios)}")
        if not n.strip().isdigit() or int(n) < 2:
            raise SeedError(f"--scenario-seeds {item!r}: give SCENARIO=N with N an integer >= 2 (a 95% interval "
                            "needs two episodes).")
        counts[sc] = int(n)
    if default < 2:
        raise SeedError(f"--seeds {default}: give an integer >= 2 (a 95% interval needs two episodes).")
    seeds = {sc: list(range(base, base + n)) for sc, n in counts.items()}
    kind = seed_range(base)
    for s in seeds.values():
        if kind == "evaluation":
            check_evaluation(s)
        elif kind == "training" or seed_range(s[-1]) != "validation":
            raise SeedError(f"--seed-base {base} with {len(s):,} seeds reaches seed {s[-1]:,}, outside the evaluation "
                            f"({EVALUATION.start}..{EVALUATION.stop - 1:,}) and validation ({VALIDATION.start:,}.."
                            f"{VALIDATION.stop - 1:,}) ranges; lower --seed-base or --seeds.")
    return seeds


def parse_agents(items: list[str], scenarios: list[str], seeds: dict[str, list[int]]) -> dict[str, list[str]]:
    """``--agent SCENARIO=KIND:DIR`` items by scenario, in the order given (the first is the one the targets judge);
    refuses a scenario outside the run and an agent that saw any of the scenario's evaluation seeds in training."""
    agents: dict[str, list[str]] = {}
    for item in items:
        sc, _, spec = item.partition("=")
        if sc not in SCENARIOS or ":" not in spec:
            raise UnknownNameError(f"--agent {item!r}: give SCENARIO=sb3:DIR (or dqn:DIR) with SCENARIO one of "
                                   f"{', '.join(SCENARIOS)}.{did_you_mean(sc, SCENARIOS)}")
        if sc not in scenarios:
            continue  # a scenario this run leaves out (--scenarios): the same --agent list serves every subset
        cfg = read_run_config(spec.partition(":")[2])
        if cfg is not None:
            check_unseen(spec, cfg, seeds[sc])
        agents.setdefault(sc, []).append(spec)
    return agents


def agent_name(spec: str) -> str:
    """The row name of trained agent ``spec`` (``KIND:DIR``): ``KIND:`` and the run folder's name."""
    return f"{spec.partition(':')[0]}:{Path(spec.partition(':')[2]).name}"


def run(scenarios: dict[str, str], seeds: dict[str, list[int]], agents: dict[str, list[str]]):
    """Every baseline and ``agents[name]`` on each scenario (``name`` -> scenario name or file) at ``seeds[name]``:
    per-episode rows by scenario, the agents' training minutes, and each scenario's wall seconds."""
    results, minutes, seconds = {}, {}, {}
    for name, scenario in scenarios.items():
        t0 = time.perf_counter()
        env = gym.make("shopgym/Ads-v0", scenario=scenario, continuous=True)
        frames = [evaluate(env, pol, pol, seeds[name]) for pol in ADS_POLICIES]
        for spec in agents.get(name, []):
            minutes[agent_name(spec)] = training_minutes(spec.partition(":")[2])
            frames.append(evaluate(env, agent_name(spec), spec, seeds[name]))
        results[name] = pd.concat(frames, ignore_index=True)
        seconds[name] = time.perf_counter() - t0
        print(f"{name}: {len(seeds[name])} seeds in {seconds[name] / 60:.1f} min", file=sys.stderr)
    return results, minutes, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30, help="seeds per scenario: base .. base + N - 1 (--seed-base, default 0)")
    parser.add_argument("--seed-base", type=int, default=0,
                        help="first seed (default 0, evaluation); 900000 or more: validation seeds, to choose among "
                        "trained runs (never evaluation seeds)")
    parser.add_argument("--scenario-seeds", action="append", default=[], metavar="SCENARIO=N",
                        help="seeds base .. base + N - 1 of one scenario instead of --seeds (repeatable)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="comma-separated subset of the scenarios to run (default: all four)")
    parser.add_argument("--agent", action="append", default=[],
                        help="SCENARIO=sb3:DIR (or dqn:DIR), repeatable; the first per scenario is the one the targets judge")
    parser.add_argument("--out", default=str(ROOT / "docs" / "ads.md"))
    args = parser.parse_args()
    command = "python benchmarks/ads.py " + " ".join(sys.argv[1:])
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for sc in chosen:
        if sc not in SCENARIOS:
            raise UnknownNameError(f"--scenarios: {sc!r} is not an Ads scenario (one of {', '.join(SCENARIOS)})."
                                   f"{did_you_mean(sc, SCENARIOS)}")
    chosen = [sc for sc in SCENARIOS if sc in chosen]
    seeds = parse_seeds(args.seeds, args.scenario_seeds, chosen, args.seed_base)
    agents = parse_agents(args.agent, chosen, seeds)
    t0 = time.perf_counter()
    results, minutes, seconds = run({sc: sc for sc in chosen}, seeds, agents)
    text = report(command, results, minutes, agents, time.perf_counter() - t0, seeds, seconds)
    atomic_write_text(Path(args.out), text)
    print(text)


def seeds_text(seeds: list[int]) -> str:
    """``N evaluation seeds (a .. b)`` (or validation seeds): how a scenario's seeds read in the report."""
    return f"{len(seeds):,} {seed_range(seeds[0])} seeds ({seeds[0]:,} .. {seeds[-1]:,})"


def report(command, results, minutes, agents, seconds, seeds, scenario_seconds=None) -> str:
    """docs/ads.md: the header (command, wall time, seeds), a table and the paired differences per scenario, the
    targets and the notes. ``seeds``: scenario -> its evaluation seeds; ``scenario_seconds``: scenario -> wall
    seconds (shown when the scenarios ran at different numbers of seeds)."""
    counts = {len(s) for s in seeds.values()}
    if len(counts) == 1:
        per = f"{seeds_text(next(iter(seeds.values())))} per policy and scenario"
    else:
        per = "per policy, " + ", ".join(f"{sc}: {seeds_text(s)}" + (
            f" ({scenario_seconds[sc] / 60:.1f} min)" if scenario_seconds and sc in scenario_seconds else "")
            for sc, s in seeds.items())
    md = ["# Ads-v0: bid pacing with budgets, against the hindsight bound", "",
          f"Produced by `{command}` in {seconds / 60:.1f} min (2 shared CPU cores), {per}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
          "Every policy runs on `shopgym/Ads-v0` with `continuous=True` (a bid multiplier per campaign). The "
          "baselines are in `agents/ads_heuristics.py`; `fixed_multiplier` is tuned on training seeds 1,000,000.. "
          "(mean expected ad profit over a grid of multipliers, cached per scenario content). Columns:", "",
          "- ad profit: margin of ad-driven purchases - ad spend per episode (currency; the env's reward), mean ± "
          "95% t-interval over the seeds.",
          "- expected ad profit: sum over the impressions won of (expected margin of the ad shown - price paid): the "
          "ad profit without the noise of clicks and purchases; it is what the hindsight bound bounds.",
          "- % of hindsight bound: expected ad profit / the same episode's bound (`agents/ads_hindsight.py`: the LP "
          "relaxation of the knapsack over that episode's opportunities, their stock-blind estimated values and "
          "prices to win, per campaign and day), mean ± 95% t-interval of the per-episode ratios (paired).",
          "- ROAS: ad revenue / ad spend; wasted spend: currency paid for impressions won while nothing of the "
          "campaign was in stock (episode means); training: wall minutes of the agent's `shopgym train` run.", ""]
    for sc, rows in results.items():
        md += [f"## {sc}", "", f"{seeds_text(seeds[sc])}, the same for every policy.", "",
               *scenario_table(rows, minutes), ""]
        best = best_of(rows, ADS_POLICIES)
        for spec in agents.get(sc, []):
            name = agent_name(spec)
            d, h = paired(rows, name, best)
            de, he = paired(rows, name, best, "expected_ad_profit")
            md.append(f"- {name} - {best} (best baseline), paired over the seeds: ad profit {d:+,.1f} ± {h:,.1f}, "
                      f"expected ad profit {de:+,.1f} ± {he:,.1f}.")
        md.append("")
    first = min(s[0] for s in seeds.values())
    judged = targets(results, minutes, agents) if first < VALIDATION.start else [
        f"- Not judged: seeds from {first:,} are validation seeds, for choosing among trained runs; the targets are "
        "judged on evaluation seeds (--seed-base 0)."]
    md += ["## Targets", "", *judged, "", "## Notes", "", *NOTES, ""]
    return "\n".join(md)


#: Every agent configuration tried, in order (each is a row of the tables when its run is passed with --agent).
ATTEMPTS = (
    "- **Attempts** (SB3 PPO unless named, training seed 0, one run each; every one is a row of the tables under its "
    "run name): (1) `ppo-ads-SCENARIO-s0`: PPO on the plain continuous variant (multipliers in [0, 2], 230,000 "
    "steps), from before this residual mode; (2) `ppo-residual-SCENARIO-s0`: the residual mode with the env's "
    "realised reward, 200,000 steps; (3) `ppo-residual-er-SCENARIO-s0`, shipped: the residual mode with "
    "`expected_reward: true` (each tick's reward replaced by its expectation given the impressions won: the same "
    "expected return without the click and purchase noise, and a steadier validation score for `select: best`), "
    "both started for 500,000 steps and stopped by the time box, ads-stockout after its 300,000-step evaluation "
    "(best model by validation at 280,000 steps) and ads-budget-cut after its 360,000-step one (best at 310,000); "
    "the shipped `n_timesteps` (300,000; 360,000 in section `shopgym/AdsResidual-v0@ads-budget-cut`) end at those "
    "evaluations, and the learning rate is constant, so the retrain commands should follow the same path (not re-run to check); "
    "(4) `dqn-residual-ads-budget-cut-s0` (SB3 DQN) and `shopgym-dqn-residual-ads-budget-cut-s0` (our DQN) on the "
    "discrete residual with the realised reward, 120,000 steps, ads-budget-cut only (not trained on ads-stockout for "
    "lack of time); (5) `ppo-residual-er-g999-ads-stockout-s0`: (3) with `gamma: 0.999` and `normalize: {gamma: "
    "0.999}` (a section `shopgym/AdsResidual-v0@ads-stockout`, not shipped): on ads-stockout no order arrives within "
    "the episode (lead time 3 days = horizon), so a unit sold now is one not sold later, and gamma 0.99 halves the "
    "weight of the episode's end. Its best validation score was 20.74 against 21.15 for (3) (SB3's evaluation during "
    "training, expected reward x 0.1, each run's `eval/evaluations.npz`), so by the rule fixed before that evaluation "
    "(ship it only if it scores higher on validation) (3) stayed the shipped agent. It ran alone (load about 4): "
    "300,000 steps in 3.5 minutes; (6) `ppo-residual-er-1m-ads-stockout-s0`, **shipped on ads-stockout**: (3) "
    "trained longer (`--timesteps 1000000`, same seed and hyperparameters: its validation curve repeats (3)'s to the "
    "digit through 300,000 steps), stopped at 650,000 steps (16.6 minutes, load 5 to 7) because its validation score "
    "had not risen since 310,000 (21.16; 20.8 to 21.1 after): training longer does not help. The choice among (3), "
    "(5) and (6), fixed before it ran: the highest mean expected ad profit on 200 validation seeds 950,000 .. "
    "950,199, which no run's `select: best` used (`python benchmarks/ads.py --scenarios ads-stockout --seed-base "
    "950000 --seeds 200 --agent ads-stockout=sb3:runs/ads/ppo-residual-er-ads-stockout-s0 --agent "
    "ads-stockout=sb3:runs/ads/ppo-residual-er-1m-ads-stockout-s0 --agent "
    "ads-stockout=sb3:runs/ads/ppo-residual-er-g999-ads-stockout-s0 --out runs/ads/validation-ads-stockout.md`, 1.8 "
    "min): (6) 207.1, (3) 206.9, (5) 204.6 (dual_pacing_stock 200.7), so (6) is shipped, by a margin (+0.2) well "
    "inside the noise: (3) and (6) are the same run 30,000 steps apart. The section "
    "`shopgym/AdsResidual-v0@ads-stockout` (`n_timesteps: 320000`) ends the same path at the evaluation after its "
    "best (not re-run to check)."
)
#: Why ads-stockout runs at more seeds than the other scenarios: a power calculation fixed before the run.
POWER = (
    "- **Seeds on ads-stockout: 1,500, fixed before the run that wrote this file** (a power calculation on the "
    "100-seed run of 2026-12-02 02:10 UTC, the same command at `--seeds 100`): there the then shipped agent (3) - "
    "dual_pacing_stock was +3.1 ± 7.3 ad profit and +5.6 ± 2.1 expected ad profit, so the per-episode SD of the "
    "paired ad-profit difference is about 7.3 x sqrt(100) / 1.98 = 37 and 100 seeds resolve only gains above "
    "about 7, while the expected ad profit puts the gain at +3.5 to +7.7. A 95% half-width of at most 2 (1.96 x 37 "
    "/ sqrt(n) <= 2) needs n >= 1,315; rounded up to 1,500 (half-width about 1.9): if the true gain is +4, the "
    "interval excludes 0 with probability about 0.99, if +3.1, about 0.90. Every ads-stockout policy plays the same "
    "evaluation seeds 0 .. 1,499 (`--scenario-seeds ads-stockout=1500`); the other scenarios stay at `--seeds`. "
    "The result is reported whatever it is, in the Targets above."
)
NOTES = (
    "- **The agents** act in the residual mode of Ads-v0 (`shopgym/AdsResidual-v0`, `shopgym/envs/ads_actions.py`): "
    "per campaign, the bid multiplier is what `dual_pacing_stock` (the best baseline) bids, x `max_scale ** a` with "
    "`a` in [-1, 1] (`max_scale` 1.5), so the zero action is that baseline tick for tick "
    "(`tests/envs/test_ads_actions.py` checks it on all four scenarios). The observation adds, per campaign, the base "
    "multiplier, the dual multiplier 1 / (1 + mu) and the pacing error. SB3 DQN and our DQN take `Discrete(5)`: one "
    "exponent in {-1, -0.5, 0, 0.5, 1} for every campaign jointly. Each run keeps its best model by evaluation during "
    "training on validation seeds 900,000.. (`select: best`) and trains on seeds 1,000,000..; the tables evaluate on "
    "seeds 0...",
    "- **Retrain** (a fresh clone; the sections `shopgym/AdsResidual-v0` of `agents/hyperparams/ppo.yml`, `dqn.yml` "
    "and `shopgym-dqn.yml`): `shopgym train --algo ppo --env shopgym/AdsResidual-v0 --scenario SCENARIO --seed 0 "
    "--out runs/ads/ppo-residual-er-SCENARIO-s0` (PPO with `expected_reward: true`, the shipped agents; on "
    "ads-stockout give `--out runs/ads/ppo-residual-er-1m-ads-stockout-s0`, the shipped run's name), `shopgym "
    "train --algo dqn --env shopgym/AdsResidual-v0 --scenario ads-budget-cut --seed 0 --out "
    "runs/ads/dqn-residual-ads-budget-cut-s0` and the same with `--algo shopgym-dqn` (out "
    "`runs/ads/shopgym-dqn-residual-ads-budget-cut-s0`); then this file's command.",
    ATTEMPTS,
    "- **Training times** are wall minutes on the 2 CPU cores of this machine while other jobs ran (`uptime` read "
    "load averages of 4 to 11 during these runs: other sessions' trainings besides ours, ours two at a time), so "
    "they overstate what 2 free cores need.",
    "- **Why the ad-profit intervals are wide**: a shopper's click and purchase are drawn per impression won, so two "
    "policies that win different impressions see different draws; the paired difference of ad profit keeps that "
    "noise (the ± of the ad-profit differences above), while the paired difference of expected ad profit (the same "
    "impressions' expected margins) does not. A gain of a few currency units an episode shows in expected ad profit "
    "long before it shows in ad profit.",
    POWER,
    "- Why the expected ad profit judges the bound target: the bound is on the *expected* reward (it uses values, "
    "not sampled purchases), so a policy's realised ad profit can exceed it on a lucky episode; the expected ad "
    "profit of the impressions a policy actually won is bounded by the same episode's bound every time "
    "(`tests/test_benchmark_ads.py` checks it on every row).",
    "- Why the bound is loose on ads-stockout: it uses the stock-blind estimated value and ignores that a unit can "
    "be sold only once, so it counts every cheap impression of a sold-out SKU as worth its estimate. No policy can "
    "approach it there; compare policies with each other (paired differences) on that scenario.",
    "- The scenarios carry 12,000 opportunities a day and a budget of 40 a campaign and day (part 1 had 1,200 and "
    "4: about 12 ad purchases an episode, too few for a seed to tell policies apart), and ads-stockout starts with "
    "20 units per SKU (was 6: with ten times the budget ads sold everything in the first two ticks).",
)


def targets(results, minutes, agents) -> list[str]:
    out = []
    if "ads-steady" in results:
        steady = results["ads-steady"]
        pct = steady.loc[steady["policy"] == "dual_pacing", "pct_of_bound"].to_numpy(float)
        mean, half = mean_ci95(pct)
        out.append(f"- Adaptive dual pacing >= 85% of the hindsight bound on ads-steady: "
                   f"**{'met' if mean >= 85 else 'not met'}**, {mean:.1f} ± {half:.1f}% (per-episode ratios of "
                   "expected ad profit to the bound).")
    else:
        out.append("- Adaptive dual pacing >= 85% of the hindsight bound on ads-steady: not judged (ads-steady not "
                   "in this run's --scenarios).")
    for sc in ("ads-budget-cut", "ads-stockout"):
        if sc not in results:
            out.append(f"- Best agent beats the best pacing baseline on {sc}: not judged ({sc} not in this run's "
                       "--scenarios).")
            continue
        rows = results[sc]
        specs = agents.get(sc, [])
        if not specs:
            out.append(f"- Best agent beats the best pacing baseline on {sc} (paired 95% CI excluding 0): **not met**"
                       " (no agent evaluated on it).")
            continue
        # the shipped agent is the first listed for the scenario (chosen before this evaluation), not the best of
        # the agents on these seeds: picking among attempts on the evaluation seeds would flatter it
        agent = agent_name(specs[0])
        pacer = best_of(rows, PACING)
        d, h = paired(rows, agent, pacer)
        met = d - h > 0
        de, he = paired(rows, agent, pacer, "expected_ad_profit")
        out.append(f"- Best agent beats the best pacing baseline on {sc} (paired 95% CI excluding 0): "
                   f"**{'met' if met else 'not met'}**: {agent} - {pacer} = {d:+,.1f} ± {h:,.1f} ad profit "
                   f"(expected ad profit {de:+,.1f} ± {he:,.1f}).")
    if minutes:
        worst = max(minutes.values())
        out.append(f"- Each agent trains in <= 30 minutes on 2 cores: **{'met' if worst <= 30 else 'not met'}**: "
                   + ", ".join(f"{k} {v:.1f} min" for k, v in minutes.items()) + ".")
    else:
        out.append("- Each agent trains in <= 30 minutes on 2 cores: **not met** (no agent trained).")
    return out


if __name__ == "__main__":
    main()
