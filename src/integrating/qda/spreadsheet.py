"""Coded-segment spreadsheets: Dedoose excerpt exports, ATLAS.ti quotation exports, or any table.

Such exports hold the excerpt's words but usually no offsets, so each excerpt is located in its
document's text (from the folder ``spreadsheet.texts`` of the mapping): exactly first, then
ignoring differences in white space; when it occurs several times, the occurrence nearest the
exported range (Dedoose ``Excerpt Range``) is taken, else the first. Excerpts that cannot be found
are listed; with ``unfound: error`` (the default) the import stops, with ``skip`` they are left out.

Codes are the ones the spreadsheet names (every ``Code: <name> Applied`` column of a Dedoose export,
the codes applied in other layouts) plus any other the mapping's ``codes.list`` names by path.
Columns other than the excerpt, codes, coder and positions become document variables when their
value is the same on every row of a document (Dedoose descriptors, for instance), so the mapping can
read the clinic, source type and date from them (``{from: variable, name: COLUMN}``).

:func:`export_spreadsheet` writes a contract data set in these layouts (and the mapping that
imports it back), for exchange and for tests.
"""

from __future__ import annotations

import io as _io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .. import io
from ..contract import read_csv_raw
from ..errors import ImportQDAError
from .model import NOT_UTF8, TEXT_MISSING, Code, Coding, Project, Skipped, Source, User
from .positions import normalize_newlines
from .safety import Budget, Limits, check_archive, decode_text, read_file

FORMAT_COLUMNS = {
    "dedoose": {"document": "Media Title", "excerpt": "Excerpt Copy", "coder": "Excerpt Creator",
                "range": "Excerpt Range"},
    "atlasti": {"document": "Document", "excerpt": "Quotation Content", "codes": "Codes", "coder": "Created by"},
    "columns": {"document": "document", "excerpt": "excerpt", "codes": "codes", "coder": "coder",
                "start": "start", "end": "end"},
}
DEDOOSE_CODE = re.compile(r"^Code: (?P<name>.+) Applied$")
_FALSE = {"", "0", "false", "no", "n", "0.0", "nan"}
_MAX_LISTED = 10


def _read_table(path: Path, spec: dict, limits: Limits) -> pd.DataFrame:
    budget = Budget(limits)
    if path.suffix.lower() == ".xlsx":
        try:
            with zipfile.ZipFile(path) as zf:
                check_archive(zf, path.name, limits)
        except zipfile.BadZipFile as exc:
            raise ImportQDAError(f"{path}: not a readable .xlsx file ({exc})") from exc
        sheet = spec.get("sheet", 0) if spec.get("sheet") is not None else 0
        try:
            frame = pd.read_excel(path, sheet_name=sheet, dtype=str, engine="openpyxl")
        except (ValueError, KeyError, OSError) as exc:
            raise ImportQDAError(f"{path}: cannot read sheet {sheet!r}: {exc}") from exc
        return frame.fillna("")
    text = decode_text(read_file(path, budget), path.name)
    try:
        return pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise ImportQDAError(f"{path}: not a readable CSV table: {exc}") from exc


def _columns(frame: pd.DataFrame, spec: dict, path: Path) -> dict:
    cols = dict(FORMAT_COLUMNS[spec["format"]])
    cols.update(spec["columns"])
    required = ["document", "excerpt"] + (["codes"] if spec["format"] != "dedoose" else [])
    for role in required + [r for r in ("coder", "start", "end") if r in spec["columns"]]:
        if cols.get(role) not in frame.columns:
            raise ImportQDAError(
                f"{path.name}: no column {cols.get(role)!r} (the {role} of a {spec['format']} export); "
                f"its columns are: {', '.join(map(repr, frame.columns))}. Name it in spreadsheet.columns.{role}"
            )
    return {role: c for role, c in cols.items() if c in frame.columns}


