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
(currency: price paid - unit cost of the units bought through recommendations; the env's reward, realised from
a few sampled purchases), then ``expected_margin`` (currency: the same episode's sum of expected session margins
under the world's OWN response model, ``scenarios.expected_margin``: its noise-free counterpart, what the world
"believes" the policy earns) and ``expected_ctr`` (expected clicks per impression).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

import shopgym  # noqa: F401  (registers the envs)
from scenarios.expected_margin import Measured
from shopgym.rollout import rollout
from shopgym.stats import mean_ci95, ratio_ci, share  # noqa: F401  (ratio_ci, share: re-exported, their old home)

#: Per-episode metrics, in column order: clicks per impression, purchases per click, realised margin (currency),
#: expected margin (currency), expected clicks per impression.
METRICS = ("ctr", "conversion_rate", "recommendation_margin", "expected_margin", "expected_ctr")
MARGIN = METRICS.index("recommendation_margin")
EXPECTED = METRICS.index("expected_margin")


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
    """``(len(seeds), len(METRICS))``: ``METRICS`` of one episode of ``policy`` per seed (``shopgym.rollout.rollout``
    of the policy wrapped in ``scenarios.expected_margin.Measured``)."""
    measured = Measured(policy, env)
    rows = []
    for seed in seeds:
        kpis = rollout(env, measured, seed=int(seed)).kpis
        ctr = measured.expected_clicks / measured.impressions if measured.impressions else 0.0
        rows.append([*(kpis[m] for m in METRICS[:3]), measured.expected_margin, ctr])
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


@dataclass(frozen=True)
class Comparison:
    """One policy in the learned world vs the true world, on the same seeds.

    ``true`` and ``learned``: ``(n, len(METRICS))`` per-episode ``METRICS``. ``ratio``: learned mean EXPECTED margin
    (under the learned model) / true mean expected margin (under the true model); ``ratio_half``: the half-width of
    its paired 95% CI (``ratio_ci``); ``error``: ``ratio - 1`` (signed relative margin error).
    """

    name: str
    true: np.ndarray
    learned: np.ndarray

    @property
    def ratio(self) -> float:
        return ratio_ci(self.learned[:, EXPECTED], self.true[:, EXPECTED])[0]

    @property
    def ratio_half(self) -> float:
        return ratio_ci(self.learned[:, EXPECTED], self.true[:, EXPECTED])[1]

    @property
    def error(self) -> float:
        return self.ratio - 1.0

    def within(self, tolerance: float = 0.10) -> bool:
        """Whether the learned world's mean expected margin lies within ``tolerance`` (relative) of the true one."""
        return abs(self.error) <= tolerance

    def verdict(self, tolerance: float = 0.10) -> str:
        """``"shown"``: the whole 95% CI of the ratio lies within ``1 ± tolerance``; ``"refuted"``: it lies wholly
        outside; ``"open"``: the CI straddles a bound (more seeds would decide)."""
        lo, hi = self.ratio - self.ratio_half, self.ratio + self.ratio_half
        if 1 - tolerance <= lo and hi <= 1 + tolerance:
            return "shown"
        if hi < 1 - tolerance or lo > 1 + tolerance:
            return "refuted"
        return "open"


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
    """Markdown: per policy the expected CTR (%) and expected margin in each world (mean ± 95% CI over seeds), the
    margin ratio with its paired CI, whether it is within ``tolerance`` (and what the CI shows: ``verdict``), and
    the realised margins for reference."""
    lines = ["| policy | E[CTR] % true | E[CTR] % learned | E[margin] true | E[margin] learned "
             f"| learned / true (paired 95% CI) | within {tolerance:.0%} (CI) | realised margin true "
             "| realised margin learned |",
             "|---|---|---|---|---|---|---|---|---|"]
    ctr = METRICS.index("expected_ctr")
    for r in rows:
        lines.append(
            f"| {r.name} | {ci(r.true[:, ctr], 2, 100)} | {ci(r.learned[:, ctr], 2, 100)} "
            f"| {ci(r.true[:, EXPECTED])} | {ci(r.learned[:, EXPECTED])} | {r.ratio:.3f} ± {r.ratio_half:.3f} "
            f"| {'yes' if r.within(tolerance) else 'no'} ({r.verdict(tolerance)}) | {ci(r.true[:, MARGIN])} "
            f"| {ci(r.learned[:, MARGIN])} |")
    return "\n".join(lines)
