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
