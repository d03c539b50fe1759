"""Throughput of shopgym's envs next to Gymnasium's CartPole, measured in one run on one machine.

    python benchmarks/throughput.py               # writes docs/performance.md
    python benchmarks/throughput.py --repeats 9   # more interleaved passes per row
    python benchmarks/throughput.py --quick       # shorter passes, 3 repeats, no SB3 section (a smoke run)

Every ratio is measured in interleaved repeats: one pass of the reference loop (CartPole), then one of the
env's, then the reference again, and so on (``interleaved``), so that both loops of a repeat see the same
machine speed; the ratio is taken per repeat, and the tables give the median over the repeats and their
range (min to max). Absolute figures are the median (and range) of their passes. The targets are judged on
the medians. Machines are shared and their speed drifts over a minute (docs/performance_notes.md, "Noise");
two passes a fraction of a second apart see nearly the same machine.
Each pass is timed by the wall clock (the figures and the targets) and by this process's CPU time
(``time.process_time``: on a machine shared with other jobs it leaves out the time spent waiting for a core);
the targets table shows both ratios, and the load average when the run started and ended.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shopgym  # noqa: E402,F401
from shopgym.atomic import atomic_write_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

from benchmarks.interleave import (  # noqa: E402,F401  (re-exported: the tests read them here)
    CPU,
    WALL,
    Figures,
    Loop,
    Rates,
    Spread,
    Target,
    interleaved,
    per_repeat_ratios,
)


def single_env_loop(env, action):
    """``run(n)``: ``n`` steps of a single env with a constant action (reset when an episode ends)."""
    env.reset(seed=0)

    def run(n):
        for _ in range(n):
            _, _, term, trunc, _ = env.step(action)
            if term or trunc:
                env.reset()
    return run


def vector_env_loop(venv, actions):
    """``run(n)``: ``n`` steps of a vector env with constant actions (its sub-envs reset themselves)."""
    venv.reset(seed=0)

    def run(n):
        for _ in range(n):
            venv.step(actions)
    return run


def learned_lstm_world(n_skus: int):
    """A world of ``n_skus`` SKUs whose demand is drawn from an LSTM fitted (briefly) on synthetic daily data."""
    import pandas as pd
    import torch

    import forecasters
    from forecasters.learned_demand import LearnedDemand
    from shopgym.config import load_scenario
    from shopgym.world.world import World

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    n_series, n_days = 50, 200
    ds = pd.date_range("2023-01-02", periods=n_days, freq="D")
    weekly = 1 + 0.3 * np.sin(2 * np.pi * np.arange(n_days) / 7)
    df = pd.DataFrame({
        "unique_id": np.repeat([f"s{i}" for i in range(n_series)], n_days),
        "ds": np.tile(ds, n_series),
        "y": rng.poisson(np.outer(rng.uniform(2, 20, n_series), weekly)).ravel().astype(float),
    })
    model = forecasters.make("lstm", h=4, epochs=4, windows_per_epoch=2048, progress=False).fit(df)
    scenario = load_scenario("steady", n_skus=n_skus, lead_time=2, lead_time_spread=0)
    demand = LearnedDemand(model, n_skus=n_skus, start_date=scenario.env.start_date, horizon=3)
    world = World(scenario, demand_model=demand)
    world.reset([0])
    orders = np.full((1, n_skus), 5)

    def run(n):
        for _ in range(n):
            if world.day >= world.horizon:
                world.reset([0])
            world.step(orders)
    return run


def session_phase_loop(n_worlds: int, sessions_per_day: float, slots: int):
    """Days of a batched World of the ``recommend`` scenario whose every session is shown ``slots`` items (one
    ``World.step`` with a ``Decisions`` slate for all sessions of all worlds); returns (run, impressions per day)."""
    from shopgym.config import load_scenario
    from shopgym.world.sessions import Decisions
    from shopgym.world.world import World

    scenario = load_scenario("recommend", sessions_per_day=sessions_per_day, slate_size=slots, n_skus=50, horizon=400)
    world = World(scenario, n_worlds)
    world.reset(list(range(n_worlds)))
    orders = np.full((n_worlds, world.catalog.n_skus), 20)
    rng = np.random.default_rng(0)
    per_day = []

    def run(n):
        for _ in range(n):
            if world.day >= world.horizon:
                world.reset(list(range(n_worlds)))
            today = world.sessions_today()
            slates = rng.integers(0, world.catalog.n_skus, (len(today), slots))
            per_day.append(slates.size)
            world.step(Decisions(orders=orders, slates=slates))
    run(3)
    return run, float(np.mean(per_day))


def sb3_loop(env_id: str, **kwargs) -> Callable[[int], None]:
    """``run(n)``: ``n`` more frames of Stable-Baselines3 PPO training of one model on one env (CPU, default MLP
    policy, 512-frame rollouts, one torch thread); timed passes give training frames per second (FPS)."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    model = PPO("MlpPolicy", gym.make(env_id, **kwargs), n_steps=512, batch_size=64, n_epochs=4, seed=0, device="cpu")

    def run(n):
        model.learn(total_timesteps=n, reset_num_timesteps=False)
    return run


