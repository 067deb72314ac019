"""Real projects: names with YAML's special characters, sources without texts, sub-codes merged into one code."""

from __future__ import annotations

import copy

import pytest
import yaml

from integrating.contract import load
from integrating.errors import ImportQDAError
from integrating.qda import import_qda, read_project, template_mapping
from integrating.qda.cli import main
from integrating.qda.model import NOT_TEXT, TEXT_MISSING
from integrating.support import capabilities
from integrating.validate import validate
from qda_fixtures import NS, zip_members
from qda_fixtures import xml_escape as _escape


def xml_escape(text: str) -> str:
    """Escaped for an XML attribute or element, line breaks and tabs kept (not normalised to spaces)."""
    return _escape(text).replace("\n", "&#10;").replace("\t", "&#9;").replace("\r", "&#13;")


def guid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def build_qdpx(path, *, users, codes, variables, sources, cases, sets=(), members=None, extra_sources="",
               name="Valós projekt: {#1}"):
    """A REFI-QDA archive from plain lists.

    codes: [(key, name, [children...])]; variables: [(key, name, type)]; sources: dicts with key, name,
    text (None: the text is a file that the archive does not hold), values {variable key: (tag, value)},
    codings [(start, end, code key, user key)]; cases / sets: [(key, name, [source keys])].
    Keys are small integers turned into GUIDs.
    """
    def code_xml(entry):
        key, name, children = entry
        inner = "".join(code_xml(c) for c in children)
        return f'<Code guid="{guid(key)}" name="{xml_escape(name)}" isCodable="true">{inner}</Code>'

    def vv(var, tag, value):
        return f'<VariableValue><VariableRef targetGUID="{guid(var)}"/><{tag}>{xml_escape(value)}</{tag}></VariableValue>'

    body = "<Users>" + "".join(f'<User guid="{guid(k)}" name="{xml_escape(n)}"/>' for k, n in users) + "</Users>"
    body += "<CodeBook><Codes>" + "".join(code_xml(c) for c in codes) + "</Codes></CodeBook>"
    body += "<Variables>" + "".join(f'<Variable guid="{guid(k)}" name="{xml_escape(n)}" typeOfVariable="{t}"/>'
                                    for k, n, t in variables) + "</Variables>"
    body += "<Cases>" + "".join(
        f'<Case guid="{guid(k)}" name="{xml_escape(n)}">' + "".join(f'<SourceRef targetGUID="{guid(s)}"/>' for s in srcs)
        + "</Case>" for k, n, srcs in cases) + "</Cases>"
    xml_sources = []
    n = 1000
    for s in sources:
        sels = ""
        for start, end, code, user in s["codings"]:
            n += 1
            sels += (f'<PlainTextSelection guid="{guid(n)}" name="sel{n}" startPosition="{start}" endPosition="{end}" '
                     f'creatingUser="{guid(user)}"><Coding guid="{guid(n + 5000)}"><CodeRef targetGUID="{guid(code)}"/>'
                     "</Coding></PlainTextSelection>")
        values = "".join(vv(var, tag, value) for var, (tag, value) in s["values"].items())
        if s["text"] is None:
            xml_sources.append(f'<TextSource guid="{guid(s["key"])}" name="{xml_escape(s["name"])}" '
                               f'plainTextPath="internal://{s["key"]}.txt">{sels}{values}</TextSource>')
        else:
            xml_sources.append(f'<TextSource guid="{guid(s["key"])}" name="{xml_escape(s["name"])}">'
                               f'<PlainTextContent>{xml_escape(s["text"])}</PlainTextContent>{sels}{values}</TextSource>')
    body += "<Sources>" + "".join(xml_sources) + extra_sources + "</Sources>"
    if sets:
        body += "<Sets>" + "".join(
            f'<Set guid="{guid(k)}" name="{xml_escape(n)}">' + "".join(f'<MemberSource targetGUID="{guid(s)}"/>'
                                                                       for s in srcs) + "</Set>"
            for k, n, srcs in sets) + "</Sets>"
    xml = f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="{NS}" name="{xml_escape(name)}">{body}</Project>\n'
    return zip_members(path, {"project.qde": xml, **(members or {})})


# --- names holding every character YAML treats specially --------------------------------------------

