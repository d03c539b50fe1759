"""Cached compiled kernels are dropped when any kernel source changes (numba checks only the defining file)."""

from __future__ import annotations

from shopgym.world import kernel


def _package(tmp_path):
    for folder, name in (("world", "a_kernel.py"), ("envs", "b_obs.py")):
        (tmp_path / folder / "__pycache__").mkdir(parents=True)
        (tmp_path / folder / name).write_text(f"X = 1  # {name}\n")
    return tmp_path


def _cached(pkg):
    files = [pkg / "world" / "__pycache__" / "a_kernel.f-10.py311.nbi", pkg / "envs" / "__pycache__" / "b_obs.g-3.py311.nbc"]
    for f in files:
        f.write_bytes(b"compiled")
    return files


def _check(monkeypatch, pkg):
    monkeypatch.setattr(kernel, "PACKAGE", pkg)
    monkeypatch.setattr(kernel, "STAMP", pkg / "__pycache__" / "kernels.sha256")
    monkeypatch.setattr(kernel, "_cache_checked", False)
    kernel.drop_stale_kernels()


def test_cached_kernels_survive_until_a_kernel_source_changes(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    pkg = _package(tmp_path)
    files = _cached(pkg)
    _check(monkeypatch, pkg)  # no stamp yet: whatever is cached may be stale
    assert not any(f.exists() for f in files)
    assert (pkg / "__pycache__" / "kernels.sha256").read_text() == kernel.sources_digest()

    files = _cached(pkg)
    _check(monkeypatch, pkg)  # nothing changed: the cache is kept
    assert all(f.exists() for f in files)

    (pkg / "envs" / "b_obs.py").write_text("X = 2  # a callee's constant changed\n")
    digest = kernel.sources_digest()
    _check(monkeypatch, pkg)
    assert not any(f.exists() for f in files)
    assert (pkg / "__pycache__" / "kernels.sha256").read_text() == digest


def test_the_check_runs_once_per_process(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    pkg = _package(tmp_path)
    _check(monkeypatch, pkg)
    (pkg / "world" / "a_kernel.py").write_text("X = 3\n")
    files = _cached(pkg)
    kernel.drop_stale_kernels()  # already checked in this process: no second scan
    assert all(f.exists() for f in files)
