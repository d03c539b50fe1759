"""scenarios/doc_sections.py: marked sections of generated docs are replaced in place, and whole-page writers keep
the sections other scripts own."""

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