def _fmt(value: float) -> str:
    """Two decimals, none from 1,000 up (rates), three significant digits below 0.1 (0.0022, not 0.00)."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}" if abs(value) >= 0.1 else f"{value:.3g}"


def _range(spread: Spread) -> str:
    """A range as ``low to high`` in ``_fmt``'s format."""
    return f"{_fmt(spread.low)} to {_fmt(spread.high)}"


def _met(value: float, target: str) -> bool:
    """Whether ``value`` meets a target written as ``">= 1,000,000"``."""
    return value >= float(target.removeprefix(">=").replace(",", "").strip())


def _positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (a count of interleaved repeats)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count of repeats: give an integer >= 1, e.g. 5")
    return value


def auction_ticks_loop(n_worlds: int):
    """Ticks of a batched World of the ``ads-steady`` scenario (24,000 opportunities a day, days closed as they end);
    returns (run, mean opportunities auctioned per tick)."""
    from shopgym.config import load_scenario
    from shopgym.world.world import World

    world = World(load_scenario("ads-steady", opportunities_per_day=24_000.0, horizon=100_000), n_worlds=n_worlds)
    world.reset(list(range(n_worlds)))
    lam = np.random.default_rng(0).uniform(0.5, 1.5, (n_worlds, world.ads_setup.n_campaigns))
    orders = np.zeros((n_worlds, world.catalog.n_skus), np.int64)
    per_tick = []

    def run(n):
        for _ in range(n):
            per_tick.append(len(world.ads_tick(lam).world))
            if world.ads_state.ticks_left == 0:
                world.step(orders)
    run(48)
    return run, float(np.mean(per_tick))


N_VEC, N_SKUS = 64, 1000  # sub-envs of the vector envs and worlds of the batched ones; SKUs of the large Restock env
CARTPOLE, CARTPOLE_VEC = "CartPole-v1, gymnasium.make", f"CartPole-v1, native vector env x{N_VEC}"
RESTOCK, RESTOCK_BIG = "Restock-v0, 1 SKU, gymnasium.make", f"Restock-v0, {N_SKUS} SKUs, gymnasium.make"
RESTOCK_VEC, RESTOCK_SYNC = f"Restock-v0, native vector env x{N_VEC}", f"Restock-v0, SyncVectorEnv x{N_VEC}"
RECOMMEND, RECOMMEND_VEC = "Recommend-v0, gymnasium.make", f"Recommend-v0, native vector env x{N_VEC}"
ADS = "Ads-v0, gymnasium.make"
TICKS = f"World auction ticks, {N_VEC} worlds"
PHASE = f"World session phase, {N_VEC} worlds x 200 sessions x 10 slots"
LSTM = f"World with learned LSTM demand, {N_SKUS} SKUs"
SB3_CARTPOLE, SB3_RESTOCK = "SB3 PPO training, CartPole-v1", "SB3 PPO training, Restock-v0"
#: The rows table's order (the references first), whatever order timed them.
ROW_ORDER = [CARTPOLE, CARTPOLE_VEC, RESTOCK, RESTOCK_BIG, RESTOCK_VEC, RESTOCK_SYNC, RECOMMEND, RECOMMEND_VEC, ADS,
             TICKS, PHASE, LSTM, SB3_CARTPOLE, SB3_RESTOCK]


