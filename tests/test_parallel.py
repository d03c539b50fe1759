"""Benchmark cells in worker processes and as Ray tasks (scenarios/parallel.py): the same rows as one process,
a crash in one cell reported with its name while the other cells' results are kept, clear errors for bad
settings."""

import sys

import pandas as pd
import pytest

from scenarios.benchmark import CellsFailedError, run_benchmark
from scenarios.parallel import RAY_MISSING, BackendError, check_backend, execute

TINY = ('description = "tiny"\n[catalog]\nlead_time = 1\norder_cost = 4.0\n'
        "[demand]\nbase_rate = 3.0\n[inventory]\ncapacity = 12\ninitial_stock = 4\n[env]\nhorizon = 20\nmax_order = 8\n")
POLICIES = ["random", "sS", "critical_fractile"]


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    (tmp_path / "tiny2.toml").write_text(TINY.replace("base_rate = 3.0", "base_rate = 5.0"))
    return [str(path), str(tmp_path / "tiny2.toml")]


def rows(res) -> pd.DataFrame:
    """The result rows without their wall times (the only column that may differ between runs)."""
    return res.results.drop(columns="seconds")


def test_worker_processes_give_the_rows_of_one_process(tmp_path, tiny):
    one = run_benchmark(tiny, POLICIES, n_seeds=3, out=tmp_path / "one", progress=False)
    two = run_benchmark(tiny, POLICIES, n_seeds=3, out=tmp_path / "two", progress=False, jobs=2)
    assert len(one.results) == 2 * 3 * 3
    pd.testing.assert_frame_equal(rows(one), rows(two))
    pd.testing.assert_frame_equal(one.summary, two.summary)
    pd.testing.assert_frame_equal(one.ranking, two.ranking)
    # the files too, row for row, whatever order the cells finished in
    files = [pd.read_csv(tmp_path / d / "results.csv").drop(columns="seconds") for d in ("one", "two")]
    pd.testing.assert_frame_equal(*files)


def test_a_crashing_cell_is_named_and_the_other_cells_are_kept(tmp_path, tiny):
    garbage = tmp_path / "garbage.pkl"  # not a saved forecaster: building the world fails, in the worker
    garbage.write_bytes(b"not a model")
    broken = tmp_path / "broken.toml"
    broken.write_text(TINY.replace("[demand]\n", f'[demand]\ndemand_model = "learned:{garbage}"\n'))
    out = tmp_path / "bench"
    with pytest.raises(CellsFailedError, match=r"2 of 4 cells failed.*re-running.*\n  broken/random: LearnedModelError"):
        run_benchmark([tiny[0], str(broken)], ["random", "critical_fractile"], n_seeds=2, out=out, progress=False,
                      jobs=2)
    kept = pd.read_csv(out / "results.csv")
    assert set(kept["scenario"]) == {"tiny"} and sorted(set(kept["policy"])) == ["critical_fractile", "random"]
    assert len(kept) == 2 * 2 and not (out / "summary.md").exists()
    # resumable: the finished cells are read back, not simulated again (same wall times to the digit)
    again = run_benchmark([tiny[0]], ["random", "critical_fractile"], n_seeds=2, out=out, progress=False, jobs=2)
    key = ["policy", "seed"]
    pd.testing.assert_frame_equal(again.results.sort_values(key).reset_index(drop=True),
                                  kept.sort_values(key).reset_index(drop=True), check_dtype=False)


def _fail_on_two(x):
    if x == 2:
        raise RuntimeError("cell two broke")
    return x * 10


def test_execute_reports_each_failure_in_one_line_and_runs_the_rest():
    got = {t: (r, e) for t, r, e in execute(_fail_on_two, [1, 2, 3])}
    assert got[1] == (10, None) and got[3] == (30, None)
    assert got[2][0] is None and got[2][1].startswith("RuntimeError: cell two broke (at test_parallel.py:")


@pytest.mark.parametrize("jobs,backend,address,message", [
    (0, "local", None, "--jobs 0"),
    (2, "dask", None, "unknown backend 'dask'"),
    (1, "local", "10.0.0.1:6379", "add --backend ray"),
])
def test_bad_backend_settings_are_one_clear_error(jobs, backend, address, message):
    with pytest.raises(BackendError, match=message):
        check_backend(jobs, backend, address)


def test_ray_backend_without_ray_names_the_extra(monkeypatch, tmp_path, tiny):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed: import ray raises ImportError
    with pytest.raises(BackendError, match=r'pip install "shopgym\[ray\]"'):
        run_benchmark(tiny, ["random"], n_seeds=2, out=tmp_path / "b", progress=False, backend="ray")
    assert RAY_MISSING.endswith('pip install "shopgym[ray]"') and not (tmp_path / "b").exists()


def test_ray_backend_gives_the_rows_of_the_local_backend(tmp_path, tiny):
    ray = pytest.importorskip("ray", reason='the Ray backend test needs the ray extra: pip install "shopgym[ray]"')
    local = run_benchmark(tiny, POLICIES, n_seeds=2, out=tmp_path / "local", progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_benchmark(tiny, POLICIES, n_seeds=2, out=tmp_path / "ray", progress=False, backend="ray")
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(rows(local), rows(remote))
    pd.testing.assert_frame_equal(local.summary, remote.summary)


def test_cli_backend_errors_are_one_line(monkeypatch, tiny):
    from typer.testing import CliRunner

    from shopgym.cli.main import app

    monkeypatch.setitem(sys.modules, "ray", None)
    for args, message in ((["--backend", "ray"], 'pip install "shopgym[ray]"'), (["--jobs", "0"], "--jobs 0"),
                          (["--address", "h:6379"], "add --backend ray")):
        cli = CliRunner().invoke(app, ["benchmark", "--scenarios", tiny[0], "--seeds", "2", *args])
        assert cli.exit_code == 2 and message in cli.output and len(cli.output.strip().splitlines()) == 1, cli.output
