"""The sim-to-real gap on Recommend-v0: PPO trained in a learned world (or the true one), played in the true world.

``train_ppo`` trains SB3 PPO with the project's Recommend-v0 hyperparameters (``agents/hyperparams/ppo.yml``,
resolved by ``agents.sb3.resolve``: network, gamma 0, learning rate, n_steps, batch size, epochs, observation
normalisation) for a given budget of steps on copies of an env built by ``make_env`` (true or learned,
``scenarios.fidelity_recommend.recommend_env``), seeded from ``seed``. ``ppo_policy`` turns the trained model
and its frozen observation statistics into a ``Policy`` that can be rolled out in any Recommend env of the
same scenario (the true world, for the gap).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from shopgym.rollout import ActPolicy
from shopgym.seeds import TRAINING_START

#: Training env seeds start here, in the training range of ``shopgym.seeds`` (evaluation episodes use seeds
#: 0 .. n-1; log episodes 12345, 12346 and random). The sim-to-real section of docs/recommend.md has no PPO row
#: (``benchmarks/recommend_fidelity.py --ppo-steps 0``, the default); ``--ppo-steps N`` trains from here.
TRAIN_SEED_BASE = TRAINING_START + 700_000


def train_ppo(make_env: Callable[[], object], timesteps: int, seed: int = 0, n_envs: int = 2, scenario: str = "recommend"):
    """SB3 PPO trained for ``timesteps`` steps on ``n_envs`` copies of ``make_env()``; returns ``(model, vecnormalize)``.

    Hyperparameters: ``ppo.yml``'s ``shopgym/Recommend-v0`` section for ``scenario`` except ``n_envs`` and the
    budget (both given here; the file's 1,000,000 steps on 8 envs is the full training).
    """
    import torch
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from agents.sb3 import build_model, resolve

    if timesteps < 1:
        raise ValueError(f"timesteps must be >= 1, got {timesteps}.")
    torch.manual_seed(seed)
    cfg = resolve("ppo", "shopgym/Recommend-v0", scenario, timesteps, seed)
    venv = DummyVecEnv([lambda: Monitor(make_env()) for _ in range(n_envs)])
    venv.seed(TRAIN_SEED_BASE + 1000 * seed)
    norm = cfg["normalize"] if isinstance(cfg["normalize"], dict) else {"norm_obs": True, "norm_reward": False}
    venv = VecNormalize(venv, **{k: v for k, v in norm.items() if k != "center_reward"})
    model = build_model(cfg, venv, TRAIN_SEED_BASE + 1000 * seed)
    model.learn(timesteps)
    venv.training = False
    return model, venv


def ppo_policy(model, vecnormalize) -> ActPolicy:
    """The trained model's greedy action for an observation normalised with the frozen training statistics."""

    def act(obs: np.ndarray) -> int:
        action, _ = model.predict(vecnormalize.normalize_obs(np.asarray(obs)[None]), deterministic=True)
        return int(np.asarray(action).ravel()[0])

    return ActPolicy(act)