def measure(figs: Figures, steps: int, sb3_repeats: int | None) -> None:
    """Time every row into ``figs``: each env in interleaved repeats with its reference (CartPole's single or native
    vector env), the world-level loops alone; ``steps`` sets the passes' lengths; SB3 PPO is skipped if
    ``sb3_repeats`` is None."""
    # The references, timed again next to each env they are compared with (a warm-up, then a pass every repeat).
    cart_run = single_env_loop(gym.make("CartPole-v1"), 0)
    cart_vec_run = vector_env_loop(gym.make_vec("CartPole-v1", num_envs=N_VEC, vectorization_mode="vector_entry_point"),
                                   np.zeros(N_VEC, dtype=int))
    cart = Loop(cart_run, steps), "steps/s"
    cart_vec = Loop(cart_vec_run, steps // 5, N_VEC), "env-steps/s"

    figs.time("restock", {CARTPOLE: cart, RESTOCK: (
        Loop(single_env_loop(gym.make("shopgym/Restock-v0"), 4), steps), "steps/s")})
    big = gym.make("shopgym/Restock-v0", scenario="steady", n_skus=N_SKUS)
    figs.time("restock big", {RESTOCK_BIG: (Loop(single_env_loop(big, np.full(N_SKUS, 5)), steps // 10, N_SKUS),
                                            "SKU-steps/s")})
    vec = gym.make_vec("shopgym/Restock-v0", num_envs=N_VEC, vectorization_mode="vector_entry_point")
    sync = gym.make_vec("shopgym/Restock-v0", num_envs=N_VEC, vectorization_mode="sync")
    figs.time("restock vector", {
        CARTPOLE_VEC: cart_vec,
        RESTOCK_VEC: (Loop(vector_env_loop(vec, np.full(N_VEC, 4)), steps // 5, N_VEC), "env-steps/s"),
        RESTOCK_SYNC: (Loop(vector_env_loop(sync, np.full(N_VEC, 4)), max(steps // 50, 20), N_VEC), "env-steps/s"),
    })
    # A pass of the single env covers about 2.5 days of ~2,000 sessions, so that most passes hold a day close or two.
    figs.time("recommend", {CARTPOLE: cart, RECOMMEND: (
        Loop(single_env_loop(gym.make("shopgym/Recommend-v0"), 0), steps), "steps/s")})
    rec_venv = gym.make_vec("shopgym/Recommend-v0", num_envs=N_VEC, vectorization_mode="vector_entry_point")
    figs.time("recommend vector", {CARTPOLE_VEC: cart_vec, RECOMMEND_VEC: (
        Loop(vector_env_loop(rec_venv, np.zeros(N_VEC, dtype=int)), steps // 5, N_VEC), "env-steps/s")})
    ads = gym.make("shopgym/Ads-v0")
    figs.time("ads", {CARTPOLE: cart, ADS: (
        Loop(single_env_loop(ads, ads.action_space.sample() * 0 + 5), steps // 5), "steps/s")})
    ticks, per_tick = auction_ticks_loop(N_VEC)
    figs.time("auction ticks", {TICKS: (Loop(ticks, max(steps // 50, 20), per_tick), "auctions/s")})
    phase, per_day = session_phase_loop(N_VEC, 200.0, 10)
    figs.time("session phase", {PHASE: (Loop(phase, max(steps // 250, 4), per_day), "impressions/s")})
    try:
        import torch

        # One torch thread: on a shared 2-core machine a second thread waits for a busy core (a trial run
        # with 2 threads while another job used one core gave 6 days/s instead of 132).
        torch.set_num_threads(1)
        figs.time("lstm", {LSTM: (Loop(learned_lstm_world(N_SKUS), max(steps // 25, 40)), "days/s")})
    except ImportError as exc:  # forecasters not installed
        print(f"skipping the LSTM world: {exc}")
    if sb3_repeats is not None:
        figs.time("sb3", {SB3_CARTPOLE: (Loop(sb3_loop("CartPole-v1"), 4096), "FPS"),
                          SB3_RESTOCK: (Loop(sb3_loop("shopgym/Restock-v0"), 4096), "FPS")},
                  repeats=sb3_repeats, cpu_time=False)


def targets_of(figs: Figures) -> list[Target]:
    """The wanted figures, each from the group of interleaved passes that timed its rows."""
    targets = [
        Target("Restock 1 SKU / CartPole", ">= 0.5", "restock", RESTOCK, CARTPOLE),
        Target(f"Restock {N_SKUS} SKUs, SKU-steps/s", ">= 1,000,000", "restock big", RESTOCK_BIG),
        Target(f"native vector / SyncVectorEnv (Restock x{N_VEC})", ">= 5", "restock vector", RESTOCK_VEC, RESTOCK_SYNC),
        Target(f"native vector Restock / native vector CartPole (x{N_VEC})", ">= 0.5", "restock vector", RESTOCK_VEC,
               CARTPOLE_VEC),
        Target("Recommend / CartPole", ">= 0.5", "recommend", RECOMMEND, CARTPOLE),
        Target(f"native vector Recommend / native vector CartPole (x{N_VEC})", ">= 0.5", "recommend vector",
               RECOMMEND_VEC, CARTPOLE_VEC),
        Target("World session phase, impressions/s", ">= 1,000,000", "session phase", PHASE),
        Target("Ads / CartPole", ">= 0.5", "ads", ADS, CARTPOLE),
        Target("World auction ticks, auctions/s", ">= 5,000,000", "auction ticks", TICKS),
    ]
    if "lstm" in figs.groups:
        targets.append(Target("LSTM world, days/s", ">= 200", "lstm", LSTM))
    if "sb3" in figs.groups:
        targets.append(Target("SB3 PPO FPS Restock / CartPole", ">= 0.9", "sb3", SB3_RESTOCK, SB3_CARTPOLE))
    return targets


def cpu_ratio(figs: Figures, t: Target) -> str:
    """A target's ratio by CPU time (median and range over the repeats), or '-' for a rate or a row without CPU time."""
    if t.denominator is None or {t.numerator, t.denominator} & figs.no_cpu:
        return "-"
    s = figs.value(t, CPU)
    return f"{_fmt(s.median)} ({_range(s)})"


def report(figs: Figures, targets: list[Target], header: str) -> list[str]:
    """The lines of docs/performance.md above its notes: ``header`` (command, machine, load), the rows table and
    the targets table (judged on the medians)."""
    rows = sorted(figs.units, key=lambda k: ROW_ORDER.index(k) if k in ROW_ORDER else len(ROW_ORDER))
    return [
        "# Performance", "", header, "",
        "| what | throughput (median) | range | by CPU time (median) | unit |", "|---|---:|---:|---:|---|",
        *[f"| {k} | {figs.row(k).median:,.0f} | {figs.row(k).low:,.0f} to {figs.row(k).high:,.0f} | "
          f"{'-' if k in figs.no_cpu else f'{figs.row(k, CPU).median:,.0f}'} | {figs.units[k]} |" for k in rows],
        "",
        "Targets are judged on the median over the repeats of the wall-clock figures (for a ratio, of the ratio of",
        "the two loops' passes in each repeat); the range is the smallest and the largest repeat. The CPU-time ratio",
        "compares the same passes by this process's CPU time (the time it ran, without its waits for a core on a",
        "loaded machine). A target's ratio need not equal the quotient of two rows above: a row pools its passes",
        "over every group that timed it (CartPole is timed next to each env), a ratio pairs the passes of one",
        "group repeat by repeat.", "",
        "| target | measured (median) | range | CPU-time ratio (median, range) | wanted | met (median) |",
        "|---|---:|---:|---:|---|---|",
        *[f"| {t.name} | {_fmt(s.median)} | {_range(s)} | {cpu_ratio(figs, t)} | {t.wanted} | "
          f"{'yes' if _met(s.median, t.wanted) else 'no'} |" for t, s in ((t, figs.value(t)) for t in targets)], "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter passes, 3 repeats, skip the SB3 section")
    parser.add_argument("--repeats", type=_positive_int, default=None,
                        help="interleaved passes of (reference, env) per row (default 5; 3 with --quick)")
    parser.add_argument("--sb3-repeats", type=_positive_int, default=3,
                        help="interleaved SB3 PPO trainings per env, 4,096 frames each (default 3)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    args = parser.parse_args()
    reps = args.repeats or (3 if args.quick else 5)
    sb3_repeats = None if args.quick else args.sb3_repeats
    command = "python benchmarks/throughput.py" + (" --quick" if args.quick else "") + (
        f" --repeats {args.repeats}" if args.repeats else "") + (
        f" --sb3-repeats {sb3_repeats}" if sb3_repeats not in (None, 3) else "")
    figs = Figures(reps)
    load_start = os.getloadavg()[0]
    measure(figs, 1000 if args.quick else 5000, sb3_repeats)
    load_end = os.getloadavg()[0]

    targets = targets_of(figs)
    print()
    for t in targets:
        s = figs.value(t)
        print(f"{t.name:<56} {_fmt(s.median):>12} ({_range(s)})   target {t.wanted}   "
              f"(CPU-time ratio {cpu_ratio(figs, t)})")
    sb3_reps = f", {sb3_repeats} for SB3 PPO" if sb3_repeats else ""
    header = (
        f"Produced by `{command}`: {reps} interleaved repeats per row{sb3_reps} (one pass of the reference loop, "
        "then one of the env's, then the reference again, ...); every ratio is taken within each repeat and given as "
        "the median over the repeats and their range (min to max); every ratio from this one run.\n"
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, gymnasium {gym.__version__}. Load average (1 min, `os.getloadavg`) "
        f"{load_start:.1f} when the run started, {load_end:.1f} when it ended ({os.cpu_count()} cores).")
    lines = report(figs, targets, header)
    notes = Path(args.out).with_name("performance_notes.md")
    if notes.exists():
        lines += [notes.read_text()]
    atomic_write_text(args.out, "\n".join(lines))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
