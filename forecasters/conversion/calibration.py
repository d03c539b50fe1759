"""``FunnelCalibration``: post-hoc Platt recalibration of a conversion model, per stage of the nested funnel.

A fitted model may rank well and still be off on average (a purchase head that says 0.84 of the true
probability). Recalibration fixes the level, not the ranking: on logs the model was NOT fitted on, it fits per
funnel stage ``k`` a 2-parameter logistic map of the model's own conditional logit,

    p'(stage k | stage k-1) = sigmoid(scale_k * logit(p(stage k | stage k-1)) + shift_k),

by maximum likelihood on the rows that reached stage ``k - 1`` (p(click) on every impression, p(cart | click) on
clicked ones, p(purchase | cart) on carted ones; Platt 1999). The calibrated joint probabilities are the running
products of the calibrated conditionals, so they stay nested (purchase <= cart <= click). Identity:
``scale = 1``, ``shift = 0``.

The fit is a few damped Newton steps in numpy (two parameters a stage; no randomness). The result is plain data
(``state()`` / ``from_state``), saved with the model's weights (``ConversionModel.save``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import expit

from shopgym.errors import DataError
from shopgym.world.response import joint_to_funnel

#: Conditional probabilities are clipped to ``[EPS, 1 - EPS]`` before their logit is taken.
EPS = 1e-7
#: Newton iterations at most per stage, and the change in (scale, shift) under which the fit has converged.
MAX_ITER, TOL = 100, 1e-10
#: A fitted |scale| beyond this means the stage's outcomes are (nearly) separated by the model's score (a backstop:
#: exact separation is refused before the fit, ``separated``).
MAX_SCALE = 1e3


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` without overflow, to full relative precision however negative ``z`` is."""
    return expit(z)


def _nll(z: np.ndarray, y: np.ndarray, scale: float, shift: float) -> float:
    """Mean negative log likelihood (nats per row) of ``y`` under ``sigmoid(scale z + shift)``."""
    t = scale * z + shift
    return float(np.mean(np.logaddexp(0.0, t) - y * t))


def separated(z: np.ndarray, y: np.ndarray) -> bool:
    """Whether the score ``z`` separates the 0/1 outcomes ``y`` (both classes present): every negative scores at most
    every positive, or every positive at most every negative, and ``z`` is not one constant. Exactly then the
    likelihood of ``sigmoid(scale z + shift)`` keeps rising as ``|scale|`` grows: no maximum likelihood estimate
    exists (complete or quasi-complete separation; Albert and Anderson 1984)."""
    neg, pos = z[y == 0], z[y == 1]
    if np.ptp(z) == 0:  # one score for every row: the scale is not identified, but the likelihood is bounded
        return False
    return bool(neg.max() <= pos.min() or pos.max() <= neg.min())


def fit_platt(z: np.ndarray, y: np.ndarray, stage: str = "stage") -> tuple[float, float]:
    """``(scale, shift)`` maximising the likelihood of 0/1 outcomes ``y`` under ``sigmoid(scale z + shift)``.

    Newton's method from the identity ``(1, 0)``, each step halved until the likelihood does not fall. Raises
    ``DataError`` (naming ``stage`` and the fix) when ``y`` holds only one class or the outcomes are separated by
    ``z`` (``separated``: the maximum likelihood estimate does not exist), checked before the fit.
    """
    z, y = np.asarray(z, dtype=float), np.asarray(y, dtype=float)
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        which = "no positive" if n_pos == 0 else "no negative"
        raise DataError(f"the calibration logs hold {which} {stage} outcome among the {len(y):,} rows that reach "
                        f"this stage, so its calibration cannot be fitted; give more (or more varied) calibration "
                        "logs, e.g. more impressions of the same logging policy.")
    if separated(z, y):
        raise DataError(f"the {stage} outcomes of the calibration logs are separated by the model's score (all "
                        f"{n_pos:,} positive and {len(y) - n_pos:,} negative rows lie on either side of one score), so "
                        "no calibration exists (its scale would grow without bound); give more calibration logs, e.g. "
                        "more impressions of the same logging policy.")
    theta = np.array([1.0, 0.0])
    loss = _nll(z, y, *theta)
    for _ in range(MAX_ITER):
        p = _sigmoid(theta[0] * z + theta[1])
        r, w = p - y, p * (1 - p)
        grad = np.array([np.mean(r * z), np.mean(r)])
        hess = np.array([[np.mean(w * z * z), np.mean(w * z)], [np.mean(w * z), np.mean(w)]])
        try:
            step = np.linalg.solve(hess + 1e-12 * np.eye(2), grad)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        while t > 1e-8:
            cand = theta - t * step
            new = _nll(z, y, *cand)
            if np.isfinite(new) and new <= loss + 1e-15:
                break
            t *= 0.5
        else:
            break  # no step lowers the loss: at the optimum to machine precision
        done = np.max(np.abs(cand - theta)) < TOL
        theta, loss = cand, new
        if done:
            break
    if not np.isfinite(theta).all() or abs(theta[0]) > MAX_SCALE:
        raise DataError(f"the {stage} outcomes of the calibration logs are separated by the model's score (scale "
                        f"{theta[0]:.3g}), so no calibration exists; give more calibration logs.")
    return float(theta[0]), float(theta[1])


