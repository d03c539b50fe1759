"""One line for every fault a command meets on a user's files (used by every ``shopgym`` sub-command).

A ``ShopgymError`` already names the file, the problem and the fix. An ``OSError`` from reading or
writing (a full disk, a read-only folder, ``--out`` naming an existing file, a missing folder) names only
the file and the errno, so ``describe`` adds what it means and the fix. ``report`` prints the line in red
on stderr; the caller exits with ``EXIT_CODE``.
"""

from __future__ import annotations

import errno

import typer

#: Exit status of a command stopped by bad input or a file fault (typer's usage errors also exit 2).
EXIT_CODE = 2

_FIXES = {
    errno.ENOSPC: ("the disk is full", "free some space and run the command again (files written atomically, "
                   "such as results and state files, still hold their previous content)"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space and run the command again"),
    errno.EACCES: ("permission denied", "choose a folder you can write to (e.g. --out) or fix the permissions"),
    errno.EPERM: ("operation not permitted", "choose a folder you can write to (e.g. --out) or fix the permissions"),
    errno.EROFS: ("the file system is read-only", "choose an --out folder on a writable disk"),
    errno.ENOENT: ("no such file or folder", "check the path"),
    errno.EISDIR: ("this is a folder, not a file", "name a file instead"),
    errno.ENOTDIR: ("a part of this path is a file, not a folder", "choose an --out that is a folder or does not exist yet"),
    errno.EEXIST: ("it already exists", "remove it or choose another path"),
}


def describe(exc: BaseException) -> str:
    """The one-line message for ``exc``: a ``ShopgymError``'s own message, or for an ``OSError`` the file,
    what is wrong and the fix."""
    if not isinstance(exc, OSError) or exc.errno is None:  # e.g. FileNotFoundError("... config.yml is missing")
        return " ".join(str(exc).split())
    name = exc.filename if exc.filename is not None else None
    what, fix = _FIXES.get(exc.errno, (exc.strerror or type(exc).__name__, "check the file and run the command again"))
    where = f"{str(name)!r}: " if name is not None else ""
    return f"{where}{what} ({type(exc).__name__}, errno {exc.errno}); {fix}."


def report(exc: BaseException) -> None:
    """Print ``error: <describe(exc)>`` in red on stderr."""
    typer.secho(f"error: {describe(exc)}", fg=typer.colors.RED, err=True)