def _code_lists(frame: pd.DataFrame, spec: dict, cols: dict, path: Path) -> tuple[list, list]:
    """Per row, the names of the codes applied; and the code columns (Dedoose) to leave out of variables."""
    if spec["format"] == "dedoose" and "codes" not in spec["columns"]:
        code_cols = [c for c in frame.columns if DEDOOSE_CODE.match(str(c))]
        if not code_cols:
            raise ImportQDAError(f"{path.name}: no 'Code: <name> Applied' columns (a Dedoose excerpt export has them)")
        names = [DEDOOSE_CODE.match(c).group("name") for c in code_cols]
        applied = ~frame[code_cols].apply(lambda s: s.str.strip().str.lower()).isin(_FALSE).to_numpy()
        return [[names[j] for j in np.flatnonzero(row)] for row in applied], code_cols
    sep = spec.get("code_separator") or ("\n" if spec["format"] == "atlasti" else ";")
    lists = frame[cols["codes"]].map(lambda v: [c.strip() for c in str(v).replace("\r\n", "\n").split(sep) if c.strip()])
    return lists.tolist(), [cols["codes"]]


def _find_text(folder: Path, title: str) -> Path | None:
    for cand in (folder / title, folder / f"{title}.txt", folder / f"{Path(title).stem}.txt"):
        if cand.is_file() and cand.resolve().parent == folder.resolve():
            return cand
    return None


def _locate(text: str, excerpt: str, hint: int | None) -> tuple[int, int, int] | None:
    """(start, end, number of occurrences) of ``excerpt`` in ``text``, or None when absent."""
    spans = []
    i = text.find(excerpt)
    while i >= 0:
        spans.append((i, i + len(excerpt)))
        i = text.find(excerpt, i + 1)
    if not spans:
        words = excerpt.split()
        if not words:
            return None
        pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
        spans = [m.span() for m in pattern.finditer(text)]
    if not spans:
        return None
    if hint is not None:
        start, end = min(spans, key=lambda s: (abs(s[0] - hint), s[0]))
    else:
        start, end = spans[0]
    return start, end, len(spans)


