"""Single-task MLPs: one separate network per task, no sharing."""

from __future__ import annotations

import torch
from torch import nn

from forecasters.conversion.base import ConversionModel
from forecasters.conversion.layers import mlp, out_dim


class _PerTaskMLP(nn.Module):
    def __init__(self, n_inputs: int, n_tasks: int, hidden):
        super().__init__()
        self.nets = nn.ModuleList(
            nn.Sequential(mlp(n_inputs, hidden), nn.Linear(out_dim(n_inputs, hidden), 1)) for _ in range(n_tasks)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.cat([net(x) for net in self.nets], dim=1))


class SingleTaskMLP(ConversionModel):
    """One MLP of widths ``hidden`` per task (``tower_hidden`` is ignored)."""

    name = "mlp"

    def _build(self, n_inputs: int) -> nn.Module:
        return _PerTaskMLP(n_inputs, len(self.tasks), self.hidden)
