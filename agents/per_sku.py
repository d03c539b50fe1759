"""A per-SKU factorised restocking agent: one small Q-network shared by every SKU.

Each SKU decides its own order level from its own, roughly scale-free features (unit quantities in
days of the SKU's demand), so a 10-SKU shop is 10 small decisions with ``n_levels`` actions each
instead of one decision over ``n_levels ** 10`` joint actions. Three pieces:

- ``PerSKUVectorEnv``: a Gymnasium vector env in which sub-env ``w * n_skus + i`` is SKU ``i`` of
  world ``w`` of one batched ``World``; our DQN (``agents.dqn``) trains on it as on any vector env.
  Registered as ``shopgym/RestockPerSKU-v0``, a vector-only id:
  ``gymnasium.make_vec("shopgym/RestockPerSKU-v0", num_envs=N, scenario=...)`` (``make_vector_env``).
- ``PerSKUPolicy``: acts on the ordinary ``shopgym/Restock-v0`` env with the shared Q-net (one
  batched forward pass over the SKUs); ``load_per_sku`` rebuilds it from a run directory, which is
  what the registry spec ``dqn-sku:DIR`` resolves to.
- ``train``: a run of our DQN on the per-SKU env (``shopgym train --algo shopgym-dqn --env
  shopgym/RestockPerSKU-v0``), hyperparameters from the ``shopgym/RestockPerSKU-v0`` section of
  ``agents/hyperparams/shopgym-dqn.yml``. ``n_envs`` there counts sub-envs (worlds x SKUs).

``shopgym/RestockPerSKU-v0`` is the env id of runs and the hyperparameter section. ``gymnasium.make``
refuses it with a clear error (there is no single-env form: the sub-envs share worlds).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

import shopgym  # noqa: F401  (registers the shopgym envs)
from agents.dqn.config import DQNConfig
from agents.dqn.dqn import DQN
from agents.dqn.policy import QNetwork
from agents.dqn.run import learn_and_save, resolve, train_seed
from agents.dqn.spaces import describe, short
from agents.hyperparams import read_run_config, start_run
from shopgym.config import Scenario, load_scenario
from shopgym.envs.episode_state import EpisodeRecorder
from shopgym.envs.render import RENDER_FPS, RENDER_MODES, check_render_mode, warn_no_render_mode
from shopgym.envs.restock import world_seed
from shopgym.envs.restock_render import RestockRenderer
from shopgym.envs.restock_vector import reseed_worlds
from shopgym.envs.restock_view import CALENDAR_FIELDS, RestockView
from shopgym.errors import HyperparameterError, ShopgymError
from shopgym.plugins import build_world

ENV_ID = "shopgym/RestockPerSKU-v0"  #: the registered vector env id; hyperparameter section and run env
SPEC_PREFIX = "dqn-sku"  #: registry spec ``dqn-sku:DIR``
DERIVED_FEATURES = ("position", "position_minus_forecast", "price_ratio", "margin", "order_step_days",
                    "order_cost_days", "holding_ratio", "log_mean_demand")


class PerSKUPolicyError(ShopgymError, ValueError):
    """A per-SKU policy that cannot act on the given env (continuous actions, other shapes)."""


class SKUFeatures:
    """Per-SKU features from Restock observations; the same function for training and acting.

    For SKU ``i`` with scale ``m_i = catalog.base_rate[i]`` (its median daily demand, units/day):

    | features | meaning | unit |
    |---|---|---|
    | unit fields of the SKU's block (on_hand, backlog, pipeline_k, sales_lag_k, forecast_*) / m_i | stock, flows and forecasts | days of demand |
    | position | (on_hand - backlog + all pipeline) / m_i | days of demand |
    | position_minus_forecast | position - forecast_lead / m_i (0 without forecasts) | days of demand |
    | price_ratio | today's price / list price (< 1 in a promotion) | 1 |
    | margin | 1 - unit_cost / today's price | 1 |
    | order_step_days | order_step / m_i: what one order level buys | days of demand |
    | order_cost_days | fixed order cost / (m_i x list price) | days of revenue |
    | holding_ratio | holding cost / list price | 1/day |
    | log_mean_demand | log(m_i) | log(units/day) |

    then the lead time (days) and the five calendar features (``CALENDAR_FIELDS``).

    Args:
        view: the ``RestockView`` whose observations will be split (discrete actions).
    """

    def __init__(self, view: RestockView):
        cat = view.world.catalog
        self.n_skus, self.n_fields = view.n_skus, len(view.sku_fields)
        self.block_size = view.block_size
        idx = view.field_index
        self.unit_fields = [f for f in view.sku_fields if f not in ("price", "unit_cost", "lead_time")]
        self._unit_idx = np.array([idx[f] for f in self.unit_fields])
        self._pipe_idx = np.array([idx[f] for f in view.sku_fields if f.startswith("pipeline_")], dtype=np.int64)
        self._on_hand, self._backlog = idx["on_hand"], idx["backlog"]
        self._price, self._cost, self._lead = idx["price"], idx["unit_cost"], idx["lead_time"]
        self._fc_lead = idx.get("forecast_lead")
        self.scale = np.asarray(cat.base_rate, dtype=np.float64)  # units/day
        self.list_price = np.asarray(cat.price, dtype=np.float64)
        self._static = np.stack([view.order_step / self.scale, cat.order_cost / (self.scale * self.list_price),
                                 cat.holding_cost / self.list_price, np.log(self.scale)], axis=-1)
        self.names = (*[f"{f}_days" for f in self.unit_fields], *DERIVED_FEATURES, "lead_time", *CALENDAR_FIELDS)
        self.size = len(self.names)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Features ``(..., n_skus, size)`` float32 from Restock observations ``(..., obs_size)``."""
        obs = np.asarray(obs, dtype=np.float64)
        lead_shape = obs.shape[:-1]
        block = obs[..., : self.block_size].reshape(*lead_shape, self.n_skus, self.n_fields)
        scale = self.scale[:, None]
        units = block[..., self._unit_idx] / scale
        position = (block[..., self._on_hand] - block[..., self._backlog] + block[..., self._pipe_idx].sum(-1))
        position = position / self.scale
        short_fc = position - block[..., self._fc_lead] / self.scale if self._fc_lead is not None else np.zeros_like(position)
        price = block[..., self._price]
        margin = 1.0 - block[..., self._cost] / np.maximum(price, 1e-9)
        static = np.broadcast_to(self._static, (*lead_shape, self.n_skus, self._static.shape[-1]))
        calendar = np.broadcast_to(obs[..., None, self.block_size :], (*lead_shape, self.n_skus, len(CALENDAR_FIELDS)))
        derived = np.stack([position, short_fc, price / self.list_price, margin], axis=-1)
        return np.concatenate([units, derived, static, block[..., self._lead, None], calendar], axis=-1).astype(np.float32)


