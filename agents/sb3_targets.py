"""Stable-Baselines3's DQN with two optional changes to its TD target (``dqn.yml`` run keys).

- ``double_q: true``. SB3's DQN bootstraps on ``max_a Q_target(s', a)``. With noisy rewards that maximum
  is biased upwards, most for the actions whose returns vary most (on Restock: large orders), so the
  greedy policy drifts towards them. Double DQN (van Hasselt et al., 2016) picks the next action with
  the online network and values it with the target network:
  ``y = r + discount * Q_target(s', argmax_a Q_online(s', a))``.
- ``advantage_learning: alpha`` (0 <= alpha < 1). Advantage learning (Baird, 1999; Bellemare et al.,
  2016, "Increasing the action gap") subtracts ``alpha * (max_b Q_target(s, b) - Q_target(s, a))`` from
  the target of ``(s, a)``. The optimal action keeps its value; every other action's distance from it
  (the action gap) grows towards ``gap / (1 - alpha)``, while the greedy policy of the fixed point stays
  optimal. It helps where the right choice wins by little against the noise of the returns: on
  ``quickstart`` ordering 16 units rather than 13 saves part of a future order's fixed cost, a small
  margin in a value of thousands (``docs/agents.md``, last item of "What we changed").

``TargetDQN`` is SB3's ``DQN`` with only the target changed; replay, n-step returns, exploration,
target updates, saving and loading are SB3's own. With both options off it computes SB3's target.
Benchmarks name the changes next to "SB3 DQN" to keep it apart from stock SB3 DQN.
"""

from __future__ import annotations

import numpy as np
import torch as th
from stable_baselines3 import DQN
from torch.nn import functional as F


class TargetDQN(DQN):
    """SB3's ``DQN`` with optional Double-DQN and advantage-learning targets.

    Args:
        double_q: pick the bootstrap action with the online network (Double DQN).
        advantage_learning: the advantage-learning weight alpha in [0, 1); 0 is off.
        *args, **kwargs: ``DQN``'s own arguments.
    """

    def __init__(self, *args, double_q: bool = False, advantage_learning: float = 0.0, **kwargs):
        if not 0.0 <= advantage_learning < 1.0:
            raise ValueError(f"advantage_learning={advantage_learning!r} must be in [0, 1).")
        self.double_q = bool(double_q)
        self.advantage_learning = float(advantage_learning)
        super().__init__(*args, **kwargs)

    @th.no_grad()
    def td_targets(self, rewards: th.Tensor, dones: th.Tensor, discounts: th.Tensor | float,
                   next_observations: th.Tensor, observations: th.Tensor | None = None,
                   actions: th.Tensor | None = None) -> th.Tensor:
        """TD targets ``(batch, 1)``.

        ``rewards`` are (n-step) returns in the env's reward units, ``discounts`` the matching
        ``gamma ** n`` (a tensor per transition or one float), ``dones`` 1 where the episode terminated;
        ``observations`` and ``actions`` (the transition's first state and action, ``(batch, 1)``) are
        needed with ``advantage_learning``.
        """
        next_q_target = self.q_net_target(next_observations)
        if self.double_q:
            next_actions = self.q_net(next_observations).argmax(dim=1, keepdim=True)
            next_q = th.gather(next_q_target, dim=1, index=next_actions)
        else:
            next_q = next_q_target.max(dim=1, keepdim=True).values
        target = rewards + (1 - dones) * discounts * next_q
        if self.advantage_learning > 0.0:
            if observations is None or actions is None:
                raise ValueError("advantage_learning needs the transitions' observations and actions.")
            q_target = self.q_net_target(observations)
            gap = q_target.max(dim=1, keepdim=True).values - th.gather(q_target, dim=1, index=actions.long())
            target = target - self.advantage_learning * gap
        return target

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """``DQN.train`` (SB3 2.x) with ``td_targets`` in place of SB3's own target."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        losses = []
        for _ in range(gradient_steps):
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            discounts = data.discounts if data.discounts is not None else self.gamma
            target = self.td_targets(data.rewards, data.dones, discounts, data.next_observations,
                                     data.observations, data.actions)
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
