"""``shopgym``: list scenarios, run a policy, benchmark policies; sub-commands of other layers mounted here."""

from __future__ import annotations

import importlib
import shlex
import sys
import warnings
from pathlib import Path

import typer

from shopgym.errors import ShopgymError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="shopgym: an e-commerce world for reinforcement learning. Benchmark restocking policies, train agents, fit forecasters.")


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@app.command()
def scenarios(keys: bool = typer.Option(False, "--keys", help="Document every scenario key instead."),
              details: str = typer.Option(None, "--details", help="Print one scenario in full: what it tests, why it "
                                          "is hard, its reference, its decision and every key it sets.")) -> None:
    """List the shipped scenarios with one-line descriptions."""
    from scenarios.readme import describe_scenario, summary_line
    from shopgym.config import describe_keys, scenario_names

    if keys:
        typer.echo(describe_keys())
        return
    if details:
        try:
            typer.echo(describe_scenario(details))
        except ShopgymError as exc:
            _fail(exc)
        return
    names = scenario_names()
    width = max(map(len, names))
    for name in names:
        typer.echo(f"{name:<{width}}  {summary_line(name)}")


#: The files ``shopgym run`` writes to its ``--out``: one holding any of them holds an earlier run.
RUN_FILES = ("config.json", "trajectory.csv", "episodes.csv", "trajectory.png")


def _command() -> str:
    """This command line, shell-quoted, for ``config.json``."""
    return "shopgym " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@app.command()
