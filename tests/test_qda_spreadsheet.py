"""Coded-segment spreadsheets (Dedoose excerpts, ATLAS.ti quotations, plain tables): locating excerpts."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import yaml

from integrating.contract import load
from integrating.errors import ImportQDAError
from integrating.qda import Limits, export_spreadsheet, import_qda
from integrating.qda.cli import main
from qda_fixtures import make_raw, tree_digest

TEXTS = {
    "North notes": "The manager gathered the nurses.\nThe nurses agreed.  The doctors agreed.\n"
                   "Later the nurses agreed again, twice: the nurses agreed.",
    "South notes": "Café staff shared updates 😀 with the front desk.",
}
LAST = TEXTS["North notes"].rindex("the nurses agreed")  # the fourth of four occurrences


def segments(raw):
    s = load(raw).coded_segments
    return sorted(zip(s["document_id"], s["code"], s["coder"], s["start"].tolist(), s["end"].tolist()))


def mapping_for(texts_dir, fmt="dedoose", **spreadsheet):
    return {
        "study": {"months": 12, "start_date": "2015-01-01"},
        "documents": {
            "clinic": {"from": "column", "name": "Clinic"},
            "source_type": {"value": "field_note"},
            "date": {"from": "column", "name": "Date", "format": "%m/%d/%Y"},
        },
        "codes": {"list": [{"path": "Engaging", "code": "engaging_groups", "category": "mechanism"},
                           {"path": "Bridging", "code": "bridging_communication", "category": "mechanism"},
                           {"path": "Sense", "code": "sensemaking", "category": "mechanism"},
                           {"path": "Negotiating", "code": "negotiating", "category": "mechanism"}]},
        "spreadsheet": {"format": fmt, "texts": str(texts_dir), **spreadsheet},
    }


def write_texts(folder):
    folder.mkdir()
    for name, text in TEXTS.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder


def dedoose_rows():
    return pd.DataFrame([
        # whitespace differs from the text (CRLF, single space): found ignoring white space
        ["North notes", "ann", "", "The nurses agreed. The\r\ndoctors agreed.", "N", "01/05/2015", "1", "0", "0", "0"],
        # occurs twice (and twice more capitalised): the range picks the occurrence nearest its start
        ["North notes", "bob", f"{LAST - 3}-{LAST + 14}", "the nurses agreed", "N", "01/05/2015", "0", "0", "1", "0"],
        # no range: the first occurrence
        ["North notes", "bob", "", "the nurses agreed", "N", "01/05/2015", "0", "0", "0", "True"],
        ["South notes", "ann", "0-10", "shared updates 😀 with the front desk", "S", "02/10/2015", "0", "1", "0", "0"],
    ], columns=["Media Title", "Excerpt Creator", "Excerpt Range", "Excerpt Copy", "Clinic", "Date",
                "Code: Engaging Applied", "Code: Bridging Applied", "Code: Sense Applied", "Code: Negotiating Applied"])


def test_dedoose_excerpts_are_located_in_their_texts(tmp_path):
    texts = write_texts(tmp_path / "texts")
    path = tmp_path / "excerpts.csv"
    dedoose_rows().to_csv(path, index=False)
    before = tree_digest(tmp_path / "texts") | tree_digest(path)
    report = import_qda(path, tmp_path / "raw", mapping_for(texts))
    north, south = TEXTS["North notes"], TEXTS["South notes"]
    first = north.index("The nurses agreed.  The doctors agreed.")
    fourth = LAST
    second = north.index("the nurses agreed")
    assert north.count("the nurses agreed") == 2 and second < fourth
    assert segments(tmp_path / "raw") == sorted([
        ("North_notes", "engaging_groups", "ann", first, first + len("The nurses agreed.  The doctors agreed.")),
        ("North_notes", "sensemaking", "bob", fourth, fourth + 17),
        ("North_notes", "negotiating", "bob", second, second + 17),
        ("South_notes", "bridging_communication", "ann", south.index("shared"), len(south) - 1),
    ])
    docs = load(tmp_path / "raw").documents.set_index("document_id")
    assert docs.loc["South_notes", "clinic_id"] == "S" and str(docs.loc["South_notes", "date"].date()) == "2015-02-10"
    assert any("occur more than once" in n for n in report.notes)
    assert tree_digest(tmp_path / "texts") | tree_digest(path) == before


def test_unfound_excerpts_are_listed_or_skipped(tmp_path):
    texts = write_texts(tmp_path / "texts")
    rows = dedoose_rows()
    rows.loc[1, "Excerpt Copy"] = "words that are nowhere"
    path = tmp_path / "excerpts.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(ImportQDAError, match=r"1 excerpt\(s\) of excerpts.csv cannot be found.*\n  row 3 \('North notes'\): 'words that are nowhere'"):
        import_qda(path, tmp_path / "raw", mapping_for(texts))
    assert not (tmp_path / "raw").exists()
    report = import_qda(path, tmp_path / "raw", mapping_for(texts, unfound="skip"))
    assert len(load(tmp_path / "raw").coded_segments) == 3
    assert any("left out 1 excerpt(s) not found" in n and "row 3" in n for n in report.notes)


@pytest.mark.parametrize("fmt, suffix", [("dedoose", ".csv"), ("dedoose", ".xlsx"), ("atlasti", ".xlsx"),
                                         ("atlasti", ".csv")])
def test_spreadsheet_round_trip(tmp_path, fmt, suffix):
    raw = make_raw(tmp_path / "raw")
    out, mapping = export_spreadsheet(raw, tmp_path / f"export{suffix}", fmt)
    import_qda(out, tmp_path / "back", mapping)
    original = {(d, c, k, s, e) for _, d, c, k, s, e in load(raw).coded_segments.itertuples(index=False)}
    assert set(segments(tmp_path / "back")) == original
    back = load(tmp_path / "back")
    docs = load(raw).documents.set_index("document_id")
    for row in back.documents.itertuples():
        assert (row.clinic_id, row.source_type, row.date) == tuple(docs.loc[row.document_id, ["clinic_id", "source_type", "date"]])
    book = back.codebook.set_index("code")
    assert book.loc["barrier_vendor", "category"] == "barrier"
    if fmt == "dedoose":  # every code is a column, so the hierarchy survives through the mapping
        assert book.loc["barrier_vendor", "parent"] == "barriers" and len(book) == 7


def test_columns_layout_with_offsets(tmp_path):
    texts = write_texts(tmp_path / "texts")
    north = TEXTS["North notes"]
    s = north.rindex("the nurses agreed")
    table = pd.DataFrame({"document": ["North notes"] * 2, "excerpt": ["the nurses agreed", "The manager"],
                          "codes": ["Sense; Engaging", "Engaging"], "coder": ["ann", "bob"],
                          "start": [str(s), ""], "end": [str(s + 17), ""], "Clinic": "N", "Date": "01/05/2015"})
    table.to_csv(tmp_path / "t.csv", index=False)
    import_qda(tmp_path / "t.csv", tmp_path / "raw", mapping_for(texts, "columns"))
    m = north.index("The manager")
    assert segments(tmp_path / "raw") == sorted([
        ("North_notes", "sensemaking", "ann", s, s + 17), ("North_notes", "engaging_groups", "ann", s, s + 17),
        ("North_notes", "engaging_groups", "bob", m, m + len("The manager"))])


def test_spreadsheet_refusals(tmp_path):
    texts = write_texts(tmp_path / "texts")
    path = tmp_path / "excerpts.csv"
    rows = dedoose_rows()
    path.write_bytes(rows.to_csv(index=False).replace("Café", "Caf").encode("utf-8") + "Café".encode("latin-1"))
    with pytest.raises(ImportQDAError, match=r"excerpts.csv: text is not valid UTF-8 \(byte 0xe9 at line 7\)"):
        import_qda(path, tmp_path / "raw", mapping_for(texts))
    rows.drop(columns="Excerpt Copy").to_csv(path, index=False)
    with pytest.raises(ImportQDAError, match=r"no column 'Excerpt Copy' \(the excerpt of a dedoose export\)"):
        import_qda(path, tmp_path / "raw", mapping_for(texts))
    rows = dedoose_rows()
    rows.loc[0, "Media Title"] = "East notes"
    rows.to_csv(path, index=False)
    with pytest.raises(ImportQDAError, match=r"1 source\(s\) have no readable text.*\n  'East notes': text file "
                                             r"missing from the project \(excerpts.csv: document 'East notes' has no text in"):
        import_qda(path, tmp_path / "raw", mapping_for(texts))
    m = mapping_for(texts)
    m["documents"]["skip_unreadable"] = True
    report = import_qda(path, tmp_path / "skipped", m)
    assert report.skipped_by_reason() == {"text file missing from the project": ["East notes"]}
    assert "East_notes" not in set(load(tmp_path / "skipped").documents["document_id"])
    dedoose_rows().to_csv(path, index=False)
    m = mapping_for(texts)
    del m["spreadsheet"]
    with pytest.raises(ImportQDAError, match="needs a 'spreadsheet:' section"):
        import_qda(path, tmp_path / "raw", m)
    xlsx = tmp_path / "excerpts.xlsx"
    dedoose_rows().to_excel(xlsx, index=False)
    with pytest.raises(ImportQDAError, match=r"excerpts.xlsx: the archive holds \d+ members, more than the limit of 3"):
        import_qda(xlsx, tmp_path / "raw", mapping_for(texts), limits=Limits(max_members=3))
    assert not (tmp_path / "raw").exists()


def test_template_mapping_for_a_spreadsheet(tmp_path, capsys):
    texts = write_texts(tmp_path / "texts")
    path = tmp_path / "excerpts.csv"
    dedoose_rows().to_csv(path, index=False)
    assert main(["qda-mapping", str(path), "--texts", str(texts)]) == 0
    template = yaml.safe_load(capsys.readouterr().out)
    assert [e["path"] for e in template["codes"]["list"]] == ["Engaging", "Bridging", "Sense", "Negotiating"]
    assert template["spreadsheet"]["format"] == "dedoose"
    m = copy.deepcopy(template)
    m["documents"] = mapping_for(texts)["documents"]
    m["codes"] = mapping_for(texts)["codes"]
    assert m["study"]["months"] is None  # no Date variable: left to fill in
    m["study"] = mapping_for(texts)["study"]
    import_qda(path, tmp_path / "raw", m)
    assert len(load(tmp_path / "raw").coded_segments) == 4
