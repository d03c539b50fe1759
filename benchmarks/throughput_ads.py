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
    winner and price, budget rule) on 1M flat opportunities (target for the world's path: >= 5M/s on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym
import numpy as np

import shopgym  # noqa: F401  (registers the envs)
from shopgym.config import load_scenario
from shopgym.world import auctions
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="wall clock or this process's CPU time")
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
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
