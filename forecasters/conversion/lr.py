"""Single-task logistic regression: one linear model per task, no sharing."""

from __future__ import annotations

import torch
from torch import nn

from forecasters.conversion.base import ConversionModel


class _LogisticNet(nn.Module):
    def __init__(self, n_inputs: int, n_tasks: int):
        super().__init__()
        self.linear = nn.Linear(n_inputs, n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.linear(x))


class LogisticRegression(ConversionModel):
    """p(task) = sigmoid(w_task . x + b_task), each task fitted on its own (``hidden`` is ignored)."""

    name = "lr"

    def _build(self, n_inputs: int) -> nn.Module:
        return _LogisticNet(n_inputs, len(self.tasks))
