"""Our DQN (PyTorch): Double DQN, dueling head, n-step returns, optional prioritized replay.

``DQN`` (the algorithm: ``learn``, ``predict``, ``save``, ``load``) lives in ``dqn.py``; the networks
and optimizer in ``policy.py``; replay in ``buffer.py`` and ``prioritized.py``; hyperparameters in
``config.py``.
"""

from agents.dqn.config import DQNConfig, HyperparameterError
from agents.dqn.dqn import DQN, latest_checkpoint

__all__ = ["DQN", "DQNConfig", "HyperparameterError", "latest_checkpoint"]