def _int_or_none(value) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def read_spreadsheet(path, mapping: dict, limits: Limits | None = None) -> Project:
    """Read a coded-segment spreadsheet (CSV or XLSX) and the texts it refers to into a Project."""
    path = Path(path)
    spec = mapping.get("spreadsheet")
    if spec is None:
        raise ImportQDAError(f"{path.name}: importing a spreadsheet needs a 'spreadsheet:' section in the mapping")
    limits = limits or Limits()
    if not path.is_file():
        raise ImportQDAError(f"{path}: no such file")
    frame = _read_table(path, spec, limits)
    cols = _columns(frame, spec, path)
    code_lists, code_cols = _code_lists(frame, spec, cols, path)
    folder = Path(spec["texts"])
    if not folder.is_dir():
        raise ImportQDAError(f"spreadsheet.texts: {folder} is not a folder")
    project = Project(name=path.stem, origin=str(path), scheme=("codepoints", "stored"))
    budget = Budget(limits)
    titles = list(dict.fromkeys(frame[cols["document"]].str.strip()))
    # Documents without a readable text are listed as skipped; the import stops on them unless the
    # mapping says documents.skip_unreadable (the template needs no text).
    rows_of = frame[cols["document"]].str.strip().value_counts()
    for t in titles:
        if _find_text(folder, t) is None:
            project.skipped.append(Skipped(t, TEXT_MISSING, f"{path.name}: document {t!r} has no text in {folder} "
                                                            "(looked for TITLE, TITLE.txt, STEM.txt)", int(rows_of[t])))
    if len(titles) > limits.max_members:
        raise ImportQDAError(f"{path.name}: {len(titles)} documents, more than the --max-members limit {limits.max_members}")
    special = {cols[r] for r in ("excerpt", "coder", "start", "end", "range") if r in cols} | set(code_cols)
    variable_cols = [c for c in frame.columns if c not in special and c != cols["document"]]
    by_doc = frame.groupby(frame[cols["document"]].str.strip(), sort=False)
    for title in titles:
        text_path = _find_text(folder, title)
        if text_path is None:
            continue
        data = read_file(text_path, budget)
        try:
            text = normalize_newlines(decode_text(data, text_path.name))
        except ImportQDAError as exc:
            project.skipped.append(Skipped(title, NOT_UTF8, str(exc), int(rows_of[title])))
            continue
        rows = by_doc.get_group(title)
        variables = {}
        for c in variable_cols:
            values = set(rows[c].astype(str).str.strip()) - {""}
            if len(values) == 1:
                variables[str(c)] = values.pop()
        project.sources[f"doc:{title}"] = Source(guid=f"doc:{title}", name=title, text=text,
                                                 origin=str(text_path), variables=variables)

    used = {_find_text(folder, t).resolve() for t in titles if _find_text(folder, t) is not None}
    unused = sorted(p.name for p in folder.glob("*.txt") if p.resolve() not in used)
    if unused:
        project.notes.append(f"{len(unused)} text(s) in {folder} appear in no row of {path.name} and were not "
                             f"imported: {', '.join(unused[:5])}{' ...' if len(unused) > 5 else ''}")
    unfound, repeated = [], 0
    line_offset = 2  # the header is line (or row) 1
    if spec["format"] == "dedoose" and "codes" not in spec["columns"]:
        for c in code_cols:  # every code of the export, applied or not
            name = DEDOOSE_CODE.match(c).group("name")
            project.codes.setdefault(f"code:{name}", Code(guid=f"code:{name}", name=name))
    excerpts = frame[cols["excerpt"]].map(lambda v: normalize_newlines(str(v)).lstrip("\ufeff"))
    for pos, (idx, excerpt) in enumerate(excerpts.items()):
        title = frame.at[idx, cols["document"]].strip()
        if f"doc:{title}" not in project.sources:  # skipped: no readable text
            continue
        source = project.sources[f"doc:{title}"]
        start = _int_or_none(frame.at[idx, cols["start"]]) if "start" in cols else None
        end = _int_or_none(frame.at[idx, cols["end"]]) if "end" in cols else None
        hint = start
        if hint is None and "range" in cols:
            m = re.match(r"\s*(\d+)\s*-\s*(\d+)", str(frame.at[idx, cols["range"]]))
            hint = int(m.group(1)) if m else None
        if not excerpt.strip():
            unfound.append(f"row {pos + line_offset} ({title!r}): the excerpt is empty")
            continue
        if start is not None and end is not None and 0 <= start < end <= len(source.text) \
                and source.text[start:end].split() == excerpt.split():
            found = (start, end, 1)
        else:
            found = _locate(source.text, excerpt, hint)
        if found is None:
            unfound.append(f"row {pos + line_offset} ({title!r}): {excerpt[:60]!r}")
            continue
        repeated += found[2] > 1
        coder = str(frame.at[idx, cols["coder"]]).strip() if "coder" in cols else ""
        if coder:
            project.users.setdefault(coder, User(guid=coder, name=coder))
        for name in code_lists[pos]:
            project.codes.setdefault(f"code:{name}", Code(guid=f"code:{name}", name=name))
            project.codings.append(Coding(
                source=source.guid, selection=f"row{pos + line_offset}", selection_name=None,
                guid=f"row{pos + line_offset}:{name}", code=f"code:{name}", user=coder or None,
                start=found[0], end=found[1],
            ))
    # The mapping completes the codebook: a code it lists is a code even if no row applies it.
    for entry in mapping["codes"]["list"]:
        name = str(entry.get("path") or "")
        if name and f"code:{name}" not in project.codes:
            project.codes[f"code:{name}"] = Code(guid=f"code:{name}", name=name)
    if unfound:
        listing = "\n  " + "\n  ".join(unfound[:_MAX_LISTED]) + (
            f"\n  ... and {len(unfound) - _MAX_LISTED} more" if len(unfound) > _MAX_LISTED else "")
        if spec["unfound"] == "error":
            raise ImportQDAError(
                f"{len(unfound)} excerpt(s) of {path.name} cannot be found in their document's text "
                f"(set spreadsheet.unfound: skip to import the others):{listing}"
            )
        project.notes.append(f"left out {len(unfound)} excerpt(s) not found in their text:{listing}")
    if repeated:
        project.notes.append(f"{repeated} excerpt(s) occur more than once in their document; took the one nearest "
                             "the exported range, else the first")
    return project


# --- export ---------------------------------------------------------------------------------------


