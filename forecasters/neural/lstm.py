"""LSTM forecaster: a recurrent encoder over the context window."""

from __future__ import annotations

import torch
from torch import nn

from forecasters.distribution import GRID
from forecasters.neural.base import NeuralForecaster
from forecasters.neural.heads import QuantileHead


class LSTMNet(nn.Module):
    """One- or two-layer LSTM over the context; the last hidden state is the embedding."""

    def __init__(self, n_context: int, n_future: int, h: int, hidden: int, n_q: int, layers: int):
        super().__init__()
        self.lstm = nn.LSTM(n_context, hidden, num_layers=layers, batch_first=True)
        self.head = QuantileHead(hidden, n_future, h, n_q, hidden)

    def forward(self, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(out[:, -1], f)


class LSTMForecaster(NeuralForecaster):
    """Global LSTM forecaster with a quantile head.

    Args:
        layers: stacked LSTM layers.
        **kwargs: see ``NeuralForecaster``.
    """

    name = "lstm"

    def __init__(self, layers: int = 1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layers, int) or layers < 1:
            raise ValueError(f"layers must be a positive integer, got {layers!r}.")
        self.layers = layers

    def _build_net(self, n_context: int, n_future: int) -> nn.Module:
        return LSTMNet(n_context, n_future, self.h, self.hidden, len(GRID), self.layers)
