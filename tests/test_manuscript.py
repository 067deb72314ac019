"""The manuscript built from values.csv (integrating.manuscript): numbers, words, tables, formats."""

from __future__ import annotations

import re
import subprocess
import sys

import docx
import pytest
from pypdf import PdfReader

from integrating import manuscript, report
from integrating import values as V
from paper_fixtures import write_study

NUMBER = re.compile(r"\d+(?:\.\d+)?")
LABEL = re.compile(r"\b(?:Table|Figure) \d+\b")


def _build(root, *, synthetic=False, show_excerpts=True, formats=manuscript.FORMATS):
    derived, raw = write_study(root, synthetic=synthetic)
    values_path = V.write(V.compute(derived, raw), derived / "values.csv")
    out = root / "paper"
    manuscript.build(values_path, out, figures_dir=None, show_excerpts=show_excerpts, formats=formats)
    return values_path, out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("study"))


def docx_text(path) -> tuple[list[str], list[list[list[str]]]]:
    document = docx.Document(str(path))
    paragraphs = [p.text for p in document.paragraphs]
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]
    return paragraphs, tables


def body(paragraphs):
    """The text before the references (whose years and pages are not results)."""
    return " ".join(paragraphs[:paragraphs.index("References")])


def test_the_docx_holds_this_studys_numbers_and_the_words_that_follow_them(built):
    _, out = built
    paragraphs, _ = docx_text(out / "manuscript.docx")
    text = " ".join(body(paragraphs).split())
    assert "Of the 6 clinics, 3 implemented more and 3 implemented less." in text
    # ratings fell in "more" (-0.0461) and rose in "less" (+0.1234): the words follow the values
    assert "Patients’ ratings fell by 0.05 points (95% CI -0.34 to 0.25) in the 3 clinics that implemented more" in text
    assert "rose by 0.12 points (95% CI -0.21 to 0.46) in the 3 clinics that implemented less" in text
    assert "was not statistically significant (Student t-test, t(4) = -1.13, p = 0.32; Table 3)" in text
    assert "1 of the 2 mechanisms distinguished the clinics" in text
    assert "Negotiating was weakly distinguishing: 2.5 versus 1.4 documents per 10 (U = 8, p = 0.200, " \
           "Holm-adjusted p = 0.400)" in text
    assert "Engaging groups was not distinguishing" in text
    assert "The study followed 6 primary-care clinics for 9 months from 2019-03-01." in text
    for word in ("rose by 0.07", "fell by 0.08", "All 4 mechanisms", "16 clinics"):
        assert word not in text  # the bundled study's results are not in this study's text


def test_analyses_not_computable_on_these_data_say_so_with_the_reason(built):
    _, out = built
    text = " ".join(body(docx_text(out / "manuscript.docx")[0]).split())
    assert "Agreement between coders is not computable: coding_reliability.csv was not written" in text
    assert "The multiverse is not computable: multiverse_summary.csv was not written" in text
    assert "The sensitivity of the segmentation is not computable" in text


def test_every_number_in_the_text_and_tables_traces_to_a_value(built):
    values_path, out = built
    allowed = set()
    for v in V.read(values_path).values():
        if v.computable:
            allowed.update(NUMBER.findall(v.text()))
    paragraphs, tables = docx_text(out / "manuscript.docx")
    cells = [c for t in tables for row in t for c in row]
    text = LABEL.sub(" ", body(paragraphs) + " " + " ".join(cells))
    tokens = NUMBER.findall(text)
    assert tokens, "no number found"
    assert sorted(set(tokens) - allowed) == []


def test_the_docx_has_its_three_tables_as_word_tables(built):
    _, out = built
    _, tables = docx_text(out / "manuscript.docx")
    assert len(tables) == 3
    t1, t2, t3 = tables
    assert t1[0][:3] == ["Group", "Clinic", "Field notes"] and len(t1) == 1 + 6 + 2
    assert ["More", "K1", "6", "3", "2", "4", "3", "31", "33"] in t1
    assert ["More", "All", "17", "9", "6", "15", "12", "102", "97"] in t1
    assert t2[0][-1] == "Illustrative excerpt" and len(t2) == 3
    assert t2[2] == ["Negotiating", "2.5", "1.4", "1.1", "8", "0.200", "0.400", "weakly distinguishing",
                     "The manager swapped two shifts to free the nurses."]
    assert t3[1][:2] == ["Student t-test (primary)", "-0.17"]
    assert t3[2] == ["Welch t-test", "not computable", "", "", "", ""]


