"""Probabilistic output head shared by the neural models: monotone quantiles trained with pinball loss."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class QuantileHead(nn.Module):
    """Maps an encoder embedding and per-step future features to ``n_q`` ordered quantiles per step.

    Per step ``k`` the input is ``[embedding, f_k, one_hot(k)]``; an MLP outputs the lowest quantile
    and ``n_q - 1`` softplus increments, so quantiles never cross. The last future feature is the
    baseline (the scaled seasonal-naive value, see ``windows``): outputs are the baseline plus the
    MLP's correction, in the window's scaled units (context mean absolute value = 1), so an
    untrained network starts near the seasonal naive forecast.

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
        inc = F.softplus(out[..., 1:] - 2.0)  # small initial spread
        q = torch.cat([torch.zeros_like(out[..., :1]), torch.cumsum(inc, -1)], dim=-1)
        centre = q[..., q.shape[-1] // 2 : q.shape[-1] // 2 + 1]
        return f[..., -1:] + out[..., :1] + q - centre  # the median starts at the baseline


def pinball_loss(pred: torch.Tensor, target: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Mean pinball (quantile) loss; ``pred (B, h, Q)``, ``target (B, h)``, ``levels (Q,)``; NaN targets ignored."""
    ok = torch.isfinite(target)
    diff = torch.where(ok, target, torch.zeros_like(target))[..., None] - pred
    loss = torch.maximum(levels * diff, (levels - 1) * diff)
    return (loss * ok[..., None]).sum() / (ok.sum() * len(levels)).clamp(min=1)
