"""Multi-gate mixture of experts (Ma et al., KDD 2018): shared experts, one softmax gate per task."""

from __future__ import annotations

import torch
from torch import nn

from forecasters.conversion.base import ConversionModel
from forecasters.conversion.layers import mlp, out_dim, tower


class _MMoENet(nn.Module):
    def __init__(self, n_inputs: int, n_tasks: int, n_experts: int, hidden, tower_hidden):
        super().__init__()
        self.experts = nn.ModuleList(mlp(n_inputs, hidden) for _ in range(n_experts))
        self.gates = nn.ModuleList(nn.Linear(n_inputs, n_experts) for _ in range(n_tasks))
        self.towers = nn.ModuleList(tower(out_dim(n_inputs, hidden), tower_hidden) for _ in range(n_tasks))

    def shared_parameters(self):
        return list(self.experts.parameters())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = torch.stack([ex(x) for ex in self.experts], dim=1)  # (n, E, H)
        outs = []
        for gate, tw in zip(self.gates, self.towers, strict=True):
            g = torch.softmax(gate(x), dim=1).unsqueeze(2)  # (n, E, 1)
            outs.append(tw((g * e).sum(1)))
        return torch.sigmoid(torch.cat(outs, dim=1))


class MMoE(ConversionModel):
    """``n_experts`` expert MLPs of widths ``hidden``; each task mixes them through its own gate."""

    name = "mmoe"
    extra_params = ("n_experts",)

    def __init__(self, n_experts: int = 4, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n_experts, int) or n_experts < 1:
            raise ValueError(f"n_experts must be a positive integer, got {n_experts!r}.")
        self.n_experts = n_experts

    def _build(self, n_inputs: int) -> nn.Module:
        return _MMoENet(n_inputs, len(self.tasks), self.n_experts, self.hidden, self.tower_hidden)
