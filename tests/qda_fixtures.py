"""Small hand-made data for the QDA import and export tests (written into each test's tmp_path).

The other ``test_qda_*`` files import the builders below; the tests here check the builders.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from integrating import io
from integrating.contract import load, template_descriptor

NS = "urn:QDA-XML:project:1.0"

TEXTS = {
    "A-fn-01": "Field note, clinic A.\nThe manager brought the nurses and the doctors together.\n"
               "They agreed on a new intake form 😀 after some bargaining.\n",
    "A-int-01": "Interview with Zoë.\r\nShe explained why the change made sense to everyone.\r\nNo barriers.",
    "B-mm-01": "Meeting minutes. Staff shared updates; the IT vendor delayed the rollout.",
    "C-fn-01": "Nothing coded here.",
}


def span(doc: str, phrase: str) -> tuple[int, int]:
    """Code-point offsets of ``phrase`` in a fixture text as the contract reads it (LF line ends)."""
    text = TEXTS[doc].replace("\r\n", "\n")
    start = text.index(phrase)
    return start, start + len(phrase)


SEGMENTS = [
    ("s01", "A-fn-01", "engaging_groups", "ann", "brought the nurses and the doctors together"),
    ("s02", "A-fn-01", "negotiating", "ann", "after some bargaining"),
    ("s03", "A-fn-01", "negotiating", "bob", "agreed on a new intake form 😀 after some bargaining"),
    ("s04", "A-int-01", "sensemaking", "bob", "explained why the change made sense"),
    ("s05", "B-mm-01", "bridging_communication", "ann", "Staff shared updates"),
    ("s06", "B-mm-01", "barrier_vendor", "ann", "the IT vendor delayed the rollout"),
]

CODEBOOK = [
    ("integrating", "Integrating", "other", "The managerial practice of integrating.", ""),
    ("engaging_groups", "Engaging groups", "mechanism", "Bringing groups together.", "integrating"),
    ("bridging_communication", "Bridging communication", "mechanism", "Passing information across groups.", "integrating"),
    ("sensemaking", "Sensemaking", "mechanism", "Explaining why a change matters.", "integrating"),
    ("negotiating", "Negotiating", "mechanism", "Bargaining over the change.", "integrating"),
    ("barriers", "Barriers", "barrier", "Obstacles to implementation.", ""),
    ("barrier_vendor", "Vendor", "barrier", "A vendor slows the change.", "barriers"),
]


def make_raw(root: Path, *, synthetic: bool = True) -> Path:
    """A tiny contract data set: 3 clinics, 4 documents (CRLF, emoji, accents), 7 codes, 6 segments."""
    raw = Path(root)
    (raw / "documents").mkdir(parents=True, exist_ok=True)
    io.write_json(raw / "datapackage.json", template_descriptor(study={
        "months": 12, "start_date": "2015-01-01", "synthetic": synthetic, "description": "Tiny test study"}))
    io.write_table(pd.DataFrame({
        "clinic_id": ["A", "B", "C"], "clinic_label": ["Clinic A", "Clinic B", ""],
        "n_providers": ["3", "5", "2"], "setting": ["urban", "rural", "urban"],
    }), raw / "clinics.csv")
    docs = pd.DataFrame({
        "document_id": list(TEXTS),
        "clinic_id": ["A", "A", "B", "C"],
        "source_type": ["field_note", "interview", "meeting_minutes", "field_note"],
        "date": ["2015-02-03", "2015-03-04", "2015-06-30", "2015-12-31"],
        "participant_role": ["", "nurse", "", ""],
        "text_path": [f"documents/{d}.txt" for d in TEXTS],
    })
    io.write_table(docs, raw / "documents.csv")
    for doc, text in TEXTS.items():
        # CRLF as written: the contract reads texts with universal newlines.
        (raw / "documents" / f"{doc}.txt").write_bytes(text.encode("utf-8"))
    io.write_table(pd.DataFrame(CODEBOOK, columns=["code", "label", "category", "definition", "parent"]),
                   raw / "codebook.csv")
    rows = [(sid, doc, code, coder, *span(doc, phrase)) for sid, doc, code, coder, phrase in SEGMENTS]
    io.write_table(pd.DataFrame(rows, columns=["segment_id", "document_id", "code", "coder", "start", "end"]),
                   raw / "coded_segments.csv")
    io.write_table(pd.DataFrame({"clinic_id": ["A", "B", "C"], "change_id": ["c1", "c1", "c2"],
                                 "month": [2, 3, 4], "status": ["implemented", "started", "planned"]}),
                   raw / "implementation_log.csv")
    io.write_table(pd.DataFrame({"item": ["q1"], "text": ["Care was coordinated"], "scale_min": [1], "scale_max": [5],
                                 "reverse": ["false"], "in_composite": ["true"]}), raw / "survey_items.csv")
    io.write_table(pd.DataFrame({"response_id": ["r1", "r2"], "clinic_id": ["A", "B"], "wave": ["pre", "post"],
                                 "q1": [4, 5]}), raw / "survey_responses.csv")
    return raw


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def qde(body: str, *, name: str = "Test project", extra_root: str = "") -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="{NS}" name="{name}"{extra_root}>\n'
            f"{body}\n</Project>\n")


def zip_members(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data.encode("utf-8") if isinstance(data, str) else data)
    return path


def tree_digest(root: Path) -> dict:
    """Every file under ``root`` with its bytes and modification time (to prove inputs are untouched)."""
    root = Path(root)
    if root.is_file():
        return {root.name: (root.read_bytes(), os.stat(root).st_mtime_ns)}
    return {str(p.relative_to(root)): (p.read_bytes(), os.stat(p).st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()}


def xsd_path() -> Path:
    """The REFI-QDA Project schema: $INTEGRATING_REFI_XSD, else <repo>/../shared/refi-qda/Project.xsd."""
    env = os.environ.get("INTEGRATING_REFI_XSD")
    path = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "refi-qda" / "Project.xsd"
    if not path.is_file():
        pytest.skip(f"REFI-QDA Project.xsd not found at {path} (set INTEGRATING_REFI_XSD)")
    return path


# --- a hand-written REFI-QDA project -----------------------------------------------------------------

G = {  # guids, written in upper case (and with braces in references) to exercise case-insensitivity
    "u_ann": "6A1F4E2C-0000-4000-8000-000000000001", "u_bob": "6A1F4E2C-0000-4000-8000-000000000002",
    "c_int": "C0DE0000-0000-4000-8000-000000000001", "c_eng": "C0DE0000-0000-4000-8000-000000000002",
    "c_bri": "C0DE0000-0000-4000-8000-000000000003", "c_sen": "C0DE0000-0000-4000-8000-000000000004",
    "c_neg": "C0DE0000-0000-4000-8000-000000000005", "c_bar": "C0DE0000-0000-4000-8000-000000000006",
    "c_tim": "C0DE0000-0000-4000-8000-000000000007",
    "v_type": "7A7A0000-0000-4000-8000-000000000001", "v_date": "7A7A0000-0000-4000-8000-000000000002",
    "v_role": "7A7A0000-0000-4000-8000-000000000003", "v_site": "7A7A0000-0000-4000-8000-000000000004",
    "s_n": "50C00000-0000-4000-8000-000000000001", "s_s": "50C00000-0000-4000-8000-000000000002",
    "s_m": "50C00000-0000-4000-8000-000000000003",
    "k_n": "CA5E0000-0000-4000-8000-000000000001", "k_s": "CA5E0000-0000-4000-8000-000000000002",
    "set_iv": "5E700000-0000-4000-8000-000000000001",
}

PROJECT_TEXTS = {  # normalized (LF) texts; emoji outside the BMP and a ZWJ sequence change UTF-16 counts
    "s_n": "Field note, North clinic.\nThe manager gathered the nurses and the doctors 👩‍⚕️ together.\n"
           "Later they negotiated the schedule 📅 with the front desk.\nNo barriers were seen.",
    "s_s": "Interview, South clinic.\nShe explained why the change mattered to everyone.",
    "s_m": "Meeting minutes 😀😀, North.\nTime was short; staff shared updates across teams 🚀.\nEnd.",
}
PROJECT_NAMES = {"s_n": "North field note", "s_s": "South interview", "s_m": "North minutes"}
DOC_IDS = {"s_n": "North_field_note", "s_s": "South_interview", "s_m": "North_minutes"}
# (selection key, source, phrase, code, user)
SELECTIONS = [
    ("x1", "s_n", "gathered the nurses and the doctors 👩‍⚕️ together", "c_eng", "u_ann"),
    ("x2", "s_n", "negotiated the schedule 📅 with the front desk", "c_neg", "u_bob"),
    ("x3", "s_s", "explained why the change mattered", "c_sen", "u_ann"),
    ("x4", "s_m", "Time was short", "c_tim", "u_bob"),
    ("x5", "s_m", "shared updates across teams 🚀", "c_bri", "u_ann"),
]

PROJECT_MAPPING = {
    "study": {"months": 12, "start_date": "2015-01-01", "description": "Hand-written project"},
    "documents": {
        "clinic": {"from": "case", "values": {"Clinic North": "N", "Clinic South": "S"}},
        "source_type": {"from": "variable", "name": "Source type", "values": {"Notes": "field_note"}},
        "date": {"from": "variable", "name": "Date"},
        "participant_role": {"from": "variable", "name": "Role"},
    },
    "coders": {"Ann Smith": "ann"},
    "codes": {"list": [
        {"path": "Integrating/Engaging groups", "code": "engaging_groups", "category": "mechanism"},
        {"path": "Integrating/Bridging communication", "code": "bridging_communication", "category": "mechanism"},
        {"path": "Integrating/Sensemaking", "code": "sensemaking", "category": "mechanism"},
        {"path": "Integrating/Negotiating", "code": "negotiating", "category": "mechanism"},
        {"path": "Barriers", "category": "barrier"},
    ]},
}


def units(text: str, unit: str) -> int:
    """Length of ``text`` in code points or UTF-16 code units (computed through an encoder)."""
    return len(text) if unit == "codepoints" else len(text.encode("utf-16-le")) // 2


def position(norm_text: str, i: int, unit: str, line_ends: str, stored_crlf: bool) -> int:
    """Offset ``i`` of the LF text expressed in another counting of positions."""
    prefix = norm_text[:i]
    if line_ends == "crlf" or (line_ends == "stored" and stored_crlf):
        prefix = prefix.replace("\n", "\r\n")
    return units(prefix, unit)


def expected_segments() -> list[tuple]:
    """(document_id, code, start, end) of every selection, as code points of the LF texts."""
    codes = {"c_eng": "engaging_groups", "c_neg": "negotiating", "c_sen": "sensemaking", "c_tim": "time",
             "c_bri": "bridging_communication"}
    out = []
    for _, src, phrase, code, _ in SELECTIONS:
        start = PROJECT_TEXTS[src].index(phrase)
        out.append((DOC_IDS[src], codes[code], start, start + len(phrase)))
    return sorted(out)


def _guid(key: str, braces: bool = False) -> str:
    return "{" + G[key] + "}" if braces else G[key]


def project_xml(*, unit="codepoints", line_ends="stored", stored_crlf=False, inline=("s_s",),
                paths=None, extra_sources="", whole_coding=False) -> str:
    """The project.qde of the hand-written project; texts of sources not ``inline`` are files."""
    paths = paths or {k: f"internal://{k}.txt" for k in PROJECT_TEXTS}
    users = (f'<Users><User guid="{G["u_ann"]}" name="Ann Smith"/><User guid="{G["u_bob"].lower()}" id="bob"/></Users>')
    codes = (
        "<CodeBook><Codes>"
        f'<Code guid="{G["c_int"]}" name="Integrating" isCodable="false"><Description>The practice.</Description>'
        f'<Code guid="{G["c_eng"]}" name="Engaging groups" isCodable="true"><Description>Bringing groups in.</Description></Code>'
        f'<Code guid="{G["c_bri"]}" name="Bridging communication" isCodable="true"/>'
        f'<Code guid="{G["c_sen"]}" name="Sensemaking" isCodable="true"/>'
        f'<Code guid="{G["c_neg"]}" name="Negotiating" isCodable="true"/>'
        "</Code>"
        f'<Code guid="{G["c_bar"]}" name="Barriers" isCodable="true"><Code guid="{G["c_tim"]}" name="Time" isCodable="true"/></Code>'
        "</Codes></CodeBook>"
    )
    variables = (
        "<Variables>"
        f'<Variable guid="{G["v_type"]}" name="Source type" typeOfVariable="Text"/>'
        f'<Variable guid="{G["v_date"]}" name="Date" typeOfVariable="Date"/>'
        f'<Variable guid="{G["v_role"]}" name="Role" typeOfVariable="Text"/>'
        f'<Variable guid="{G["v_site"]}" name="Site" typeOfVariable="Text"/>'
        "</Variables>"
    )

    def vv(var, tag, value):
        return f'<VariableValue><VariableRef targetGUID="{_guid(var, True)}"/><{tag}>{value}</{tag}></VariableValue>'

    cases = (
        "<Cases>"
        f'<Case guid="{G["k_n"]}" name="Clinic North">{vv("v_site", "TextValue", "north")}'
        f'<SourceRef targetGUID="{_guid("s_n", True)}"/><SourceRef targetGUID="{G["s_m"].lower()}"/></Case>'
        f'<Case guid="{G["k_s"]}" name="Clinic South">{vv("v_site", "TextValue", "south")}'
        f'<SourceRef targetGUID="{G["s_s"]}"/></Case>'
        "</Cases>"
    )
    meta = {"s_n": ("Notes", "2015-02-03", None), "s_s": ("interview", "2015-03-04", "nurse"),
            "s_m": ("Meeting minutes", "2015-06-30", None)}
    sources = []
    for key, text in PROJECT_TEXTS.items():
        sels = []
        for i, (sk, src, phrase, code, user) in enumerate(SELECTIONS):
            if src != key:
                continue
            start = text.index(phrase)
            s = position(text, start, unit, line_ends, stored_crlf)
            e = position(text, start + len(phrase), unit, line_ends, stored_crlf)
            sels.append(
                f'<PlainTextSelection guid="5E1E0000-0000-4000-8000-00000000000{i}" name="{sk}" startPosition="{s}" '
                f'endPosition="{e}" creatingUser="{_guid(user, True)}"><Coding guid="C0D10000-0000-4000-8000-00000000000{i}">'
                f'<CodeRef targetGUID="{_guid(code, True)}"/></Coding></PlainTextSelection>'
            )
        if whole_coding and key == "s_s":
            sels.append(f'<Coding guid="C0D10000-0000-4000-8000-0000000000AA" creatingUser="{G["u_bob"]}">'
                        f'<CodeRef targetGUID="{G["c_bar"]}"/></Coding>')
        stype, date, role = meta[key]
        values = vv("v_type", "TextValue", stype) + vv("v_date", "DateValue", date) + (vv("v_role", "TextValue", role) if role else "")
        if key in inline:
            body = f"<PlainTextContent>{xml_escape(text)}</PlainTextContent>"
            attr = ""
        else:
            body, attr = "", f' plainTextPath="{paths[key]}"'
        sources.append(f'<TextSource guid="{G[key]}" name="{PROJECT_NAMES[key]}"{attr}>{body}{"".join(sels)}{values}</TextSource>')
    sets = (f'<Sets><Set guid="{G["set_iv"]}" name="Interviews"><MemberSource targetGUID="{G["s_s"]}"/></Set></Sets>')
    body = users + codes + variables + cases + "<Sources>" + "".join(sources) + extra_sources + "</Sources>" + sets
    return qde(body, name="Fixture study")


def source_files(*, stored_crlf=False, bom=False, inline=("s_s",)) -> dict:
    """Text files of the sources that are not inline: key -> bytes."""
    out = {}
    for key, text in PROJECT_TEXTS.items():
        if key in inline:
            continue
        stored = text.replace("\n", "\r\n") if stored_crlf else text
        out[key] = (b"\xef\xbb\xbf" if bom else b"") + stored.encode("utf-8")
    return out


def make_qdpx(path: Path, *, qde_name="project.qde", sources_dir="sources", stored_crlf=False, bom=False,
              extra_members=None, **xml_options) -> Path:
    xml = project_xml(stored_crlf=stored_crlf, **xml_options)
    members = {qde_name: xml}
    for key, data in source_files(stored_crlf=stored_crlf, bom=bom, inline=xml_options.get("inline", ("s_s",))).items():
        members[f"{sources_dir}/{key}.txt"] = data
    members.update(extra_members or {})
    return zip_members(path, members)


def make_qde_folder(folder: Path, *, qde_name="project.qde", sources_dir="sources", **xml_options) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / qde_name).write_text(project_xml(**xml_options), encoding="utf-8")
    (folder / sources_dir).mkdir(exist_ok=True)
    for key, data in source_files(inline=xml_options.get("inline", ("s_s",))).items():
        (folder / sources_dir / f"{key}.txt").write_bytes(data)
    return folder / qde_name


def test_make_raw_loads_with_expected_offsets(tmp_path):
    study = load(make_raw(tmp_path / "raw"))
    assert len(study.documents) == 4 and len(study.coded_segments) == 6
    seg = study.coded_segments.set_index("segment_id")
    text = study.text("A-fn-01")
    assert text[seg.at["s03", "start"]:seg.at["s03", "end"]] == "agreed on a new intake form 😀 after some bargaining"
    # CRLF in the stored file: offsets count the text as read, with LF line ends.
    assert study.text("A-int-01").startswith("Interview with Zoë.\nShe")
    assert study.text("A-int-01")[seg.at["s04", "start"]:seg.at["s04", "end"]] == "explained why the change made sense"
