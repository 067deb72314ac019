"""Reading REFI-QDA projects: containers, file-name variants, GUIDs, texts, positions and the mapping."""

from __future__ import annotations

import copy
from datetime import date

import numpy as np
import pytest
import yaml

from integrating.contract import load
from integrating.errors import ImportQDAError
from integrating.qda import import_qda, load_mapping, read_project, template_mapping
from integrating.qda.positions import TextUnits, choose_scheme
from qda_fixtures import (
    DOC_IDS, PROJECT_MAPPING, PROJECT_TEXTS, expected_segments, make_qde_folder, make_qdpx, project_xml,
    source_files, tree_digest, zip_members,
)



def imported(out):
    study = load(out)
    segs = study.coded_segments
    got = sorted(zip(segs["document_id"], segs["code"], segs["start"].tolist(), segs["end"].tolist()))
    return study, got


def check_texts(study):
    for key, doc in DOC_IDS.items():
        assert study.text(doc) == PROJECT_TEXTS[key]


def test_qdpx_import_builds_every_contract_table(tmp_path):
    path = make_qdpx(tmp_path / "study.qdpx")
    report = import_qda(path, tmp_path / "raw", PROJECT_MAPPING)
    study, got = imported(tmp_path / "raw")
    assert got == expected_segments()
    check_texts(study)
    docs = study.documents.set_index("document_id")
    assert docs.loc["North_field_note", ["clinic_id", "source_type"]].tolist() == ["N", "field_note"]
    assert docs.loc["South_interview", ["clinic_id", "source_type", "participant_role"]].tolist() == ["S", "interview", "nurse"]
    assert docs.loc["North_minutes", "source_type"] == "meeting_minutes"  # "Meeting minutes" slugged
    assert str(docs.loc["North_minutes", "date"].date()) == "2015-06-30"
    book = study.codebook.set_index("code")
    # The code hierarchy becomes the parent column; categories are inherited from listed ancestors.
    assert book.loc["engaging_groups", "parent"] == "integrating"
    assert book.loc["time", ["parent", "category", "label"]].tolist() == ["barriers", "barrier", "Time"]
    assert book.loc["integrating", "category"] == "other"
    assert book.loc["engaging_groups", "definition"] == "Bringing groups in."
    # Users become coders: a mapped name, and a user with only an id.
    assert sorted(set(study.coded_segments["coder"])) == ["ann", "bob"]
    assert study.clinics["clinic_id"].tolist() == ["N", "S"]
    assert study.info.synthetic is False and study.info.months == 12
    assert report.segments == 5 and report.scheme == ("codepoints", "stored")


@pytest.mark.parametrize("qde_name, sources_dir", [
    ("project.qde", "sources"), ("Project.qde", "Sources"), ("Fixture study.qde", "sources"),
])
def test_file_name_variants(tmp_path, qde_name, sources_dir):
    path = make_qdpx(tmp_path / "study.qdpx", qde_name=qde_name, sources_dir=sources_dir)
    import_qda(path, tmp_path / "raw", PROJECT_MAPPING)
    assert imported(tmp_path / "raw")[1] == expected_segments()


def test_bare_qde_with_sources_beside_it_and_relative_paths(tmp_path):
    qde = make_qde_folder(tmp_path / "proj", qde_name="Project.qde", sources_dir="Sources",
                          paths={"s_n": "internal://s_n.txt", "s_m": "Sources/s_m.txt", "s_s": None})
    before = tree_digest(tmp_path / "proj")
    import_qda(qde, tmp_path / "raw", PROJECT_MAPPING)
    assert imported(tmp_path / "raw")[1] == expected_segments()
    import_qda(tmp_path / "proj", tmp_path / "raw2", PROJECT_MAPPING)  # the folder itself
    assert imported(tmp_path / "raw2")[1] == expected_segments()
    assert tree_digest(tmp_path / "proj") == before  # the input is only read


def test_all_texts_inline_and_all_in_files(tmp_path):
    for inline in (tuple(PROJECT_TEXTS), ()):
        out = tmp_path / f"raw{len(inline)}"
        import_qda(make_qdpx(tmp_path / f"s{len(inline)}.qdpx", inline=inline), out, PROJECT_MAPPING)
        study, got = imported(out)
        assert got == expected_segments()
        check_texts(study)


