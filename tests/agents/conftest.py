"""Shared fixtures: tiny hyperparameter files (net_arch [16], a few hundred steps, 30-day restock episodes)."""

from __future__ import annotations

import pytest
import torch
import yaml

torch.set_num_threads(1)

RESTOCK = "shopgym/Restock-v0"
SHORT = {"horizon": 30}  # 30-day episodes keep evaluation cheap


@pytest.fixture
def write_hp(tmp_path):
    """Write ``{env_id: section}`` to a YAML file and return its path."""

    def write(sections: dict, name: str = "hp.yml"):
        path = tmp_path / name
        path.write_text(yaml.safe_dump(sections))
        return path

    return write


TINY_SB3 = {
    "dqn": {"policy_kwargs": {"net_arch": [16]}, "learning_starts": 50, "buffer_size": 1000, "batch_size": 16,
            "target_update_interval": 50, "env_kwargs": {**SHORT, "reward_scale": 0.1}},
    "ppo": {"n_envs": 2, "n_steps": 64, "batch_size": 32, "n_epochs": 1, "policy_kwargs": {"net_arch": [16]},
            "normalize": {"norm_obs": True, "norm_reward": True}, "env_kwargs": SHORT},
    "a2c": {"n_envs": 2, "n_steps": 8, "policy_kwargs": {"net_arch": [16]}, "normalize": True, "env_kwargs": SHORT},
    "sac": {"policy_kwargs": {"net_arch": [16]}, "learning_starts": 50, "buffer_size": 1000, "batch_size": 16,
            "normalize": {"norm_obs": True, "norm_reward": False},
            "env_kwargs": {**SHORT, "continuous": True, "reward_scale": 0.1}},
}
TINY_DQN = {"net_arch": [16], "learning_starts": 50, "buffer_size": 1000, "batch_size": 16,
            "target_update_interval": 50, "train_freq": 4}
