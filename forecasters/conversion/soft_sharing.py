"""Soft parameter sharing: a separate bottom per task, pulled together by an L2 penalty (Duong et al. 2015)."""

from __future__ import annotations

import torch
from torch import nn

from forecasters.conversion.base import ConversionModel
from forecasters.conversion.layers import mlp, out_dim, tower


class _SoftSharingNet(nn.Module):
    def __init__(self, n_inputs: int, n_tasks: int, hidden, tower_hidden, strength: float):
        super().__init__()
        self.bottoms = nn.ModuleList(mlp(n_inputs, hidden) for _ in range(n_tasks))
        self.towers = nn.ModuleList(tower(out_dim(n_inputs, hidden), tower_hidden) for _ in range(n_tasks))
        self.strength = strength

    def penalty(self) -> torch.Tensor:
        """``strength x`` the sum over task pairs and layers of the squared distance between weights."""
        total = torch.zeros(())
        params = [list(b.parameters()) for b in self.bottoms]
        for a in range(len(params)):
            for b in range(a + 1, len(params)):
                total = total + sum(((pa - pb) ** 2).sum() for pa, pb in zip(params[a], params[b], strict=True))
        return self.strength * total

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.cat([t(b(x)) for b, t in zip(self.bottoms, self.towers, strict=True)], dim=1))


class SoftSharing(ConversionModel):
    """Per-task bottoms ``hidden`` + towers; ``penalty`` (>= 0) weighs the L2 distance between bottoms."""

    name = "soft_sharing"
    extra_params = ("penalty",)

    def __init__(self, penalty: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        if penalty < 0:
            raise ValueError(f"penalty must be >= 0, got {penalty}.")
        self.penalty = float(penalty)

    def _build(self, n_inputs: int) -> nn.Module:
        return _SoftSharingNet(n_inputs, len(self.tasks), self.hidden, self.tower_hidden, self.penalty)
