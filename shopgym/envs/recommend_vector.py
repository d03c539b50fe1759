"""The native vector version of ``shopgym/Recommend-v0``: N shops whose days advance independently.

``gymnasium.make_vec("shopgym/Recommend-v0", num_envs=N, vectorization_mode="vector_entry_point")``
gives exactly the trajectories of N single envs seeded ``seed, seed + 1, ...`` (as ``SyncVectorEnv``
seeds them), with Gymnasium 1.x's next-step autoreset.

How it steps: one step of Recommend-v0 is one session, and each world draws its own number of
sessions per day (Poisson from its own shoppers stream, scaled by its shoppers' satisfaction with
``memory_satisfaction``). After ``t`` steps, sub-env 0 may be serving day 3's fifth session while sub-env 1
still serves day 2's last one, so the worlds cannot be one batched ``World`` (it has one ``day`` for all
of its worlds and closes days in lockstep). Each sub-env keeps its own one-world ``World`` (through
``RecommendEnv``) for what happens once a day: the day close (restocking, deliveries, organic demand,
expiry) and the next day's sessions. What a session touches (stock, the shoppers' memory, the coupon
budget, the day's sums) lives in stacked ``(num_envs, ...)`` arrays that the worlds see as views of their
row (``shopgym.world.stacked``), and one compiled call per vector step serves every sub-env's session,
opens its next one and writes its observation and info figures (``shopgym.envs.recommend_fast``); Python
runs per sub-env only when its day ends (about once every ``sessions_per_day`` steps) or it resets, and
otherwise a step is a few numpy calls whatever ``num_envs`` (each info array is a row of a fresh block).
Where the compiled step does not apply (the numpy engine, a learned response model, bundle offers, a
render mode) each sub-env's ``RecommendEnv.step`` runs in turn, the very code the single env runs.
The sub-envs in ``envs`` are the vector env's: stepping or resetting one of them directly detaches its
world from the stacked state until the vector env's next ``reset``.
"""

from __future__ import annotations

import operator
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from shopgym.config import Scenario
from shopgym.envs.recommend import RecommendEnv
from shopgym.envs.recommend_fast import COUNTS, INFO, FastSteps
from shopgym.envs.render import RENDER_FPS, RENDER_MODES, check_render_mode, warn_no_render_mode
from shopgym.envs.restock_vector import reseed_worlds
from shopgym.errors import ActionError

#: The info keys of a step, in ``RecommendEnv``'s order (after ``day``); counts are int64.
_INFO_KEYS = ("session_revenue", "session_margin", "clicks", "purchases", "stockouts_hit", "ctr", "conversion_rate",
              "revenue", "margin", "churned_shoppers", "coverage")
_COUPON_KEYS = ("coupon_spend", "coupon_left")


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
        self._any_reset = False
        self._obs = np.zeros(self.observation_space.shape, dtype=np.float32)
        self._fast = FastSteps.build([e.world for e in self.envs], [e.view for e in self.envs], self._close_day,
                                     first.renderer)
        if self._fast is not None:
            for env in self.envs:  # the sub-envs step through the vector env's compiled steps, not their own
                env._fast = None
            space = self.single_action_space
            self._nvec = np.atleast_1d(space.n if isinstance(space, gym.spaces.Discrete) else space.nvec)
            self._scale = float(self.scenario.env.reward_scale)
            keys = _INFO_KEYS + _COUPON_KEYS * bool(first.view.coupons)
            # a step's infos: "day", "_day", then each key and its mask, picked from the list
            # [days, *figs rows, *counts rows, *mask rows] (rows of fresh blocks: no per-key numpy call)
            n_figs, n_counts = len(INFO), len(COUNTS)
            masks_at = 1 + n_figs + n_counts
            picks = [0, masks_at + len(keys)]
            for j, key in enumerate(keys):
                picks += [1 + n_figs + COUNTS.index(key) if key in COUNTS else 1 + INFO.index(key), masks_at + j]
            self._info_names = ("day", "_day", *[name for key in keys for name in (key, f"_{key}")])
            self._pick_infos = operator.itemgetter(*picks)
            self._all_stepped = np.ones((len(keys) + 1, num_envs), dtype=bool)

    def _close_day(self, w: int) -> None:
        self.envs[w]._close_day()

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        seeds = reseed_worlds(seed, self._np_randoms)
        self._needs_reset[:] = False
        self._any_reset = False
        if self._fast is not None:
            for w, env in enumerate(self.envs):
                env._reset_world(seeds[w])  # a None seed continues the sub-env's own generator
                self._fast.start(w)
            self._fast.run()
            return self._fast.obs.copy(), {}
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
        if self._fast is not None:
            return self._fast_step(actions)
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

    def _fast_step(self, actions):
        """``step`` through the compiled steps: the same trajectories as the loop over sub-envs. Without a sub-env to
        reset this is a few numpy calls whatever ``num_envs``: every figure comes from one compiled call and each
        info array is a row of a fresh block."""
        n, fast = self.num_envs, self._fast
        a = np.asarray(actions)
        if a.size and a.dtype.kind not in "iu":
            raise ActionError(f"actions must be integers (candidate positions, then offer levels), got dtype {a.dtype}.")
        fast.actions[:] = a.reshape(n, -1)
        any_reset = self._any_reset
        if any_reset:
            resetting = self._needs_reset.copy()
            stepped = ~resetting
            fast.serve_all(stepped)
        else:
            fast.serve_every()
        bad = fast.run()  # checks every action before it changes anything
        if bad is not None:
            raise ActionError(f"action {a[bad]!r} of sub-env {bad} is not in the action space {self.single_action_space}: "
                              f"each entry in [0, nvec - 1] (nvec = {self._nvec.tolist()}).")
        figs, counts = fast.figs.copy(), fast.counts.copy()  # (keys, N) each, fresh
        if any_reset:  # next-step autoreset: continue the sub-env's own generator
            for w in np.flatnonzero(resetting):
                self.envs[w]._reset_world(None)
                fast.start(w)
            fast.run()
            terminated = fast.terminated & stepped
            figs[:, resetting] = 0.0
            counts[:, resetting] = 0
            masks = np.repeat(stepped[None], len(self._all_stepped), axis=0)  # one mask row per key (`_key`)
            days = fast.days * stepped
        else:  # every sub-env stepped, and none had ended: those that end now are the terminated ones
            terminated = fast.terminated.copy()
            masks = self._all_stepped.copy()
            days = fast.days.copy()
        self._any_reset = fast.n_ended > 0
        if any_reset or self._any_reset:
            self._needs_reset[:] = terminated
        rewards = figs[1] * self._scale
        infos: dict[str, Any] = {}
        if not any_reset or stepped.any():
            infos = dict(zip(self._info_names, self._pick_infos([days, *figs, *counts, *masks]), strict=True))
            if self._any_reset:
                for w in np.flatnonzero(terminated):
                    world = self.envs[w].world
                    kpis = {k: float(v[0]) for k, v in {**world.kpis.summary(), **world.session_kpis()}.items()}
                    infos = self._add_info(infos, {"episode_kpis": kpis}, w)
        return fast.obs.copy(), rewards, terminated, np.zeros(n, dtype=bool), infos

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
