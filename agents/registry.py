"""Policies by name: ``make_policy("sS", env)``; trained agents by ``"sb3:DIR"``, ``"dqn:DIR"`` or ``"dqn-sku:DIR"``;
greedy under a learned conversion model by ``"learned_greedy:PATH"`` (Recommend)."""

from __future__ import annotations

from agents import heuristics as h
from agents.ads_heuristics import ADS_POLICIES, ADS_TUNED
from agents.exact import exact_reason, is_newsvendor
from agents.policy import Policy
from agents.recommend_bandits import BANDIT_POLICIES
from agents.recommend_heuristics import RECOMMEND_POLICIES
from agents.tuning import GRIDS, tune
from shopgym.config import Scenario
from shopgym.errors import ShopgymError
from shopgym.registry import Entry, lookup

#: Built-in policies (``shopgym.registry`` style): name -> Entry(class built with the env's view, description).
POLICIES: dict[str, Entry] = {
    "random": Entry(h.RandomPolicy, "uniformly random orders"),
    "base_stock": Entry(h.BaseStockPolicy, "order up to mean lead-time demand + z x std (z tuned on training seeds)"),
    "sS": Entry(h.SSPolicy, "(s, S): below s order up to S (safety factor and days of cover tuned on training seeds)"),
    "critical_fractile": Entry(h.CriticalFractilePolicy,
                               "order up to the newsvendor critical-fractile quantile of lead-time demand"),
    "newsvendor_optimum": Entry(h.NewsvendorOptimum, "the closed-form optimal newsvendor order (newsvendor scenarios only)"),
    "optimal": Entry(h.OptimalPolicy, "the exact optimum by backward induction (small single-SKU restocking; "
                                      "recommend-exact)"),
}
#: Recommendation baselines (``agents.recommend_heuristics``) and shared-feature bandits (``agents.recommend_bandits``),
#: built with the Recommend env; "random" is shared.
RECOMMEND_ALL = {**RECOMMEND_POLICIES, **BANDIT_POLICIES}
for _name, (_cls, _doc) in RECOMMEND_ALL.items():
    if _name not in POLICIES:
        POLICIES[_name] = Entry(_cls, f"(Recommend) {_doc}")
#: Which envs each policy applies to (``env.unwrapped.kind``; an env without ``kind`` is a Restock env).
KINDS: dict[str, tuple[str, ...]] = {name: ("recommend",) if name in RECOMMEND_ALL else ("restock",)
                                     for name in POLICIES}
KINDS["random"] = ("restock", "recommend")
KINDS["optimal"] = ("restock", "recommend")  # Recommend: agents.recommend_exact (exact instances only)
#: Bid-pacing baselines of Ads-v0 (``agents.ads_heuristics``), built with the Ads env.
for _name, (_cls, _doc) in ADS_POLICIES.items():
    POLICIES[_name] = Entry(_cls, f"(Ads) {_doc}")
    KINDS[_name] = ("ads",)
#: Greedy under a learned conversion model: ``learned_greedy:PATH`` (a model saved by ``model.save(PATH)``).
LEARNED_GREEDY = "learned_greedy:"
#: name -> description of the built-in policies (kept for existing imports).
HEURISTICS: dict[str, str] = {name: entry.description for name, entry in POLICIES.items()}
TRAINED_PREFIXES = ("sb3:", "dqn:", "dqn-sku:", "directbackprop:", "slateq:")  # agents.directbackprop, agents.slateq


class PolicyError(ShopgymError, ValueError):
    """A policy name that does not exist or does not apply to the scenario."""


def env_kind(env) -> str:
    """``"restock"`` or ``"recommend"``: the decision an env (wrapped or not) exposes."""
    return getattr(env.unwrapped, "kind", "restock")


def not_applicable(name: str, scenario: Scenario, kind: str = "restock") -> str | None:
    """Why policy ``name`` cannot run on ``scenario`` in a ``kind`` env (``env_kind``), or ``None``."""
    kinds = KINDS.get(name, ("restock",))
    if kind not in kinds:
        return f"it is a {' / '.join(kinds)} policy and this is a {kind} env"
    if name == "optimal":
        if kind == "recommend":
            from agents.recommend_exact import exact_reason as recommend_exact_reason

            return recommend_exact_reason(scenario)
        return exact_reason(scenario)
    if name == "newsvendor_optimum" and not is_newsvendor(scenario):
        return "the scenario is not a newsvendor instance"
    return None


def default_policies(scenario: Scenario, kind: str = "restock") -> list[str]:
    """Every built-in policy that applies to the scenario in a ``kind`` env."""
    return [n for n in HEURISTICS if not_applicable(n, scenario, kind) is None]


def make_policy(name: str, env, params: dict | None = None) -> Policy:
    """Build policy ``name`` for a Restock or Recommend env (``gymnasium.make`` result or unwrapped).

    Tunable heuristics (``base_stock``, ``sS``) are tuned on training seeds unless ``params`` is given;
    the tuned parameters are cached per scenario content (``agents.tuning.tune``, ``shopgym cache``), so
    only the first call on a scenario tunes (with a progress bar) and later ones read the cache.
    """
    base = env.unwrapped
    if name.startswith("directbackprop:"):  # a residual (s, S) network trained through the torch rollout
        from agents.directbackprop.agent import load_policy as load_directbackprop

        return load_directbackprop(name.partition(":")[2], env, name=name)
    if name.startswith("slateq:"):  # SlateQ (Recommend-v0): item-wise values combined under the click model
        from agents.slateq import load_policy as load_slateq

        return load_slateq(name.partition(":")[2], env, name=name)
    if name.startswith(TRAINED_PREFIXES):
        from agents.trained import load_policy

        return load_policy(name, env)
    if name.startswith(LEARNED_GREEDY):
        if env_kind(env) != "recommend":
            raise PolicyError(f"Policy {name!r} is a recommend policy and this is a {env_kind(env)} env.")
        from agents.recommend_heuristics import LearnedGreedy

        return LearnedGreedy(base, name[len(LEARNED_GREEDY):])
    cls = lookup(POLICIES, name, "policy", PolicyError,
                 " Trained agents: sb3:DIR, dqn:DIR, dqn-sku:DIR, directbackprop:DIR or slateq:DIR.")
    kind = env_kind(env)
    why = not_applicable(name, base.scenario, kind)
    if why:
        raise PolicyError(f"Policy {name!r} does not apply to scenario {base.scenario.name!r}: {why}.")
    if kind == "recommend":
        if name == "optimal":
            from agents.recommend_exact import RecommendOptimal

            return RecommendOptimal(base)
        return RECOMMEND_ALL[name][0](base)
    if kind == "ads":
        return ADS_POLICIES[name][0](env, params=params) if name in ADS_TUNED else ADS_POLICIES[name][0](env)
    view = base.view
    if name in GRIDS:
        params = params if params is not None else tune(base.scenario, name)
        policy = cls(view, **params)
        policy.params = params
        return policy
    return cls(view)
