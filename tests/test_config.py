"""Scenario files: every shipped scenario loads; malformed files fail with errors naming the key."""

import pytest

from shopgym.config import describe_keys, load_scenario, scenario_names
from shopgym.errors import ScenarioError, UnknownScenarioError


def test_shipped_scenarios_load():
    names = scenario_names()
    assert {"quickstart", "steady", "seasonal", "supply-shock", "newsvendor"} <= set(names)
    for name in names:
        sc = load_scenario(name)
        assert sc.name == name and sc.description


@pytest.mark.parametrize(
    "body,match",
    [
        ("[catalog]\nn_skuz = 3\n", r"unknown key catalog\.n_skuz.*Did you mean 'n_skus'"),
        ("[catalog]\nlead_time = -2\n", r"catalog\.lead_time = -2 is out of range"),
        ("[catalog]\nn_skus = 'ten'\n", r"catalog\.n_skus: expected int, got str"),
        ("[catalog]\nbase_rate = 3.0\n", r"'base_rate' belongs in \[demand\]"),
        ("[invetory]\ncapacity = 3\n", r"unknown section \[invetory\].*Did you mean 'inventory'"),
        ("[demand]\nweekly = [1, 2]\n", r"weekly must be 7"),
        ("[env]\nstart_date = 'yesterday'\n", r"start_date"),
        ("[env\nhorizon = 3\n", r"not valid TOML"),
    ],
)
def test_malformed_files_name_the_problem(tmp_path, body, match):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ScenarioError, match=match):
        load_scenario(path)


def test_unknown_scenario_suggests_the_closest():
    with pytest.raises(UnknownScenarioError, match="Did you mean 'seasonal'"):
        load_scenario("seasonl")
    with pytest.raises(UnknownScenarioError, match="does not exist"):
        load_scenario("missing/file.toml")


def test_overrides_by_key_name_are_validated():
    sc = load_scenario("steady", n_skus=3, horizon=30)
    assert sc.catalog.n_skus == 3 and sc.env.horizon == 30
    with pytest.raises(ScenarioError, match="out of range"):
        load_scenario("steady", margin=1.5)


def test_scenarios_readme_documents_every_key_and_is_in_sync():
    from pathlib import Path

    from scenarios.readme import render

    readme = (Path(__file__).parents[1] / "scenarios" / "README.md").read_text()
    for line in describe_keys().splitlines():
        if line.startswith("| `"):
            key = line.split("`")[1]
            assert f"`{key}`" in readme, f"scenarios/README.md does not document {key}"
    assert readme == render(), "scenarios/README.md is stale: run python -m scenarios.readme"


def test_every_float_key_has_a_finite_range_and_every_default_lies_in_it():
    """Ranges are explicit: each float key has both bounds (so nan, inf and 1e308 are refused), and the
    defaults pass their own checks."""
    import dataclasses
    import math

    from shopgym.config import SECTIONS, Scenario, scenario_from_dict

    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            lo, hi = f.metadata.get("min"), f.metadata.get("max")
            if f.type in (float, "float"):
                assert lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi), f"{section}.{f.name}"
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            if lo is not None:
                assert default >= lo, f"{section}.{f.name}"
            if hi is not None:
                assert default <= hi, f"{section}.{f.name}"
    assert scenario_from_dict(Scenario().to_dict()) == Scenario()


def test_choices_are_enforced_with_a_suggestion():
    import dataclasses

    from shopgym.config import SECTIONS, Scenario

    with_choices = [(s, f) for s, cls in SECTIONS.items() for f in dataclasses.fields(cls) if f.metadata.get("choices")]
    if not with_choices:
        pytest.skip("no key with a fixed set of choices")
    section, f = with_choices[0]
    good = f.metadata["choices"][0]
    assert getattr(Scenario().replace(**{f.name: good}), section).__dict__[f.name] == good
    with pytest.raises(ScenarioError, match=rf"{section}\.{f.name} = '{good}x' is not one of .*Did you mean '{good}'"):
        Scenario().replace(**{f.name: good + "x"})
