"""Fidelity of a learned Recommend world: each policy's CTR, CVR and margin with a learned response model in the
loop (``shoppers.response_model = "learned:PATH"``) next to the same policy in the true world, on the same seeds.

A learned world is ``shopgym/Recommend-v0`` with the scenario's response model replaced by a saved conversion
model (``shopgym.plugins`` loads and checks it); everything else (catalog, shoppers, arrivals, stock,
restocking, the response draws' random stream) is the true world's. Its response model is tabulated
(``LearnedConversion.tabulate``: the same probabilities, one batched model call per context) so an episode of
tens of thousands of sessions runs in seconds. The same seed gives both worlds the same shoppers and the same
uniforms for the click/cart/purchase draws, so per-seed differences come from the model and from the policy's
reaction to it (common random numbers): the paired difference has a much tighter CI than either mean.

Metrics per episode (``shopgym.world.kpis.SESSION_KPIS``, from the last step's ``episode_kpis``): ``ctr``
(clicks per impression), ``conversion_rate`` (purchases per click, "CVR") and ``recommendation_margin``
(currency: price paid - unit cost of the units bought through recommendations; the env's reward).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

import shopgym  # noqa: F401  (registers the envs)
from shopgym.rollout import rollout
from shopgym.stats import mean_ci95

#: Per-episode metrics, in column order: clicks per impression, purchases per click, margin (currency).
METRICS = ("ctr", "conversion_rate", "recommendation_margin")
MARGIN = METRICS.index("recommendation_margin")


def recommend_env(scenario: str, model_path: str | Path | None = None, **keys):
    """``shopgym/Recommend-v0`` on ``scenario`` (scenario keys override by name), in the true world or, with
    ``model_path``, in the learned world of that saved conversion model (tabulated)."""
    if model_path is not None:
        keys["response_model"] = f"learned:{model_path}"
    env = gym.make("shopgym/Recommend-v0", scenario=scenario, **keys)
    if model_path is not None:
        env.unwrapped.world.response_model.tabulate()
    return env


def episode_metrics(env, policy, seeds: Sequence[int]) -> np.ndarray:
    """``(len(seeds), 3)``: ``METRICS`` of one episode of ``policy`` per seed (``shopgym.rollout.rollout``)."""
    rows = []
    for seed in seeds:
        kpis = rollout(env, policy, seed=int(seed)).kpis
        rows.append([kpis[m] for m in METRICS])
    return np.array(rows, dtype=float).reshape(len(seeds), len(METRICS))


def evaluate_policies(env, make: Callable[[str, object], object], names: Sequence[str], seeds: Sequence[int],
                      progress: Callable[[str], None] | None = None) -> dict[str, np.ndarray]:
    """``episode_metrics`` of each policy ``make(name, env)`` on ``env``, by name."""
    out = {}
    for name in names:
        if progress is not None:
            progress(name)
        out[name] = episode_metrics(env, make(name, env), seeds)
    return out


def share(part: float, whole: float) -> float:
    """``part / whole``, ``nan`` for a zero ``whole`` (a policy that earned nothing has no ratio)."""
    return float(part / whole) if whole != 0 else float("nan")


@dataclass(frozen=True)
class Comparison:
    """One policy in the learned world vs the true world, on the same seeds.

    ``true`` and ``learned``: ``(n, 3)`` per-episode ``METRICS``. ``ratio``: learned mean margin / true mean
    margin; ``ratio_half``: the half-width of its 95% CI from the paired per-seed differences (divided by the
    true mean, which is taken as known); ``error``: ``ratio - 1`` (signed relative margin error).
    """

    name: str
    true: np.ndarray
    learned: np.ndarray

    @property
    def ratio(self) -> float:
        return share(self.learned[:, MARGIN].mean(), self.true[:, MARGIN].mean())

    @property
    def ratio_half(self) -> float:
        diff = self.learned[:, MARGIN] - self.true[:, MARGIN]
        return share(mean_ci95(diff)[1], abs(self.true[:, MARGIN].mean())) if len(diff) > 1 else float("nan")

    @property
    def error(self) -> float:
        return self.ratio - 1.0

    def within(self, tolerance: float = 0.10) -> bool:
        """Whether the learned world's mean margin lies within ``tolerance`` (relative) of the true one."""
        return abs(self.error) <= tolerance


def compare(true: dict[str, np.ndarray], learned: dict[str, np.ndarray]) -> list[Comparison]:
    """One ``Comparison`` per policy present in both."""
    return [Comparison(name, true[name], learned[name]) for name in true if name in learned]


def mean_abs_error(rows: Sequence[Comparison]) -> float:
    """Mean over policies of |learned margin / true margin - 1| (a fraction)."""
    return float(np.mean([abs(r.error) for r in rows]))


def ci(values: np.ndarray, digits: int = 1, scale: float = 1.0) -> str:
    """``mean ± half-width`` of the 95% CI (``n/a`` for the half-width of one value)."""
    mean, half = mean_ci95(np.asarray(values, dtype=float) * scale)
    return f"{mean:.{digits}f} ± {half:.{digits}f}" if np.isfinite(half) else f"{mean:.{digits}f} ± n/a"


def fidelity_table(rows: Sequence[Comparison], tolerance: float = 0.10) -> str:
    """Markdown: per policy CTR (%), CVR (%) and margin in each world (mean ± 95% CI), the margin ratio and
    whether it is within ``tolerance``."""
    lines = ["| policy | CTR % true | CTR % learned | CVR % true | CVR % learned | margin true | margin learned "
             f"| learned / true (95% CI, paired) | within {tolerance:.0%} |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r.name} | {ci(r.true[:, 0], 2, 100)} | {ci(r.learned[:, 0], 2, 100)} | {ci(r.true[:, 1], 2, 100)} "
            f"| {ci(r.learned[:, 1], 2, 100)} | {ci(r.true[:, MARGIN])} | {ci(r.learned[:, MARGIN])} "
            f"| {r.ratio:.3f} ± {r.ratio_half:.3f} | {'yes' if r.within(tolerance) else 'no'} |")
    return "\n".join(lines)