class FunnelCalibration:
    """Per-stage Platt recalibration of a nested funnel's probabilities (see the module docstring).

    Args:
        stages: the funnel's label columns in order (e.g. ``("click", "cart", "purchase")``).

    Fitted attributes: ``scale_`` and ``shift_`` (one float per stage), ``n_`` (rows each stage was fitted on)
    and ``positives_`` (their positive outcomes).
    """

    def __init__(self, stages: Sequence[str]):
        if isinstance(stages, str) or len(stages) < 1 or len(set(stages)) != len(stages):
            raise ValueError(f"stages must be a list of distinct label column names, got {stages!r}.")
        self.stages = tuple(stages)

    def fit(self, joint: np.ndarray, labels: np.ndarray) -> FunnelCalibration:
        """Fit on a model's joint probabilities ``(n, n_stages)`` (p(click), p(cart), p(purchase) per row) and the
        rows' nested 0/1 ``labels`` of the same shape; returns ``self``."""
        joint, labels = np.asarray(joint, dtype=float), np.asarray(labels, dtype=float)
        k = len(self.stages)
        if joint.ndim != 2 or joint.shape[1] != k or labels.shape != joint.shape:
            raise ValueError(f"joint {joint.shape} and labels {labels.shape} must both be (n, {k}).")
        cond = joint_to_funnel(joint)
        reached = np.ones(len(labels), dtype=bool)
        self.scale_, self.shift_, self.n_, self.positives_ = [], [], [], []
        for j, stage in enumerate(self.stages):
            what = stage if j == 0 else f"{stage} (given {self.stages[j - 1]})"
            scale, shift = fit_platt(_logit(cond[reached, j]), labels[reached, j], what)
            self.scale_.append(scale)
            self.shift_.append(shift)
            self.n_.append(int(reached.sum()))
            self.positives_.append(int(labels[reached, j].sum()))
            reached &= labels[:, j] == 1
        return self

    def transform(self, joint: np.ndarray) -> np.ndarray:
        """Calibrated joint probabilities ``(n, n_stages)``: running products of the calibrated conditionals."""
        joint = np.asarray(joint, dtype=float)
        cond = joint_to_funnel(joint) if len(joint) else joint.reshape(0, len(self.stages))
        out = _sigmoid(np.asarray(self.scale_) * _logit(cond) + np.asarray(self.shift_))
        return np.cumprod(out, axis=1)

    def key(self) -> tuple:
        """``(stages, scales, shifts)`` as tuples: equal keys map equal probabilities equally (hashable)."""
        return self.stages, tuple(float(v) for v in self.scale_), tuple(float(v) for v in self.shift_)

    def state(self) -> dict:
        """Plain data (lists, floats, ints): what ``ConversionModel.save`` stores."""
        return {"method": "platt", "stages": list(self.stages), "scale": list(self.scale_), "shift": list(self.shift_),
                "n": list(self.n_), "positives": list(self.positives_)}

    @classmethod
    def from_state(cls, state: dict) -> FunnelCalibration:
        """The calibration ``state()`` describes (``KeyError`` / ``ValueError`` when it is not one)."""
        if state.get("method") != "platt":
            raise ValueError(f"unknown calibration method {state.get('method')!r} (this version knows 'platt').")
        cal = cls(state["stages"])
        k = len(cal.stages)
        cal.scale_, cal.shift_ = [float(v) for v in state["scale"]], [float(v) for v in state["shift"]]
        cal.n_, cal.positives_ = [int(v) for v in state["n"]], [int(v) for v in state["positives"]]
        if not (len(cal.scale_) == len(cal.shift_) == len(cal.n_) == len(cal.positives_) == k):
            raise ValueError(f"a calibration of {k} stages needs {k} scales, shifts and counts each.")
        return cal

    def __repr__(self) -> str:
        fitted = ", ".join(f"{s}: {a:.3f} z {b:+.3f}" for s, a, b in zip(self.stages, getattr(self, "scale_", []),
                                                                         getattr(self, "shift_", []), strict=False))
        return f"FunnelCalibration({fitted or 'unfitted'})"
