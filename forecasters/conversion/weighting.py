"""Combining per-task losses: fixed weights or uncertainty weighting (Kendall, Gal & Cipolla 2018)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

WEIGHTINGS = ("fixed", "uncertainty")


class LossWeighting(nn.Module):
    """``total = sum_k w_k L_k`` (fixed) or ``sum_k exp(-s_k) L_k + s_k / 2`` with learned ``s_k`` (uncertainty).

    ``s_k`` is the log variance of task ``k``; a noisy task (high loss floor) gets a lower weight.

    Args:
        n_tasks: number of tasks.
        mode: ``"fixed"`` or ``"uncertainty"``.
        weights: fixed weights (default all 1); with ``"uncertainty"`` they scale the learned weights.
    """

    def __init__(self, n_tasks: int, mode: str = "fixed", weights: Sequence[float] | None = None):
        super().__init__()
        if mode not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {mode!r}.")
        w = torch.ones(n_tasks) if weights is None else torch.as_tensor(list(weights), dtype=torch.float32)
        if w.shape != (n_tasks,) or (w < 0).any():
            raise ValueError(f"loss_weights must be {n_tasks} non-negative numbers, got {weights!r}.")
        self.mode = mode
        self.register_buffer("weights", w)
        self.log_vars = nn.Parameter(torch.zeros(n_tasks), requires_grad=mode == "uncertainty")

    def forward(self, losses: torch.Tensor) -> torch.Tensor:
        if self.mode == "fixed":
            return (self.weights * losses).sum()
        return (self.weights * (torch.exp(-self.log_vars) * losses + 0.5 * self.log_vars)).sum()

    def current(self) -> list[float]:
        """The effective weight of each task now."""
        if self.mode == "fixed":
            return self.weights.tolist()
        return (self.weights * torch.exp(-self.log_vars)).detach().tolist()
