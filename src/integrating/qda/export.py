"""Writing a contract data set as a REFI-QDA project (``.qdpx``) plus the mapping that imports it back.

Clinics become Cases (their characteristics Case variables), documents TextSources (with variables
``source_type``, ``date`` and ``participant_role``), coders Users, the codebook a nested CodeBook
and each coded segment a PlainTextSelection with one Coding. Every GUID is a UUID5 derived from the
identifier it stands for, and the archive's members carry a fixed date, so exporting the same data
twice gives identical bytes. Positions are Unicode code points of the texts, which are stored with
LF line ends, as REFI-QDA specifies.
"""

from __future__ import annotations

import io as _io
import re
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pandas as pd
import yaml

from .. import io
from ..contract import read_csv_raw, read_descriptor
from ..errors import ImportQDAError
from .refi import NAMESPACE

#: Namespace of every GUID the exporter derives (uuid5 of "<kind>:<identifier>").
GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:integrating:qda-export")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+\.\d+")
DOCUMENT_VARIABLES = ("source_type", "date", "participant_role")


def guid(kind: str, identifier: str) -> str:
    return str(uuid.uuid5(GUID_NAMESPACE, f"{kind}:{identifier}"))


def _el(parent, tag: str, **attrs):
    attrs = {k: str(v) for k, v in attrs.items() if v is not None}
    return ET.SubElement(parent, tag, attrs) if parent is not None else ET.Element(tag, attrs)


def _variable_type(values: pd.Series) -> str:
    values = values.dropna()
    if len(values) and values.map(lambda v: bool(_INTEGER.fullmatch(v))).all():
        return "Integer"
    if len(values) and values.map(lambda v: bool(_DECIMAL.fullmatch(v) or _INTEGER.fullmatch(v))).all():
        return "Float"
    return "Text"


_VALUE_TAG = {"Text": "TextValue", "Integer": "IntegerValue", "Float": "FloatValue", "Date": "DateValue"}


def _value(parent, variable_guid: str, kind: str, value) -> None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return
    vv = _el(parent, "VariableValue")
    _el(vv, "VariableRef", targetGUID=variable_guid)
    _el(vv, _VALUE_TAG[kind]).text = str(value)


def _clinic_variable_names(columns) -> dict:
    return {c: (f"clinic_{c}" if c in DOCUMENT_VARIABLES else c) for c in columns}


def _codebook_tree(book: pd.DataFrame) -> dict:
    """parent code (None for the top level) -> its child codes, in the codebook's row order."""
    codes = set(book["code"])
    parent = {r.code: (r.parent if isinstance(r.parent, str) and r.parent in codes else None)
              for r in book.itertuples()}
    for code in codes:  # refuse cycles: they cannot be nested
        seen, p = {code}, parent[code]
        while p is not None:
            if p in seen:
                raise ImportQDAError(f"codebook: the parent column forms a cycle through code {code!r}")
            seen.add(p)
            p = parent[p]
    children = {}
    for code in book["code"]:
        children.setdefault(parent[code], []).append(code)
    return children


