"""``scenarios.diagnosis`` (``benchmarks/quickstart_diagnosis.py``): paired comparison with the exact policy.

On ``quickstart`` cut to 30 days (``SHORT``) the exact optimum solves in a fraction of a second; the script
itself runs the full year.
"""

import pandas as pd
import pytest

from scenarios import diagnosis
from shopgym.config import load_scenario

SHORT = load_scenario("quickstart", horizon=30)


def rows(doc) -> dict[str, list[str]]:
    lines = [ln for ln in doc.read_text().splitlines() if ln.startswith("| ") and not ln.startswith("| policy")]
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in ln.strip("|").split("|")] for ln in lines)}


def test_the_optimal_row_is_the_paired_reference_and_is_cached(tmp_path, monkeypatch):
    cache, doc = tmp_path / "cache", tmp_path / "diag.md"
    table, reference = diagnosis.diagnose(["critical_fractile"], 2, cache, scenario=SHORT)
    diagnosis.write_report(doc, table, reference, 2, "python benchmarks/quickstart_diagnosis.py --episodes 2",
                           "two episodes only")
    got = rows(doc)
    assert set(got) == {"optimal", "critical_fractile"}
    assert got["optimal"][0] == "100.00 ± 0.00"  # the exact policy against itself
    pct = float(got["critical_fractile"][0].split(" ± ")[0])
    assert 0 < pct < 100  # the myopic heuristic orders every day and pays the fixed cost each time
    assert float(got["critical_fractile"][2]) > float(got["optimal"][2])  # more orders than the optimum
    text = doc.read_text()
    assert "two episodes only" in text and "--episodes 2" in text and f"{reference:,.1f}" in text
    assert (cache / "optimal-2.csv").exists()
    assert len(list(cache.glob("*-2.csv"))) == 2  # the heuristic's episodes are cached too
    monkeypatch.setattr(diagnosis, "play", lambda *a: pytest.fail("played again instead of reading the cache"))
    assert diagnosis.diagnose(["critical_fractile"], 2, cache, scenario=SHORT) == (table, reference)


def test_one_episode_is_refused_with_the_reason(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        diagnosis.main(["--episodes", "1", "--policies", "sS", "--cache", str(tmp_path / "c")])
    assert exit_.value.code == 2 and "at least 2" in capsys.readouterr().err
    with pytest.raises(ValueError, match="at least 2"):
        diagnosis.diagnose(["sS"], 1, tmp_path / "c", scenario=SHORT)


def test_main_writes_the_report_naming_its_command(tmp_path, monkeypatch):
    table = [{"policy": "optimal", "% of optimum (paired)": "100.00 ± 0.00"},
             {"policy": "sS", "% of optimum (paired)": "99.00 ± 0.50"}]
    calls = []
    monkeypatch.setattr(diagnosis, "diagnose", lambda *a: calls.append(a) or (table, 1234.5))
    doc = tmp_path / "d.md"
    diagnosis.main(["--episodes", "3", "--policies", "sS", "--cache", str(tmp_path / "c"), "--doc", str(doc)])
    assert calls == [(["sS"], 3, str(tmp_path / "c"))]
    text = doc.read_text()
    assert "python benchmarks/quickstart_diagnosis.py --episodes 3 --policies sS" in text
    assert "910000..910002" in text and "1,234.5" in text
    assert rows(doc) == {"optimal": ["100.00 ± 0.00"], "sS": ["99.00 ± 0.50"]}


def test_a_cached_policy_is_replayed_when_its_saved_model_changes(tmp_path, monkeypatch):
    played = []
    monkeypatch.setattr(diagnosis, "play",
                        lambda env, spec, seeds, desc: played.append(spec) or pd.DataFrame({"seed": seeds}))
    run_dir = tmp_path / "run"
    (run_dir / "best").mkdir(parents=True)
    (run_dir / "logs").mkdir()
    (run_dir / "best" / "model.pt").write_bytes(b"weights v1")
    first = diagnosis.fingerprint(f"dqn:{run_dir}")
    (run_dir / "logs" / "eval.csv").write_text("step,mean_return\n1,2\n")  # logs do not define the policy
    assert diagnosis.fingerprint(f"dqn:{run_dir}") == first
    (run_dir / "best" / "model.pt").write_bytes(b"weights v2")  # retrained: new weights
    assert diagnosis.fingerprint(f"dqn:{run_dir}") != first
    assert diagnosis.fingerprint("sS") != diagnosis.fingerprint("base_stock")
    cache = tmp_path / "cache"
    diagnosis.cached_play(None, f"dqn:{run_dir}", [1, 2], cache)
    diagnosis.cached_play(None, f"dqn:{run_dir}", [1, 2], cache)  # same model: read from the cache
    assert len(played) == 1
    (run_dir / "best" / "model.pt").write_bytes(b"weights v3")
    diagnosis.cached_play(None, f"dqn:{run_dir}", [1, 2], cache)  # retrained: played again
    assert len(played) == 2
