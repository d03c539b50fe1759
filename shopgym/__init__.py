"""shopgym: a Gymnasium e-commerce world of products, demand, inventory and shoppers.

``import shopgym`` registers the envs under the ``shopgym/`` namespace.
"""

from gymnasium.envs.registration import register, registry

from shopgym.config import Scenario, load_scenario, scenario_names

__version__ = "0.1.0"

#: The registered envs, one flat list (bump -vN when dynamics or rewards change).
ENVS = [
    dict(id="shopgym/Restock-v0", entry_point="shopgym.envs.restock:RestockEnv",
         vector_entry_point="shopgym.envs.restock_vector:RestockVectorEnv"),
]

for _spec in ENVS:
    if _spec["id"] not in registry:
        register(**_spec)

__all__ = ["Scenario", "load_scenario", "scenario_names", "ENVS", "__version__"]
