"""Compiled kernels are cached under a key that changes with any kernel source (numba itself checks only the
file that defines a kernel, so an edited callee would otherwise leave a stale caller in the cache)."""

from __future__ import annotations

import pytest

from shopgym.world import kernel

pytestmark = pytest.mark.skipif(not kernel.COMPILED, reason="the kernels are compiled by numba")


def test_every_kernel_is_keyed_by_the_digest_of_the_kernel_sources():
    from shopgym.envs import recommend_fast
    from shopgym.world import ads_kernel, exact_rng, session_kernel

    tag = f"_k{kernel.sources_digest()[:kernel.DIGEST_CHARS]}"
    for compiled in (kernel.step_worlds, session_kernel.serve_batch, ads_kernel.tick_kernel, exact_rng.poisson,
                     recommend_fast.step_shops):
        assert compiled.py_func.__qualname__.endswith(tag)


def _package(root):
    for folder, name in (("world", "a_kernel.py"), ("envs", "b_obs.py")):
        (root / folder / "__pycache__").mkdir(parents=True)
        (root / folder / name).write_text(f"X = 1  # {name}\n")
    return root


def test_the_digest_changes_with_any_kernel_source(tmp_path, monkeypatch):
    pkg = _package(tmp_path)
    monkeypatch.setattr(kernel, "PACKAGE", pkg)
    monkeypatch.setattr(kernel, "_digest", None)
    first = kernel.sources_digest()
    monkeypatch.setattr(kernel, "_digest", None)
    assert kernel.sources_digest() == first  # same sources, same key
    (pkg / "envs" / "b_obs.py").write_text("X = 2  # a callee's constant changed\n")
    monkeypatch.setattr(kernel, "_digest", None)
    assert kernel.sources_digest() != first


def test_only_the_orphans_of_other_digests_are_pruned(tmp_path, monkeypatch):
    pkg = _package(tmp_path)
    monkeypatch.setattr(kernel, "PACKAGE", pkg)
    digest = "0123456789ab" + "f" * 52
    cache = pkg / "world" / "__pycache__"
    keep = [cache / "a_kernel._f_k0123456789ab-10.py311.nbi", cache / "a_kernel._f_k0123456789ab-10.py311.0.nbc",
            pkg / "world" / "a_kernel.py"]
    gone = [cache / "a_kernel._f_kfedcba987654-10.py311.nbi", cache / "a_kernel._f-10.py311.nbc",
            pkg / "envs" / "__pycache__" / "b_obs._g_kaaaaaaaaaaaa-3.py311.nbi"]
    for f in keep[:2] + gone:
        f.write_bytes(b"compiled")
    assert kernel.prune_stale_kernels(digest) == 3
    assert all(f.exists() for f in keep) and not any(f.exists() for f in gone)
