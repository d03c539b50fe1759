"""``benchmarks/recommend_agents.py`` (the "agents" section of docs/recommend.md): which runs ``--retrain`` retrains,
and how a PPO attempt's row reads its run folder (settings, the step of the shipped model, the shipped marker)."""

import numpy as np
import pytest

from benchmarks import recommend_agents as ra
from shopgym.errors import UnknownNameError


def test_retrain_none_one_or_every_agent():
    folders = [agent[1] for agent in ra.AGENTS]
    assert ra.retrain_folders(None) == []  # no --retrain: the saved runs are evaluated as they are
    assert ra.retrain_folders([]) == folders  # a bare --retrain: all of them
    assert ra.retrain_folders(["ppo-exact-s0"]) == ["ppo-exact-s0"]


def test_retrain_refuses_a_misspelt_folder_naming_the_closest():
    with pytest.raises(UnknownNameError, match="Did you mean 'ppo-exact-s0'"):
        ra.retrain_folders(["ppo-exact-s1"])


def test_setting_reads_dotted_paths_and_marks_missing_ones():
    cfg = {"timesteps": 500, "hyperparams": {"gamma": 0.99}, "normalize": False}
    assert ra.setting(cfg, "hyperparams.gamma") == 0.99
    assert ra.setting(cfg, "timesteps") == 500
    assert ra.setting(cfg, "hyperparams.ent_coef") == "-"
    assert ra.setting(cfg, "normalize.norm_reward") == "-"  # normalize is not a mapping here


def test_selected_step_is_the_best_validation_under_select_best(tmp_path):
    (tmp_path / "eval").mkdir()
    results = np.array([[90.0, 100.0], [110.0, 104.0], [100.0, 100.0]])  # means 95, 107, 100
    np.savez(tmp_path / "eval" / "evaluations.npz", timesteps=np.array([10, 20, 30]), results=results,
             ep_lengths=np.ones_like(results))
    assert ra.selected_step(tmp_path, {"select": "best", "timesteps": 30}) == 20
    assert ra.selected_step(tmp_path, {"select": "last", "timesteps": 30}) == 30
    assert ra.selected_step(tmp_path / "missing", {"select": "best", "timesteps": 40}) == 40


def test_shipped_marker_ignores_only_the_scenario_hash():
    cfg = {"algo": "ppo", "scenario_hash": "a", "hyperparams": {"gamma": 0.99}}
    assert ra.same_run_settings(cfg, {**cfg, "scenario_hash": "b"})
    assert not ra.same_run_settings(cfg, {**cfg, "hyperparams": {"gamma": 0.97}})


def test_memory_target_is_met_only_when_some_agents_adjusted_ci_lies_above_zero():
    myopic = np.array([10.0, 20.0, 30.0, 40.0])
    better = myopic + np.array([4.0, 5.0, 6.0, 5.0])  # differences 4 .. 6: CI above zero, adjusted or not
    noisy = myopic + np.array([9.0, -8.0, 7.0, -6.0])  # mean +0.5, CI across zero
    lines = ra.memory_target_lines([("A", noisy), ("B", better)], myopic)
    assert "A, slates of one" in lines[0] and "CI includes zero" in lines[0]
    assert "+5.0 ±" in lines[1] and "CI lies above zero" in lines[1] and "97.5% CI" in lines[1]
    assert "**Met**" in lines[-1] and "1 of 2 agents' adjusted CIs" in lines[-1] and "above zero: B)" in lines[-1]
    assert "Bonferroni" in lines[-1]
    lines = ra.memory_target_lines([("A", noisy)], myopic)
    assert "**Not met**" in lines[-1] and "0 of 1 agents" in lines[-1]
    assert ra.memory_target_lines([], myopic) == []  # no slate-1 agent saved: no target line


def test_adjusted_half_width_is_bonferroni_over_the_agents_judged():
    d = np.array([1.0, 3.0, 2.0, 6.0, 4.0])
    assert ra.adjusted_half_width(d, 1) == pytest.approx(ra.mean_ci95(d)[1], rel=1e-12)  # one agent: no adjustment
    widths = [ra.adjusted_half_width(d, k) for k in (1, 2, 5, 10)]
    assert widths == sorted(widths) and widths[0] < widths[-1]  # more agents judged: wider CIs
    with pytest.raises(ValueError, match="k >= 1"):
        ra.adjusted_half_width(d, 0)


def test_memory_verdict_is_not_fooled_by_the_largest_noisy_mean():
    """The second reader's case: A +10.0 ± 14.0 (huge spread) and B +8.0 ± 0.1 over 200 seeds. The old rule
    judged only the agent with the largest mean (A) and said Not met; B clearly beats the oracle."""
    myopic = np.full(200, 50.0)
    a = myopic + np.tile([110.0, -90.0], 100)  # mean +10, spread 100
    b = myopic + 8 + np.tile([1.0, -1.0], 100)  # mean +8, tight
    lines = ra.memory_target_lines([("A", a), ("B", b)], myopic)
    assert "+10.0 ± 14.0" in lines[0] and "+8.0 ± 0.1" in lines[1]
    assert "**Met**" in lines[-1] and "1 of 2 agents' adjusted CIs lie above zero" in lines[-1]
    assert "above zero: B)" in lines[-1]


def test_memory_verdict_false_met_rate_with_agents_equal_to_the_oracle_stays_within_alpha():
    """The second reader's case: 5 agents whose true mean equals the oracle's. Picking the largest mean after the
    fact and testing its 95% CI said Met in ~12% of trials; the adjusted verdict must stay within 5% (Bonferroni:
    one-sided ~2.5% here). Seeded, so the rate is a fixed number, not a flaky draw."""
    rng = np.random.default_rng(0)
    trials, met = 600, 0
    for _ in range(trials):
        my = rng.normal(50, 10, 200)
        agents = [(str(i), my + rng.normal(0, 20, 200)) for i in range(5)]
        met += "**Met**" in ra.memory_target_lines(agents, my)[-1]
    assert met / trials <= ra.MEMORY_ALPHA