NAMES = {  # code key -> name; the four mechanisms first
    10: "Integrating {core}",
    11: "szabadság, szuverenitás",
    12: "a: b # not a comment",
    13: "it's \"quoted\"",
    14: "- dash [x] {y}",
    15: "Hürden & Ærger: 'x', \"y\"",
    16: "yes",
    17: "@tag | pipe > fold % ! * &anchor ?",
    18: "line one\nline two\u2028three",
}
TEXT_1 = "Jegyzet: a csapat összegyűlt, [megbeszélték] a {változást}.\nMindenki egyetértett."
TEXT_2 = "Interjú — «she explained why»; then they negotiated."


def tricky_project(path):
    codes = [(10, NAMES[10], [(11, NAMES[11], []), (12, NAMES[12], []), (13, NAMES[13], []), (14, NAMES[14], [])]),
             (15, NAMES[15], [(16, NAMES[16], []), (18, NAMES[18], [])]), (17, NAMES[17], [])]
    phrases = [(TEXT_1, "a csapat összegyűlt", 11), (TEXT_1, "[megbeszélték]", 12), (TEXT_1, "Mindenki", 16),
               (TEXT_2, "she explained why", 13), (TEXT_2, "negotiated", 14), (TEXT_2, "Interjú", 17),
               (TEXT_2, "then they", 18)]

    def codings(text, user):
        return [(text.index(p), text.index(p) + len(p), code, user) for t, p, code in phrases if t == text]

    sources = [
        {"key": 1, "name": "Jegyzet #1: {north}, [a]", "text": TEXT_1, "codings": codings(TEXT_1, 2),
         "values": {30: ("TextValue", "field_note"), 31: ("DateValue", "2016-03-04")}},
        {"key": 2, "name": "- Interjú: 'Zoë'", "text": TEXT_2, "codings": codings(TEXT_2, 3),
         "values": {30: ("TextValue", "interview"), 31: ("DateValue", "2016-05-30")}},
    ]
    return build_qdpx(
        path, users=[(2, "O'Brien: Ann #1"), (3, "Zoë [2], {b}")], codes=codes,
        variables=[(30, "Source type: {kind}", "Text"), (31, "Dátum #", "Date"), (32, "- note, [x]", "Text")],
        sources=sources, cases=[(40, "Clinic: North, #1", [1]), (41, "Клиника «Юг»", [2])],
        sets=[(50, "[Interviews] & {notes}", [2])])


