"""Combining per-task losses: fixed weights, uncertainty weighting (Kendall, Gal & Cipolla 2018) or
GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

WEIGHTINGS = ("fixed", "uncertainty", "gradnorm")

#: GradNorm's default asymmetry ``alpha`` (the paper's value for its multi-task NYUv2 runs).
GRADNORM_ALPHA = 1.5


class LossWeighting(nn.Module):
    """How the per-task losses ``L_k`` become one training loss.

    * ``"fixed"``: ``total = sum_k w_k L_k`` with the given weights ``w_k``.
    * ``"uncertainty"``: ``sum_k w_k (exp(-s_k) L_k + s_k / 2)`` with learned log variances ``s_k``: a noisy
      task (high loss floor) gets a lower weight.
    * ``"gradnorm"``: ``sum_k g_k L_k`` with task weights ``g_k`` (start at ``w_k``) that GradNorm moves at
      every step (``gradnorm_loss``) so that each task's gradient norm on the last shared layer ``W``,
      ``G_k = ||grad_W g_k L_k||``, approaches ``mean_j G_j * r_k ** alpha``, where ``r_k`` is task ``k``'s
      loss ratio ``L_k(t) / L_k(0)`` divided by the mean ratio: a task that trains more slowly gets a larger
      gradient. After every update the weights are renormalised to sum to ``sum_k w_k``.

    Args:
        n_tasks: number of tasks.
        mode: one of ``WEIGHTINGS``.
        weights: fixed weights (default all 1); with ``"uncertainty"`` they scale the learned weights, with
            ``"gradnorm"`` they are the starting weights and fix their sum.
        alpha: GradNorm's asymmetry (>= 0; 0 equalises the gradient norms whatever the training rates).
    """

    def __init__(self, n_tasks: int, mode: str = "fixed", weights: Sequence[float] | None = None,
                 alpha: float = GRADNORM_ALPHA):
        super().__init__()
        if mode not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {mode!r}.")
        w = torch.ones(n_tasks) if weights is None else torch.as_tensor(list(weights), dtype=torch.float32)
        if w.shape != (n_tasks,) or (w < 0).any():
            raise ValueError(f"loss_weights must be {n_tasks} non-negative numbers, got {weights!r}.")
        if not (float(alpha) >= 0 and float(alpha) < float("inf")):
            raise ValueError(f"gradnorm_alpha must be a finite number >= 0, got {alpha!r}.")
        if mode == "gradnorm" and not float(w.sum()) > 0:
            raise ValueError("GradNorm needs loss_weights with a positive sum (they fix the sum of the task weights).")
        self.mode, self.alpha = mode, float(alpha)
        self.register_buffer("weights", w)
        self.log_vars = nn.Parameter(torch.zeros(n_tasks), requires_grad=mode == "uncertainty")
        if mode == "gradnorm":  # only then, so files saved with the other modes load unchanged
            self.task_weights = nn.Parameter(w.clone())
            self.register_buffer("initial_losses", torch.full((n_tasks,), float("nan")))

    def forward(self, losses: torch.Tensor) -> torch.Tensor:
        if self.mode == "fixed":
            return (self.weights * losses).sum()
        if self.mode == "gradnorm":  # the weights are GradNorm's to move, not the task loss's
            return (self.task_weights.detach() * losses).sum()
        return (self.weights * (torch.exp(-self.log_vars) * losses + 0.5 * self.log_vars)).sum()

    def gradnorm_loss(self, losses: torch.Tensor, shared: Sequence[torch.Tensor]) -> torch.Tensor:
        """GradNorm's ``L_grad = sum_k |G_k - mean_j G_j * r_k ** alpha|`` for this step (see the class docstring).

        ``losses`` (n_tasks,) must still hold their graph to the tensors ``shared`` (``gradnorm_parameters``); the
        target ``mean_j G_j * r_k ** alpha`` is a constant, as in the paper, so only ``G_k`` carries gradient
        (to ``task_weights`` and, through ``create_graph``, nothing else is updated from it). The first call
        records ``L_k(0)``.
        """
        if torch.isnan(self.initial_losses).any():
            self.initial_losses.copy_(losses.detach().clamp_min(1e-12))
        norms = []
        for k in range(len(losses)):
            grads = torch.autograd.grad(losses[k], list(shared), retain_graph=True, create_graph=True, allow_unused=True)
            sq = [(g**2).sum() for g in grads if g is not None]
            norms.append(torch.sqrt(torch.stack(sq).sum() + 1e-20) if sq else torch.zeros(()))
        G = self.task_weights * torch.stack(norms)
        ratio = losses.detach() / self.initial_losses
        r = ratio / ratio.mean()
        target = (G.detach().mean() * r**self.alpha).detach()
        return (G - target).abs().sum()

    @torch.no_grad()
    def renormalise(self) -> None:
        """GradNorm: clip the task weights at 0 and rescale them to sum to ``sum_k w_k`` (after each update)."""
        tw = self.task_weights.clamp_min_(0.0)
        tw.mul_(self.weights.sum() / tw.sum().clamp_min(1e-12))

    def current(self) -> list[float]:
        """The effective weight of each task now."""
        if self.mode == "fixed":
            return self.weights.tolist()
        if self.mode == "gradnorm":
            return self.task_weights.detach().tolist()
        return (self.weights * torch.exp(-self.log_vars)).detach().tolist()


def gradnorm_parameters(net: nn.Module) -> list[torch.Tensor]:
    """What GradNorm measures task gradients on: the last shared weight matrix (the last ``ndim >= 2`` tensor of
    the network's ``shared_parameters()``, as in the paper); a network that shares nothing (one model per task:
    ``lr``, ``mlp``, ``soft_sharing``) uses all its parameters, so ``G_k`` is the norm of task ``k``'s own gradient."""
    shared = [p for p in getattr(net, "shared_parameters", lambda: [])() if p.ndim >= 2]
    return shared[-1:] if shared else list(net.parameters())
