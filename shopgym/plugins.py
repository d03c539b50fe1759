"""Resolve names in scenario files to plug-ins that live outside the world core.

The world core never imports ``forecasters`` (pandas/torch): a scenario names a saved forecaster
(``demand_model = "learned:PATH"``) and this module loads it lazily when a world is built.
"""

from __future__ import annotations

from pathlib import Path

from shopgym.errors import ScenarioError


def load_learned_demand(path: str, catalog, scenario, n_days: int):
    """A ``DemandModel`` driven by the forecaster saved at ``path`` (see ``forecasters.LearnedDemand``)."""
    if not Path(path).exists():
        raise ScenarioError(
            f"demand.demand_model points at {path!r}, which does not exist. Save a fitted forecaster "
            "there first (forecaster.save(path)) or use demand_model = 'ground_truth'."
        )
    from forecasters.learned_demand import LearnedDemand

    return LearnedDemand.from_saved(path, catalog=catalog, scenario=scenario, n_days=n_days)
