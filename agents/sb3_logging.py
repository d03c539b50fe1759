"""Training logs of SB3 runs: an appending CSV log, and TensorBoard where the ``tensorboard`` extra is installed."""

from __future__ import annotations

import os
from pathlib import Path

from stable_baselines3.common.logger import CSVOutputFormat, Logger


class AppendingCSV(CSVOutputFormat):
    """SB3's CSV log, opened for appending: a resumed run adds rows under the existing header."""

    def __init__(self, filename: str | Path):
        path = Path(filename)
        if path.exists() and path.stat().st_size > 0:
            self.file = open(path, "r+")  # noqa: SIM115  (closed by Logger.close)
            self.keys = self.file.readline().rstrip("\n").split(",")
            self.file.seek(0, os.SEEK_END)
        else:
            self.file = open(path, "w+")  # noqa: SIM115
            self.keys = []
        self.separator, self.quotechar = ",", '"'


def make_logger(folder: Path) -> Logger:
    """CSV (appended) and, when installed, TensorBoard logs under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    formats = [AppendingCSV(folder / "progress.csv")]
    if tensorboard_available():
        from stable_baselines3.common.logger import TensorBoardOutputFormat

        formats.append(TensorBoardOutputFormat(str(folder / "tb")))
    return Logger(str(folder), formats)


def tensorboard_available() -> bool:
    """Whether SB3 can write TensorBoard logs here (the ``tensorboard`` extra is installed).

    Asked of SB3 itself: its ``TensorBoardOutputFormat`` asserts (rather than raising ``ImportError``)
    when ``torch.utils.tensorboard`` cannot import, so trying it would crash training.
    """
    from stable_baselines3.common import logger as sb3_logger

    return getattr(sb3_logger, "SummaryWriter", None) is not None
