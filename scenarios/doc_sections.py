"""Benchmark sections of a Markdown doc: each between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``
markers, stamped with the command that produced it, replaced in place when re-run (the rest of the doc
stays), written atomically."""

from __future__ import annotations

import calendar
import platform
import re
import time
from pathlib import Path

from shopgym.atomic import atomic_write_text

#: How a stamp writes a time: UTC to the minute, e.g. ``2026-12-02 05:52 UTC``.
STAMP_FORMAT = "%Y-%m-%d %H:%M UTC"


def utc_stamp(seconds: float | None = None) -> str:
    """The time ``seconds`` (since the epoch; now when None) as a stamp writes it (``STAMP_FORMAT``)."""
    return time.strftime(STAMP_FORMAT, time.gmtime(seconds))


def check_stamp(text: str, what: str = "ran_at") -> str:
    """``text`` if it is a time as ``STAMP_FORMAT`` writes it (``YYYY-MM-DD HH:MM UTC``, zero-padded); else a
    ValueError naming ``what`` and the format."""
    try:
        ok = isinstance(text, str) and utc_stamp(calendar.timegm(time.strptime(text, STAMP_FORMAT))) == text
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{what} {text!r}: not a UTC time as 'YYYY-MM-DD HH:MM UTC' (zero-padded, e.g. "
                         "'2026-12-02 05:52 UTC'); give it in that form.")
    return text


def write_section(doc: Path, name: str, title: str, body: str, command: str, seconds: float, threads: str,
                  new_doc: str = "", ran_at: str | None = None) -> None:
    """Put section ``name`` (``### title``, a line naming ``command``, its run time in minutes, the machine,
    torch and ``threads``, then ``body``) into ``doc``: in place of the old one, or appended (to ``new_doc``
    when ``doc`` does not exist yet). The line ends with the time the text is written (UTC); ``ran_at``
    (``YYYY-MM-DD HH:MM UTC``), when the figures were produced earlier than that (text rewritten from a run's
    saved results), puts the run's time first and the rewrite's after it."""
    import torch

    when = utc_stamp() if ran_at is None else \
        f"{check_stamp(ran_at)}; text rewritten from its saved results {utc_stamp()}"
    stamp = (f"Produced by `{command}` in {seconds / 60:.1f} min on {platform.machine()} (torch {torch.__version__}, "
             f"{threads}, {when}).")
    section = f"<!-- {name}:start -->\n### {title}\n\n{stamp}\n\n{body}\n<!-- {name}:end -->"
    text = doc.read_text() if doc.exists() else new_doc
    pattern = re.compile(rf"<!-- {re.escape(name)}:start -->.*?<!-- {re.escape(name)}:end -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    atomic_write_text(doc, text)


def keep_sections(doc: Path, text: str) -> str:
    """``text`` (a whole page a script is about to write to ``doc``) with every marked section of the current
    ``doc`` that ``text`` does not hold appended, unchanged: a script that writes a whole page keeps the sections
    other scripts own (``write_section``)."""
    if not doc.exists():
        return text
    old = doc.read_text()
    kept = [m.group(0) for m in re.finditer(r"<!-- (\S+):start -->.*?<!-- \1:end -->", old, re.S)
            if f"<!-- {m.group(1)}:start -->" not in text]
    return text if not kept else text.rstrip() + "\n\n" + "\n\n".join(kept) + "\n"
