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


def test_memory_target_is_met_only_when_the_best_agents_paired_ci_lies_above_zero():
    myopic = np.array([10.0, 20.0, 30.0, 40.0])
    better = myopic + np.array([4.0, 5.0, 6.0, 5.0])  # differences 4 .. 6: CI above zero
    noisy = myopic + np.array([9.0, -8.0, 7.0, -6.0])  # mean +0.5, CI across zero
    lines = ra.memory_target_lines([("A", noisy), ("B", better)], myopic)
    assert "A, slates of one" in lines[0] and "CI includes zero" in lines[0]
    assert "+5.0 ±" in lines[1] and "CI lies above zero" in lines[1]
    assert "**Met**" in lines[-1] and "best: B" in lines[-1] and "1 of 2 agents" in lines[-1]
    lines = ra.memory_target_lines([("A", noisy)], myopic)
    assert "**Not met**" in lines[-1] and "0 of 1 agents" in lines[-1]
    assert ra.memory_target_lines([], myopic) == []  # no slate-1 agent saved: no target line
