"""Run logs: one append-only CSV per stream (train, episodes, eval), plus TensorBoard when installed."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any


class RunLogger:
    """Writes rows ``{step, **values}`` to ``<log_dir>/<stream>.csv``.

    Files are opened in append mode, so a resumed run adds to the logs of the run it continues.
    A stream's columns are fixed by its first row (the existing header when the file exists).
    With ``tensorboard=True`` and the ``tensorboard`` package installed, scalars also go to
    ``<log_dir>/tb`` as ``<stream>/<key>``; without the package this is silently skipped.
    """

    def __init__(self, log_dir: str | Path, tensorboard: bool = True):
        self.dir = Path(log_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(self.dir / "tb"))
            except ImportError:
                self.writer = None

    def log(self, stream: str, step: int, values: dict[str, Any]) -> None:
        path = self.dir / f"{stream}.csv"
        row = {"step": int(step), **{k: _plain(v) for k, v in values.items()}}
        if path.exists() and path.stat().st_size > 0:
            with open(path, newline="") as f:
                header = next(csv.reader(f))
        else:
            header = list(row)
            with open(path, "w", newline="") as f:
                csv.writer(f).writerow(header)
        with open(path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=header, extrasaction="ignore").writerow(row)
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(f"{stream}/{k}", _plain(v), int(step))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _plain(v):
    return float(v) if hasattr(v, "__float__") else v
