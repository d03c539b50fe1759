"""The Q-network and the policy that owns it: online and target nets, observation scaling, optimizer."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def init_linear(layer: nn.Linear, generator: torch.Generator) -> nn.Linear:
    """PyTorch's default ``nn.Linear`` initialisation, drawn from ``generator`` instead of the global RNG."""
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    bound = 1.0 / math.sqrt(layer.in_features)
    nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return layer


def mlp(sizes: list[int], generator: torch.Generator) -> nn.Sequential:
    """Linear layers of the given sizes with ReLU between them (and after the last)."""
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [init_linear(nn.Linear(a, b), generator), nn.ReLU()]
    return nn.Sequential(*layers)


class QNetwork(nn.Module):
    """Q-values of every action from a flat observation: an MLP, then a plain or dueling head.

    Dueling (Wang et al. 2016): ``Q(s, a) = V(s) + A(s, a) - mean_a A(s, a)``. Observations are
    standardised inside the network with buffers ``obs_mean``/``obs_std`` (identity until set).
    """

    def __init__(self, obs_dim: int, n_actions: int, net_arch: list[int], dueling: bool, generator: torch.Generator):
        super().__init__()
        self.body = mlp([obs_dim, *net_arch], generator)
        width = net_arch[-1] if net_arch else obs_dim
        self.dueling = dueling
        self.advantage = init_linear(nn.Linear(width, n_actions), generator)
        self.value = init_linear(nn.Linear(width, 1), generator) if dueling else None
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        h = self.body((obs - self.obs_mean) / self.obs_std)
        adv = self.advantage(h)
        if self.value is None:
            return adv
        return self.value(h) + adv - adv.mean(dim=-1, keepdim=True)


class DQNPolicy(nn.Module):
    """Online and target Q-networks with their Adam optimizer; picks greedy actions."""

    def __init__(self, obs_dim: int, n_actions: int, net_arch: list[int], dueling: bool, learning_rate: float,
                 generator: torch.Generator):
        super().__init__()
        self.q_net = QNetwork(obs_dim, n_actions, net_arch, dueling, generator)
        self.q_target = QNetwork(obs_dim, n_actions, net_arch, dueling, generator)
        self.q_target.load_state_dict(self.q_net.state_dict())
        self.q_target.requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.q_net.parameters(), lr=learning_rate)

    def set_obs_scaling(self, obs: np.ndarray) -> None:
        """Freeze the observation mean and std (per feature, floored at 1e-3) from a sample of observations."""
        obs = torch.as_tensor(np.asarray(obs, dtype=np.float32))
        mean, std = obs.mean(0), obs.std(0, unbiased=False).clamp_min(1e-3)
        for net in (self.q_net, self.q_target):
            net.obs_mean.copy_(mean)
            net.obs_std.copy_(std)

    @torch.no_grad()
    def greedy(self, obs: np.ndarray) -> np.ndarray:
        """Greedy actions for a batch of observations, int64 array."""
        q = self.q_net(torch.as_tensor(np.asarray(obs, dtype=np.float32)))
        return q.argmax(dim=-1).numpy()

    @torch.no_grad()
    def update_target(self, tau: float) -> None:
        """Polyak update ``target <- tau * online + (1 - tau) * target`` (tau = 1: hard copy)."""
        for p, tp in zip(self.q_net.parameters(), self.q_target.parameters(), strict=True):
            tp.mul_(1.0 - tau).add_(p, alpha=tau)