def export_spreadsheet(raw_dir, out_path, format: str = "dedoose", mapping_path=None) -> tuple[Path, Path]:
    """Write the coded segments of ``raw_dir`` as a Dedoose-like or ATLAS.ti-like export (.csv or .xlsx).

    One row per excerpt (document, span, coder) with every code applied to it; document columns
    ``clinic_id``, ``source_type``, ``date``, ``participant_role``. Also writes the mapping that
    imports it back (texts read from ``raw_dir/documents``). Returns both paths.
    """
    if format not in ("dedoose", "atlasti"):
        raise ImportQDAError(f"spreadsheet format {format!r} is unknown; expected dedoose or atlasti")
    raw_dir, out_path = Path(raw_dir), Path(out_path)
    mapping_path = Path(mapping_path) if mapping_path else out_path.with_name(f"{out_path.stem}.mapping.yaml")
    docs = read_csv_raw(raw_dir / "documents.csv").set_index("document_id")
    book = read_csv_raw(raw_dir / "codebook.csv")
    segs = read_csv_raw(raw_dir / "coded_segments.csv")
    segs[["start", "end"]] = segs[["start", "end"]].astype("int64")
    label = book.set_index("code")["label"]
    texts = {d: (raw_dir / p).read_text(encoding="utf-8") for d, p in docs["text_path"].items()}
    excerpts = (segs.groupby(["document_id", "start", "end", "coder"], sort=True)["code"]
                .apply(lambda s: sorted(s)).reset_index())
    applied = set(segs["code"])
    listed = book if format == "dedoose" else book.loc[book["code"].isin(applied)]
    parent = listed.set_index("code")["parent"] if "parent" in listed else pd.Series(dtype=str)
    copy = [texts[d][s:e] for d, s, e in zip(excerpts["document_id"], excerpts["start"], excerpts["end"])]
    meta = docs.loc[excerpts["document_id"], ["clinic_id", "source_type", "date", "participant_role"]].reset_index(drop=True)
    if format == "dedoose":
        out = pd.DataFrame({
            "Media Title": excerpts["document_id"], "Excerpt Creator": excerpts["coder"],
            "Excerpt Range": excerpts["start"].astype(str) + "-" + excerpts["end"].astype(str), "Excerpt Copy": copy,
        })
        out = pd.concat([out, meta], axis=1)
        for code in sorted(book["code"]):
            out[f"Code: {label[code]} Applied"] = excerpts["code"].map(lambda cs, c=code: "True" if c in cs else "False")
    else:
        out = pd.DataFrame({
            "ID": [f"{i + 1}" for i in range(len(excerpts))], "Document": excerpts["document_id"],
            "Quotation Content": copy, "Codes": excerpts["code"].map(lambda cs: "\n".join(label[c] for c in cs)),
            "Created by": excerpts["coder"],
        })
        out = pd.concat([out, meta], axis=1)
    if out_path.suffix.lower() == ".xlsx":
        with io.atomic_path(out_path) as tmp:
            with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
                out.to_excel(writer, index=False, sheet_name="Excerpts")
    else:
        io.write_table(out, out_path)
    mapping = {
        "version": 1,
        "study": {k: v for k, v in json_study(raw_dir).items()},
        "documents": {
            "document_id": {"from": "name"},
            "clinic": {"from": "variable", "name": "clinic_id"},
            "source_type": {"from": "variable", "name": "source_type"},
            "date": {"from": "variable", "name": "date"},
            "participant_role": {"from": "variable", "name": "participant_role"},
        },
        "codes": {"default_category": "other", "unlisted": "error",
                  "list": [_code_entry(label[c], c, cat, d, parent.get(c), set(listed["code"]))
                           for c, cat, d in zip(listed["code"], listed["category"], listed["definition"])]},
        "spreadsheet": {"format": format, "texts": str(Path(raw_dir).resolve() / "documents")},
    }
    io.write_text(mapping_path, yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True, width=100))
    return out_path, mapping_path


def _code_entry(label: str, code: str, category: str, definition: str, parent, codes: set) -> dict:
    entry = {"path": str(label), "code": code, "category": category, "definition": definition}
    if isinstance(parent, str) and parent in codes:
        entry["parent"] = parent
    return entry


def json_study(raw_dir) -> dict:
    from ..contract import read_descriptor

    study = read_descriptor(raw_dir).get("study", {})
    return {k: study[k] for k in ("months", "start_date", "synthetic", "description") if k in study}
