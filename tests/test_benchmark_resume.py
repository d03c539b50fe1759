"""A benchmark killed with SIGKILL midway, worker processes and all, and re-run with the same command, keeps
the finished cells and ends with the results of an uninterrupted run."""

import os
import subprocess
import sys

import pandas as pd

from scenarios.benchmark import run_benchmark

TINY = ('description = "tiny"\n[catalog]\nlead_time = 1\norder_cost = 4.0\n'
        "[demand]\nbase_rate = 3.0\n[inventory]\ncapacity = 12\ninitial_stock = 4\n[env]\nhorizon = 20\nmax_order = 8\n")
POLICIES = ["random", "sS", "critical_fractile"]
#: Runs the benchmark with 2 worker processes and kills its whole process group (the run, the fork server and
#: the workers) with SIGKILL right after the first finished cell's rows reach results.csv.
KILL = """
import os, signal, sys
import scenarios.benchmark as bench
append = bench.append_rows
def append_then_die(path, rows, columns):
    append(path, rows, columns)
    os.killpg(0, signal.SIGKILL)
bench.append_rows = append_then_die
bench.run_benchmark(sys.argv[1].split(","), sys.argv[2].split(","), n_seeds=3, out=sys.argv[3], progress=False, jobs=2)
"""


def test_killed_parallel_benchmark_resumes_to_the_uninterrupted_results(tmp_path):
    scenarios = []
    for i, rate in enumerate(("3.0", "5.0")):
        path = tmp_path / f"tiny{i}.toml"
        path.write_text(TINY.replace("base_rate = 3.0", f"base_rate = {rate}"))
        scenarios.append(str(path))
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", KILL, ",".join(scenarios), ",".join(POLICIES), str(out)],
                          capture_output=True, timeout=300, start_new_session=True, env=env)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    partial = pd.read_csv(out / "results.csv")
    assert len(partial) == 3 and partial.groupby(["scenario", "policy"]).ngroups == 1  # one cell of six
    assert not (out / "summary.md").exists()
    resumed = run_benchmark(scenarios, POLICIES, n_seeds=3, out=out, progress=False, jobs=2)  # the same command
    whole = run_benchmark(scenarios, POLICIES, n_seeds=3, out=tmp_path / "whole", progress=False)
    pd.testing.assert_frame_equal(resumed.results.drop(columns="seconds"), whole.results.drop(columns="seconds"))
    pd.testing.assert_frame_equal(resumed.summary, whole.summary)
    pd.testing.assert_frame_equal(resumed.ranking, whole.ranking)
    files = [pd.read_csv(d / "results.csv").drop(columns="seconds") for d in (out, tmp_path / "whole")]
    pd.testing.assert_frame_equal(*files)
    # the cell finished before the kill was kept, not simulated again
    first = partial.iloc[0]
    kept = pd.read_csv(out / "results.csv").set_index(["scenario", "policy", "seed"])
    assert kept.loc[(first["scenario"], first["policy"], first["seed"]), "seconds"] == first["seconds"]
