"""An optional feature-crossing input stage (DCN-v2, Wang et al. 2021) in front of any network.

One cross layer maps ``x -> x0 * (W x + b) + x``: every output is a feature times a learned linear
combination of all features, so products such as preference . item embedding (the affinity) or
price x price sensitivity are one layer away instead of having to be approximated by ReLUs.
"""

from __future__ import annotations

import torch
from torch import nn


class CrossNet(nn.Module):
    """``n_layers`` DCN-v2 cross layers of width ``n_inputs`` (full-rank ``W``)."""

    def __init__(self, n_inputs: int, n_layers: int):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(n_inputs, n_inputs) for _ in range(n_layers))
        for layer in self.layers:  # start close to the identity map
            nn.init.zeros_(layer.bias)
            nn.init.normal_(layer.weight, std=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0, h = x, x
        for layer in self.layers:
            h = x0 * layer(h) + h
        return h


class Crossed(nn.Module):
    """``body(cross(x))``; the cross layers count as shared parameters; ``penalty`` is the body's."""

    def __init__(self, cross: CrossNet, body: nn.Module):
        super().__init__()
        self.cross, self.body = cross, body

    def shared_parameters(self):
        return list(self.cross.parameters()) + list(getattr(self.body, "shared_parameters", lambda: [])())

    def penalty(self) -> torch.Tensor:
        fn = getattr(self.body, "penalty", None)
        return fn() if fn is not None else torch.zeros(())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.cross(x))
