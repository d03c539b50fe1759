"""LearnedConversion: a fitted model as the world's response model, selected in a scenario file."""

from __future__ import annotations

import numpy as np
import pytest

from forecasters.conversion import make_model
from forecasters.conversion.learned import LearnedConversion
from shopgym.config import load_scenario
from shopgym.plugins import build_world
from shopgym.world.catalog import Catalog
from shopgym.world.protocols import ImpressionBatch, ResponseModel
from shopgym.world.response import funnel_to_joint
from shopgym.world.shoppers import ShopperPopulation

from .conformance import FAST


@pytest.fixture(scope="module")
def saved(tiny_logs, tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "esmm.pt"
    make_model("esmm", **FAST).fit(tiny_logs).save(path)
    return path


def parts(scenario):
    cat = Catalog.generate(scenario.catalog, scenario.demand)
    return cat, ShopperPopulation.generate(scenario.shoppers, scenario.catalog.embedding_dim)


def candidates(n_items):
    """One session: shopper 3 sees every item once, at positions 0..n-1."""
    n = n_items
    return ImpressionBatch(shopper=np.full(n, 3), item=np.arange(n), position=np.arange(n), seen=np.zeros(n, int),
                           discount=np.zeros(n), in_stock=np.ones(n, bool), day=np.full(n, 2))


def test_selected_in_a_scenario_file(saved, tiny_scenario, tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text(
        "[catalog]\nn_skus = 30\nn_categories = 3\nprice_spread = 0.4\n"
        f"[shoppers]\nn_shoppers = 200\nsessions_per_day = 50.0\nslate_size = 5\nresponse_model = \"learned:{saved}\"\n"
    )
    scen = load_scenario(toml)
    cat, pop = parts(scen)
    world = build_world(scen)  # the resolver loads the file; the world core receives the object
    model = world.response_model
    np.testing.assert_array_equal(world.catalog.features, cat.features)
    np.testing.assert_array_equal(model.population.preferences, pop.preferences)
    assert isinstance(model, LearnedConversion) and isinstance(model, ResponseModel)
    b = candidates(cat.n_skus)
    p = model.probabilities(b)
    assert p.shape == (cat.n_skus, 3) and ((p >= 0) & (p <= 1)).all()
    direct = model.model.predict_proba(__import__("pandas").DataFrame(
        __import__("shopgym.world.response", fromlist=["x"]).impression_features(b, cat, pop)))
    np.testing.assert_allclose(funnel_to_joint(p), direct, rtol=1e-6, atol=1e-9)
    s = model.sample(b, np.random.default_rng(0))
    assert s.shape == (cat.n_skus, 3) and (s[:, 2] <= s[:, 1]).all() and (s[:, 1] <= s[:, 0]).all()
    np.testing.assert_array_equal(s, model.sample(b, np.random.default_rng(0)))
    assert model.probabilities(candidates(0)).shape == (0, 3)


def test_rejects_non_funnel_or_unfitted(tiny_logs, tiny_scenario):
    cat, pop = parts(tiny_scenario)
    with pytest.raises(ValueError, match="funnel"):
        LearnedConversion(make_model("lr", tasks=("click",), **FAST).fit(tiny_logs), cat, pop)
    with pytest.raises(ValueError, match="not fitted"):
        LearnedConversion(make_model("lr"), cat, pop)


def test_resolver_checks_the_world_fits_the_model(saved, tiny_scenario):
    """Fitted with 8 embedding dims: a world with 4 cannot feed it (named at build time, not at first use)."""
    from shopgym.errors import LearnedModelError

    sc = tiny_scenario.replace(response_model=f"learned:{saved}", embedding_dim=4)
    with pytest.raises(LearnedModelError, match=r"shoppers\.response_model = .*'e_4'.*catalog\.embedding_dim = 4"):
        build_world(sc)
    fits = build_world(tiny_scenario.replace(response_model=f"learned:{saved}", n_skus=57))  # any SKU count fits
    assert isinstance(fits.response_model, LearnedConversion) and fits.catalog.n_skus == 57


def test_a_conversion_file_given_as_demand_model_points_to_the_response_key(saved, tiny_scenario):
    from shopgym.errors import LearnedModelError

    with pytest.raises(LearnedModelError, match=r"demand\.demand_model = .*shoppers\.response_model instead"):
        build_world(tiny_scenario.replace(demand_model=f"learned:{saved}"))
