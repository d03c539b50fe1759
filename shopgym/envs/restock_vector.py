"""The native vector version of ``shopgym/Restock-v0``: N worlds stepped by one set of numpy operations.

``gymnasium.make_vec("shopgym/Restock-v0", num_envs=N, vectorization_mode="vector_entry_point")``
gives exactly the trajectories of N single envs seeded ``seed, seed + 1, ...`` (as
``SyncVectorEnv`` seeds them), at a fraction of the cost: one ``World`` of N worlds instead of N
worlds stepped one after the other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from shopgym.config import Scenario, load_scenario
from shopgym.envs.episode_state import EpisodeRecorder
from shopgym.envs.render import RENDER_FPS, RENDER_MODES, check_render_mode, warn_no_render_mode
from shopgym.envs.restock import world_seed
from shopgym.envs.restock_render import RestockRenderer
from shopgym.envs.restock_view import RestockView
from shopgym.errors import ActionError
from shopgym.plugins import build_world


def reseed_worlds(seed: int | list[int | None] | None, np_randoms: list[np.random.Generator]) -> list[int | None]:
    """The per-world seeds of a vector reset, re-seeding ``np_randoms[w]`` for every world given a seed.

    ``seed`` is ``None`` (no world re-seeded), an int (world ``w`` gets ``seed + w``) or one seed (or
    ``None``) per world; another length raises ``ValueError``.
    """
    n = len(np_randoms)
    if seed is None:
        seeds: list[int | None] = [None] * n
    elif isinstance(seed, (int, np.integer)):
        seeds = [int(seed) + w for w in range(n)]
    else:
        seeds = list(seed)
        if len(seeds) != n:
            raise ValueError(f"reset got {len(seeds)} seeds; pass one per env ({n}) or an int.")
    for w, s in enumerate(seeds):
        if s is not None:
            np_randoms[w] = seeding.np_random(s)[0]
    return seeds


class RestockVectorEnv(VectorEnv):
    """``num_envs`` Restock envs in one batched world (see ``RestockEnv`` for spaces, reward and info).

    All sub-envs share the scenario's horizon, so they end together (terminated, as in ``RestockEnv``); with Gymnasium 1.x's
    next-step autoreset, the step after the last one resets every sub-env (its action is ignored,
    the rewards are 0 and the observations are the new episodes' first ones). Infos are dicts of
    arrays with one row per sub-env (and Gymnasium's ``_key`` masks).

    ``render()`` returns one view per sub-env, a list (as Gymnasium's ``CartPoleVectorEnv`` does), in
    ``RestockEnv``'s render modes (``render_mode="ansi"`` or ``"rgb_array"``).

    ``get_state()`` and ``set_state(state)`` save and restore the episode in progress and the seeding
    generators as plain data (``shopgym.envs.episode_state``), so a training run resumed from a
    checkpoint continues the very episodes it was in.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": RENDER_FPS,
                "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, scenario: str | Scenario = "quickstart", continuous: bool = False,
                 render_mode: str | None = None, **scenario_keys: Any):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}.")
        self.num_envs = num_envs
        self.scenario = load_scenario(scenario, **scenario_keys)
        self.world = build_world(self.scenario, n_worlds=num_envs)
        self.view = RestockView(self.world, continuous=continuous)
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.renderer = RestockRenderer(self.world, render_mode) if render_mode is not None else None
        self.single_observation_space = self.view.observation_space
        self.single_action_space = self.view.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._np_randoms = [seeding.np_random(None)[0] for _ in range(num_envs)]
        self._needs_reset = False
        self._mask = np.ones(num_envs, dtype=bool)
        self._episode = EpisodeRecorder()

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        seeds = reseed_worlds(seed, self._np_randoms)
        self._reset_worlds(seeds)
        return self.view.observe(), {}

    def _reset_worlds(self, seeds) -> None:
        world_seeds = [world_seed(rng, s) for rng, s in zip(self._np_randoms, seeds, strict=True)]
        self.world.reset(world_seeds)
        self._episode.on_reset(world_seeds)
        self._needs_reset = False
        if self.renderer is not None:
            self.renderer.on_reset()

    def step(self, actions):
        n = self.num_envs
        if self._needs_reset:
            self._reset_worlds([None] * n)
            zeros = np.zeros(n, dtype=bool)
            return self.view.observe(), np.zeros(n), zeros, zeros.copy(), {}
        if np.shape(actions) != self.action_space.shape:  # one row per sub-env; never reshape another batch
            raise ActionError(f"actions must have shape {self.action_space.shape} (the batched action space: one row "
                              f"per sub-env, num_envs = {n}), got shape {np.shape(actions)}.")
        orders = self.view.orders_from_actions(actions)
        self._episode.on_step(orders)
        out = self.world.step(orders)
        infos: dict[str, Any] = {}
        for key, value in self.view.infos(out).items():
            infos[key], infos[f"_{key}"] = value, self._mask
        if self.renderer is not None:
            self.renderer.on_step(infos, out)
        done = self.world.day >= self.world.horizon
        if done:
            infos["episode_kpis"] = self.world.kpis.summary()
            infos["_episode_kpis"] = self._mask
            self._needs_reset = True
        rewards = self.view.rewards(out).astype(np.float64)
        return self.view.observe(), rewards, np.full(n, done), np.zeros(n, dtype=bool), infos

    def render(self) -> list | None:
        """Each sub-env's view, a list: strings (``"ansi"``) or ``(H, W, 3)`` uint8 frames (``"rgb_array"``)."""
        if self.renderer is None:
            warn_no_render_mode(self.spec.id if self.spec is not None else "shopgym/Restock-v0")
            return None
        return [self.renderer.render(w) for w in range(self.num_envs)]  # one matplotlib draw per sub-env

    def get_state(self) -> dict[str, Any]:
        """The episode in progress and the seeding generators, as plain data (see ``EpisodeRecorder.state``)."""
        return self._episode.state(self.world, self._np_randoms, self._needs_reset)

    def set_state(self, state: dict[str, Any]) -> np.ndarray:
        """Restore a ``get_state()``; returns the current observations (as the step that led there returned them)."""
        self._needs_reset = self._episode.restore(self.world, self._np_randoms, state)
        return self.view.observe()
