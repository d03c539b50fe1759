"""Double Q-learning targets for Stable-Baselines3's DQN (``double_q: true`` in a ``dqn.yml`` section).

SB3's DQN bootstraps on ``max_a Q_target(s', a)``. With noisy rewards that maximum is biased
upwards, most for the actions whose returns vary most (on Restock: large orders), so the greedy
policy drifts towards them. Double DQN (van Hasselt et al., 2016) picks the next action with the
online network and values it with the target network:
``y = r + discount * Q_target(s', argmax_a Q_online(s', a))``.

``DoubleDQN`` is SB3's ``DQN`` with only that target changed; replay, n-step returns, exploration,
target updates, saving and loading are SB3's own. Benchmarks name it "SB3 DQN + double Q" to keep it
apart from stock SB3 DQN.
"""

from __future__ import annotations

import numpy as np
import torch as th
from stable_baselines3 import DQN
from torch.nn import functional as F


class DoubleDQN(DQN):
    """SB3's ``DQN`` with Double-DQN targets; every constructor argument is ``DQN``'s."""

    @th.no_grad()
    def td_targets(self, rewards: th.Tensor, dones: th.Tensor, discounts: th.Tensor | float,
                   next_observations: th.Tensor) -> th.Tensor:
        """Double-DQN targets ``(batch, 1)``: the online net picks the next action, the target net values it.

        ``rewards`` are (n-step) returns in the env's reward units, ``discounts`` the matching
        ``gamma ** n`` (a tensor per transition or one float), ``dones`` 1 where the episode terminated.
        """
        next_actions = self.q_net(next_observations).argmax(dim=1, keepdim=True)
        next_q = th.gather(self.q_net_target(next_observations), dim=1, index=next_actions)
        return rewards + (1 - dones) * discounts * next_q

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """``DQN.train`` (SB3 2.x) with the next action chosen by the online network."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        losses = []
        for _ in range(gradient_steps):
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            discounts = data.discounts if data.discounts is not None else self.gamma
            target = self.td_targets(data.rewards, data.dones, discounts, data.next_observations)
            current = th.gather(self.q_net(data.observations), dim=1, index=data.actions.long())
            loss = F.smooth_l1_loss(current, target)
            losses.append(loss.item())
            self.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", np.mean(losses))
