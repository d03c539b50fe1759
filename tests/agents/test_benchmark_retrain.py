"""``scenarios.agents_benchmark`` (``benchmarks/agents_restock.py``): ``--retrain RUN`` forgets one cached run and
nothing else; the paired estimate of percent of the optimum."""

import json

import pandas as pd
import pytest

from scenarios import agents_benchmark as mod


def test_discard_run_removes_run_timings_and_evaluations_only(tmp_path):
    out = tmp_path / "bench"
    gone, kept = out / "quickstart-shopgym-dqn", out / "quickstart-ppo"
    for d in (gone, kept):
        (d / "model").mkdir(parents=True)
    timings = {str(gone): {"steps": 1}, str(kept): {"steps": 2}}
    timings_path = out / "timings.json"
    (out / "eval-quickstart").mkdir()
    results = out / "eval-quickstart" / "results.csv"
    pd.DataFrame({"scenario": ["quickstart"] * 3, "policy": [f"dqn:{gone}", f"sb3:{kept}", "sS"],
                  "seed": [0, 0, 0], "profit": [1.0, 2.0, 3.0]}).to_csv(results, index=False)
    (out / "cartpole_eval.json").write_text(json.dumps({str(gone): [1.0], str(kept): [2.0]}))
    ends = {f"dqn:{gone}": {"left_over": 1.0}, f"sb3:{kept}": {"left_over": 2.0}, "sS": {"left_over": 3.0}}
    endgame = out / f"endgame-quickstart-{mod.QUICKSTART_SEEDS}.json"
    endgame.write_text(json.dumps(ends))

    mod.discard_run(out, "quickstart-shopgym-dqn", timings, timings_path)

    assert not gone.exists() and kept.exists()
    assert json.loads(timings_path.read_text()) == {str(kept): {"steps": 2}}
    assert list(pd.read_csv(results)["policy"]) == [f"sb3:{kept}", "sS"]
    assert json.loads((out / "cartpole_eval.json").read_text()) == {str(kept): [2.0]}
    assert set(json.loads(endgame.read_text())) == {f"sb3:{kept}", "sS"}


def test_paired_pct_uses_the_exact_policy_as_a_control_variate():
    optimal = [100.0, 120.0, 80.0, 110.0]  # demand luck: the optimum itself scores 102.5 on average
    results = pd.DataFrame({"seed": list(range(4)) * 2, "policy": ["optimal"] * 4 + ["agent"] * 4,
                            "profit": optimal + [o - d for o, d in zip(optimal, [4.0, 6.0, 5.0, 5.0], strict=True)]})
    table = mod.paired_pct(results, reference=100.0).set_index("policy")
    assert table.loc["optimal", "paired_pct"] == 100.0 and table.loc["optimal", "paired_ci95"] == 0.0
    # 100 * (1 + mean(agent - optimal) / reference) = 95.0, although mean(agent) / reference = 97.5
    assert abs(table.loc["agent", "paired_pct"] - 95.0) < 1e-9
    assert 0 < table.loc["agent", "paired_ci95"] < 2.0


def test_paired_pct_refuses_a_policy_missing_a_seed():
    results = pd.DataFrame({"seed": [0, 1, 0], "policy": ["optimal", "optimal", "agent"], "profit": [1.0, 2.0, 1.0]})
    with pytest.raises(ValueError, match="lack evaluation seeds"):
        mod.paired_pct(results, reference=1.0)
