"""The memory levers of a Recommend scenario under the PRIVILEGED myopic oracle, episode by episode: what
``benchmarks/recommend_memory.py`` measures (the "memory" section of docs/recommend.md).

``run`` plays the oracle on seeds 0 .. n-1 with every memory switch as shipped and with each switch off alone
(``settings``), recording per episode the margin, the expected margin (``OracleTally``), the sessions and the
satisfaction session factor, and the end-of-episode lever counts (``lever_counts``); ``lever_values`` gives each
switch's paired value (as shipped minus off). Records are cached by scenario content (``RECORD_VERSION``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from tqdm import tqdm

import shopgym  # noqa: F401
from agents.registry import make_policy
from shopgym.atomic import atomic_write_json
from shopgym.config import load_scenario
from shopgym.content import scenario_hash
from shopgym.errors import ScenarioError
from shopgym.rollout import rollout
from shopgym.stats import mean_ci95
from shopgym.world.memory import SATISFACTION_START, SEEN_CAP

#: The memory switches of ``[shoppers]`` (``shopgym.world.memory``), each turned off alone.
LEVERS = ("memory_fatigue", "memory_satisfaction", "memory_drift")
#: The policy measured: PRIVILEGED, the yardstick of the memory target of issue 15.
POLICY = "myopic_oracle"
#: Version of an episode record's fields (part of its ``--cache`` key: records of another version are replayed).
RECORD_VERSION = 2


def lever_counts(state, fatigue_rate: float, w: int = 0) -> dict[str, float]:
    """The memory levers of world ``w`` at the end of an episode, read from its ``ShopperState`` (counts unless
    said otherwise; fatigue figures are exact while no counter reached ``SEEN_CAP``):

    - ``shoppers``; ``churned``: shoppers who left for good; ``clicks``, ``purchases``: this episode's (the counts
      less the pre-episode record's).
    - ``satisfaction_mean``, ``satisfaction_p05/p50/p95`` (in [0, 1], starts at ``SATISFACTION_START``),
      ``satisfaction_moved``: mean |satisfaction - start|; ``below_start``, ``above_start``: shoppers below or above
      the start.
    - ``sessions``: this episode's sessions (visits less the pre-episode record's); ``sessions_per_shopper``
      (mean), ``no_session``, ``one_session``, ``several_sessions`` (shoppers with 0, 1, >= 2), ``most_sessions``.
    - ``impressions`` (with ``memory_fatigue``; else 0), ``fatigued``: impressions of an item the shopper had seen
      before (``seen > 0``), ``examination``: the mean fatigue factor ``exp(-fatigue_rate x seen)`` over
      impressions (1: none lost; 1 without impressions counted).
    - ``drifted``: shoppers with a drifted interest (> 0) in some category; ``interest_max`` (click log-odds).
    """
    h = state.history
    visits = state.visits[w] - (h.visits if h is not None else 0)
    clicks = state.clicks[w].sum() - (h.clicks.sum() if h is not None else 0)
    purchases = state.purchases[w].sum() - (h.purchases.sum() if h is not None else 0)
    sat = state.satisfaction[w]
    out = {"shoppers": float(len(sat)), "churned": float(state.churned[w].sum()),
           "clicks": float(clicks), "purchases": float(purchases),
           "satisfaction_mean": float(sat.mean()), "satisfaction_moved": float(np.abs(sat - SATISFACTION_START).mean()),
           "below_start": float((sat < SATISFACTION_START - 1e-9).sum()),
           "above_start": float((sat > SATISFACTION_START + 1e-9).sum()),
           "sessions": float(visits.sum()), "sessions_per_shopper": float(visits.mean()),
           "no_session": float((visits == 0).sum()), "one_session": float((visits == 1).sum()),
           "several_sessions": float((visits >= 2).sum()), "most_sessions": float(visits.max())}
    for q in (5, 50, 95):
        out[f"satisfaction_p{q:02d}"] = float(np.percentile(sat, q))
    impressions = fatigued = 0.0
    examined = 0.0
    if state.seen is not None:
        c = state.seen[w].astype(np.float64)  # final count per (shopper, item): its impressions saw 0 .. c - 1
        if (c >= SEEN_CAP).any():
            raise ScenarioError(f"an impression counter reached SEEN_CAP ({SEEN_CAP}): the fatigue figures would be "
                                "wrong; measure a shorter episode.")
        impressions, fatigued = c.sum(), np.maximum(c - 1, 0).sum()
        r = np.exp(-fatigue_rate)
        examined = (c.sum() if r == 1.0 else ((1 - r**c) / (1 - r)).sum())  # sum over impressions of r ** seen
    out.update(impressions=float(impressions), fatigued=float(fatigued),
               examination=float(examined / impressions) if impressions else 1.0)
    out["drifted"] = float((state.interest[w] > 0).any(-1).sum())
    out["interest_max"] = float(state.interest[w].max()) if state.interest[w].size else 0.0
    return out


class OracleTally:
    """A ``Policy`` that plays the myopic oracle ``policy`` (slates of one, no offers) and adds up the expected
    margin of every session it serves: the oracle's score of the item it shows, which is that item's p(click)
    p(cart | click) p(purchase | cart) x in stock x unit margin (currency) under the true model and the shopper's
    memory now (``RecommendEnv.privileged_expected_margin``, with the complement lift), the value
    ``scenarios.expected_margin.session_expectation`` gives it, at a fraction of the cost (no second model call).
    ``expected_margin``: the episode's sum so far (currency). ``session_scale``: per day served so far, the factor
    by which satisfaction scaled the mean of the day's session count when it was drawn (the shoppers' mean
    satisfaction, a churned one counting 0, over ``SATISFACTION_START``; 1 without ``memory_satisfaction``), read at
    the day's first session (nothing has been shown that day yet)."""

    def __init__(self, policy, env):
        self.env = env.unwrapped
        view = self.env.view
        if view.slate_size != 1 or view.coupons or view.bundles:
            raise ScenarioError(f"the oracle's tally covers slates of one item without offers; got slate_size "
                                f"{view.slate_size}, coupons {view.coupons}, bundles {view.bundles}: set "
                                "slate_size = 1 and shoppers.coupons/bundles = false.")
        self.policy, self.expected_margin, self.session_scale, self._day = policy, 0.0, [], -1

    def reset(self, seed: int | None = None) -> None:
        """Reset the oracle and the sums."""
        self.policy.reset(seed)
        self.expected_margin, self.session_scale, self._day = 0.0, [], -1

    def act(self, obs):
        world = self.env.world
        if world.day != self._day:
            self._day = world.day
            weights = world.shopper_state.visit_weights(0)
            self.session_scale.append(1.0 if weights is None else float(weights.mean()) / SATISFACTION_START)
        action = self.policy.act(obs)
        self.expected_margin += float(self.policy.scores(obs)[int(action)])
        return action


