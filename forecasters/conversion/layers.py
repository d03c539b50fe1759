"""Small building blocks shared by the networks: an MLP and a per-task tower."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


def mlp(n_in: int, hidden: Sequence[int], dropout: float = 0.0) -> nn.Sequential:
    """``Linear -> ReLU (-> Dropout)`` per entry of ``hidden``; an empty ``hidden`` is the identity."""
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(n_in, h), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        n_in = h
    return nn.Sequential(*layers)


def out_dim(n_in: int, hidden: Sequence[int]) -> int:
    """Width of ``mlp(n_in, hidden)``'s output."""
    return hidden[-1] if len(hidden) else n_in


def tower(n_in: int, hidden: Sequence[int]) -> nn.Sequential:
    """A task tower: an MLP ending in one logit."""
    return nn.Sequential(mlp(n_in, hidden), nn.Linear(out_dim(n_in, hidden), 1))
