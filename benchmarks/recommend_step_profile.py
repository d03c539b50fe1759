"""Where the CPU time of a Recommend-v0 step goes (the breakdown quoted in docs/performance_notes.md).

    python benchmarks/recommend_step_profile.py [--steps 1000]

Timed by this process's CPU time (``time.process_time``), so that other jobs on a shared machine count
less. Prints, for the native vector env with 64 sub-envs of the ``recommend`` scenario: a whole vector
step, the compiled call alone (serving every sub-env, and only observing), a day close, and the compiled
call with 100 shoppers instead of 10,000 (what the random shopper-memory reads cost); then the native vector
env against CartPole's (``gymnasium.make_vec(..., num_envs=64, vectorization_mode="vector_entry_point")``, as
``benchmarks/throughput.py`` builds them) and the single env against CartPole, each in interleaved repeats, by
CPU time and by the wall clock.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shopgym  # noqa: E402,F401
from shopgym.envs import recommend_fast  # noqa: E402

N_ENVS = 64


def _vector(**keys):
    venv = gym.make_vec("shopgym/Recommend-v0", num_envs=N_ENVS, vectorization_mode="vector_entry_point", **keys)
    venv.reset(seed=0)
    actions = np.zeros(N_ENVS, dtype=np.int64)
    for _ in range(200):
        venv.step(actions)
    return venv, actions


def _kernel_us(fast, mode: int, steps: int) -> float:
    """CPU µs per compiled call with every sub-env in ``mode`` (the events it reports handled outside the clock)."""
    spent = 0.0
    args = fast._arguments()
    for _ in range(steps):
        fast.ctl[:, 0] = mode
        c = time.process_time()
        events = recommend_fast.step_shops(*args)
        spent += time.process_time() - c
        fast.ctl[:, 0] = recommend_fast.SKIP
        if mode == recommend_fast.OBSERVE:
            fast.ctl[:, recommend_fast._EVENT] = 0
        elif events:
            fast._handle()
            args = fast._arguments()
    return spent / steps * 1e6


def vector_ratios(steps: int, repeats: int = 7) -> None:
    """Native vector Recommend against native vector CartPole (x64), interleaved repeats of ``steps`` vector steps
    after one reset each (as ``benchmarks/throughput.py`` times them): env-steps/s by CPU time and wall clock."""
    a = np.zeros(N_ENVS, dtype=np.int64)
    envs = {name: gym.make_vec(name, num_envs=N_ENVS, vectorization_mode="vector_entry_point")
            for name in ("shopgym/Recommend-v0", "CartPole-v1")}
    for venv in envs.values():
        venv.reset(seed=0)
        for _ in range(max(steps // 10, 1)):
            venv.step(a)
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in envs}
    for _ in range(repeats):
        for name, venv in envs.items():
            t, c = time.perf_counter(), time.process_time()
            for _ in range(steps):
                venv.step(a)
            rates[name].append((N_ENVS * steps / (time.process_time() - c), N_ENVS * steps / (time.perf_counter() - t)))
    rec, cart = rates["shopgym/Recommend-v0"], rates["CartPole-v1"]
    for (rc, rw), (cc, cw) in zip(rec, cart, strict=True):
        print(f"native vector x{N_ENVS}: Recommend {rc:,.0f} env-steps/s, CartPole {cc:,.0f} (CPU time), ratio "
              f"{rc / cc:.2f}; wall clock {rw:,.0f} and {cw:,.0f}, ratio {rw / cw:.2f}")
    med = statistics.median
    print(f"native vector x{N_ENVS}, ratio of the medians over {repeats} interleaved repeats: CPU time "
          f"{med(r[0] for r in rec) / med(r[0] for r in cart):.2f}, wall clock "
          f"{med(r[1] for r in rec) / med(r[1] for r in cart):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    steps = parser.parse_args().steps
    venv, actions = _vector()
    fast = venv._fast
    if fast is None:
        raise SystemExit("the compiled step is off (numba missing or SHOPGYM_ENGINE=numpy): nothing to profile.")
    c = time.process_time()
    for _ in range(steps):
        venv.step(actions)
    step_us = (time.process_time() - c) / steps * 1e6
    serve_us = _kernel_us(fast, recommend_fast.SERVE, steps)
    observe_us = _kernel_us(fast, recommend_fast.OBSERVE, steps)
    closes = 100
    c = time.process_time()
    for i in range(closes):
        w = i % N_ENVS
        fast.worlds[w].sessions_today().served[:] = True
        fast.close_day(w)
        fast._open(w)
        if fast.terminated[w]:
            venv.envs[w]._reset_world(None)
            fast.start(w)
    close_ms = (time.process_time() - c) / closes * 1e3
    small, _ = _vector(n_shoppers=100)
    small_us = _kernel_us(small._fast, recommend_fast.SERVE, steps)
    per_day = venv.scenario.shoppers.sessions_per_day
    print(f"native vector env x{N_ENVS}, CPU time per vector step:")
    print(f"  whole step                                {step_us:8.1f} us")
    print(f"  compiled call, serve + observe            {serve_us:8.1f} us ({serve_us / N_ENVS:.2f} us per sub-env)")
    print(f"  compiled call, observe only               {observe_us:8.1f} us ({observe_us / N_ENVS:.2f} us per sub-env)")
    print(f"  compiled call, serve + observe, 100 shoppers {small_us:5.1f} us")
    print(f"  day close (one sub-env)                   {close_ms:8.2f} ms; amortised "
          f"{close_ms * 1e3 * N_ENVS / per_day:.1f} us per vector step at {per_day:,.0f} sessions a day")
    print(f"  the rest (Python around the call, day closes included) {step_us - serve_us:.1f} us")

    vector_ratios(steps)
    rec, cart = gym.make("shopgym/Recommend-v0"), gym.make("CartPole-v1")
    rec.reset(seed=0)
    cart.reset(seed=0)

    def rate(env, n):
        c = time.process_time()
        for _ in range(n):
            if env.step(0)[2]:
                env.reset()
        return n / (time.process_time() - c)

    rate(rec, 500)
    rate(cart, 500)
    ratios = []
    for _ in range(5):
        r, cp = rate(rec, 3 * steps), rate(cart, 3 * steps)
        ratios.append(r / cp)
        print(f"single env: Recommend {r:,.0f} steps/s, CartPole {cp:,.0f} steps/s (CPU time), ratio {r / cp:.2f}")
    print(f"single env, median CPU-time ratio over 5 interleaved repeats: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
