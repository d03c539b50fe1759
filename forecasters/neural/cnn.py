"""CNN forecaster: a stack of dilated causal 1-D convolutions (WaveNet/TCN style)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from forecasters.distribution import GRID
from forecasters.neural.base import NeuralForecaster
from forecasters.neural.heads import QuantileHead


class CausalConvNet(nn.Module):
    """Dilated causal convolutions (kernel 2, dilations 1, 2, 4, ... until the receptive field
    covers the context), residual connections; the last step's channels are the embedding."""

    def __init__(self, n_context: int, n_future: int, input_size: int, h: int, hidden: int, n_q: int):
        super().__init__()
        self.inp = nn.Conv1d(n_context, hidden, 1)
        self.dilations = []
        d = 1
        while True:
            self.dilations.append(d)
            if 2 * d >= input_size:
                break
            d *= 2
        self.convs = nn.ModuleList(nn.Conv1d(hidden, hidden, 2, dilation=d) for d in self.dilations)
        self.head = QuantileHead(hidden, n_future, h, n_q, hidden)

    def forward(self, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        z = self.inp(x.transpose(1, 2))  # (B, hidden, L)
        for d, conv in zip(self.dilations, self.convs, strict=True):
            z = z + F.relu(conv(F.pad(z, (d, 0))))  # left padding keeps it causal
        return self.head(z[:, :, -1], f)


class CNNForecaster(NeuralForecaster):
    """Global CNN forecaster (dilated causal convolutions + quantile head); see ``NeuralForecaster``."""

    name = "cnn"

    def _build_net(self, n_context: int, n_future: int) -> nn.Module:
        return CausalConvNet(n_context, n_future, self.L_, self.h, self.hidden, len(GRID))
