"""``shopgym train`` and ``shopgym evaluate``: train SB3, our DQN or SlateQ (Recommend-v0) on an env, evaluate a
trained run.

Registered as top-level commands by ``shopgym.cli.main``; runnable alone as
``python -c "from shopgym.cli.train import app; app()" train ...``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import gymnasium as gym
import typer

import shopgym  # noqa: F401  (registers the shopgym envs)
from shopgym.atomic import atomic_write_text
from shopgym.outdir import prepare_out
from shopgym.rollout import rollout
from shopgym.stats import mean_ci95

app = typer.Typer(help="Train and evaluate agents.", no_args_is_help=True)

ALGOS = ("dqn", "ppo", "a2c", "sac", "shopgym-dqn", "slateq")  # slateq: agents.slateq, Recommend-v0 only


def default_out(algo: str, env_id: str, scenario: str | None, seed: int) -> Path:
    """``runs/<algo>-<env>-<scenario>-s<seed>``: the same command always maps to the same directory."""
    env = env_id.replace("/", "_")
    return Path("runs") / f"{algo}-{env}-{scenario or 'default'}-s{seed}"


def _check_train_arguments(env: str, scenario: str | None, timesteps: int | None, seed: int,
                           hyperparams: Path | None) -> None:
    """Refuse a bad ``train`` argument with a one-line ``BadParameter`` before the run writes anything, so a
    typo never leaves a config.yml behind that then refuses the corrected command."""
    from shopgym.config import load_scenario
    from shopgym.errors import HyperparameterError, ShopgymError, did_you_mean

    if timesteps is not None and timesteps < 1:
        raise typer.BadParameter(f"--timesteps {timesteps}: must be > 0 (env steps to train for).")
    if seed < 0:
        raise typer.BadParameter(f"--seed {seed}: must be >= 0 (numpy and torch take non-negative seeds).")
    if env not in gym.registry:
        raise typer.BadParameter(f"--env {env!r} is not a registered Gymnasium env id.{did_you_mean(env, gym.registry)}")
    if hyperparams is not None and not Path(hyperparams).is_file():
        raise HyperparameterError(f"--hyperparams: {hyperparams} does not exist; pass a hyperparameter YAML file "
                                  "(default agents/hyperparams/<algo>.yml).")
    if scenario is not None:
        try:
            load_scenario(scenario)
        except ShopgymError as exc:
            raise typer.BadParameter(f"--scenario {scenario!r}: {exc}") from None


@app.command()
def train(
    algo: str = typer.Option(..., help=f"one of {', '.join(ALGOS)}"),
    env: str = typer.Option("shopgym/Restock-v0", help="Gymnasium env id (shopgym/RestockPerSKU-v0: the per-SKU agent)"),
    scenario: str = typer.Option(None, help="scenario name or file (shopgym envs; default: the env's)"),
    timesteps: int = typer.Option(None, help="env steps to train for (default: n_timesteps of the hyperparameter file)"),
    seed: int = typer.Option(0, help="seeds networks, exploration and training envs"),
    out: Path = typer.Option(None, help="run directory (default runs/<algo>-<env>-<scenario>-s<seed>)"),
    hyperparams: Path = typer.Option(None, help="hyperparameter file (default agents/hyperparams/<algo>.yml)"),
    progress: bool = typer.Option(True, help="show a progress bar"),
    overwrite: bool = typer.Option(False, "--overwrite", help="delete an earlier run's files in --out (nothing else "
                                   "there) and start again"),
) -> None:
    """Train an agent; re-running the same command after a kill resumes from the last checkpoint.

    A run directory is keyed by content: if the scenario (file or overrides), seed or hyperparameters
    changed since the run began, the command is refused; --overwrite starts the run again (deleting only the
    run's own files: agents/run_folder.py; a folder whose config.yml is not a run's is refused). SlateQ
    (--algo slateq, on shopgym/Recommend-v0) keeps no checkpoints: an --out holding a run needs --overwrite."""
    import torch

    torch.set_num_threads(1)
    if algo not in ALGOS:
        raise typer.BadParameter(f"--algo {algo!r}: choose one of {', '.join(ALGOS)}.")
    _check_train_arguments(env, scenario, timesteps, seed, hyperparams)  # all of them, before anything is written
    if algo == "slateq":
        from agents.slateq import env_refusal

        if env_refusal(env):
            raise typer.BadParameter(env_refusal(env))
    out = out or default_out(algo, env, scenario, seed)
    # the canonical command that reproduces (or resumes) this run; run.json also keeps sys.argv
    command = ["shopgym", "train", "--algo", algo, "--env", env, "--seed", str(seed), "--out", str(out)]
    for flag, value in (("--scenario", scenario), ("--timesteps", timesteps), ("--hyperparams", hyperparams)):
        if value is not None:
            command += [flag, str(value)]
    per_sku = algo == "shopgym-dqn" and env == "shopgym/RestockPerSKU-v0"  # one Q-net shared by the SKUs
    if algo == "slateq":  # no model.num_timesteps: the run folder's config.yml says how long it trained
        from agents.hyperparams import read_run_config
        from agents.slateq import train_run as train_slateq

        train_slateq(env, out, timesteps, seed, scenario, hyperparams, progress, command, overwrite)
        typer.echo(f"trained slateq for {read_run_config(out)['timesteps']} steps -> {out} (policy spec: slateq:{out})")
        return
    if per_sku:
        from agents.per_sku import train as train_per_sku

        model = train_per_sku(scenario, out, timesteps, seed, hyperparams, progress, command, overwrite)
    elif algo == "shopgym-dqn":
        from agents.dqn.run import train as train_dqn

        model = train_dqn(env, out, timesteps, seed, scenario, hyperparams, progress, command, overwrite)
    else:
        from agents.sb3 import train as train_sb3

        model = train_sb3(algo, env, out, timesteps, seed, scenario, hyperparams, progress, command, overwrite)
    spec = "dqn-sku" if per_sku else "dqn" if algo == "shopgym-dqn" else "sb3"
    typer.echo(f"trained {algo} for {model.num_timesteps} steps -> {out} (policy spec: {spec}:{out})")


@app.command()
def evaluate(
    model: Path = typer.Option(..., help="run directory written by `shopgym train`"),
    scenario: str = typer.Option(None, help="scenario to evaluate on (default: the training scenario)"),
    episodes: int = typer.Option(10, help="evaluation episodes, with seeds seed_base .. seed_base + episodes - 1"),
    seed_base: int = typer.Option(0, help="first evaluation seed"),
) -> None:
    """Evaluate a trained run greedily: mean episode return (and profit on restock envs) with a 95% CI."""
    import torch

    from agents.hyperparams import read_run_config
    from agents.registry import make_policy

    if episodes < 1:
        raise typer.BadParameter(f"--episodes must be at least 1, got {episodes}.")
    torch.set_num_threads(1)
    cfg = read_run_config(model)
    if cfg is None:
        raise typer.BadParameter(f"--model {model}: no config.yml there; pass a directory written by `shopgym train`.")
    per_sku = cfg["env_id"] == "shopgym/RestockPerSKU-v0"  # trained per SKU, acts on the whole shop
    # training aids that change the reward, not the task (AdsResidual-v0's expected_reward): evaluated without them
    kwargs = {k: v for k, v in cfg["env_kwargs"].items() if k not in ("reward_scale", "stock_shaping", "expected_reward")}
    if scenario is not None:
        kwargs["scenario"] = scenario
    env = gym.make("shopgym/Restock-v0" if per_sku else cfg["env_id"], **kwargs)
    # the result is written into the run folder: check that it can be before evaluating, so no work is lost
    prepare_out(model, option="--model")
    spec = f"{'dqn-sku' if per_sku else {'shopgym-dqn': 'dqn', 'slateq': 'slateq'}.get(cfg['algo'], 'sb3')}:{model}"
    policy = make_policy(spec, env)  # agents.registry: the loader of each spec, as shopgym benchmark loads it
    played = [rollout(env, policy, seed) for seed in range(seed_base, seed_base + episodes)]
    returns = [ep.episode_return for ep in played]
    profits = [ep.profit for ep in played if "profit" in ep.kpis]
    result = {"model": str(model), "env_id": env.spec.id if env.spec else cfg["env_id"], "scenario": kwargs.get("scenario"),
              "seeds": list(range(seed_base, seed_base + episodes)), "return": _summary(returns)}
    if profits:
        result["profit"] = _summary(profits)
    name = f"evaluation_{Path(str(kwargs.get('scenario') or 'default')).stem}.json"
    atomic_write_text(Path(model) / name, json.dumps(result, indent=2))
    for key in ("return", "profit"):
        if key in result:
            s = result[key]
            ci = "n/a (one episode)" if s["ci95"] is None else f"{s['ci95']:.2f}"
            typer.echo(f"{key}: {s['mean']:.2f} +/- {ci} (95% CI, {episodes} episodes)")
    typer.echo(f"wrote {Path(model) / name}")


def _summary(values: list[float]) -> dict[str, float]:
    """Mean and 95% t-interval half-width of per-episode values."""
    mean, half = mean_ci95(values)
    # one episode has no spread: null in the JSON (NaN is not JSON), "n/a" when printed
    return {"mean": mean, "ci95": None if math.isnan(half) else half, "values": [float(v) for v in values]}
