"""The native vector version of ``shopgym/Recommend-v0``: N shops whose days advance independently.

``gymnasium.make_vec("shopgym/Recommend-v0", num_envs=N, vectorization_mode="vector_entry_point")``
gives exactly the trajectories of N single envs seeded ``seed, seed + 1, ...`` (as ``SyncVectorEnv``
seeds them), with Gymnasium 1.x's next-step autoreset.

Why the worlds are not one batched ``World`` (as in ``RestockVectorEnv``): one step of Recommend-v0
is one session, and each world draws its own number of sessions per day (Poisson from its own
shoppers stream, scaled by its shoppers' satisfaction with ``memory_satisfaction``). After ``t``
steps, sub-env 0 may be serving day 3's fifth session while sub-env 1 still serves day 2's last one,
and the day close (restocking, deliveries, organic demand, expiry) of one world must run while the
others are mid-day. A batched ``World`` has one ``day`` for all of its worlds, so it could only close
days in lockstep, which would either stall the worlds that finish their day early (then a sub-env is
no longer a single env) or force every world to draw the same number of sessions (which changes the
dynamics). So each sub-env owns a single-world ``World`` (through ``RecommendEnv``, the very code the
single env runs: equality is by construction), and days advance independently; episodes end at
different steps and each sub-env resets on its own next step. What this vector env saves over
``SyncVectorEnv`` is the wrapper stack per sub-env (order enforcing, passive checker, time limit) and
the per-step batching of observations and infos; a batched session phase across worlds at different
days would need a per-world day in ``World`` (noted in docs/performance_notes.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from shopgym.config import Scenario
from shopgym.envs.recommend import RecommendEnv
from shopgym.envs.render import RENDER_FPS, RENDER_MODES, check_render_mode, warn_no_render_mode
from shopgym.envs.restock_vector import reseed_worlds
from shopgym.errors import ActionError


class RecommendVectorEnv(VectorEnv):
    """``num_envs`` Recommend envs stepped together (see ``RecommendEnv`` for spaces, reward and info).

    Each sub-env's episode ends when its own world closes its last day (terminated); the step after that resets
    that sub-env only (its action is ignored, its reward is 0, and its observation is the new episode's first).
    Infos are dicts of arrays with one row per sub-env and Gymnasium's ``_key`` masks (``episode_kpis`` is a
    dict of such arrays, set only for the sub-envs that just ended).

    ``render()`` returns one view per sub-env, a list, in ``RecommendEnv``'s render modes.

    Args:
        num_envs: number of sub-envs.
        scenario, slate_size, render_mode, **scenario_keys: as for ``RecommendEnv`` (the same for every sub-env).
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": RENDER_FPS,
                "autoreset_mode": AutoresetMode.NEXT_STEP}
    kind = "recommend"

    def __init__(self, num_envs: int = 1, scenario: str | Scenario = "recommend", slate_size: int = 1,
                 render_mode: str | None = None, **scenario_keys: Any):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}.")
        self.num_envs = num_envs
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        first = RecommendEnv(scenario, slate_size=slate_size, render_mode=render_mode, **scenario_keys)
        # the other sub-envs share the first one's validated scenario (it already holds every override)
        self.envs = [first] + [RecommendEnv(first.scenario, slate_size=first.scenario.shoppers.slate_size,
                                            render_mode=render_mode) for _ in range(num_envs - 1)]
        self.scenario = first.scenario
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._np_randoms = [seeding.np_random(None)[0] for _ in range(num_envs)]
        self._needs_reset = np.zeros(num_envs, dtype=bool)
        self._obs = np.zeros(self.observation_space.shape, dtype=np.float32)

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        seeds = reseed_worlds(seed, self._np_randoms)
        for w, env in enumerate(self.envs):
            if seeds[w] is not None:
                self._obs[w] = env.reset(seed=seeds[w])[0]
            else:  # continue the sub-env's own generator, as a single env reset without a seed does
                self._obs[w] = env.reset()[0]
        self._needs_reset[:] = False
        return self._obs.copy(), {}

    def step(self, actions):
        n = self.num_envs
        if np.shape(actions) != self.action_space.shape:  # one row per sub-env; never reshape another batch
            raise ActionError(f"actions must have shape {self.action_space.shape} (the batched action space: one row "
                              f"per sub-env, num_envs = {n}), got shape {np.shape(actions)}.")
        rewards = np.zeros(n)
        terminated = np.zeros(n, dtype=bool)
        stepped: list[tuple[int, dict]] = []
        for w, env in enumerate(self.envs):
            if self._needs_reset[w]:
                self._obs[w] = env.reset()[0]
                self._needs_reset[w] = False
                continue
            obs, reward, term, _, info = env.step(actions[w])
            self._obs[w], rewards[w], terminated[w] = obs, reward, term
            stepped.append((w, info))
        self._needs_reset[:] = terminated
        return self._obs.copy(), rewards, terminated, np.zeros(n, dtype=bool), self._batch_infos(stepped)

    def _batch_infos(self, stepped: list[tuple[int, dict]]) -> dict[str, Any]:
        """The stepped sub-envs' infos as arrays with ``_key`` masks (what ``VectorEnv._add_info`` builds, without
        its per-key, per-sub-env Python calls for the flat keys every step has)."""
        infos: dict[str, Any] = {}
        if not stepped:
            return infos
        rows = np.array([w for w, _ in stepped])
        mask = np.zeros(self.num_envs, dtype=bool)
        mask[rows] = True
        for key, first in stepped[0][1].items():
            if isinstance(first, dict):
                continue
            values = np.zeros(self.num_envs, dtype=np.asarray(first).dtype)
            values[rows] = [info[key] for _, info in stepped]
            infos[key], infos[f"_{key}"] = values, mask.copy()
        for w, info in stepped:  # the rare nested entries (episode_kpis at an episode's end)
            nested = {k: v for k, v in info.items() if isinstance(v, dict)}
            if nested:
                infos = self._add_info(infos, nested, w)
        return infos

    def render(self) -> list | None:
        """Each sub-env's view, a list: strings (``"ansi"``) or ``(H, W, 3)`` uint8 frames (``"rgb_array"``)."""
        if self.render_mode is None:
            warn_no_render_mode(self.spec.id if self.spec is not None else "shopgym/Recommend-v0")
            return None
        return [env.render() for env in self.envs]
