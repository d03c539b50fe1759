"""Read a user's data file, turning every way it can be unreadable into one ``DataError`` naming the file.

pandas reports a bad file in many ways (``EmptyDataError``, ``ParserError``, ``UnicodeDecodeError``,
``zipfile.BadZipFile``, ``gzip.BadGzipFile``, ``EOFError`` on a truncated archive, ``OSError``). At the
file-reading boundary each becomes a ``DataError`` whose one-line message names the file, what is wrong
and the fix, so a command prints that line instead of a traceback. Column and dtype checks are the
loaders' job (``forecasters.loaders``, ``forecasters.data``); this module only gets the bytes into a frame.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd

from shopgym.errors import DataError


def _fault(path: Path, exc: BaseException) -> str:
    """What is wrong with ``path``, given the exception reading it raised."""
    if isinstance(exc, pd.errors.EmptyDataError):
        return "is empty (no header and no rows)"
    if isinstance(exc, pd.errors.ParserError):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"is not a well-formed CSV ({first})"
    if isinstance(exc, UnicodeDecodeError):
        return f"is not UTF-8 text (byte {exc.start}: {exc.reason}; a binary or differently encoded file?)"
    if isinstance(exc, zipfile.BadZipFile):
        return "is not a valid zip archive (corrupt or truncated, or not a zip despite its name)"
    if isinstance(exc, EOFError):
        return "ends early (a truncated or corrupt compressed file)"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    if isinstance(exc, FileNotFoundError):
        return "does not exist"
    if isinstance(exc, PermissionError):
        return "cannot be read (permission denied)"
    if isinstance(exc, OSError):  # gzip.BadGzipFile, I/O errors
        return f"cannot be read ({type(exc).__name__}: {exc})"
    return f"cannot be read as CSV ({type(exc).__name__}: {exc})"


def read_csv(path: str | Path, *, what: str = "data file", fix: str = "", **kwargs) -> pd.DataFrame:
    """``pandas.read_csv(path, **kwargs)`` with every read failure (and a file without rows) as a ``DataError``.

    Args:
        path: a CSV file, optionally compressed (``.zip`` holding one CSV, ``.gz``, ...), as pandas reads it.
        what: what the file is, for the message (e.g. ``"sales file"``).
        fix: the fix to name; default: "check the path and give a UTF-8 CSV with a header row".
        kwargs: passed to ``pandas.read_csv`` (``nrows=``, ``usecols=``, ...).

    Returns:
        The frame, with at least one row.
    """
    path = Path(path)
    fix = fix or "Check the path and give a UTF-8 CSV (optionally zipped) with a header row and data rows."
    try:
        df = pd.read_csv(path, **kwargs)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, zipfile.BadZipFile, EOFError,
            OSError) as exc:
        raise DataError(f"{what} {str(path)!r} {_fault(path, exc)}. {fix}") from exc
    except ValueError as exc:  # pandas' own: a zip holding several files or none, a bad compression, ...
        raise DataError(f"{what} {str(path)!r} cannot be read as CSV ({exc}). {fix}") from exc
    if len(df) == 0:
        raise DataError(f"{what} {str(path)!r} has a header ({', '.join(map(str, df.columns))}) but no data rows. {fix}")
    return df
