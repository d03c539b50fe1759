"""A dueling Q-network head for Stable-Baselines3's DQN (``policy: agents.sb3_dueling.DuelingDQNPolicy`` in ``dqn.yml``; alias ``DuelingMlpPolicy``).

SB3's DQN estimates Q(s, a) with one MLP. The dueling architecture (Wang et al., 2016) splits the
last layer into a state value V(s) and action advantages A(s, a), recombined as
``Q = V + A - mean_a A``: every update then moves the value of all actions of a state, which helps
when many actions are nearly equivalent (order 12 or 14 units). Only the network changes; SB3's DQN
algorithm (targets, replay, exploration) is untouched. Models save and load with ``DQN.load`` as
usual, this module being importable.
"""

from __future__ import annotations

import torch as th
from stable_baselines3.common.torch_layers import create_mlp
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn


class DuelingHead(nn.Module):
    """MLP trunk, then value and advantage layers: ``Q = V + A - mean(A)``, shape ``(batch, n_actions)``."""

    def __init__(self, in_dim: int, n_actions: int, net_arch: list[int], activation_fn: type[nn.Module]):
        super().__init__()
        self.trunk = nn.Sequential(*create_mlp(in_dim, -1, net_arch, activation_fn))  # hidden layers only
        last = net_arch[-1] if net_arch else in_dim
        self.value = nn.Linear(last, 1)
        self.advantage = nn.Linear(last, n_actions)

    def forward(self, x: th.Tensor) -> th.Tensor:
        z = self.trunk(x)
        adv = self.advantage(z)
        return self.value(z) + adv - adv.mean(dim=1, keepdim=True)


class DuelingQNetwork(QNetwork):
    """SB3's ``QNetwork`` with its ``q_net`` replaced by a ``DuelingHead``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.q_net = DuelingHead(self.features_dim, int(self.action_space.n), list(self.net_arch), self.activation_fn)


class DuelingDQNPolicy(DQNPolicy):
    """``MlpPolicy`` for SB3's DQN with dueling Q-networks (online and target)."""

    def make_q_net(self) -> DuelingQNetwork:
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        return DuelingQNetwork(**net_args).to(self.device)


#: Policy names the hyperparameter files may use beyond SB3's own aliases.
POLICIES = {"DuelingMlpPolicy": DuelingDQNPolicy}
