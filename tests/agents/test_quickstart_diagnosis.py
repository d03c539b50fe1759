"""``benchmarks/quickstart_diagnosis.py``: paired comparison with the exact policy on validation seeds."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "quickstart_diagnosis.py"


def run(tmp_path, *extra):
    return subprocess.run([sys.executable, str(SCRIPT), "--cache", str(tmp_path / "cache"), "--doc",
                           str(tmp_path / "diag.md"), *extra], capture_output=True, text=True, timeout=600)


def rows(doc: Path) -> dict[str, list[str]]:
    lines = [ln for ln in doc.read_text().splitlines() if ln.startswith("| ") and not ln.startswith("| policy")]
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in ln.strip("|").split("|")] for ln in lines)}


def test_the_optimal_row_is_the_paired_reference_and_is_cached(tmp_path):
    first = run(tmp_path, "--episodes", "2", "--policies", "critical_fractile", "--note", "two episodes only")
    assert first.returncode == 0, first.stderr
    table = rows(tmp_path / "diag.md")
    assert set(table) == {"optimal", "critical_fractile"}
    assert table["optimal"][0] == "100.00 ± 0.00"  # the exact policy against itself
    pct = float(table["critical_fractile"][0].split(" ± ")[0])
    assert 0 < pct < 100  # the myopic heuristic orders every day and pays the fixed cost each time
    assert float(table["critical_fractile"][2]) > float(table["optimal"][2])  # more orders than the optimum
    text = (tmp_path / "diag.md").read_text()
    assert "two episodes only" in text and "--episodes 2" in text
    assert (tmp_path / "cache" / "optimal-2.csv").exists()
    assert len(list((tmp_path / "cache").glob("*-2.csv"))) == 2  # the heuristic's episodes are cached too
    again = run(tmp_path, "--episodes", "2", "--policies", "critical_fractile")  # reuses the optimal's episodes
    assert again.returncode == 0 and rows(tmp_path / "diag.md") == table


def test_one_episode_is_refused_with_the_reason(tmp_path):
    out = run(tmp_path, "--episodes", "1", "--policies", "sS")
    assert out.returncode == 2 and "at least 2" in out.stderr


def test_a_cached_policy_is_replayed_when_its_saved_model_changes(tmp_path, monkeypatch):
    import importlib.util

    import pandas as pd

    spec = importlib.util.spec_from_file_location("quickstart_diagnosis", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    played = []
    monkeypatch.setattr(mod, "play", lambda env, spec, seeds, desc: played.append(spec) or pd.DataFrame({"seed": seeds}))
    run_dir = tmp_path / "run"
    (run_dir / "best").mkdir(parents=True)
    (run_dir / "logs").mkdir()
    (run_dir / "best" / "model.pt").write_bytes(b"weights v1")
    first = mod.fingerprint(f"dqn:{run_dir}")
    (run_dir / "logs" / "eval.csv").write_text("step,mean_return\n1,2\n")  # logs do not define the policy
    assert mod.fingerprint(f"dqn:{run_dir}") == first
    (run_dir / "best" / "model.pt").write_bytes(b"weights v2")  # retrained: new weights
    assert mod.fingerprint(f"dqn:{run_dir}") != first
    assert mod.fingerprint("sS") != mod.fingerprint("base_stock")
    cache = tmp_path / "cache"
    mod.cached_play(None, f"dqn:{run_dir}", [1, 2], cache)
    mod.cached_play(None, f"dqn:{run_dir}", [1, 2], cache)  # same model: read from the cache
    assert len(played) == 1
    (run_dir / "best" / "model.pt").write_bytes(b"weights v3")
    mod.cached_play(None, f"dqn:{run_dir}", [1, 2], cache)  # retrained: played again
    assert len(played) == 2