def test_bom_is_dropped_and_offsets_count_the_text_without_it(tmp_path):
    import_qda(make_qdpx(tmp_path / "s.qdpx", bom=True), tmp_path / "raw", PROJECT_MAPPING)
    study, got = imported(tmp_path / "raw")
    assert got == expected_segments()
    assert not (tmp_path / "raw" / "documents" / "North_field_note.txt").read_bytes().startswith(b"\xef\xbb\xbf")
    check_texts(study)


@pytest.mark.parametrize("unit, line_ends, stored_crlf", [
    ("utf16", "crlf", False),   # NVivo-like: UTF-16 code units, line ends counted as CRLF, LF text
    ("utf16", "stored", True),  # UTF-16 units of a text stored with CRLF
    ("codepoints", "stored", True),  # code points of a CRLF text: CRLF counts two
    ("utf16", "stored", False),
    ("codepoints", "crlf", False),
])
def test_position_units_are_detected_and_converted(tmp_path, unit, line_ends, stored_crlf):
    path = make_qdpx(tmp_path / "s.qdpx", unit=unit, line_ends=line_ends, stored_crlf=stored_crlf, inline=())
    report = import_qda(path, tmp_path / "raw", PROJECT_MAPPING)
    study, got = imported(tmp_path / "raw")
    assert got == expected_segments()
    check_texts(study)  # CRLF texts are stored with LF line ends
    if stored_crlf:
        assert b"\r" not in (tmp_path / "raw" / "documents" / "North_field_note.txt").read_bytes()
    # A scheme that gives the same offsets on this project is equivalent; the chosen one must be one of them.
    assert report.scheme[0] in (unit, "codepoints", "utf16")


def test_positions_can_be_forced(tmp_path):
    path = make_qdpx(tmp_path / "s.qdpx", unit="utf16", line_ends="crlf", inline=())
    import_qda(path, tmp_path / "forced", PROJECT_MAPPING, positions="utf16", line_ends="crlf")
    assert imported(tmp_path / "forced")[1] == expected_segments()
    # Forcing the wrong unit gives other offsets (or a refusal): the option is obeyed, not overridden.
    try:
        import_qda(path, tmp_path / "wrong", PROJECT_MAPPING, positions="codepoints", line_ends="stored")
    except ImportQDAError as exc:
        assert "does not fit its text" in str(exc)
    else:
        assert imported(tmp_path / "wrong")[1] != expected_segments()


def test_position_out_of_range_is_an_error_naming_the_selection(tmp_path):
    xml = project_xml()
    x3 = xml.index('name="x3"')
    end_attr = xml.index('endPosition="', x3)
    close = xml.index('"', end_attr + len('endPosition="'))
    xml = xml[:end_attr] + 'endPosition="9999' + xml[close:]
    path = zip_members(tmp_path / "s.qdpx", {"project.qde": xml, **{f"sources/{k}.txt": v for k, v in source_files().items()}})
    with pytest.raises(ImportQDAError, match=r"selection 'x3' of source 'South interview' \(positions 29\.\.9999\) does not fit"):
        import_qda(path, tmp_path / "raw", PROJECT_MAPPING)
    assert not (tmp_path / "raw").exists()


def test_text_units_hand_worked():
    units = TextUnits("a😀\r\nb\nc")
    # stored text: a, 😀, CR, LF, b, LF, c -> normalized "a😀\nb\nc" (6 code points)
    starts = np.array([0, 1, 2, 4, 5])
    assert units.convert(("codepoints", "stored"), starts)[0].tolist() == [0, 1, 2, 3, 4]
    # a position between CR and LF falls on the line end
    assert units.convert(("codepoints", "stored"), np.array([3]))[0].tolist() == [2]
    # UTF-16: a=1, 😀=2, CR=1, LF=1, b=1, LF=1 -> position 3 is after 😀
    conv, ok = units.convert(("utf16", "stored"), np.array([0, 1, 2, 3, 5, 6]))
    assert ok.tolist() == [True, True, False, True, True, True]  # 2 splits the surrogate pair
    assert conv[[0, 1, 3, 4, 5]].tolist() == [0, 1, 2, 3, 4]
    # CRLF counting: the lone LF after b counts two; position inside it is not a boundary
    conv, ok = units.convert(("codepoints", "crlf"), np.array([5, 6, 7, 8]))
    assert ok.tolist() == [True, False, True, True] and conv[[0, 2, 3]].tolist() == [4, 5, 6]
    # LF counting of a CRLF text: CR+LF count one
    conv, ok = units.convert(("codepoints", "lf"), np.array([2, 3, 4, 5, 6]))
    assert conv.tolist() == [2, 3, 4, 5, 6] and ok.all()