def build_project_xml(raw_dir) -> tuple[bytes, dict, dict]:
    """The project.qde bytes, the source files (member name -> bytes) and the mapping (a dict)."""
    raw_dir = Path(raw_dir)
    descriptor = read_descriptor(raw_dir)
    study = descriptor.get("study", {})
    t = {name: read_csv_raw(raw_dir / f"{name}.csv") for name in ("clinics", "documents", "codebook", "coded_segments")}
    # Everything keeps the tables' row order, so that importing back reproduces the same files.
    clinics = t["clinics"]
    docs = t["documents"]
    book = t["codebook"]
    has_parent = "parent" in book
    if not has_parent:
        book = book.assign(parent=None)
    has_role = "participant_role" in t["documents"]
    segments = t["coded_segments"]

    # Tags are written unqualified under a default namespace declared on the root.
    root = _el(None, "Project", xmlns=NAMESPACE, name=descriptor.get("name", "integrating-study"), origin="integrating compendium")
    users = _el(root, "Users")
    coders = list(dict.fromkeys(segments["coder"]))
    for coder in coders:
        _el(users, "User", guid=guid("user", coder), name=coder, id=coder)
    if not coders:
        root.remove(users)

    codes_el = _el(_el(root, "CodeBook"), "Codes")
    rows = book.set_index("code")
    children = _codebook_tree(book)

    def add_codes(parent_el, parent_code):
        for code in children.get(parent_code, []):
            el = _el(parent_el, "Code", guid=guid("code", code), name=rows.at[code, "label"], isCodable="true")
            _el(el, "Description").text = rows.at[code, "definition"]
            add_codes(el, code)

    add_codes(codes_el, None)

    variables = _el(root, "Variables")
    var_guid = {}
    for name, kind in (("source_type", "Text"), ("date", "Date"), ("participant_role", "Text")):
        var_guid[name] = guid("variable", name)
        _el(variables, "Variable", guid=var_guid[name], name=name, typeOfVariable=kind)
    clinic_columns = [c for c in clinics.columns if c != "clinic_id"]
    clinic_names = _clinic_variable_names(clinic_columns)
    clinic_types = {c: _variable_type(clinics[c]) for c in clinic_columns}
    for column in clinic_columns:
        name = clinic_names[column]
        var_guid[name] = guid("variable", name)
        _el(variables, "Variable", guid=var_guid[name], name=name, typeOfVariable=clinic_types[column])

    cases = _el(root, "Cases")
    docs_of = docs.groupby("clinic_id", sort=False)["document_id"].apply(list).to_dict()
    for row in clinics.to_dict("records"):
        case = _el(cases, "Case", guid=guid("case", row["clinic_id"]), name=row["clinic_id"])
        for column in clinic_columns:
            name = clinic_names[column]
            _value(case, var_guid[name], clinic_types[column], row[column])
        for doc in docs_of.get(row["clinic_id"], []):
            _el(case, "SourceRef", targetGUID=guid("document", doc))
    if not len(clinics):
        root.remove(cases)

    sources = _el(root, "Sources")
    files = {}
    segs_of = {d: f for d, f in segments.groupby("document_id", sort=False)}
    for row in docs.to_dict("records"):
        doc = row["document_id"]
        source_guid = guid("document", doc)
        member = f"{source_guid}.txt"
        text = (raw_dir / row["text_path"]).read_text(encoding="utf-8")
        files[f"sources/{member}"] = text.encode("utf-8")
        el = _el(sources, "TextSource", guid=source_guid, name=doc, plainTextPath=f"internal://{member}")
        frame = segs_of.get(doc)
        for seg in (frame.to_dict("records") if frame is not None else []):
            user = guid("user", seg["coder"])
            sel = _el(el, "PlainTextSelection", guid=guid("selection", seg["segment_id"]), name=seg["segment_id"],
                      startPosition=int(seg["start"]), endPosition=int(seg["end"]), creatingUser=user)
            coding = _el(sel, "Coding", guid=guid("coding", seg["segment_id"]), creatingUser=user)
            _el(coding, "CodeRef", targetGUID=guid("code", seg["code"]))
        for name, kind in (("source_type", "Text"), ("date", "Date"), ("participant_role", "Text")):
            _value(el, var_guid[name], kind, row.get(name))
    if study.get("description"):
        _el(root, "Description").text = str(study["description"])

    ET.indent(root, space="  ")
    buf = _io.BytesIO()
    ET.ElementTree(root).write(buf, encoding="utf-8", xml_declaration=True)
    mapping = export_mapping(study, clinic_names, book, children, has_parent=has_parent, has_role=has_role)
    return buf.getvalue() + b"\n", files, mapping


def export_mapping(study: dict, clinic_names: dict, book: pd.DataFrame, children: dict, *,
                   has_parent: bool = True, has_role: bool = True) -> dict:
    """The mapping that imports an exported project back to the same contract tables."""
    rows = book.set_index("code")
    entries = []

    def walk(parent, path):
        for code in children.get(parent, []):
            p = f"{path}/{rows.at[code, 'label']}" if path else str(rows.at[code, "label"])
            entries.append({"path": p, "guid": guid("code", code), "code": code,
                            "category": rows.at[code, "category"]})
            walk(code, p)

    walk(None, "")
    documents = {
        "document_id": {"from": "name"},
        "clinic": {"from": "case"},
        "source_type": {"from": "variable", "name": "source_type"},
        "date": {"from": "variable", "name": "date"},
    }
    if has_role:
        documents["participant_role"] = {"from": "variable", "name": "participant_role"}
    return {
        "version": 1,
        "study": {k: study[k] for k in ("months", "start_date", "synthetic", "description") if k in study},
        "positions": "codepoints",
        "line_ends": "stored",
        "documents": documents,
        "clinics": {"columns": {c: n for c, n in clinic_names.items()}},
        "coders": {},
        "segments": {"segment_id": "selection_name"},
        "codes": {"default_category": "other", "unlisted": "error", "parent_column": has_parent, "list": entries},
    }


def _zip_bytes(members: dict) -> bytes:
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            zf.writestr(info, data, compresslevel=9)
    return buf.getvalue()


def export_qda(raw_dir, out_path, mapping_path=None) -> tuple[Path, Path]:
    """Write ``raw_dir`` (a contract data set) as the REFI-QDA archive ``out_path`` (.qdpx).

    Also writes the mapping that imports it back (default: ``<out stem>.mapping.yaml`` beside it).
    Returns both paths. Two exports of the same data are byte-identical.
    """
    out_path = Path(out_path)
    mapping_path = Path(mapping_path) if mapping_path else out_path.with_name(f"{out_path.stem}.mapping.yaml")
    xml, files, mapping = build_project_xml(raw_dir)
    members = {"project.qde": xml, **dict(sorted(files.items()))}
    io.write_bytes(out_path, _zip_bytes(members))
    header = (
        "# Mapping that imports the exported project back into the raw data contract:\n"
        f"#   integrating import-qda {out_path.name} --out RAW_DIR --mapping {mapping_path.name}\n"
    )
    io.write_text(mapping_path, header + yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True, width=100))
    return out_path, mapping_path
