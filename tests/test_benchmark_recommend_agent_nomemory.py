"""``benchmarks/recommend_agent_nomemory.py``: the verdict of issue 15's no-memory target follows the paired ratio,
and a missing agent run is one clear line."""

import numpy as np
import pytest

from benchmarks import recommend_agent_nomemory as ran


@pytest.mark.parametrize("share,verdict", [(0.98, "**Met**"), (0.96, "**Not met**")])
def test_verdict_follows_the_share_of_the_oracle(tmp_path, share, verdict):
    oracle = np.array([500.0, 600.0, 550.0, 580.0, 520.0])
    res = {"myopic_oracle": oracle, "sb3:x": share * oracle, "random": 0.3 * oracle}
    text = ran.body(res, "sb3:x", "recommend", 5, tmp_path / "x", None)
    assert verdict in text
    assert "| sb3:x | " in text and f"| {100 * share:.1f} ± 0.0 |" in text  # exact multiples: a zero-width CI
    assert "| myopic_oracle | " in text and "| 100.0 ± 0.0 |" in text


def test_a_missing_run_names_the_training_command(tmp_path):
    with pytest.raises(SystemExit, match=r"no trained run there; train it first: shopgym train --algo ppo"):
        ran.main(["--agent", f"sb3:{tmp_path / 'nothing'}", "--out", str(tmp_path / "doc.md")])
