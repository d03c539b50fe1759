"""shopgym: a Gymnasium e-commerce world of products, demand, inventory and shoppers.

``import shopgym`` registers the envs under the ``shopgym/`` namespace: ``ENVS`` for ``gymnasium.make``
(and ``make_vec``), ``VECTOR_ENVS`` for ``gymnasium.make_vec`` only.
"""

from gymnasium.envs.registration import register, registry

from shopgym.config import Scenario, load_scenario, scenario_names
from shopgym.errors import ShopgymError

__version__ = "0.1.0"

#: The registered envs, one flat list (bump -vN when dynamics or rewards change).
ENVS = [
    dict(id="shopgym/Restock-v0", entry_point="shopgym.envs.restock:RestockEnv",
         vector_entry_point="shopgym.envs.restock_vector:RestockVectorEnv"),
    dict(id="shopgym/Recommend-v0", entry_point="shopgym.envs.recommend:RecommendEnv",
         vector_entry_point="shopgym.envs.recommend_vector:RecommendVectorEnv"),
    dict(id="shopgym/Ads-v0", entry_point="shopgym.envs.ads:AdsEnv",
         vector_entry_point="shopgym.envs.ads_vector:AdsVectorEnv"),
    # Ads-v0 with a residual action around dual_pacing_stock (shopgym.envs.ads_actions)
    dict(id="shopgym/AdsResidual-v0", entry_point="shopgym.envs.ads_actions:make_residual_env",
         vector_entry_point="shopgym.envs.ads_actions:make_residual_vector_env"),
]

#: Vector-only envs: ``gymnasium.make_vec(id, num_envs=...)`` builds them (a ``vector_entry_point``);
#: ``gymnasium.make(id)`` answers a ``ShopgymError`` saying so. Entry points are strings, so
#: ``import shopgym`` imports neither them nor torch.
VECTOR_ENVS = [
    # every (world, SKU) pair of a batched World is a sub-env; num_envs = worlds x the scenario's SKUs
    dict(id="shopgym/RestockPerSKU-v0", entry_point="shopgym:per_sku_single_env",
         vector_entry_point="agents.per_sku:make_vector_env"),
]


def per_sku_single_env(**kwargs):
    """``gymnasium.make("shopgym/RestockPerSKU-v0")``: refused with the ways to build what was meant.

    The per-SKU env only exists as a vector env (its sub-envs are the SKUs of shared worlds).
    """
    raise ShopgymError(
        "shopgym/RestockPerSKU-v0 is a vector env (one sub-env per (world, SKU) pair): build it with "
        "gymnasium.make_vec('shopgym/RestockPerSKU-v0', num_envs=N, scenario=...) where N is a multiple of "
        "the scenario's SKUs, or use gymnasium.make('shopgym/Restock-v0', ...) for one whole shop."
    )


for _spec in ENVS + VECTOR_ENVS:
    if _spec["id"] not in registry:
        register(**_spec)

__all__ = ["Scenario", "load_scenario", "scenario_names", "ENVS", "VECTOR_ENVS", "__version__"]
