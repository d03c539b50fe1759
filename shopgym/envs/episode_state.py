"""An episode in progress of a batched world, as plain data: what a training checkpoint keeps of a vector env.

The world is deterministic given its seeds and its orders (same seed, same actions, same trajectory),
so the episode is kept as the world seeds it began with and the orders (units, ``(days, n_worlds,
n_skus)`` int64) placed since, not as the world's many arrays, caches and generator states. Restoring
resets the world with those seeds and replays the orders: at most one horizon of days, and exact
whatever the demand model keeps inside. The env's own generators, which draw the world seeds of
the next episodes, are kept as their bit-generator states. Nothing is pickled: a JSON-able dict
plus one array (see ``EpisodeRecorder.state``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shopgym.errors import ShopgymError


class EpisodeRecorder:
    """Records the world seeds of the current episode and every day's orders, for ``state``/``restore``."""

    def __init__(self) -> None:
        self.seeds: list[int] = []
        self.orders: list[np.ndarray] = []

    def on_reset(self, seeds: list[int]) -> None:
        """A new episode began with world seeds ``seeds``."""
        self.seeds = [int(s) for s in seeds]
        self.orders = []

    def on_step(self, orders: np.ndarray) -> None:
        """The day's orders (units, ``(n_worlds, n_skus)``) were placed; kept as a copy."""
        self.orders.append(np.array(orders, dtype=np.int64, copy=True))

    def state(self, world, np_randoms: list[np.random.Generator], needs_reset: bool) -> dict[str, Any]:
        """``world_seeds`` (ints), ``orders`` (int64 array ``(days, n_worlds, n_skus)``), ``np_randoms``
        (bit-generator states) and ``needs_reset`` (the next step is the autoreset step)."""
        shape = (0, world.n_worlds, world.catalog.n_skus)
        return {"world_seeds": list(self.seeds), "needs_reset": bool(needs_reset),
                "np_randoms": [g.bit_generator.state for g in np_randoms],
                "orders": np.stack(self.orders) if self.orders else np.zeros(shape, dtype=np.int64)}

    def restore(self, world, np_randoms: list[np.random.Generator], state: dict[str, Any]) -> bool:
        """Rebuild the episode of ``state`` in ``world`` and the env's generators; returns ``needs_reset``.

        Raises ``ShopgymError`` when ``state`` was saved from another number of worlds or SKUs.
        """
        orders = np.asarray(state["orders"], dtype=np.int64)
        seeds = [int(s) for s in state["world_seeds"]]
        if len(seeds) != world.n_worlds or len(state["np_randoms"]) != len(np_randoms) \
                or orders.shape[1:] != (world.n_worlds, world.catalog.n_skus):
            raise ShopgymError(f"the saved env state holds {len(seeds)} worlds and orders of shape {orders.shape[1:]}; "
                               f"this env has {world.n_worlds} worlds of {world.catalog.n_skus} SKUs: resume with the "
                               "run's own settings, or start again (--overwrite).")
        world.reset(seeds)
        for day_orders in orders:
            world.step(day_orders)
        for g, s in zip(np_randoms, state["np_randoms"], strict=True):
            g.bit_generator.state = s
        self.seeds, self.orders = seeds, list(orders)
        return bool(state["needs_reset"])


#: Prefix of the env-state arrays among a checkpoint's arrays (``write_state_files``).
ENV_PREFIX = "env_"


def write_state_files(json_path, npz_path, meta: dict[str, Any], arrays: dict[str, np.ndarray],
                      env_state: dict[str, Any] | None) -> None:
    """Write a training checkpoint's plain-data state: ``meta`` (JSON-able) to ``json_path`` and
    ``arrays`` to ``npz_path``, each atomically; an env's ``get_state()`` goes under ``meta["env_state"]``
    (its JSON-able values) and the arrays (its arrays, keys prefixed ``ENV_PREFIX``). Nothing is pickled."""
    import io
    import json

    from shopgym.atomic import atomic_write_bytes, atomic_write_text

    meta = {**meta, "env_state": None}
    arrays = dict(arrays)
    if env_state is not None:
        meta["env_state"] = {k: v for k, v in env_state.items() if not isinstance(v, np.ndarray)}
        arrays.update({ENV_PREFIX + k: v for k, v in env_state.items() if isinstance(v, np.ndarray)})
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(npz_path, buf.getvalue())
    atomic_write_text(json_path, json.dumps(meta))


def env_state_from(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any] | None:
    """The env state ``write_state_files`` split between ``meta`` and ``arrays``, whole again (``None`` if
    the env had none)."""
    if meta.get("env_state") is None:
        return None
    return {**meta["env_state"], **{k[len(ENV_PREFIX):]: v for k, v in arrays.items() if k.startswith(ENV_PREFIX)}}
