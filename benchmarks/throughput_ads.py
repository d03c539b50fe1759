"""Speed of Ads-v0 and of the world's batched auction path, measured in one run (issue 16, item 8).

    python benchmarks/throughput_ads.py [--seconds 3] [--clock wall|cpu]

``--clock cpu`` times with this process's CPU time (``time.process_time``) instead of the wall clock: on a machine
shared with other jobs it counts only the time this process ran (the wall clock also counts its waits).

Prints, from one process on this machine:
  * ``cartpole_steps_per_s``: ``gym.make("CartPole-v1")`` stepped with random actions (drawn beforehand);
  * ``ads_steps_per_s``: ``gym.make("shopgym/Ads-v0", scenario="ads-steady")`` (one tick per step) the same way,
    and its ratio to CartPole (target >= 0.5);
  * ``world_auctions_per_s``: opportunities auctioned per second by ``World.ads_tick`` on a batch of 64 worlds
    (draws, values under the response model, competitors, auction, budget rule, responses, stock);
  * ``mechanics_auctions_per_s``: the auction mechanics alone (``shopgym.world.auctions``: competitors' bids,
    winner and price, budget rule) on 1M flat opportunities (target for the world's path: >= 5M/s on 2 cores);
  * ``per_tick_us`` (``--breakdown``): where an Ads-v0 step's time goes, in microseconds per step (ads-steady, the
    benchmark's constant action, episodes of 72 ticks, ~500 opportunities a tick): ``cartpole_step`` and
    ``ads_step`` (from the rates above), ``reference_step`` (the same env on its reference path, without
    ``shopgym.envs.ads_fast``), ``compiled_call`` (the one compiled call of ``shopgym.envs.ads_fast``:
    draws, auctions, stock, log, observation, infos), ``day_close`` (restocking, ``World.step``, the next day's
    inputs, per step: a day is 24 steps), ``reset`` (per step: an episode is 72 steps); and the floor of the draws
    alone: ``numpy_draws`` (numpy's own calls for the tick's numbers: a Poisson count, 5 uniforms and 3 normals
    per opportunity) and ``compiled_draws`` (the same numbers replayed in compiled code, ``exact_rng``).
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np

import shopgym  # noqa: F401  (registers the envs)
from shopgym.config import load_scenario
from shopgym.envs.ads_fast import LEVELS
from shopgym.world import auctions, exact_rng
from shopgym.world.world import World

#: The clock every measurement reads (``--clock``).
CLOCK = time.perf_counter


def env_steps_per_s(env, seconds: float, seed: int = 0) -> float:
    """Steps per second of ``env`` with random actions sampled beforehand (resets included)."""
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(4096)]
    env.reset(seed=seed)
    steps, start = 0, CLOCK()
    while CLOCK() - start < seconds:
        for a in actions[:512]:
            _, _, term, trunc, _ = env.step(a)
            steps += 1
            if term or trunc:
                env.reset()
        actions = actions[512:] + actions[:512]
    return steps / (CLOCK() - start)


def world_auctions_per_s(seconds: float, n_worlds: int = 64) -> float:
    """Opportunities per second through ``World.ads_tick`` for ``n_worlds`` worlds (days closed as they end)."""
    world = World(load_scenario("ads-steady", opportunities_per_day=24_000.0, horizon=1000), n_worlds=n_worlds)
    world.reset(list(range(n_worlds)))
    lam = np.random.default_rng(0).uniform(0.5, 1.5, (n_worlds, world.ads_setup.n_campaigns))
    orders = np.zeros((n_worlds, world.catalog.n_skus), np.int64)
    done, ticking = 0, 0.0
    while ticking < seconds:
        t0 = CLOCK()
        done += len(world.ads_tick(lam).world)
        ticking += CLOCK() - t0
        if world.ads_state.ticks_left == 0:
            world.step(orders)
    return done / ticking


def mechanics_auctions_per_s(seconds: float, n: int = 1_000_000, n_campaigns: int = 64) -> float:
    """Auctions per second of the mechanics alone on ``n`` flat opportunities."""
    rng = np.random.default_rng(0)
    value = rng.exponential(0.1, n)
    mean_value = np.full(n, 0.1)
    z = rng.standard_normal((n, 3))
    group = np.sort(rng.integers(0, n_campaigns, n))
    spend, budget = np.zeros(n_campaigns), np.full(n_campaigns, 50.0)
    count, start = 0, CLOCK()
    while CLOCK() - start < seconds:
        competing = auctions.competing_bids(value, mean_value, z, 1.0, 0.7, 0.5)
        won, price, _ = auctions.resolve(value, competing, 0.0, "second")
        auctions.within_budget(group, price, won, spend, budget)
        count += n
    return count / (CLOCK() - start)


def _compiled_draws(st, counts, k, u, z):
    total = 0
    for cnt in counts:
        exact_rng.poisson(st, cnt)
        for i in range(cnt):
            for j in range(5):
                u[i, j] = exact_rng.next_double(st)
        for i in range(cnt):
            for q in range(k):
                z[i, q] = exact_rng.standard_normal(st)
        total += cnt
    return total


def tick_breakdown(seconds: float, cartpole: float, ads: float) -> dict[str, float]:
    """Microseconds per Ads-v0 step (ads-steady) by part (module docstring, ``per_tick_us``)."""
    env = gym.make("shopgym/Ads-v0", scenario="ads-steady").unwrapped
    fast, k = env.fast, env.scenario.ads.competitors
    action = np.full(env.view.n_campaigns, 5)
    parts = {"compiled_call": 0.0, "day_close": 0.0, "reset": 0.0}
    steps, start = 0, CLOCK()
    while CLOCK() - start < seconds:
        t0 = CLOCK()
        env.reset(seed=steps)
        parts["reset"] += CLOCK() - t0
        for _ in range(72):
            t0 = CLOCK()
            fast.act[0] = action
            fast.run(LEVELS)
            t1 = CLOCK()
            fast.close_day_if_done(env._close_day)
            parts["compiled_call"] += t1 - t0
            parts["day_close"] += CLOCK() - t1
            steps += 1
    reference = gym.make("shopgym/Ads-v0", scenario="ads-steady")
    reference.unwrapped.fast = None  # the reference path: AdsPhase.tick, AdsView.observe and infos
    out = {"cartpole_step": 1e6 / cartpole, "ads_step": 1e6 / ads,
           "reference_step": 1e6 / env_steps_per_s(reference, seconds),
           **{p: 1e6 * v / steps for p, v in parts.items()}}
    log = env.world.opportunity_log()
    counts = np.bincount(log["day"] * 24 + log["tick"])  # the last episode's opportunities per tick
    rng = np.random.default_rng(0)
    draws, start = 0, CLOCK()
    while CLOCK() - start < seconds:
        for cnt in counts:
            rng.poisson(float(cnt))
            rng.random((cnt, 5))
            rng.standard_normal((cnt, k))
        draws += len(counts)
    out["numpy_draws"] = 1e6 * (CLOCK() - start) / draws
    if exact_rng.next64 is not None:
        import numba

        kernel = numba.njit(_compiled_draws)
        st = exact_rng.load_state(rng)
        u, z = np.zeros((counts.max(), 5)), np.zeros((counts.max(), k))
        kernel(st, counts, k, u, z)
        draws, start = 0, CLOCK()
        while CLOCK() - start < seconds:
            kernel(st, counts, k, u, z)
            draws += len(counts)
        out["compiled_draws"] = 1e6 * (CLOCK() - start) / draws
    out["opportunities_per_tick"] = float(counts.mean())
    return {key: round(v, 1) for key, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="wall clock or this process's CPU time")
    parser.add_argument("--breakdown", action="store_true", help="also time the parts of an Ads-v0 step")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.perf_counter if args.clock == "wall" else time.process_time
    cartpole = env_steps_per_s(gym.make("CartPole-v1"), args.seconds)
    ads = env_steps_per_s(gym.make("shopgym/Ads-v0", scenario="ads-steady"), args.seconds)
    result = {
        "clock": args.clock, "cartpole_steps_per_s": round(cartpole), "ads_steps_per_s": round(ads),
        "ads_over_cartpole": round(ads / cartpole, 4),
        "world_auctions_per_s": round(world_auctions_per_s(args.seconds)),
        "mechanics_auctions_per_s": round(mechanics_auctions_per_s(args.seconds)),
    }
    if args.breakdown:
        result["per_tick_us"] = tick_breakdown(args.seconds, cartpole, ads)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
