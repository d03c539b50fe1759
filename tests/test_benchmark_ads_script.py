"""``benchmarks/ads.py`` (docs/ads.md): seeds per scenario, a subset of scenarios, and every column of the report
at a different number of seeds per scenario, on a tiny Ads scenario."""

import numpy as np
import pandas as pd
import pytest

from agents.ads_heuristics import ADS_POLICIES
from benchmarks import ads
from shopgym.errors import UnknownNameError
from shopgym.seeds import SeedError


def test_seeds_default_to_seeds_and_one_scenario_can_have_more():
    seeds = ads.parse_seeds(3, ["ads-stockout=5"], ["ads-steady", "ads-stockout"])
    assert seeds == {"ads-steady": [0, 1, 2], "ads-stockout": [0, 1, 2, 3, 4]}


def test_a_validation_seed_base_gives_validation_seeds_for_choosing_among_runs():
    seeds = ads.parse_seeds(3, [], ["ads-stockout"], base=950_000)
    assert seeds == {"ads-stockout": [950_000, 950_001, 950_002]}
    assert ads.seeds_text(seeds["ads-stockout"]) == "3 validation seeds (950,000 .. 950,002)"
    assert ads.seeds_text([0, 1]) == "2 evaluation seeds (0 .. 1)"
    for base, n in ((999_999, 3), (1_000_000, 3), (899_999, 3)):  # into training, training, across two ranges
        with pytest.raises(SeedError, match="outside"):
            ads.parse_seeds(n, [], ["ads-stockout"], base=base)


@pytest.mark.parametrize("default, items, error, words", [
    (3, ["ads-stockot=5"], UnknownNameError, "Did you mean 'ads-stockout'"),
    (3, ["ads-steady=5"], UnknownNameError, "not a scenario of this run"),
    (3, ["ads-stockout=five"], SeedError, "integer >= 2"),
    (3, ["ads-stockout=1"], SeedError, "integer >= 2"),
    (1, [], SeedError, "--seeds 1"),
    (900_001, [], SeedError, "outside the evaluation range"),
])
def test_bad_seed_counts_are_refused_with_the_fix(default, items, error, words):
    with pytest.raises(error, match=words):
        ads.parse_seeds(default, items, ["ads-stockout"])


def test_an_agent_of_a_scenario_left_out_is_skipped_and_a_bad_one_named():
    assert ads.parse_agents(["ads-steady=sb3:/nowhere/run"], ["ads-stockout"], {"ads-stockout": [0, 1]}) == {}
    with pytest.raises(UnknownNameError, match="Did you mean 'ads-stockout'"):
        ads.parse_agents(["ads-stokout=sb3:/nowhere/run"], ["ads-stockout"], {"ads-stockout": [0, 1]})


def test_paired_difference_is_over_the_shared_seeds():
    rows = pd.DataFrame({"policy": ["a"] * 3 + ["b"] * 3, "seed": [0, 1, 2, 0, 1, 2],
                         "ad_profit": [10.0, 12.0, 14.0, 9.0, 10.0, 11.0]})
    mean, half = ads.paired(rows, "a", "b")
    assert mean == pytest.approx(2.0) and half == pytest.approx(4.302653 * 1.0 / np.sqrt(3), rel=1e-5)


def test_scenarios_at_different_seed_counts_report_every_column(tiny_ads):
    seeds = {"ads-steady": [0, 1], "ads-stockout": [0, 1, 2]}
    results, minutes, seconds = ads.run({"ads-steady": str(tiny_ads), "ads-stockout": str(tiny_ads)}, seeds, {})
    assert minutes == {} and set(seconds) == set(seeds)
    for sc, rows in results.items():
        assert len(rows) == len(ADS_POLICIES) * len(seeds[sc])
        # every policy at the same seeds, and the same episode's bound for all of them
        assert all(sorted(g["seed"]) == seeds[sc] for _, g in rows.groupby("policy"))
        assert (rows.groupby("seed")["hindsight_bound"].nunique() == 1).all()
        assert np.isfinite(rows[["ad_profit", "expected_ad_profit", "pct_of_bound", "roas"]].to_numpy()).all()
        assert (rows["expected_ad_profit"] <= rows["hindsight_bound"] + 1e-9).all()
    text = ads.report("cmd", results, minutes, {}, 60.0, seeds, seconds)
    assert "ads-steady: 2 evaluation seeds (0 .. 1)" in text and "ads-stockout: 3 evaluation seeds (0 .. 2)" in text
    stockout = text[text.index("## ads-stockout"):text.index("## Targets")]
    assert stockout.count("| dual_pacing_stock |") == 1 and "n/a" not in stockout
    assert "ads-budget-cut not in this run's --scenarios" in text
    assert "on ads-steady: **" in text  # ads-steady ran: its target is judged