def test_choose_scheme_prefers_word_boundaries_and_reports_failures():
    text = "Hi 😀 one two three four five six seven eight"
    words = ["one", "three", "five", "seven"]
    cp = [text.index(w) for w in words]
    u16 = [len(text[:i].encode("utf-16-le")) // 2 for i in cp]
    ends16 = [len(text[:i + len(w)].encode("utf-16-le")) // 2 for i, w in zip(cp, words)]
    scheme, details, conv = choose_scheme({"d": text}, {"d": (np.array(u16), np.array(ends16))})
    assert scheme == ("utf16", "stored")
    assert conv["d"][0].tolist() == cp
    # A tie between schemes that disagree goes to the REFI-QDA default (code points as stored), flagged.
    scheme, details, conv = choose_scheme({"d": "a\nb c d"}, {"d": (np.array([4]), np.array([5]))})
    assert scheme == ("codepoints", "stored") and details["ambiguous"] and conv["d"][0].tolist() == [4]
    assert details["scores"][("codepoints", "crlf")] == details["scores"][("codepoints", "stored")] == 0
    scheme, details, conv = choose_scheme({"d": "a\nb c d"}, {"d": (np.array([4]), np.array([5]))}, line_ends="crlf")
    assert scheme == ("codepoints", "crlf") and conv["d"][0].tolist() == [3]
    scheme, failures, _ = choose_scheme({"d": "short"}, {"d": (np.array([0]), np.array([99]))})
    assert scheme is None and failures[("codepoints", "stored")] == ("d", 0)


def test_whole_source_coding_covers_the_text(tmp_path):
    import_qda(make_qdpx(tmp_path / "s.qdpx", whole_coding=True), tmp_path / "raw", PROJECT_MAPPING)
    segs = load(tmp_path / "raw").coded_segments
    whole = segs.loc[segs["code"].eq("barriers")]
    assert whole[["document_id", "start", "end", "coder"]].values.tolist() == [
        ["South_interview", 0, len(PROJECT_TEXTS["s_s"]), "bob"]]


def test_clinic_from_a_set_a_name_pattern_or_a_case_variable(tmp_path):
    path = make_qdpx(tmp_path / "s.qdpx")
    # set: interviews -> clinic "IV", the others have none: skipped when asked
    m = copy.deepcopy(PROJECT_MAPPING)
    m["documents"]["clinic"] = {"from": "set", "values": {"Interviews": "IV"}}
    with pytest.raises(ImportQDAError, match="no clinic"):
        import_qda(path, tmp_path / "a", m)
    m["documents"]["skip_unassigned"] = True
    report = import_qda(path, tmp_path / "a", m)
    study = load(tmp_path / "a")
    assert study.documents[["document_id", "clinic_id"]].values.tolist() == [["South_interview", "IV"]]
    assert study.coded_segments["document_id"].eq("South_interview").all() and len(study.coded_segments) == 1
    assert report.skipped_by_reason() == {"no clinic (documents.skip_unassigned)": ["North field note", "North minutes"]}
    assert ("skipped 2 source(s): no clinic (documents.skip_unassigned): 'North field note', 'North minutes' "
            "(4 coding(s) left out)") in report.lines()
    # name pattern
    m = copy.deepcopy(PROJECT_MAPPING)
    m["documents"]["clinic"] = {"from": "name", "pattern": r"^(?P<value>\w+) "}
    import_qda(path, tmp_path / "b", m)
    assert dict(zip(*load(tmp_path / "b").documents[["document_id", "clinic_id"]].T.values)) == {
        "North_field_note": "North", "South_interview": "South", "North_minutes": "North"}
    # variable of the case a source belongs to
    m["documents"]["clinic"] = {"from": "variable", "name": "Site"}
    import_qda(path, tmp_path / "c", m)
    assert sorted(load(tmp_path / "c").documents["clinic_id"]) == ["north", "north", "south"]


def test_unlisted_codes_can_be_dropped_or_refused(tmp_path):
    path = make_qdpx(tmp_path / "s.qdpx")
    m = copy.deepcopy(PROJECT_MAPPING)
    m["codes"]["unlisted"] = "drop"
    import_qda(path, tmp_path / "a", m)
    study = load(tmp_path / "a")
    assert "time" not in set(study.codebook["code"]) and "integrating" not in set(study.codebook["code"])
    assert "time" not in set(study.coded_segments["code"])
    assert study.codebook.set_index("code").loc["engaging_groups", "parent"] != "integrating"
    m["codes"]["unlisted"] = "error"
    with pytest.raises(ImportQDAError, match="'Barriers/Time' is not listed"):
        import_qda(path, tmp_path / "b", m)


def test_mapping_errors_name_the_problem(tmp_path):
    path = make_qdpx(tmp_path / "s.qdpx")
    m = copy.deepcopy(PROJECT_MAPPING)
    m["codes"]["list"] = m["codes"]["list"][1:]  # engaging_groups now slugged from its name: still fine
    import_qda(path, tmp_path / "ok", m)
    m["codes"]["list"][0]["code"] = "bridging"
    with pytest.raises(ImportQDAError, match="no code bridging_communication"):
        import_qda(path, tmp_path / "a", m)
    with pytest.raises(ImportQDAError, match="unknown key.*'clinc'"):
        load_mapping({"documents": {"clinc": "case"}})
    with pytest.raises(ImportQDAError, match="names no code"):
        import_qda(path, tmp_path / "b", {**PROJECT_MAPPING, "codes": {"list": [{"path": "Nope", "code": "x"}]}})
    m = copy.deepcopy(PROJECT_MAPPING)
    m["documents"]["clinic"] = {"from": "case"}  # fine: one case each
    m["documents"]["source_type"] = {"value": "memo"}
    with pytest.raises(ImportQDAError, match="source type 'memo' is not one of"):
        import_qda(path, tmp_path / "c", m)
    m["documents"]["source_type"] = {"value": "field_note"}
    m["study"]["start_date"] = "2015-03-01"
    with pytest.raises(ImportQDAError, match="outside the study window"):
        import_qda(path, tmp_path / "d", m)
    assert not any((tmp_path / n).exists() for n in "abcd")


def test_ambiguous_clinic_is_an_error(tmp_path):
    path = make_qdpx(tmp_path / "s.qdpx")
    m = copy.deepcopy(PROJECT_MAPPING)
    m["documents"]["clinic"] = {"from": "case", "values": {"Clinic North": "X", "Clinic South": "Y"}}
    import_qda(path, tmp_path / "ok", m)
    xml_path = make_qdpx(tmp_path / "t.qdpx")
    project = read_project(xml_path)
    project.cases[1].sources.append(project.cases[0].sources[0])  # a source in two clinics
    from integrating.qda.tables import build_tables
    with pytest.raises(ImportQDAError, match="clinic is ambiguous"):
        build_tables(project, load_mapping(m))


def test_template_mapping_lists_codes_cases_sets_and_variables(tmp_path):
    project = read_project(make_qdpx(tmp_path / "s.qdpx"))
    text = template_mapping(project)
    for needle in ("Integrating/Engaging groups", "Barriers/Time", "Clinic North", "Clinic South", "Interviews",
                   "Source type", "Role", "Site", "Ann Smith", "code: engaging_groups, category: mechanism"):
        assert needle in text, needle
    mapping = yaml.safe_load(text)
    # The study window spans the project's dates (2015-02-03 .. 2015-06-30).
    assert mapping["study"] == {"months": 5, "start_date": date(2015, 2, 1), "synthetic": False,
                                "description": "Fixture study"}
    # The template imports as it stands once the source types are mapped.
    mapping["documents"]["source_type"]["values"] = {"Notes": "field_note"}
    import_qda(tmp_path / "s.qdpx", tmp_path / "raw", mapping)
    assert imported(tmp_path / "raw")[1] == expected_segments()
