"""``benchmarks/recommend_agent_nomemory.py``: the verdict of issue 15's no-memory target follows the paired ratio's
CI, the text describes the run from its config.yml, and bad input is one clear line."""

import numpy as np
import pytest

from benchmarks import recommend_agent_nomemory as ran

SETTINGS = {"algo": "ppo", "env": "shopgym/Recommend-v0", "scenario": "recommend", "seed": 0, "steps": 1000,
            "gamma": 0.0}
ORACLE = np.array([500.0, 600.0, 550.0, 580.0, 520.0])


@pytest.mark.parametrize("shares,verdict", [
    ([0.98] * 5, "**Met**"),
    ([0.96] * 5, "**Not met**"),
    ([0.7, 1.25, 0.9, 1.1, 0.95], "**Open (the CI straddles the target)**"),  # the point passes, the CI does not
])
def test_verdict_follows_the_ci_of_the_share_of_the_oracle(tmp_path, shares, verdict):
    res = {"myopic_oracle": ORACLE, "sb3:x": np.array(shares) * ORACLE, "random": 0.3 * ORACLE}
    text = ran.body(res, "sb3:x", "recommend", 5, tmp_path / "x", None, SETTINGS)
    assert verdict in text
    assert "| myopic_oracle | " in text and "| 100.0 ± 0.0 |" in text
    assert "`ppo` trained on `shopgym/Recommend-v0` with the scenario `recommend` (gamma 0.0), 1,000 training steps" in text
    assert f"--algo ppo --env shopgym/Recommend-v0 --scenario recommend --seed 0 --out {tmp_path / 'x'}" in text


def test_a_missing_run_names_the_training_command(tmp_path):
    with pytest.raises(SystemExit, match=r"no trained run there; train it first: shopgym train --algo ppo"):
        ran.main(["--agent", f"sb3:{tmp_path / 'nothing'}", "--out", str(tmp_path / "doc.md")])


def test_a_run_of_another_scenario_is_refused(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yml").write_text("algo: ppo\nenv_id: shopgym/Recommend-v0\nscenario: recommend-exact\n"
                                                 "seed: 0\ntimesteps: 100\n")
    with pytest.raises(SystemExit, match=r"trained on scenario 'recommend-exact', not 'recommend'"):
        ran.main(["--agent", f"sb3:{tmp_path / 'run'}", "--out", str(tmp_path / "doc.md")])


@pytest.mark.parametrize("args,match", [(["--agent", "runs/x"], "give a trained agent as PREFIX:DIR"),
                                        (["--seeds", "1"], "at least 2 evaluation seeds")])
def test_bad_arguments_are_one_usage_error(tmp_path, capsys, args, match):
    with pytest.raises(SystemExit) as e:
        ran.main([*args, "--out", str(tmp_path / "doc.md")])
    assert e.value.code == 2 and match in capsys.readouterr().err
