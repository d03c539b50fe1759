"""GradNorm loss weighting (Chen et al. 2018): the update is the paper's, training stays deterministic."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forecasters.conversion import MODELS, make_model
from forecasters.conversion.weighting import LossWeighting, gradnorm_parameters

from .conformance import FAST, check_model


def _losses(W):
    """Two task losses of one shared 2x2 weight: L1 = sum(W), L2 = 3 sum(W^2) (gradients 1 and 6 W per entry)."""
    return torch.stack([W.sum(), 3 * (W**2).sum()])


def test_gradnorm_loss_is_the_papers_by_hand():
    lw = LossWeighting(2, "gradnorm", alpha=1.0)
    W = torch.ones(2, 2, requires_grad=True)
    lw.gradnorm_loss(_losses(W), [W])  # records L(0) = (4, 12)
    np.testing.assert_allclose(lw.initial_losses.numpy(), [4.0, 12.0])
    W2 = torch.full((2, 2), 0.5, requires_grad=True)
    # L = (2, 3): ratios (0.5, 0.25), relative rates r = (4/3, 2/3); grad norms G = (||1||, ||6 W||) = (2, 6),
    # mean 4, targets 4 r = (16/3, 8/3): L_grad = |2 - 16/3| + |6 - 8/3| = 20/3, d/dw = (-2, +6).
    lg = lw.gradnorm_loss(_losses(W2), [W2])
    assert float(lg.detach()) == pytest.approx(20 / 3, rel=1e-6)
    (g,) = torch.autograd.grad(lg, [lw.task_weights])
    np.testing.assert_allclose(g.numpy(), [-2.0, 6.0], rtol=1e-6)


def test_gradnorm_renormalises_to_the_weight_sum():
    lw = LossWeighting(3, "gradnorm", weights=[1.0, 2.0, 1.0])
    with torch.no_grad():
        lw.task_weights.copy_(torch.tensor([3.0, -1.0, 1.0]))
    lw.renormalise()
    np.testing.assert_allclose(lw.current(), [3.0, 0.0, 1.0])  # clipped at 0, then scaled to sum 4


def test_gradnorm_loss_drives_weights_toward_the_slow_task():
    """The lagging task (smaller loss drop) gets a larger weight after a gradient step on L_grad."""
    lw = LossWeighting(2, "gradnorm", alpha=1.0)
    W = torch.ones(2, 2, requires_grad=True)
    lw.gradnorm_loss(torch.stack([W.sum(), W.sum()]), [W])  # equal norms and L(0)
    W2 = torch.full((2, 2), 0.5, requires_grad=True)
    lg = lw.gradnorm_loss(torch.stack([W2.sum(), W2.sum() + 2]), [W2])  # task 2 lags: loss ratio 1 vs 0.5
    (g,) = torch.autograd.grad(lg, [lw.task_weights])  # G = (2, 2), targets 2 r = (4/3, 8/3): d/dw = (+2, -2)
    np.testing.assert_allclose(g.numpy(), [2.0, -2.0], rtol=1e-6)
    with torch.no_grad():
        lw.task_weights -= 0.1 * g
    lw.renormalise()
    w = lw.current()
    np.testing.assert_allclose(w, [0.8, 1.2], rtol=1e-6)


def test_gradnorm_parameters_are_the_last_shared_matrix():
    net = make_model("shared_bottom", **FAST)._build(5)
    assert gradnorm_parameters(net) == [net.bottom[-2].weight]
    unshared = make_model("mlp", **FAST)._build(5)
    assert len(gradnorm_parameters(unshared)) == len(list(unshared.parameters()))


def test_conformance_gradnorm(tiny_logs, tmp_path):
    check_model(MODELS["shared_bottom"], tiny_logs, tmp_path, weighting="gradnorm")


def test_gradnorm_weights_move_and_are_deterministic(tiny_logs):
    a = make_model("shared_bottom", weighting="gradnorm", **FAST).fit(tiny_logs)
    b = make_model("shared_bottom", weighting="gradnorm", **FAST).fit(tiny_logs)
    w = a.weighting_.current()
    assert w == b.weighting_.current() and sum(w) == pytest.approx(3.0, rel=1e-5)
    assert not np.allclose(w, 1.0)
    np.testing.assert_array_equal(a.predict_proba(tiny_logs), b.predict_proba(tiny_logs))


def test_gradnorm_bad_alpha():
    with pytest.raises(ValueError, match="gradnorm_alpha"):
        make_model("shared_bottom", weighting="gradnorm", gradnorm_alpha=-1)
