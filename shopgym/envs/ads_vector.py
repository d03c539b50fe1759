"""The native vector version of ``shopgym/Ads-v0``: N worlds ticked by one set of numpy operations.

``gymnasium.make_vec("shopgym/Ads-v0", num_envs=N, vectorization_mode="vector_entry_point")`` gives exactly the
trajectories of N single envs seeded ``seed, seed + 1, ...`` (as ``SyncVectorEnv`` seeds them): one ``World`` of N
worlds whose ticks run as one batch of auctions (each world draws from its own streams, so the batch equals the
worlds run one at a time). Every world has the same number of ticks per episode, so all sub-envs end together.
Where the single env's compiled step applies (``shopgym.envs.ads_fast``) a vector step is one compiled call for
all worlds, with the same numbers as the reference path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from shopgym.config import Scenario
from shopgym.envs.ads import close_day_if_done, load_ads_scenario
from shopgym.envs.ads_fast import FastAds
from shopgym.envs.ads_render import AdsRenderer
from shopgym.envs.ads_view import AdsView
from shopgym.envs.render import RENDER_FPS, RENDER_MODES, check_render_mode, warn_no_render_mode
from shopgym.envs.restock import world_seed
from shopgym.envs.restock_vector import reseed_worlds
from shopgym.errors import ActionError
from shopgym.plugins import build_world


class AdsVectorEnv(VectorEnv):
    """``num_envs`` Ads envs in one batched world (see ``AdsEnv`` for spaces, reward and info).

    With Gymnasium 1.x's next-step autoreset, the step after the last tick resets every sub-env (its action is
    ignored, the rewards are 0 and the observations are the new episodes' first ones). Infos are dicts of arrays
    with one row per sub-env (and Gymnasium's ``_key`` masks; ``episode_kpis`` at the end).

    Args:
        num_envs: number of sub-envs (worlds).
        scenario, continuous, render_mode, **scenario_keys: as for ``AdsEnv``.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": RENDER_FPS,
                "autoreset_mode": AutoresetMode.NEXT_STEP}
    kind = "ads"

    def __init__(self, num_envs: int = 1, scenario: str | Scenario = "ads-steady", continuous: bool = False,
                 render_mode: str | None = None, **scenario_keys: Any):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}.")
        self.num_envs = num_envs
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.scenario, self.restock = load_ads_scenario(scenario, **scenario_keys)
        self.world = build_world(self.scenario, n_worlds=num_envs)
        self.view = AdsView(self.world, continuous=continuous)
        self.renderer = AdsRenderer(self.world, render_mode) if render_mode is not None else None
        self.single_observation_space = self.view.observation_space
        self.single_action_space = self.view.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._np_randoms = [seeding.np_random(None)[0] for _ in range(num_envs)]
        self._needs_reset = False
        self._mask = np.ones(num_envs, dtype=bool)
        #: The compiled steps (``shopgym.envs.ads_fast``: one call per step for every world), or ``None``.
        self.fast = FastAds.build(self.world, self.view, self.scenario, self.renderer)

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        seeds = reseed_worlds(seed, self._np_randoms)
        self._reset_worlds(seeds)
        return self._observe(), {}

    def _observe(self) -> np.ndarray:
        fast = self.fast
        return fast.obs.copy() if fast is not None and fast.phase.fast is fast else self.view.observe()

    def _reset_worlds(self, seeds) -> None:
        self.world.reset([world_seed(rng, s) for rng, s in zip(self._np_randoms, seeds, strict=True)])
        self._needs_reset = False
        self.view.on_reset()
        if self.renderer is not None:
            self.renderer.on_reset()
        if self.fast is not None:
            self.fast.start()

    def step(self, actions):
        n = self.num_envs
        if self._needs_reset:
            self._reset_worlds([None] * n)
            zeros = np.zeros(n, dtype=bool)
            return self._observe(), np.zeros(n), zeros, zeros.copy(), {}
        if np.shape(actions) != self.action_space.shape:  # one row per sub-env; never reshape another batch
            raise ActionError(f"actions must have shape {self.action_space.shape} (the batched action space: one row "
                              f"per sub-env, num_envs = {n}), got shape {np.shape(actions)}.")
        if self.fast is not None and (self.fast.phase.fast is self.fast or self.fast.attach()):
            return self._fast_step(actions)
        tick = self.world.ads_tick(self.view.multipliers(actions))
        if self.renderer is not None:
            self.renderer.on_step(tick)
        rewards = self.view.rewards(tick, self.scenario.env.reward_scale).astype(np.float64)
        infos = self._tick_infos(self.view.infos(tick))
        close_day_if_done(self.world, self.scenario, self.restock)
        return self._finish(self.view.observe(), rewards, infos)

    def _tick_infos(self, tick_infos: dict[str, Any]) -> dict[str, Any]:
        """The tick's infos in the vector layout: each key with its ``_key`` mask (every sub-env)."""
        infos: dict[str, Any] = {}
        for key, value in tick_infos.items():
            infos[key], infos[f"_{key}"] = value, self._mask
        return infos

    def _finish(self, obs: np.ndarray, rewards: np.ndarray, infos: dict[str, Any]):
        """The step's return once the day is closed if it ended: the episode's KPIs on the horizon's last tick."""
        n = self.num_envs
        done = self.world.day >= self.world.horizon
        if done:
            infos["episode_kpis"] = {**self.world.kpis.summary(), **self.world.ads_kpis()}
            infos["_episode_kpis"] = self._mask
            self._needs_reset = True
        return obs, rewards, np.full(n, done), np.zeros(n, dtype=bool), infos

    def _fast_step(self, actions):
        """``step`` in one compiled call for every world (``shopgym.envs.ads_fast``): the reference path's numbers."""
        fast = self.fast
        if fast.run(fast.fill(actions, self.view.continuous, self.view.multipliers)) != 0:
            self.view.multipliers(actions)  # raises the reference's ActionError
            raise ActionError(f"actions are outside the action space {self.action_space}.")
        rewards = fast.reward.copy()
        infos = self._tick_infos(fast.infos())
        fast.close_day_if_done(lambda: close_day_if_done(self.world, self.scenario, self.restock))
        return self._finish(fast.obs.copy(), rewards, infos)

    def render(self) -> list | None:
        """Each sub-env's view, a list: strings (``"ansi"``) or ``(H, W, 3)`` uint8 frames (``"rgb_array"``)."""
        if self.renderer is None:
            warn_no_render_mode(self.spec.id if self.spec is not None else "shopgym/Ads-v0")
            return None
        return [self.renderer.render(w) for w in range(self.num_envs)]
