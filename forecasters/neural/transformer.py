"""Transformer forecaster: a self-attention encoder over the context window."""

from __future__ import annotations

import torch
from torch import nn

from forecasters.distribution import GRID
from forecasters.neural.base import NeuralForecaster
from forecasters.neural.heads import QuantileHead


class TransformerNet(nn.Module):
    """Linear embedding + learned positions, ``layers`` encoder layers (``heads`` attention heads,
    no dropout); the embedding is the last token concatenated with the mean over tokens."""

    def __init__(self, n_context: int, n_future: int, input_size: int, h: int, hidden: int, n_q: int,
                 layers: int, heads: int):
        super().__init__()
        self.inp = nn.Linear(n_context, hidden)
        self.pos = nn.Parameter(torch.zeros(input_size, hidden))
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=2 * hidden, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = QuantileHead(2 * hidden, n_future, h, n_q, hidden)

    def forward(self, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        z = self.encoder(self.inp(x) + self.pos)
        return self.head(torch.cat([z[:, -1], z.mean(1)], dim=-1), f)


class TransformerForecaster(NeuralForecaster):
    """Global Transformer-encoder forecaster with a quantile head.

    Args:
        layers: encoder layers.
        heads: attention heads (must divide ``hidden``).
        **kwargs: see ``NeuralForecaster``.
    """

    name = "transformer"

    def __init__(self, layers: int = 1, heads: int = 4, **kwargs):
        super().__init__(**kwargs)
        if self.hidden % heads:
            raise ValueError(f"heads ({heads}) must divide hidden ({self.hidden}).")
        self.layers, self.heads = layers, heads

    def _build_net(self, n_context: int, n_future: int) -> nn.Module:
        return TransformerNet(n_context, n_future, self.L_, self.h, self.hidden, len(GRID), self.layers, self.heads)