def run(
    scenario: str = typer.Option("quickstart", help="Scenario name or path to a .toml file."),
    policy: str = typer.Option("sS", help="Policy name (see `shopgym benchmark --help`), sb3:DIR / dqn:DIR, or "
                               "learned_greedy:PATH on a Recommend scenario."),
    episodes: int = typer.Option(1, min=1, help="Episodes to run (seeds seed .. seed + episodes - 1)."),
    seed: int = typer.Option(0, help="Seed of the first episode."),
    out: Path = typer.Option(None, help="Folder for config.json, trajectory.csv, episodes.csv and trajectory.png "
                             "(default: a new runs/run-TIMESTAMP). One holding an earlier run is refused unless --overwrite."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the earlier run in --out."),
) -> None:
    """Run one policy on a scenario; print KPIs, write config.json, the daily trajectory (CSV) and a plot (PNG).

    A scenario with shopper sessions runs in shopgym/Recommend-v0: its KPIs are the recommendation KPIs (CTR,
    conversion, margin, ...) then the shop's, and its trajectory is one row per day (sessions, clicks,
    purchases, stock-outs hit, recommendation revenue and margin) instead of one per day and SKU."""
    import pandas as pd
    from tqdm.auto import tqdm

    import shopgym  # noqa: F401
    from agents.registry import make_policy
    from scenarios.bench_ads import ads_extras, plot_ticks
    from scenarios.bench_state import policy_hash
    from scenarios.benchmark import check_policy, make_env, scenario_kind
    from scenarios.plots import plot_sessions, plot_trajectory
    from scenarios.rollout import rollout
    from shopgym.atomic import atomic_write_text
    from shopgym.config import load_scenario
    from shopgym.outdir import fresh_out, prepare_out, run_config, write_config
    from shopgym.world.kpis import SESSION_KPIS

    try:
        env = make_env(load_scenario(scenario))  # Recommend-v0 for a scenario with shopper sessions, else Restock-v0
        sc = env.unwrapped.scenario
        sessions = scenario_kind(sc) == "recommend"
        ads = scenario_kind(sc) == "ads"  # Ads-v0: a row per tick, the episode's hindsight bound with the KPIs
        check_policy(policy, sc)  # names first, then the folder, then tuning or loading (no work before a bad --out)
        out = prepare_out(out or fresh_out("run"), earlier=RUN_FILES, overwrite=overwrite)
        pol = make_policy(policy, env)
        for name in RUN_FILES:  # an overwritten run leaves none of its files behind a partial new one
            (out / name).unlink(missing_ok=True)
        write_config(out, run_config(_command(), {sc.name: sc}, policy=policy, policy_hash=policy_hash(policy),
                                     seeds=list(range(seed, seed + episodes))))
    except ShopgymError as exc:
        _fail(exc)
    eps, trajs = [], []
    for s in tqdm(range(seed, seed + episodes), desc=f"{policy} on {scenario}", unit="episode", disable=episodes < 3):
        ep = rollout(env, pol, s, record=True)
        first = {k: ep.kpis[k] for k in SESSION_KPIS} if sessions else {}  # the recommendation KPIs lead
        first = ads_extras(env) if ads else first
        eps.append({"seed": s, **first, **ep.kpis})
        trajs.append(ep.trajectory.assign(seed=s))
    table = pd.DataFrame(eps)
    typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    if episodes > 1:
        typer.echo("mean: " + ", ".join(f"{k}={v:,.3f}" for k, v in table.drop(columns="seed").mean().items()))
    atomic_write_text(out / "trajectory.csv", pd.concat(trajs).to_csv(index=False))  # a full disk mid-run: one
    atomic_write_text(out / "episodes.csv", table.to_csv(index=False))  # line from main(), no half-written file
    if ads:
        plot_ticks(trajs[0], out / "trajectory.png", f"{scenario}: {policy}, seed {seed} (per tick)")
    elif sessions:
        plot_sessions(trajs[0], out / "trajectory.png", f"{scenario}: {policy}, seed {seed} (sessions per day)")
    else:
        plot_trajectory(trajs[0], out / "trajectory.png", f"{scenario}: {policy}, seed {seed} (all SKUs)")
    typer.echo(f"wrote {out}/config.json, trajectory.csv, episodes.csv, trajectory.png")


@app.command()
def benchmark(
    scenarios: str = typer.Option("quickstart,newsvendor", "--scenarios", "--scenario", help="Comma-separated scenario names or paths."),
    policies: str = typer.Option("", help="Comma-separated policies (default: every applicable built-in heuristic and exact optimum)."),
    seeds: int = typer.Option(10, min=2, help="Evaluation seeds per scenario and policy."),
    out: Path = typer.Option(None, help="Output folder (default: a new runs/benchmark-TIMESTAMP); re-use one to resume. "
                             "Results of a scenario or model file changed since are refused, never reused."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Discard the earlier results in --out and start again."),
    seed_base: int = typer.Option(0, "--seed-base", help="First evaluation seed (seeds seed-base .. seed-base + seeds "
                                  "- 1, inside the evaluation range 0..899999: shopgym/seeds.py)."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Cells (scenario x policy) run in this many local worker processes; "
                             "the results do not depend on it."),
    backend: str = typer.Option("local", help="Where cells run: local (this machine, --jobs processes) or ray "
                                "(Ray tasks; needs pip install \"shopgym[ray]\")."),
    address: str = typer.Option(None, help="With --backend ray: the Ray cluster to use (e.g. HEAD_IP:6379, as "
                                "printed by `ray start --head`); default: a Ray instance started on this machine."),
) -> None:
    """Benchmark policies on scenarios: a table of mean profit (95% CI), unit fill rate, cycle service level and %
    of the exact optimum, and a ranking with paired differences to the best heuristic. Scenarios with shopper
    sessions run in shopgym/Recommend-v0 with the recommendation baselines and get their own table
    (recommendation margin, CTR, conversion, ..., % of the exact optimum). Killed midway, the same command
    resumes: finished cells are kept."""
    from scenarios.benchmark import format_ranking, format_tables, run_benchmark
    from shopgym.outdir import fresh_out

    out = out or fresh_out("benchmark")
    try:
        with warnings.catch_warnings():  # a recomputed partial or corrupt state file: one line, not a warning trace
            warnings.showwarning = lambda msg, *_, **__: typer.secho(f"warning: {msg}", fg=typer.colors.YELLOW, err=True)
            res = run_benchmark([s for s in scenarios.split(",") if s], [p for p in policies.split(",") if p] or None,
                                n_seeds=seeds, out=out, command=_command(), overwrite=overwrite, seed_base=seed_base,
                                jobs=jobs, backend=backend, address=address)
    except ShopgymError as exc:
        _fail(exc)
    typer.echo(format_tables(res))
    typer.echo("\n" + format_ranking(res.ranking))
    for note in res.notes:
        typer.secho(f"note: {note}", err=True)
    results = ["results.csv"] * bool(len(res.summary)) + ["results_recommend.csv"] * bool(len(res.recommend_summary))
    results += ["results_ads.csv"] * bool(res.ads_summary is not None and len(res.ads_summary))
    typer.echo(f"\nwrote {out}/{', '.join(results or ['results.csv'])}, summary.md, benchmark.png and trajectory plots")


@app.command()
def cache(clear: bool = typer.Option(False, "--clear", help="Delete every cached entry (the next use re-tunes).")) -> None:
    """Print the folder of cached tuned heuristic parameters (set SHOPGYM_CACHE_DIR to move it) and its entries."""
    from agents import tuning_cache

    folder = tuning_cache.cache_dir()
    if clear:
        typer.echo(f"removed {tuning_cache.clear()} files from {folder}")
        return
    entries = tuning_cache.list_entries()
    typer.echo(f"tuning cache: {folder} ({len(entries)} entries)")
    for e in entries:
        typer.echo(f"  {e.get('created', '?')}  {e.get('policy', '?')} on {e.get('scenario', '?')}: "
                   f"{e.get('params')}  ({Path(e['path']).name})")


def _mount(module: str, name: str | None, help_text: str) -> None:
    """Attach another layer's typer app: as a group ``name``, or its commands at the top level."""
    try:
        sub = importlib.import_module(module).app
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return
    if name:
        app.add_typer(sub, name=name, help=help_text)
    else:
        for cmd in sub.registered_commands:
            app.registered_commands.append(cmd)


_mount("shopgym.cli.forecast", "forecast", "Fit and backtest demand forecasters.")
_mount("shopgym.cli.conversion", "conversion", "Generate interaction logs; fit and evaluate conversion models.")
_mount("shopgym.cli.train", None, "")
_mount("shopgym.cli.calibrate", None, "")

def main() -> None:
    """The ``shopgym`` console script: the typer app, with any ``ShopgymError`` (bad scenario key, missing
    or corrupt file, bad hyperparameters, ...) and any ``OSError`` on a file (full disk, read-only folder,
    ``--out`` naming a file) reported as one line (``shopgym.cli.faults``) and exit status 2, no traceback."""
    from shopgym.cli.faults import EXIT_CODE, report

    try:
        app()
    except (ShopgymError, OSError) as exc:
        report(exc)
        raise SystemExit(EXIT_CODE) from None


if __name__ == "__main__":
    main()