class PerSKUVectorEnv(VectorEnv):
    """Every (world, SKU) pair of one batched ``World`` as a sub-env with its own order decision.

    ## Sub-envs
    ``num_envs = n_worlds x n_skus``; sub-env ``w * n_skus + i`` is SKU ``i`` of world ``w``.

    ## Action space
    ``Discrete(n_levels)`` per sub-env: level ``k`` orders ``k x order_step`` units of that SKU (the
    levels of ``RestockView``). Bad actions raise ``shopgym.errors.ActionError``.

    ## Observation space
    ``Box(-inf, inf, (SKUFeatures.size,), float32)``: the SKU's features (see ``SKUFeatures``).

    ## Rewards
    The SKU's day profit ``DayOutcome.profit[w, i]`` (currency x ``reward_scale``); summed over a
    world's SKUs it is the Restock env's reward.

    With ``stock_shaping=gamma`` (off by default), potential-based shaping (Ng et al. 1999) is added:
    ``+ gamma * phi(s') - phi(s)`` with ``phi = unit_cost x (on_hand + pipeline)`` (currency x
    ``reward_scale``), the purchase value of the stock the SKU owns. An order's purchase cost is then
    mostly credited back the day it is placed and charged when its units sell (cost of goods sold),
    so its margin is not hidden behind the lead time. With ``gamma`` equal to the learner's discount
    it leaves the optimal policy of the discounted problem unchanged.

    ## Episode end
    Terminated after ``horizon`` days for all SKUs of every world at once, as the Restock env is (the
    horizon is part of the task: stock left at the end is worth nothing). With shaping, the terminal
    state's potential is 0, so the last step charges the purchase value of the stock left over. With
    Gymnasium 1.x next-step autoreset, the following step resets every world (actions ignored,
    rewards 0, the new episodes' first observations).

    ## Rendering
    ``render_mode="ansi"`` or ``"rgb_array"``: ``render()`` returns one view per sub-env, a list; sub-env
    ``w * n_skus + i`` shows SKU ``i`` of world ``w`` (as ``RestockEnv`` renders, for that SKU alone).

    ## Arguments
    ``PerSKUVectorEnv(n_worlds=8, scenario="seasonal", stock_shaping=None, render_mode=None, **scenario_keys)``; a
    scenario key such as ``reward_scale`` or ``horizon`` overrides the scenario's value by name.

    ## Seeding
    ``reset(seed=s)`` seeds world ``w`` with ``s + w`` (as ``RestockVectorEnv`` does), so world 0 of
    ``reset(seed=s)`` is the Restock env of ``reset(seed=s)``; later episodes draw world seeds from
    per-world generators seeded by those seeds. ``get_state()``/``set_state(state)`` save and restore the
    episode in progress as plain data (as ``RestockVectorEnv``'s do), for training runs that resume exactly.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": RENDER_FPS,
                "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, n_worlds: int = 1, scenario: str | Scenario = "quickstart", stock_shaping: float | None = None,
                 render_mode: str | None = None, **scenario_keys: Any):
        if n_worlds < 1:
            raise ValueError(f"n_worlds must be >= 1, got {n_worlds}.")
        if stock_shaping is not None and not 0.0 <= stock_shaping <= 1.0:
            raise HyperparameterError(f"stock_shaping={stock_shaping!r} is the shaping discount: use the learner's "
                                      "gamma, in [0, 1], or None for the plain profit.")
        self.stock_shaping = stock_shaping
        self.scenario = load_scenario(scenario, **scenario_keys)
        self.world = build_world(self.scenario, n_worlds=n_worlds)
        self.view = RestockView(self.world)
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.renderer = RestockRenderer(self.world, render_mode, "RestockPerSKU") if render_mode is not None else None
        self.features = SKUFeatures(self.view)
        self.n_worlds, self.n_skus = n_worlds, self.view.n_skus
        self.num_envs = n_worlds * self.n_skus
        self.single_observation_space = spaces.Box(-np.inf, np.inf, (self.features.size,), dtype=np.float32)
        self.single_action_space = spaces.Discrete(self.view.n_levels)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._np_randoms = [seeding.np_random(None)[0] for _ in range(n_worlds)]
        self._needs_reset = False
        self._potential = np.zeros(self.num_envs)  # phi of the current state (see Rewards)
        self._episode = EpisodeRecorder()

    def observe(self) -> np.ndarray:
        """Features of every sub-env, ``(num_envs, SKUFeatures.size)`` float32; updates the shaping potential."""
        obs = self.view.observe()
        if self.stock_shaping is not None:
            named = self.view.parse(obs)
            owned = named["on_hand"].astype(np.float64) + sum(
                named[f] for f in self.view.sku_fields if f.startswith("pipeline_"))
            self._potential = (owned * self.world.catalog.unit_cost * self.view.reward_scale).reshape(self.num_envs)
        return self.features(obs).reshape(self.num_envs, self.features.size)

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        """Reset every world; ``seed`` is an int (world ``w`` gets ``seed + w``) or one seed per world."""
        self._reset_worlds(reseed_worlds(seed, self._np_randoms))
        return self.observe(), {}

    def _reset_worlds(self, seeds: list[int | None]) -> None:
        world_seeds = [world_seed(rng, s) for rng, s in zip(self._np_randoms, seeds, strict=True)]
        self.world.reset(world_seeds)
        self._episode.on_reset(world_seeds)
        self._needs_reset = False
        if self.renderer is not None:
            self.renderer.on_reset()

    def step(self, actions):
        """Order ``actions[w * n_skus + i] x order_step`` units of SKU ``i`` in world ``w``; one day passes."""
        n = self.num_envs
        if self._needs_reset:
            self._reset_worlds([None] * self.n_worlds)
            zeros = np.zeros(n, dtype=bool)
            return self.observe(), np.zeros(n), zeros, zeros.copy(), {}
        orders = self.view.orders_from_actions(np.asarray(actions).reshape(-1))
        self._episode.on_step(orders)
        out = self.world.step(orders)
        if self.renderer is not None:
            self.renderer.on_step(self.view.infos(out), out)
        rewards = (out.profit * self.view.reward_scale).reshape(n).astype(np.float64)
        done = self.world.day >= self.world.horizon
        self._needs_reset = done
        before = self._potential
        obs = self.observe()
        if self.stock_shaping is not None:  # phi of the terminal state is 0 (see Rewards, Episode end)
            rewards = rewards + (0.0 if done else self.stock_shaping) * self._potential - before
        return obs, rewards, np.full(n, done), np.zeros(n, dtype=bool), {}

    def get_state(self) -> dict[str, Any]:
        """The episode in progress and the seeding generators, as plain data (``EpisodeRecorder.state``)."""
        return self._episode.state(self.world, self._np_randoms, self._needs_reset)

    def set_state(self, state: dict[str, Any]) -> np.ndarray:
        """Restore a ``get_state()``; returns the current observations (and restores the shaping potential)."""
        self._needs_reset = self._episode.restore(self.world, self._np_randoms, state)
        return self.observe()

    def render(self) -> list | None:
        """Each sub-env's view, a list (sub-env ``w * n_skus + i``: SKU ``i`` of world ``w``)."""
        if self.renderer is None:
            warn_no_render_mode(ENV_ID)
            return None
        return [self.renderer.render(w, sku) for w in range(self.n_worlds) for sku in range(self.n_skus)]


