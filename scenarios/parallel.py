"""Where a benchmark's cells run: in this process, in local worker processes, or as Ray tasks.

A cell is one (scenario, policy) pair of a benchmark; its work is a module-level function of one picklable
argument (``scenarios.benchmark.run_cell``), whose result depends only on that argument, so every backend
gives the same results and only the order in which cells finish differs. ``execute`` yields each cell's
result, or the one-line description of the exception that ended it, as soon as it finishes; the runner
saves it at once, so a crash in one cell (or a killed run) loses only the cells not yet finished.

Backends:

- ``jobs=1`` (default): one cell after the other in this process.
- ``jobs=J > 1``: ``J`` worker processes (``concurrent.futures.ProcessPoolExecutor``, ``forkserver`` context,
  ``spawn`` where there is none: no state of this process is inherited, so a worker computes what a fresh
  process would). Each worker runs torch and BLAS on one thread (``OMP_NUM_THREADS=1``), so ``J`` workers use
  ``J`` cores.
- ``backend="ray"``: every cell is a Ray task (one CPU each) on the cluster at ``address`` (``ray start --head``
  on one machine, ``ray start --address HEAD:6379`` on the others; shopgym must be installed on each), or, with
  no address, on a Ray instance started here. Needs the ``ray`` extra (``pip install "shopgym[ray]"``).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from shopgym.errors import ShopgymError

BACKENDS = ("local", "ray")
#: Environment of every worker: one thread each for torch / BLAS, no progress bars of their own (tuning).
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
#: Modules the fork server imports before forking workers (the cell function's module and what it needs).
PRELOAD = ["scenarios.benchmark"]
RAY_MISSING = 'the Ray backend needs ray: pip install "shopgym[ray]"'


class BackendError(ShopgymError, ValueError):
    """A backend that does not exist, is not installed, or was given settings it does not take."""


def check_backend(jobs: int, backend: str, address: str | None) -> None:
    """Raise ``BackendError`` for a bad ``jobs`` / ``backend`` / ``address`` combination, or for the Ray backend
    without ray installed, before any work starts."""
    if backend not in BACKENDS:
        raise BackendError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}.")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise BackendError(f"--jobs {jobs!r}: give a number of worker processes >= 1.")
    if address and backend != "ray":
        raise BackendError(f"--address {address!r} names a Ray cluster; add --backend ray, or drop --address.")
    if backend == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise BackendError(RAY_MISSING) from None


def describe(exc: BaseException) -> str:
    """One line for an exception that ended a cell: its type, message and where it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    message = " ".join(str(exc).split()) or "no message"
    return f"{type(exc).__name__}: {message}{where}"


def _init_worker() -> None:
    """Run first in each local worker process: ``WORKER_ENV``, and one torch thread if torch is loaded."""
    os.environ.update(WORKER_ENV)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def execute(fn: Callable[[Any], Any], tasks: Sequence[Any], jobs: int = 1, backend: str = "local",
            address: str | None = None) -> Iterator[tuple[Any, Any, str | None]]:
    """Run ``fn(task)`` for every task; yield ``(task, result, None)``, or ``(task, None, error)`` with a one-line
    ``error`` (``describe``) when it raised, in the order the tasks finish. ``fn`` must be a module-level
    function (it is pickled by name) unless ``jobs == 1`` on the local backend. ``KeyboardInterrupt`` stops
    everything."""
    check_backend(jobs, backend, address)
    if not tasks:
        return
    if backend == "ray":
        yield from _ray(fn, tasks, address)
    elif jobs == 1:
        for task in tasks:
            try:
                result = fn(task)
            except Exception as exc:  # a failed cell is reported with its name; the others go on
                yield task, None, describe(exc)
            else:
                yield task, result, None
    else:
        yield from _processes(fn, tasks, jobs)


def _context():
    """``forkserver`` where the platform has it (Linux, macOS), else ``spawn``. The fork server imports
    ``PRELOAD`` once, in a fresh process with no threads, and every worker of every pool forks from it: workers
    start at once instead of each importing the simulator again, and inherit nothing from this process."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def _processes(fn, tasks, jobs: int):
    ctx = _context()
    with cf.ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=ctx, initializer=_init_worker) as pool:
        futures = {pool.submit(fn, task): task for task in tasks}
        try:
            for fut in cf.as_completed(futures):
                try:
                    result = fut.result()
                except cf.process.BrokenProcessPool:
                    yield futures[fut], None, "the worker process died (killed, or out of memory)"
                except Exception as exc:
                    yield futures[fut], None, describe(exc)
                else:
                    yield futures[fut], result, None
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise


def _ray(fn, tasks, address: str | None):
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(address=address, runtime_env={"env_vars": WORKER_ENV}, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(fn)
        pending = {remote.remote(task): task for task in tasks}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            task = pending.pop(done[0])
            try:
                result = ray.get(done[0])
            except Exception as exc:  # RayTaskError wraps the cell's exception; its cause names it
                yield task, None, describe(getattr(exc, "cause", None) or exc)
            else:
                yield task, result, None
    finally:
        if started:
            ray.shutdown()