def test_tables_are_written_as_csv_beside_the_manuscript(built):
    _, out = built
    import pandas as pd

    t2 = pd.read_csv(out / "table2.csv", dtype=str, keep_default_na=False)
    assert list(t2["Holm p"]) == ["0.700", "0.400"]
    assert len(pd.read_csv(out / "table1.csv")) == 8


def test_without_consent_to_show_excerpts_table_2_has_none(tmp_path):
    _, out = _build(tmp_path, show_excerpts=False, formats=("docx",))
    _, tables = docx_text(out / "manuscript.docx")
    assert "Illustrative excerpt" not in tables[1][0]
    assert "swapped two shifts" not in (out / "manuscript.md").read_text()


def test_the_synthetic_note_is_on_the_first_page_only_for_synthetic_data(built, tmp_path):
    _, out = built
    assert "SYNTHETIC" not in (out / "manuscript.md").read_text()
    _, synthetic = _build(tmp_path, synthetic=True, formats=("docx", "pdf"))
    paragraphs, _ = docx_text(synthetic / "manuscript.docx")
    first_heading = paragraphs.index("Methods")
    assert any(p.startswith("SYNTHETIC DATA.") for p in paragraphs[:first_heading])
    assert "SYNTHETIC DATA" in PdfReader(synthetic / "manuscript.pdf").pages[0].extract_text()


def test_a_value_the_template_needs_but_the_file_lacks_stops_the_build_naming_it(built, tmp_path):
    values_path, _ = built
    lines = values_path.read_text().splitlines()
    cut = tmp_path / "values.csv"
    cut.write_text("\n".join(line for line in lines if not line.startswith("survey.more.mean_change,")) + "\n")
    with pytest.raises(manuscript.ManuscriptError, match=r"value 'survey.more.mean_change'"):
        manuscript.build(cut, tmp_path / "paper", figures_dir=None, formats=("docx",))
    proc = subprocess.run([sys.executable, "-m", "integrating.cli", "paper", "--values", str(cut),
                           "--out", str(tmp_path / "paper"), "--formats", "docx"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "survey.more.mean_change" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "paper" / "manuscript.docx").exists()


def test_the_pdf_has_a_few_pages_and_embeds_its_fonts(built):
    _, out = built
    reader = PdfReader(out / "manuscript.pdf")
    assert 2 <= len(reader.pages) <= 12
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            desc = font.get("/FontDescriptor") or font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            desc = desc.get_object()
            fonts[str(font["/BaseFont"])] = any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    assert fonts and all(fonts.values()), fonts
    assert "Of the 6 clinics" in " ".join(p.extract_text() for p in reader.pages)


def test_the_html_is_one_self_contained_page(built):
    _, out = built
    page = (out / "manuscript.html").read_text(encoding="utf-8")
    assert page.count("<table") == 3 and "Of the 6 clinics" in page
    assert report.remote_references(page) == []


def test_two_builds_are_byte_identical(built, tmp_path):
    values_path, out = built
    again = tmp_path / "again"
    manuscript.build(values_path, again, figures_dir=None, show_excerpts=True)
    for name in ("manuscript.docx", "manuscript.pdf", "manuscript.html", "table1.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_text_values_are_escaped_for_markdown():
    assert manuscript.md_escape("composite ~ wave * group + (1 | clinic)") == \
        r"composite \~ wave \* group + (1 \| clinic)"


def test_the_report_site_links_the_manuscript_when_it_exists(tmp_path):
    reports, paper = tmp_path / "reports", tmp_path / "paper"
    reports.mkdir()
    assert report.manuscript_section(reports, paper) == ""
    paper.mkdir()
    for fmt in ("html", "docx", "pdf"):
        (paper / f"manuscript.{fmt}").write_text("x")
    section = report.manuscript_section(reports, paper)
    assert 'href="../paper/manuscript.html"' in section and 'href="../paper/manuscript.pdf"' in section


def test_a_study_without_survey_or_inventory_gets_sentences_not_numbers(tmp_path):
    derived, raw = write_study(tmp_path)
    for name in ("survey_group_change", "survey_effects", "inventory"):
        (derived / f"{name}.csv").unlink()
    values_path = V.write(V.compute(derived, raw), derived / "values.csv")
    manuscript.build(values_path, tmp_path / "paper", figures_dir=None, formats=("docx",))
    paragraphs, tables = docx_text(tmp_path / "paper" / "manuscript.docx")
    text = " ".join(body(paragraphs).split())
    assert "The analyses of patient experience are not computable on these data: survey_group_change.csv " \
           "was not written" in text
    assert "The inventory of documents and responses is not computable" in text
    assert "rose by" not in text and "fell by" not in text
    assert len(tables) == 3 and all(row[1] == "not computable" for row in tables[2][1:])