class SKUFeatureObservation(gym.ObservationWrapper):
    """A Restock env (discrete actions) whose observation is ``SKUFeatures`` ``(n_skus, size)``.

    Our DQN's ``predict`` on such an observation returns one level per SKU, the env's MultiDiscrete
    action, so training-time evaluation runs the whole shop with the shared Q-net.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.features = SKUFeatures(restock_view(env, "the evaluation env"))
        self.observation_space = spaces.Box(-np.inf, np.inf, (self.features.n_skus, self.features.size), np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return self.features(observation)


def restock_view(env: gym.Env, what: str) -> RestockView:
    """The ``RestockView`` of a discrete-action Restock env, else ``PerSKUPolicyError``."""
    view = getattr(env.unwrapped, "view", None)
    if not isinstance(view, RestockView):
        raise PerSKUPolicyError(f"{what} ({env.unwrapped!r}) is not a shopgym Restock env; the per-SKU agent "
                                "acts on gymnasium.make('shopgym/Restock-v0', scenario=...).")
    if view.continuous:
        raise PerSKUPolicyError(f"{what} takes continuous orders; the per-SKU agent picks order levels: "
                                "make the env with continuous=False.")
    return view


class PerSKUPolicy:
    """The greedy shared Q-net acting on a Restock env: one batched forward pass over the SKUs.

    Args:
        name: the spec it was loaded from (``dqn-sku:DIR``).
        q_net: the trained Q-network (features -> Q-value of each order level).
        env: the Restock env it will act on (discrete actions); its view splits the observations.
    """

    def __init__(self, name: str, q_net: torch.nn.Module, env: gym.Env):
        self.name = name
        self.q_net = q_net.eval()
        self.view = restock_view(env, f"the env of policy {name}")
        self.features = SKUFeatures(self.view)

    def reset(self, seed: int | None = None) -> None:
        """Greedy and stateless: nothing to prepare."""

    @torch.no_grad()
    def act(self, obs: np.ndarray) -> Any:
        """Order levels, one per SKU (an int for one SKU, else an int64 array)."""
        q = self.q_net(torch.from_numpy(self.features(obs)))
        levels = q.argmax(dim=-1).numpy().astype(np.int64)
        return int(levels[0]) if self.view.n_skus == 1 else levels


def model_dir(directory: Path) -> Path:
    """The saved model of a per-SKU run: ``best/`` when the run selects its best model, else ``model/``."""
    cfg = read_run_config(directory)
    if cfg is None:
        raise FileNotFoundError(f"{directory} holds no trained run (config.yml is missing); train one with "
                                f"`shopgym train --algo shopgym-dqn --env {ENV_ID} --scenario NAME`.")
    if cfg.get("env_id") != ENV_ID:
        prefix = "dqn" if cfg.get("algo") == "shopgym-dqn" else "sb3"
        raise HyperparameterError(f"{directory} is a run on {cfg.get('env_id')!r}, not a per-SKU run; "
                                  f"load it as {prefix}:{directory}.")
    best = directory / "best"
    if cfg.get("select") == "best" and (best / "hyperparameters.json").exists():
        return best
    if not (directory / "model" / "hyperparameters.json").exists():
        raise FileNotFoundError(f"{directory}/model holds no saved model; the run has not finished "
                                "(re-run its command from run.json to resume it).")
    return directory / "model"


def load_per_sku(directory: str | Path, env: gym.Env | None = None, name: str | None = None) -> PerSKUPolicy:
    """The ``PerSKUPolicy`` of a per-SKU run directory (its ``best/`` or ``model/`` Q-network).

    Without ``env``, a Restock env of the run's scenario is made. The env must give features and
    order levels of the sizes the network was trained on, else ``PerSKUPolicyError`` names both.
    """
    directory = Path(directory)
    path = model_dir(directory)
    meta = json.loads((path / "hyperparameters.json").read_text())
    name = name or f"{SPEC_PREFIX}:{directory}"
    if env is None:
        kwargs = {k: v for k, v in meta["env_kwargs"].items() if k not in ("reward_scale", "stock_shaping")}
        env = gym.make("shopgym/Restock-v0", **kwargs)
    features = SKUFeatures(restock_view(env, f"the env of policy {name}"))
    obs_space = spaces.Box(-np.inf, np.inf, (features.size,), dtype=np.float32)
    act_space = spaces.Discrete(env.unwrapped.view.n_levels)
    for what, space in (("observation", obs_space), ("action", act_space)):
        if describe(space) != meta[f"{what}_space"]:
            raise PerSKUPolicyError(f"policy {name} was trained on per-SKU {what}s {short(meta[f'{what}_space'])}, "
                                    f"the env gives {short(describe(space))}; use the scenario it was trained on.")
    config = DQNConfig.from_dict(meta["config"])
    q_net = QNetwork(features.size, act_space.n, config.net_arch, config.dueling, torch.Generator().manual_seed(0))
    q_net.load_state_dict(torch.load(path / "model.pt", weights_only=True)["q_net"])
    return PerSKUPolicy(name, q_net, env)


def n_worlds_for(n_envs: int, n_skus: int, what: str = "n_envs") -> int:
    """Worlds of a per-SKU vector env with ``n_envs`` sub-envs; ``n_envs`` must be a positive multiple of
    ``n_skus`` (``what`` names the argument in the error)."""
    if n_envs < 1 or n_envs % n_skus:
        raise HyperparameterError(f"{what}={n_envs} counts (world, SKU) sub-envs of the per-SKU env and must be "
                                  f"a positive multiple of the scenario's {n_skus} SKUs "
                                  f"(e.g. {max(1, n_envs // n_skus) * n_skus}).")
    return n_envs // n_skus


def make_vector_env(num_envs: int = 1, scenario: str | Scenario = "quickstart", stock_shaping: float | None = None,
                    render_mode: str | None = None, **scenario_keys: Any) -> PerSKUVectorEnv:
    """The vector entry point of ``shopgym/RestockPerSKU-v0``: ``gymnasium.make_vec(ENV_ID, num_envs, ...)``.

    ``num_envs`` counts (world, SKU) sub-envs, so it must be a multiple of the scenario's SKUs
    (``num_envs / n_skus`` worlds); the other arguments are those of ``PerSKUVectorEnv``.
    """
    loaded = load_scenario(scenario, **scenario_keys)
    return PerSKUVectorEnv(n_worlds_for(num_envs, loaded.catalog.n_skus, "num_envs"), loaded, stock_shaping,
                           render_mode)


def train(scenario: str | None, out: str | Path, timesteps: int | None = None, seed: int = 0,
          hyperparams_file: str | Path | None = None, progress_bar: bool = True,
          command: list[str] | None = None, overwrite: bool = False) -> DQN:
    """Train (or resume) the shared per-SKU Q-net with our DQN into run directory ``out``.

    Same layout and resume rule as ``agents.dqn.run.train``. Steps count (world, SKU) transitions.
    ``env_kwargs`` may hold ``stock_shaping: true`` (shaping with the run's gamma, see ``PerSKUVectorEnv``);
    the other keys are scenario keys.
    Training worlds are seeded from ``train_seed(seed)`` (never the benchmark's small seeds);
    evaluation during training runs the whole shop (``SKUFeatureObservation``) on seeds 900000..,
    and its return is the scaled Restock reward.
    """
    out = Path(out)
    cfg = resolve(ENV_ID, scenario, timesteps, seed, hyperparams_file)
    start_run(out, cfg, command, overwrite)
    kwargs = dict(cfg["env_kwargs"])
    shaping = kwargs.pop("stock_shaping", False)
    if not isinstance(shaping, bool):
        raise HyperparameterError(f"env_kwargs stock_shaping={shaping!r} must be true or false.")
    n_skus = load_scenario(kwargs.get("scenario", "quickstart"),
                           **{k: v for k, v in kwargs.items() if k != "scenario"}).catalog.n_skus
    gamma = cfg["hyperparams"]["gamma"] if shaping else None
    envs = PerSKUVectorEnv(n_worlds_for(cfg["hyperparams"]["n_envs"], n_skus), stock_shaping=gamma, **kwargs)
    model = DQN.load_checkpoint(out / "checkpoints", env=envs) or DQN(envs, cfg["hyperparams"], seed=train_seed(seed))
    model.env_id, model.env_kwargs = ENV_ID, dict(cfg["env_kwargs"])  # saved with the model: what it was trained on
    return learn_and_save(model, cfg, out, SKUFeatureObservation(gym.make("shopgym/Restock-v0", **kwargs)), progress_bar)