def test_template_with_yaml_special_characters_imports_without_editing_names(tmp_path, capsys):
    path = tricky_project(tmp_path / "tricky.qdpx")
    assert main(["qda-mapping", str(path)]) == 0
    text = capsys.readouterr().out
    mapping = yaml.safe_load(text)  # valid YAML, whatever the names
    listed = [e["path"] for e in mapping["codes"]["list"]]
    project = read_project(path)
    assert listed == [project.code_path(g) for g in project.codes]
    assert f"{NAMES[10]}/{NAMES[11]}" in listed and f"{NAMES[15]}/{NAMES[18]}" in listed
    assert mapping["documents"]["clinic"]["values"] == {"Clinic: North, #1": "Clinic_North_1", "Клиника «Юг»": "clinic_2"}
    assert mapping["coders"] == {"O'Brien: Ann #1": "O'Brien: Ann #1", "Zoë [2], {b}": "Zoë [2], {b}"}
    # Variables, cases and sets are listed in comments that stay comments.
    for name in ("Dátum #", "- note, [x]", "[Interviews] & {notes}"):
        assert any(name in line for line in text.splitlines() if line.startswith("#")), name
    # Only the mechanism codes are edited.
    for entry, code in zip(mapping["codes"]["list"][1:5], ("engaging_groups", "bridging_communication",
                                                           "sensemaking", "negotiating")):
        entry["code"], entry["category"] = code, "mechanism"
    edited = tmp_path / "mapping.yaml"
    edited.write_text(yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = tmp_path / "raw"
    assert main(["import-qda", str(path), "--out", str(out), "--mapping", str(edited)]) == 0
    assert validate(out) == []
    study = load(out)
    labels = dict(zip(study.codebook["code"], study.codebook["label"]))
    assert labels["engaging_groups"] == NAMES[11] and labels["negotiating"] == NAMES[14]
    assert sorted(labels.values()) == sorted(NAMES.values())  # every name kept exactly, line breaks included
    assert sorted(set(study.coded_segments["coder"])) == ["O'Brien: Ann #1", "Zoë [2], {b}"]
    assert study.clinics["clinic_label"].tolist() == ["Clinic: North, #1", "Клиника «Юг»"]
    assert study.clinics["clinic_id"].tolist() == ["Clinic_North_1", "clinic_2"]
    # Two names that clean to the same id are an error, not one clinic.
    mapping["documents"]["clinic"]["values"] = {"Clinic: North, #1": "Ü", "Клиника «Юг»": "Ö"}
    with pytest.raises(ImportQDAError, match=r"clinics 'Ü' and 'Ö' both become clinic id '_'"):
        import_qda(path, tmp_path / "other", mapping)
    seg = study.coded_segments.merge(study.documents[["document_id", "clinic_id"]], on="document_id")
    got = {(r.code, study.text(r.document_id)[r.start:r.end]) for r in seg.itertuples()}
    assert ("engaging_groups", "a csapat összegyűlt") in got and ("sensemaking", "she explained why") in got


def test_the_template_round_trips_any_name(tmp_path):
    """Every string the emitter writes reads back unchanged, including breaks YAML knows beyond LF."""
    path = tricky_project(tmp_path / "tricky.qdpx")
    project = read_project(path)
    for i, name in enumerate(["\x85 next line", "tab\there", "trailing space ", " leading", "null", "~", "0x1F",
                              "2015-01-01", "\ufeffbom", "emoji 😀 ZWJ 👩‍⚕️", "a\u2029b"]):
        project.codes[guid(11)].name = name
        project.cases[0].name = name
        project.users[guid(2)].name = name
        mapping = yaml.safe_load(template_mapping(project))
        assert mapping["codes"]["list"][1]["path"] == f"{NAMES[10]}/{name}", i
        assert name in mapping["documents"]["clinic"]["values"], i
        assert mapping["coders"][name] == name, i


# --- sources without texts ------------------------------------------------------------------------------

def archive_without_texts(path):
    """Three text sources, two of whose texts the archive does not hold, and one picture."""
    text = "Staff shared updates; the manager brought everyone together."
    sources = [
        {"key": 1, "name": "North notes", "text": None, "codings": [(0, 5, 11, 2)],
         "values": {31: ("DateValue", "2015-02-03")}},
        {"key": 2, "name": "North minutes", "text": None, "codings": [(0, 5, 12, 2), (6, 9, 11, 2)],
         "values": {31: ("DateValue", "2015-03-03")}},
        {"key": 3, "name": "South notes", "text": text,
         "codings": [(0, 20, 12, 2), (text.index("brought"), len(text) - 1, 11, 2)],
         "values": {31: ("DateValue", "2015-04-03")}},
    ]
    picture = f'<PictureSource guid="{guid(9)}" name="Whiteboard photo" path="internal://w.jpg"/>'
    codes = [(10, "Integrating", [(11, "Engaging groups", []), (12, "Bridging communication", []),
                                  (13, "Sensemaking", []), (14, "Negotiating", [])])]
    return build_qdpx(path, users=[(2, "ann")], codes=codes, variables=[(31, "Date", "Date")], sources=sources,
                      cases=[(40, "North", [1, 2]), (41, "South", [3])], extra_sources=picture)


def test_archive_without_texts(tmp_path, capsys):
    path = archive_without_texts(tmp_path / "notexts.qdpx")
    # The template needs no text: it lists the sources without one.
    assert main(["qda-mapping", str(path)]) == 0
    text = capsys.readouterr().out
    mapping = yaml.safe_load(text)
    assert "#   North notes: text file missing from the project" in text
    assert "#   Whiteboard photo: not a text source (picture, PDF, audio or video)" in text
    assert mapping["documents"]["skip_unreadable"] is False
    # Importing stops, naming the sources and the option.
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text(text, encoding="utf-8")
    out = tmp_path / "raw"
    assert main(["import-qda", str(path), "--out", str(out), "--mapping", str(mapping_file)]) == 1
    err = capsys.readouterr().err
    assert "2 source(s) have no readable text" in err
    assert "'North notes': text file missing from the project" in err and "'North minutes'" in err
    assert "documents.skip_unreadable: true" in err
    assert not out.exists()
    # With the option the other sources are imported, and the report counts the skipped ones by reason.
    mapping["documents"]["skip_unreadable"] = True
    report = import_qda(path, out, mapping)
    assert report.skipped_by_reason() == {TEXT_MISSING: ["North notes", "North minutes"],
                                          NOT_TEXT: ["Whiteboard photo"]}
    assert (report.documents, report.segments, report.coders, report.clinics) == (1, 2, 1, 2)
    lines = report.lines()
    assert lines[0].endswith("1 documents, 5 codes, 2 coded segments, 1 coders, 2 clinics; 3 sources skipped")
    assert ("skipped 2 source(s): text file missing from the project: 'North notes', 'North minutes' "
            "(3 coding(s) left out)") in lines
    assert "skipped 1 source(s): not a text source (picture, PDF, audio or video): 'Whiteboard photo'" in lines
    assert validate(out) == []
    study = load(out)
    assert study.documents["document_id"].tolist() == ["South_notes"]
    assert study.clinics["clinic_id"].tolist() == ["North", "South"]  # North has no document left: a warning
    warn = {c.analysis: c for c in capabilities(out) if not c.computable}
    assert warn["clinic_documents"].reason.startswith("1 clinic(s) have no document: North")
    assert warn["reliability"].reason.startswith("a single coder ('ann')")


def test_nothing_left_to_import_is_an_error(tmp_path):
    path = archive_without_texts(tmp_path / "notexts.qdpx")
    m = {**SUB_MAPPING, "documents": {**SUB_MAPPING["documents"], "skip_unreadable": True,
                                      "clinic": {"from": "case", "values": {"North": "N"}}, "skip_unassigned": True}}
    with pytest.raises(ImportQDAError, match=r"no document to import: 4 source\(s\) skipped \(no clinic"):
        import_qda(path, tmp_path / "raw", {**m, "codes": {"list": []}})
    assert not (tmp_path / "raw").exists()


def test_a_source_without_any_text_reference_is_listed_too(tmp_path):
    path = archive_without_texts(tmp_path / "a.qdpx")
    import zipfile
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("project.qde").decode("utf-8").replace(' plainTextPath="internal://1.txt"', "")
    path = zip_members(tmp_path / "b.qdpx", {"project.qde": xml})
    project = read_project(path)
    assert [(s.name, s.reason, s.codings) for s in project.unreadable()] == [
        ("North notes", "no text in the project (neither PlainTextContent nor plainTextPath)", 1),
        ("North minutes", TEXT_MISSING, 2)]


# --- several project codes to one contract code ---------------------------------------------------

SUB_TEXT = "AAAA BBBB CCCC DDDD EEEE FFFF GGGG"


def subcode_project(path, extra_codes=()):
    """'Engaging groups' with sub-codes 'Meetings' and 'Huddles', and 'Huddles' again under another branch."""
    codes = [(10, "Integrating", [(11, "Engaging groups", [(21, "Meetings", []), (22, "Huddles", [])]),
                                  (12, "Bridging communication", []), (13, "Sensemaking", []), (14, "Negotiating", [])]),
             (15, "Teams", [(23, "Huddles", [])]), *extra_codes]
    codings = [
        (0, 9, 21, 2),    # ann, Meetings      AAAA BBBB
        (5, 14, 22, 2),   # ann, Huddles       BBBB CCCC   overlaps the first: united to 0..14
        (15, 19, 22, 2),  # ann, Huddles       DDDD
        (16, 19, 11, 2),  # ann, the parent    DDD         inside the previous: united to 15..19
        (20, 24, 21, 2),  # ann, Meetings      EEEE
        (24, 29, 23, 2),  # ann, Teams/Huddles " FFFF      touches the previous: stays apart
        (0, 9, 21, 3),    # bob, Meetings      another coder: apart
        (0, 4, 12, 2),    # ann, bridging      another code: apart
        (2, 6, 12, 2),    # ann, bridging      overlaps, but bridging is not merged: kept as coded
    ]
    sources = [{"key": 1, "name": "Notes", "text": SUB_TEXT, "codings": codings,
                "values": {31: ("DateValue", "2015-02-03")}}]
    return build_qdpx(path, users=[(2, "ann"), (3, "bob")], codes=codes, variables=[(31, "Date", "Date")],
                      sources=sources, cases=[(40, "C1", [1])])


SUB_MAPPING = {
    "study": {"months": 12, "start_date": "2015-01-01"},
    "documents": {"clinic": {"from": "case"}, "source_type": {"value": "field_note"},
                  "date": {"from": "variable", "name": "Date"}},
    "codes": {"list": [
        {"path": "Integrating/Engaging groups", "code": "engaging_groups", "category": "mechanism"},
        {"path": "Integrating/Engaging groups/Meetings", "code": "engaging_groups"},
        {"path": "Integrating/Engaging groups/Huddles", "code": "engaging_groups"},
        {"path": "Teams/Huddles", "code": "engaging_groups", "category": "mechanism"},
        {"path": "Integrating/Bridging communication", "code": "bridging_communication", "category": "mechanism"},
        {"path": "Integrating/Sensemaking", "category": "mechanism"},
        {"path": "Integrating/Negotiating", "category": "mechanism"},
    ]},
}


def test_sub_codes_merged_into_one_mechanism(tmp_path):
    path = subcode_project(tmp_path / "sub.qdpx")
    report = import_qda(path, tmp_path / "raw", SUB_MAPPING)
    assert validate(tmp_path / "raw") == []
    study = load(tmp_path / "raw")
    book = study.codebook.set_index("code")
    assert book.loc["engaging_groups", ["label", "category", "parent"]].tolist() == [
        "Engaging groups", "mechanism", "integrating"]
    assert "meetings" not in book.index and "huddles" not in book.index
    assert book.loc["teams", "parent"] != "engaging_groups" and sorted(book.index) == sorted(
        ["integrating", "engaging_groups", "bridging_communication", "sensemaking", "negotiating", "teams"])
    seg = study.coded_segments
    got = sorted((r.code, r.coder, r.start, r.end) for r in seg.itertuples())
    # Worked by hand from the codings above.
    assert got == sorted([
        ("engaging_groups", "ann", 0, 14), ("engaging_groups", "ann", 15, 19), ("engaging_groups", "ann", 20, 24),
        ("engaging_groups", "ann", 24, 29), ("engaging_groups", "bob", 0, 9),
        ("bridging_communication", "ann", 0, 4), ("bridging_communication", "ann", 2, 6),
    ])
    assert report.merged == {"engaging_groups": ["Integrating/Engaging groups", "Integrating/Engaging groups/Meetings",
                                                 "Integrating/Engaging groups/Huddles", "Teams/Huddles"]}
    assert any(line.startswith("merged 4 project codes into engaging_groups") for line in report.lines())
    assert any("united 2 coding(s) of merged codes" in n for n in report.notes)
    assert seg["segment_id"].is_unique


def test_merging_must_be_asked_for_and_consistent(tmp_path):
    path = subcode_project(tmp_path / "sub.qdpx", extra_codes=[(24, "Engaging groups", [])])
    m = copy.deepcopy(SUB_MAPPING)
    # A top-level "Engaging groups" would get the id engaging_groups by default: not merged silently.
    with pytest.raises(ImportQDAError, match=r"code id engaging_groups is given to 5 codes, and to 'Engaging groups' "
                                             r"only by default"):
        import_qda(path, tmp_path / "a", m)
    m["codes"]["list"].append({"path": "Engaging groups", "code": "engaging_groups", "category": "barrier"})
    with pytest.raises(ImportQDAError, match=r"codes merged into engaging_groups have different categories "
                                             r"\(barrier, mechanism\)"):
        import_qda(path, tmp_path / "a", m)
    m["codes"]["list"][-1]["category"] = "mechanism"
    import_qda(path, tmp_path / "a", m)
    assert len(load(tmp_path / "a").codebook) == 6


# --- the walk-through of docs/bring-your-own-data.md -------------------------------------------------

WALK_TEXTS = {
    1: "Field note, North. The manager held a meeting with the nurses and the doctors; at the huddle the next "
       "day they agreed on the new intake form.",
    2: "Interview with a nurse, North. She explained why the change mattered: patients waited less. Time was short.",
    3: "Field note, South. Staff shared updates across teams. The vendor delayed the rollout.",
    4: "Meeting minutes, East. The team bargained over who would call patients back.",
}


def nvivo_like_project(path):
    """One coder, three clinics as cases, mechanisms split into sub-codes (as docs/bring-your-own-data.md)."""
    def c(k, phrase, code):
        s = WALK_TEXTS[k].index(phrase)
        return (s, s + len(phrase), code, 2)

    codes = [(10, "Integrating", [(11, "Engaging groups", [(21, "Meetings", []), (22, "Huddles", [])]),
                                  (12, "Bridging communication", []),
                                  (13, "Sensemaking", [(23, "Why it matters", [])]), (14, "Negotiating", [])]),
             (15, "Barriers", [(24, "Time", []), (25, "Vendor", [])])]
    meta = {1: ("Field notes", "2015-02-03"), 2: ("Interview", "2015-03-10"), 3: ("Field notes", "2015-05-20"),
            4: ("Minutes", "2015-09-01")}
    names = {1: "North field note 1", 2: "North interview 1", 3: "South field note 1", 4: "East minutes 1"}
    codings = {1: [c(1, "held a meeting with the nurses and the doctors", 21),
                   c(1, "the nurses and the doctors; at the huddle the next day", 22)],
               2: [c(2, "explained why the change mattered", 23), c(2, "Time was short", 24)],
               3: [c(3, "Staff shared updates across teams", 12), c(3, "The vendor delayed the rollout", 25)],
               4: [c(4, "bargained over who would call patients back", 14)]}
    sources = [{"key": k, "name": names[k], "text": WALK_TEXTS[k], "codings": codings[k],
                "values": {30: ("TextValue", meta[k][0]), 31: ("DateValue", meta[k][1])}} for k in WALK_TEXTS]
    return build_qdpx(path, users=[(2, "Ann Smith")], codes=codes,
                      variables=[(30, "Source type", "Text"), (31, "Date", "Date")], sources=sources,
                      cases=[(40, "Clinic North", [1, 2]), (41, "Clinic South", [3]), (42, "Clinic East", [4])],
                      name="Clinic study")


def test_single_coder_project_with_sub_codes_walk_through(tmp_path, capsys):
    path = nvivo_like_project(tmp_path / "my_study.qdpx")
    assert main(["qda-mapping", str(path)]) == 0
    mapping = yaml.safe_load(capsys.readouterr().out)
    entries = {e["path"]: e for e in mapping["codes"]["list"]}
    # The edits of the walk-through: sub-codes to their mechanism, source types to the contract's.
    entries["Integrating/Engaging groups/Meetings"]["code"] = "engaging_groups"
    entries["Integrating/Engaging groups/Huddles"]["code"] = "engaging_groups"
    entries["Integrating/Sensemaking/Why it matters"]["code"] = "sensemaking"
    mapping["documents"]["source_type"]["values"] = {"Field notes": "field_note", "Interview": "interview",
                                                     "Minutes": "meeting_minutes"}
    report = import_qda(path, tmp_path / "raw", mapping)
    assert (report.documents, report.codes, report.segments, report.coders, report.clinics) == (4, 8, 6, 1, 3)
    assert report.merged == {"engaging_groups": ["Integrating/Engaging groups", "Integrating/Engaging groups/Meetings",
                                                 "Integrating/Engaging groups/Huddles"],
                             "sensemaking": ["Integrating/Sensemaking", "Integrating/Sensemaking/Why it matters"]}
    assert validate(tmp_path / "raw") == []
    study = load(tmp_path / "raw")
    eg = study.coded_segments.loc[study.coded_segments["code"].eq("engaging_groups")]
    text = WALK_TEXTS[1]
    assert [(r.start, r.end) for r in eg.itertuples()] == [
        (text.index("held"), text.index("next day") + len("next day"))]  # the two overlapping codings, united
    assert study.codebook.set_index("code").loc["sensemaking", "category"] == "mechanism"
    off = {c.analysis for c in capabilities(tmp_path / "raw") if not c.computable}
    assert off == {"reliability", "segmentation", "group_comparison", "survey", "survey_comparison", "robustness"}


def test_a_merge_that_makes_the_hierarchy_circular_is_refused(tmp_path):
    # "Integrating" and its grandchild "Meetings" merged into one id: the merged code's parent would be
    # engaging_groups (Meetings' parent), whose parent is the merged code.
    path = subcode_project(tmp_path / "sub.qdpx")
    m = copy.deepcopy(SUB_MAPPING)
    m["codes"]["list"] = [e for e in m["codes"]["list"] if e["path"] != "Integrating/Engaging groups/Meetings"] + [
        {"path": "Integrating", "code": "integrating"},
        {"path": "Integrating/Engaging groups/Meetings", "code": "integrating"},
    ]
    with pytest.raises(ImportQDAError, match=r"code integrating is its own ancestor through the parent column "
                                             r"\(integrating -> engaging_groups\)"):
        import_qda(path, tmp_path / "raw", m)
    m["codes"]["list"][-1]["parent"] = "teams"
    import_qda(path, tmp_path / "raw", m)
    book = load(tmp_path / "raw").codebook.set_index("code")
    assert book.loc["integrating", "parent"] == "teams" and book.loc["engaging_groups", "parent"] == "integrating"
