"""Probabilistic output head shared by the neural models: monotone quantiles trained with pinball loss."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class QuantileHead(nn.Module):
    """Maps an encoder embedding and per-step future features to ``n_q`` ordered quantiles per step.

    Per step ``k`` the input is ``[embedding, f_k, one_hot(k)]``; an MLP outputs the lowest quantile
    and ``n_q - 1`` softplus increments, so quantiles never cross (outputs are in the window's
    scaled units, where the context's mean absolute value is 1).

    Args:
        embed_dim: size of the encoder's embedding.
        future_dim: number of future features per step.
        h: number of steps forecast at once.
        n_q: number of quantile levels.
        hidden: width of the MLP.
    """

    def __init__(self, embed_dim: int, future_dim: int, h: int, n_q: int, hidden: int):
        super().__init__()
        self.h = h
        self.mlp = nn.Sequential(nn.Linear(embed_dim + future_dim + h, hidden), nn.ReLU(), nn.Linear(hidden, n_q))

    def forward(self, emb: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        b = emb.shape[0]
        pos = torch.eye(self.h, dtype=emb.dtype, device=emb.device).expand(b, -1, -1)
        z = torch.cat([emb[:, None, :].expand(-1, self.h, -1), f, pos], dim=-1)
        out = self.mlp(z)
        low = out[..., :1] + 1.0  # targets are scaled to mean |y| = 1 over the context: start there
        return torch.cat([low, low + torch.cumsum(F.softplus(out[..., 1:]), -1)], dim=-1)


def pinball_loss(pred: torch.Tensor, target: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Mean pinball (quantile) loss; ``pred (B, h, Q)``, ``target (B, h)``, ``levels (Q,)``; NaN targets ignored."""
    ok = torch.isfinite(target)
    diff = torch.where(ok, target, torch.zeros_like(target))[..., None] - pred
    loss = torch.maximum(levels * diff, (levels - 1) * diff)
    return (loss * ok[..., None]).sum() / (ok.sum() * len(levels)).clamp(min=1)
