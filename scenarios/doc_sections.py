"""Benchmark sections of a Markdown doc: each between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``
markers, stamped with the command that produced it, replaced in place when re-run (the rest of the doc
stays), written atomically."""

from __future__ import annotations

import platform
import re
import time
from pathlib import Path

from shopgym.atomic import atomic_write_text


def write_section(doc: Path, name: str, title: str, body: str, command: str, seconds: float, threads: str,
                  new_doc: str = "") -> None:
    """Put section ``name`` (``### title``, a line naming ``command``, its run time in minutes, the machine,
    torch and ``threads``, then ``body``) into ``doc``: in place of the old one, or appended (to ``new_doc``
    when ``doc`` does not exist yet)."""
    import torch

    stamp = (f"Produced by `{command}` in {seconds / 60:.1f} min on {platform.machine()} (torch {torch.__version__}, "
             f"{threads}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).")
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
