"""Shared-bottom (hard parameter sharing): one shared MLP, one tower per task (Caruana 1997)."""

from __future__ import annotations

import torch
from torch import nn

from forecasters.conversion.base import ConversionModel
from forecasters.conversion.layers import mlp, out_dim, tower


class _SharedBottomNet(nn.Module):
    def __init__(self, n_inputs: int, n_tasks: int, hidden, tower_hidden):
        super().__init__()
        self.bottom = mlp(n_inputs, hidden)
        self.towers = nn.ModuleList(tower(out_dim(n_inputs, hidden), tower_hidden) for _ in range(n_tasks))

    def shared_parameters(self):
        return list(self.bottom.parameters())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.bottom(x)
        return torch.sigmoid(torch.cat([t(h) for t in self.towers], dim=1))


class SharedBottom(ConversionModel):
    """Shared MLP ``hidden`` feeding one tower ``tower_hidden`` per task."""

    name = "shared_bottom"

    def _build(self, n_inputs: int) -> nn.Module:
        return _SharedBottomNet(n_inputs, len(self.tasks), self.hidden, self.tower_hidden)
