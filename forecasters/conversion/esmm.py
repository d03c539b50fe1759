"""Entire-space multi-task model (Ma et al., SIGIR 2018), extended to a funnel of any length.

Tower ``k`` predicts the conditional probability of stage ``k`` given stage ``k - 1`` (click,
cart | click, purchase | cart). The model outputs their running products, p(click), p(cart) =
pCTR x pCVR, p(purchase), and every output is trained against its own label over **all**
impressions, so the conversion towers never see the biased clicked-only sample.
"""

from __future__ import annotations

import torch
from torch import nn

from forecasters.conversion.base import ConversionModel
from forecasters.conversion.layers import mlp, out_dim, tower


class _ESMMNet(nn.Module):
    def __init__(self, n_inputs: int, n_tasks: int, hidden, tower_hidden):
        super().__init__()
        self.bottom = mlp(n_inputs, hidden)  # the shared "embedding" layers
        self.towers = nn.ModuleList(tower(out_dim(n_inputs, hidden), tower_hidden) for _ in range(n_tasks))

    def shared_parameters(self):
        return list(self.bottom.parameters())

    def conditional(self, x: torch.Tensor) -> torch.Tensor:
        """Per-stage conditional probabilities ``(n, n_tasks)``."""
        h = self.bottom(x)
        return torch.sigmoid(torch.cat([t(h) for t in self.towers], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumprod(self.conditional(x), dim=1)


class ESMM(ConversionModel):
    """ESMM: ``tasks`` must be a nested funnel in order (each label implies the one before)."""

    name = "esmm"

    def _build(self, n_inputs: int) -> nn.Module:
        return _ESMMNet(n_inputs, len(self.tasks), self.hidden, self.tower_hidden)
