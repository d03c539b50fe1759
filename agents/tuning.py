"""Tune heuristic parameters by grid search on training seeds, all candidates simulated at once.

Every (candidate, training seed) pair is one world of a single batched ``World``: a grid of
hundreds of candidates costs one episode of array operations, not hundreds of episodes.
Training seeds (``TRAIN_SEED_BASE + i``) never overlap the benchmark's evaluation seeds. ``tune``
keeps its result in the user cache (``agents.tuning_cache``; ``shopgym cache`` lists it), so a
scenario is tuned once, not on every ``make_policy``.
"""

from __future__ import annotations

import itertools
import sys
import time

import numpy as np
from tqdm.auto import tqdm

from agents import tuning_cache
from agents.heuristics import BaseStockPolicy, RestockHeuristic, SSPolicy
from shopgym.config import Scenario
from shopgym.envs.restock_view import RestockView
from shopgym.plugins import build_world

TRAIN_SEED_BASE = 1_000_000

#: Parameter grids per heuristic: name -> {parameter: candidate values}.
GRIDS: dict[str, dict[str, np.ndarray]] = {
    "base_stock": {"z": np.linspace(-1.0, 4.0, 41)},
    "sS": {"z": np.linspace(-1.0, 3.0, 17), "cover": np.linspace(0.0, 35.0, 36)},
}
CLASSES: dict[str, type[RestockHeuristic]] = {"base_stock": BaseStockPolicy, "sS": SSPolicy}
FINE_POINTS = 9  #: points per parameter of the fine grid, spanning one coarse step either side of the best
#: The search, in words; part of the cache key, so a changed method never reuses old entries.
METHOD = f"coarse grid, then {FINE_POINTS} points per parameter within one coarse step of the best (>= grid min)"


def simulate_batch(scenario: Scenario, cls: type[RestockHeuristic], params: dict[str, np.ndarray],
                   seeds: list[int], bar=None) -> np.ndarray:
    """Episode profit of every (parameter setting, seed) pair, shape ``(n_settings, n_seeds)`` (currency)."""
    n_set = len(next(iter(params.values())))
    world = build_world(scenario, n_worlds=n_set * len(seeds))
    world.reset([s for _ in range(n_set) for s in seeds])
    view = RestockView(world)
    policy = cls(view, **{k: np.repeat(np.asarray(v, float), len(seeds))[:, None] for k, v in params.items()})
    for _ in range(world.horizon):
        orders = policy.orders(view.parse(view.observe()))
        orders = np.clip(np.rint(orders / view.order_step), 0, view.n_levels - 1) * view.order_step
        world.step(orders.astype(np.int64))
        if bar is not None:
            bar.update(1)
    return world.kpis.summary()["profit"].reshape(n_set, len(seeds))


def _search(scenario, name, combos, keys, seeds, max_batch, progress) -> np.ndarray:
    """Mean training profit of every row of ``combos``."""
    per_batch = max(1, max_batch // (len(seeds) * scenario.catalog.n_skus))
    starts = range(0, len(combos), per_batch)
    means = []
    with tqdm(total=len(starts) * scenario.env.horizon, desc=f"tuning {name} on {scenario.name}", unit="day",
              leave=False, disable=not progress) as bar:
        for start in starts:
            chunk = combos[start : start + per_batch]
            profit = simulate_batch(scenario, CLASSES[name], {k: chunk[:, i] for i, k in enumerate(keys)}, seeds, bar)
            means.append(profit.mean(1))
    return np.concatenate(means)


def tune(scenario: Scenario, name: str, n_seeds: int = 6, max_batch: int = 4096, progress: bool = True,
         cache: bool = True) -> dict[str, float]:
    """The parameters with the highest mean training profit for heuristic ``name``.

    A coarse grid (``GRIDS``), then a grid four times finer around the best coarse point. With
    ``cache`` (the default) the result is read from, or else written to, the user cache
    (``agents.tuning_cache``), keyed by the scenario's content, ``name``, the seeds, the grid and
    ``METHOD``; ``max_batch`` only trades memory for speed and is not part of the key. With
    ``progress``, a progress bar shows while tuning and one line on stderr says where the result is cached.
    """
    grid = GRIDS[name]
    keys = list(grid)
    seeds = [TRAIN_SEED_BASE + i for i in range(n_seeds)]
    key = tuning_cache.cache_key(scenario, name, seeds, {k: grid[k].tolist() for k in keys}, METHOD) if cache else ""
    if cache and (params := tuning_cache.read_params(key, keys)) is not None:
        if progress:
            tqdm.write(f"{name} on {scenario.name}: cached tuned parameters {params} "
                       f"({tuning_cache.entry_path(key)}; `shopgym cache --clear` re-tunes)", file=sys.stderr)
        return params
    t0 = time.perf_counter()
    params = _grid_search(scenario, name, keys, seeds, max_batch, progress)
    if cache:
        info = {"policy": name, "scenario": scenario.name, "seeds": seeds, "method": METHOD,
                "seconds": round(time.perf_counter() - t0, 2)}
        path = tuning_cache.write_params(key, params, info)
        if progress and path is not None:
            tqdm.write(f"tuned {name} on {scenario.name} in {info['seconds']:.1f} s: {params}; cached in {path}",
                       file=sys.stderr)
    return params


def _grid_search(scenario: Scenario, name: str, keys: list[str], seeds: list[int], max_batch: int,
                 progress: bool) -> dict[str, float]:
    """The coarse-then-fine search of ``tune`` (see ``METHOD``), without the cache."""
    grid = GRIDS[name]
    coarse = np.array(list(itertools.product(*(grid[k] for k in keys))))
    best = coarse[int(np.argmax(_search(scenario, name, coarse, keys, seeds, max_batch, progress)))]
    steps = [float(grid[k][1] - grid[k][0]) for k in keys]
    fine_axes = [b + np.linspace(-st, st, FINE_POINTS) for b, st in zip(best, steps, strict=True)]
    fine = np.array(list(itertools.product(*fine_axes)))
    fine = fine[np.all(fine >= [grid[k].min() for k in keys], axis=1)]
    scores = _search(scenario, name, fine, keys, seeds, max_batch, progress)
    best = fine[int(np.argmax(scores))]
    return {k: round(float(v), 4) for k, v in zip(keys, best, strict=True)}
