"""Throughput of shopgym's envs next to Gymnasium's CartPole, measured in one run on one machine.

    python benchmarks/throughput.py            # writes docs/performance.md
    python benchmarks/throughput.py --quick    # fewer repeats, no SB3 section (a smoke run)

Every figure is the median over repeats of a timed loop; ratios compare figures from this run only
(the machines are shared and noisy, so absolute numbers move between runs, ratios much less). Each loop
is timed by the wall clock (the figures and the targets) and by this process's CPU time
(``time.process_time``: on a machine shared with other jobs it leaves out the time spent waiting for a
core); the targets table shows both ratios, and the load average when the run started and ended.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shopgym  # noqa: E402,F401

ROOT = Path(__file__).resolve().parents[1]


#: (wall, CPU) steps per second of the last ``timed`` call: ``record`` turns a figure into its CPU-time twin.
LAST_RATES = [1.0, 1.0]


def timed(fn, steps: int, repeats: int) -> float:
    """Median steps per second of ``fn(steps)`` over ``repeats`` runs (after one warm-up run), by the wall clock; the
    median by this process's CPU time goes to ``LAST_RATES``."""
    fn(max(steps // 10, 1))
    rates, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn(steps)
        rates.append(steps / (time.perf_counter() - t))
        cpu.append(steps / max(time.process_time() - c, 1e-9))
    LAST_RATES[:] = [statistics.median(rates), statistics.median(cpu)]
    return LAST_RATES[0]


def single_env_loop(env, action):
    env.reset(seed=0)

    def run(n):
        for _ in range(n):
            _, _, term, trunc, _ = env.step(action)
            if term or trunc:
                env.reset()
    return run


def vector_env_loop(venv, actions):
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


def sb3_fps(env_id: str, steps: int, **kwargs) -> float:
    """Stable-Baselines3 PPO training frames per second on one env (CPU, default MLP policy)."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    model = PPO("MlpPolicy", gym.make(env_id, **kwargs), n_steps=512, batch_size=64, n_epochs=4, seed=0, device="cpu")
    t = time.perf_counter()
    model.learn(total_timesteps=steps)
    return steps / (time.perf_counter() - t)


def _fmt(value: float) -> str:
    """Two decimals, or three significant digits for ratios below 0.1 (0.0022, not 0.00)."""
    return f"{value:,.2f}" if abs(value) >= 0.1 else f"{value:.3g}"


def _met(value: float, target: str) -> bool:
    """Whether ``value`` meets a target written as ``">= 1,000,000"``."""
    return value >= float(target.removeprefix(">=").replace(",", "").strip())


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and steps, skip the SB3 section")
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    args = parser.parse_args()
    reps, steps = (2, 1000) if args.quick else (5, 5000)
    command = "python benchmarks/throughput.py" + (" --quick" if args.quick else "")
    n_vec, n_skus = 64, 1000
    rows: dict[str, tuple[float, str]] = {}
    cpu: dict[str, float] = {}  # the same figures by CPU time (not for SB3, whose torch threads it would add up)
    load_start = os.getloadavg()[0]

    def record(name, value, unit, cpu_time=True):
        rows[name] = (value, unit)
        if cpu_time:
            cpu[name] = value * LAST_RATES[1] / LAST_RATES[0]
        print(f"{name:<48} {value:>14,.0f} {unit}" + (f"   (CPU time: {cpu[name]:,.0f})" if cpu_time else ""),
              flush=True)

    record("CartPole-v1, gymnasium.make", timed(single_env_loop(gym.make("CartPole-v1"), 0), steps, reps), "steps/s")
    cp_vec = gym.make_vec("CartPole-v1", num_envs=n_vec, vectorization_mode="vector_entry_point")
    record(f"CartPole-v1, native vector env x{n_vec}",
           n_vec * timed(vector_env_loop(cp_vec, np.zeros(n_vec, dtype=int)), steps // 5, reps), "env-steps/s")
    record("Restock-v0, 1 SKU, gymnasium.make",
           timed(single_env_loop(gym.make("shopgym/Restock-v0"), 4), steps, reps), "steps/s")
    big = gym.make("shopgym/Restock-v0", scenario="steady", n_skus=n_skus)
    record(f"Restock-v0, {n_skus} SKUs, gymnasium.make",
           n_skus * timed(single_env_loop(big, np.full(n_skus, 5)), steps // 10, reps), "SKU-steps/s")
    vec = gym.make_vec("shopgym/Restock-v0", num_envs=n_vec, vectorization_mode="vector_entry_point")
    record(f"Restock-v0, native vector env x{n_vec}",
           n_vec * timed(vector_env_loop(vec, np.full(n_vec, 4)), steps // 5, reps), "env-steps/s")
    sync = gym.make_vec("shopgym/Restock-v0", num_envs=n_vec, vectorization_mode="sync")
    record(f"Restock-v0, SyncVectorEnv x{n_vec}",
           n_vec * timed(vector_env_loop(sync, np.full(n_vec, 4)), max(steps // 50, 20), reps), "env-steps/s")
    rec = gym.make("shopgym/Recommend-v0")
    record("Recommend-v0, gymnasium.make", timed(single_env_loop(rec, 0), steps // 5, reps), "steps/s")
    rec_vec = gym.make_vec("shopgym/Recommend-v0", num_envs=n_vec, vectorization_mode="vector_entry_point")
    record(f"Recommend-v0, native vector env x{n_vec}",
           n_vec * timed(vector_env_loop(rec_vec, np.zeros(n_vec, dtype=int)), steps // 5, reps),
           "env-steps/s")
    ads = gym.make("shopgym/Ads-v0")
    record("Ads-v0, gymnasium.make", timed(single_env_loop(ads, ads.action_space.sample() * 0 + 5), steps // 5, reps),
           "steps/s")
    ticks, per_tick = auction_ticks_loop(n_vec)
    record(f"World auction ticks, {n_vec} worlds", per_tick * timed(ticks, max(steps // 50, 20), reps), "auctions/s")
    phase, per_day = session_phase_loop(n_vec, 200.0, 10)
    record(f"World session phase, {n_vec} worlds x 200 sessions x 10 slots",
           per_day * timed(phase, max(steps // 250, 4), reps), "impressions/s")
    try:
        import torch

        # One torch thread: on a shared 2-core machine a second thread waits for a busy core (a trial run
        # with 2 threads while another job used one core gave 6 days/s instead of 132).
        torch.set_num_threads(1)
        record(f"World with learned LSTM demand, {n_skus} SKUs", timed(learned_lstm_world(n_skus), max(steps // 25, 40),
                                                                        reps), "days/s")
    except ImportError as exc:  # forecasters not installed
        print(f"skipping the LSTM world: {exc}")
    if not args.quick:
        fps_steps, fps = 4096, {"CartPole-v1": [], "shopgym/Restock-v0": []}
        for _ in range(3):  # interleaved repeats: both envs see the same machine load
            for env_id, rates in fps.items():
                rates.append(sb3_fps(env_id, fps_steps))
        record("SB3 PPO training, CartPole-v1", statistics.median(fps["CartPole-v1"]), "FPS", cpu_time=False)
        record("SB3 PPO training, Restock-v0", statistics.median(fps["shopgym/Restock-v0"]), "FPS", cpu_time=False)
    load_end = os.getloadavg()[0]

    if args.quick:
        load_end = os.getloadavg()[0]
    v = {k: val for k, (val, _) in rows.items()}
    ratios = {  # target name -> (numerator row, denominator row): their CPU-time ratio is shown too
        "Restock 1 SKU / CartPole": ("Restock-v0, 1 SKU, gymnasium.make", "CartPole-v1, gymnasium.make"),
        "native vector Restock / native vector CartPole (x64)": (f"Restock-v0, native vector env x{n_vec}",
                                                                 f"CartPole-v1, native vector env x{n_vec}"),
        "Recommend / CartPole": ("Recommend-v0, gymnasium.make", "CartPole-v1, gymnasium.make"),
        "native vector Recommend / native vector CartPole (x64)": (f"Recommend-v0, native vector env x{n_vec}",
                                                                   f"CartPole-v1, native vector env x{n_vec}"),
        "Ads / CartPole": ("Ads-v0, gymnasium.make", "CartPole-v1, gymnasium.make"),
    }

    def cpu_ratio(name: str) -> str:
        if name not in ratios or not all(r in cpu for r in ratios[name]):
            return "-"
        num, den = ratios[name]
        return _fmt(cpu[num] / cpu[den])

    targets = [
        ("Restock 1 SKU / CartPole", v["Restock-v0, 1 SKU, gymnasium.make"] / v["CartPole-v1, gymnasium.make"], ">= 0.5"),
        (f"Restock {n_skus} SKUs, SKU-steps/s", v[f"Restock-v0, {n_skus} SKUs, gymnasium.make"], ">= 1,000,000"),
        ("native vector / SyncVectorEnv (Restock x64)",
         v[f"Restock-v0, native vector env x{n_vec}"] / v[f"Restock-v0, SyncVectorEnv x{n_vec}"], ">= 5"),
        ("native vector Restock / native vector CartPole (x64)",
         v[f"Restock-v0, native vector env x{n_vec}"] / v[f"CartPole-v1, native vector env x{n_vec}"], ">= 0.5"),
    ]
    targets += [
        ("Recommend / CartPole", v["Recommend-v0, gymnasium.make"] / v["CartPole-v1, gymnasium.make"], ">= 0.5"),
        ("native vector Recommend / native vector CartPole (x64)",
         v[f"Recommend-v0, native vector env x{n_vec}"] / v[f"CartPole-v1, native vector env x{n_vec}"], ">= 0.5"),
        ("World session phase, impressions/s", v[f"World session phase, {n_vec} worlds x 200 sessions x 10 slots"],
         ">= 1,000,000"),
        ("Ads / CartPole", v["Ads-v0, gymnasium.make"] / v["CartPole-v1, gymnasium.make"], ">= 0.5"),
        ("World auction ticks, auctions/s", v[f"World auction ticks, {n_vec} worlds"], ">= 5,000,000"),
    ]
    if f"World with learned LSTM demand, {n_skus} SKUs" in v:
        targets.append(("LSTM world, days/s", v[f"World with learned LSTM demand, {n_skus} SKUs"], ">= 200"))
    if "SB3 PPO training, Restock-v0" in v:
        targets.append(("SB3 PPO FPS Restock / CartPole",
                        v["SB3 PPO training, Restock-v0"] / v["SB3 PPO training, CartPole-v1"], ">= 0.9"))
    print()
    for name, value, target in targets:
        print(f"{name:<52} {_fmt(value):>12}   target {target}   (CPU-time ratio {cpu_ratio(name)})")

    lines = [
        "# Performance", "",
        f"Produced by `{command}` (medians over {reps} repeats, 3 interleaved repeats for SB3 PPO; every ratio "
        "from this one run).",
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, gymnasium {gym.__version__}. Load average (1 min, `os.getloadavg`) "
        f"{load_start:.1f} when the run started, {load_end:.1f} when it ended ({os.cpu_count()} cores).", "",
        "| what | throughput | by CPU time | unit |", "|---|---:|---:|---|",
        *[f"| {k} | {val:,.0f} | {f'{cpu[k]:,.0f}' if k in cpu else '-'} | {unit} |" for k, (val, unit) in rows.items()],
        "",
        "Targets are judged on the wall-clock figures; the CPU-time ratio compares the same loops by this process's CPU",
        "time (the time it ran, without its waits for a core on a loaded machine).", "",
        "| target | measured | CPU-time ratio | wanted | met |", "|---|---:|---:|---|---|",
        *[f"| {name} | {_fmt(value)} | {cpu_ratio(name)} | {target} | {'yes' if _met(value, target) else 'no'} |"
          for name, value, target in targets], "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    notes = Path(args.out).with_name("performance_notes.md")
    if notes.exists():
        lines += [notes.read_text()]
    Path(args.out).write_text("\n".join(lines))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