def episode(env, policy, seed: int) -> dict[str, float]:
    """One episode of the myopic oracle ``policy`` on ``seed``: ``margin`` and ``expected_margin`` (currency, at
    ``reward_scale`` 1; ``OracleTally``), ``steps`` (sessions served), ``session_scale`` and ``session_scale_last``
    (the mean over the days, and the last day's, of ``OracleTally.session_scale``), and ``lever_counts``."""
    base = env.unwrapped
    tally = OracleTally(policy, env)
    ep = rollout(env, tally, seed=seed)
    scale = base.scenario.env.reward_scale
    out = {"margin": ep.episode_return / scale, "expected_margin": tally.expected_margin, "steps": float(ep.length),
           "session_scale": float(np.mean(tally.session_scale)), "session_scale_last": tally.session_scale[-1]}
    out.update(lever_counts(base.world.shopper_state, base.scenario.shoppers.fatigue_rate))
    return out


def settings(scenario: str) -> dict[str, dict[str, bool]]:
    """Setting name -> overrides: ``as shipped`` (none), then ``LEVER off`` for each switch the scenario turns on."""
    shoppers = load_scenario(scenario).shoppers
    out = {"as shipped": {}}
    out.update({f"{lever} off": {lever: False} for lever in LEVERS if getattr(shoppers, lever)})
    return out


def run(scenario: str, seeds: int, cache: Path | None = None) -> dict[str, list[dict[str, float]]]:
    """Per setting (``settings``), the ``episode`` records of the myopic oracle on seeds 0 .. seeds-1, each with
    ``wall_s`` (seconds it took to play). ``cache``: a JSON file of records already played, keyed by the setting's
    ``scenario_hash``, the policy and the seed (read if it exists; each new record is added at once, atomically),
    so an interrupted or re-worded run replays nothing it has; ``None``: play everything."""
    store = json.loads(cache.read_text()) if cache is not None and cache.exists() else {}
    out = {}
    for name, overrides in settings(scenario).items():
        sc = load_scenario(scenario, **overrides)
        env = gym.make("shopgym/Recommend-v0", scenario=sc)
        policy = make_policy(POLICY, env)
        out[name] = []
        for seed in tqdm(range(seeds), desc=f"{scenario}, {name}", leave=False):
            key = f"{scenario_hash(sc)}/{POLICY}/{seed}/v{RECORD_VERSION}"
            if key not in store:
                start = time.perf_counter()
                store[key] = {**episode(env, policy, seed), "wall_s": time.perf_counter() - start}
                if cache is not None:
                    atomic_write_json(cache, store)
                rec = store[key]
                print(f"{name}, seed {seed}: margin {rec['margin']:.1f}, expected {rec['expected_margin']:.1f}, "
                      f"{rec['steps']:,.0f} sessions, {rec['wall_s']:.1f} s", flush=True)
            out[name].append(store[key])
    return out


def column(records: list[dict[str, float]], key: str) -> np.ndarray:
    """The per-seed values of ``key`` across ``records`` (one per seed)."""
    return np.array([r[key] for r in records])


def ci(values: np.ndarray, digits: int = 1) -> str:
    """``mean ± 95% half-width`` of per-seed values."""
    mean, half = mean_ci95(values)
    return f"{mean:,.{digits}f} ± {half:,.{digits}f}"


def lever_values(res: dict[str, list[dict[str, float]]], key: str = "margin") -> dict[str, tuple[float, float]]:
    """Per switched-off lever: the paired difference as shipped minus off of ``key`` over the seeds (mean, 95%
    half-width; currency for the margins): what the effect is worth to the myopic oracle."""
    ref = column(res["as shipped"], key)
    return {name.removesuffix(" off"): mean_ci95(ref - column(recs, key))
            for name, recs in res.items() if name != "as shipped"}
