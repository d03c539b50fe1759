"""scenarios/doc_sections.py: marked sections of generated docs are replaced in place, and whole-page writers keep
the sections other scripts own."""

import platform
import time

import pytest

from scenarios.doc_sections import keep_sections, write_section


def test_write_section_replaces_in_place_and_appends_new(tmp_path):
    doc = tmp_path / "page.md"
    doc.write_text("# Page\n\nintro\n")
    write_section(doc, "one", "One", "first body", "cmd one", 60.0, "1 thread")
    write_section(doc, "two", "Two", "second body", "cmd two", 0.0, "1 thread")
    write_section(doc, "one", "One", "new body", "cmd one", 60.0, "1 thread")
    text = doc.read_text()
    assert text.startswith("# Page\n\nintro\n")
    assert text.count("<!-- one:start -->") == 1 and "new body" in text and "first body" not in text
    assert text.index("<!-- one:start -->") < text.index("<!-- two:start -->")  # replaced where it was
    assert "Produced by `cmd one` in 1.0 min" in text


def test_a_whole_page_writer_keeps_the_sections_it_does_not_write(tmp_path):
    doc = tmp_path / "page.md"
    doc.write_text("old\n<!-- a:start -->\nA\n<!-- a:end -->\nmid\n<!-- b:start -->\nB\n<!-- b:end -->\n")
    page = "new page\n<!-- b:start -->\nB2\n<!-- b:end -->\n"
    kept = keep_sections(doc, page)
    assert kept.startswith(page.rstrip())
    assert "<!-- a:start -->\nA\n<!-- a:end -->" in kept  # another script's section survives
    assert "B2" in kept and "\nB\n" not in kept  # the page's own version of b wins
    assert "old" not in kept and "mid" not in kept  # unmarked old text is the writer's to drop
    assert keep_sections(tmp_path / "absent.md", page) == page


def test_the_stamp_names_when_the_figures_were_produced_when_told(tmp_path, monkeypatch):
    """Without ``ran_at`` the stamp is the one every caller had (the writing time); with it, the run's time and the
    rewrite's; a malformed ``ran_at`` is refused before the doc is touched."""
    import torch

    real = time.gmtime
    now = real(1_796_193_600)  # 2026-12-02 06:40 UTC
    monkeypatch.setattr(time, "gmtime", lambda seconds=None: now if seconds is None else real(seconds))
    doc = tmp_path / "page.md"
    head = f"Produced by `cmd` in 2.0 min on {platform.machine()} (torch {torch.__version__}, 1 thread, "
    write_section(doc, "one", "One", "body", "cmd", 120.0, "1 thread")
    assert head + "2026-12-02 06:40 UTC)." in doc.read_text().splitlines()
    write_section(doc, "one", "One", "body", "cmd", 120.0, "1 thread", ran_at="2026-12-02 05:52 UTC")
    lines = doc.read_text().splitlines()
    assert head + "2026-12-02 05:52 UTC; text rewritten from its saved results 2026-12-02 06:40 UTC)." in lines
    assert sum(ln.startswith("Produced by") for ln in lines) == 1  # replaced, not added
    before = doc.read_text()
    for bad in ("2026-12-02 05:52", "2026-12-2 05:52 UTC", "2026-13-02 05:52 UTC", "yesterday"):
        with pytest.raises(ValueError, match="YYYY-MM-DD HH:MM UTC"):
            write_section(doc, "one", "One", "other", "cmd", 120.0, "1 thread", ran_at=bad)
    assert doc.read_text() == before
