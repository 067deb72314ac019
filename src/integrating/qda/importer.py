"""Importing a QDA project or coded-segment spreadsheet into a raw-data folder of the contract.

Everything is written into a temporary folder beside the output folder, which is renamed into place
only when every table and text has been written: a refusal or an error leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from .. import io
from ..contract import DESCRIPTOR_NAME, StudyInfo, template_descriptor
from ..errors import ImportQDAError
from .mapping import load_mapping
from .positions import describe
from .refi import read_project
from .safety import Limits
from .tables import Tables, build_tables

SPREADSHEET_SUFFIXES = (".csv", ".xlsx")
#: Optional tables of the contract a QDA project does not hold: copied by --tables-from when present
#: there, otherwise not written (a qualitative-only data set, docs/data-contract.md).
OTHER_TABLES = ("implementation_log", "survey_items", "survey_responses")
COPIED_TABLES = ("clinics", *OTHER_TABLES)


@dataclass
class ImportReport:
    out: Path
    documents: int
    codes: int
    segments: int
    coders: int
    clinics: int
    scheme: tuple | None
    tables_from: Path | None
    notes: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # model.Skipped, one per source not imported
    merged: dict = field(default_factory=dict)  # contract code -> project code paths merged into it
    tables: tuple = ()  # optional tables written (copied by --tables-from)

    def skipped_by_reason(self) -> dict:
        """Reason -> names of the sources skipped for it, in the order met."""
        out = {}
        for s in self.skipped:
            out.setdefault(s.reason, []).append(s.name)
        return out

    def lines(self) -> list[str]:
        out = [
            f"wrote {self.out}: {self.documents} documents, {self.codes} codes, {self.segments} coded segments, "
            f"{self.coders} coders, {self.clinics} clinics; {len(self.skipped)} sources skipped",
        ]
        for reason, names in self.skipped_by_reason().items():
            shown = ", ".join(repr(n) for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            codings = sum(s.codings for s in self.skipped if s.reason == reason)
            left = f" ({codings} coding(s) left out)" if codings else ""
            out.append(f"skipped {len(names)} source(s): {reason}: {shown}{left}")
        for code, paths in self.merged.items():
            out.append(f"merged {len(paths)} project codes into {code}: {', '.join(repr(p) for p in paths)}")
        if self.scheme is not None:
            out.append(f"positions: {describe(self.scheme)}")
        out += [f"note: {n}" for n in self.notes]
        absent = [t for t in OTHER_TABLES if t not in self.tables]
        if absent:
            out.append(
                f"note: no {', '.join(f'{t}.csv' for t in absent)}: a qualitative-only data set; "
                "`integrating validate` names the analyses it cannot support (add the tables with --tables-from DIR)"
            )
        return out


def _check_out(out: Path, inputs: list[Path], overwrite: bool) -> None:
    out_r = out.resolve()
    for p in inputs:
        p = p.resolve()
        if p == out_r or out_r in p.parents:
            raise ImportQDAError(f"output folder {out} holds the input {p}; choose another --out")
    if out.exists():
        if not out.is_dir():
            raise ImportQDAError(f"output {out} exists and is not a folder")
        if any(out.iterdir()):
            if not overwrite:
                raise ImportQDAError(f"output folder {out} exists and is not empty; choose another --out or pass --overwrite")
            if not (out / DESCRIPTOR_NAME).is_file():
                raise ImportQDAError(
                    f"output folder {out} is not a raw-data folder (no {DESCRIPTOR_NAME}); --overwrite only replaces data folders"
                )


def _study(mapping: dict, tables_from: Path | None) -> dict:
    study = dict(mapping["study"])
    if tables_from is not None and (tables_from / DESCRIPTOR_NAME).is_file():
        other = json.loads((tables_from / DESCRIPTOR_NAME).read_text(encoding="utf-8")).get("study", {})
        for key in ("months", "start_date"):
            if key not in study and key in other:
                study[key] = other[key]
    for key, example in (("months", "15"), ("start_date", "2015-01-01")):
        if key not in study:
            raise ImportQDAError(f"mapping: study.{key} is missing (e.g. {key}: {example})")
    return {"months": study["months"], "start_date": study["start_date"], "synthetic": study["synthetic"],
            "description": study["description"]}


def _check_dates(tables: Tables, study: dict) -> None:
    info = StudyInfo(months=study["months"], start_date=date.fromisoformat(study["start_date"]), synthetic=False)
    d = pd.to_datetime(tables.documents["date"])
    outside = tables.documents.loc[(d < pd.Timestamp(info.start_date)) | (d > pd.Timestamp(info.end_date))]
    if len(outside):
        first = outside.iloc[0]
        raise ImportQDAError(
            f"{len(outside)} document(s) are dated outside the study window {info.start_date}..{info.end_date} "
            f"(study.start_date, study.months), e.g. {first['document_id']} on {first['date']}"
        )


def _read_tables_from(tables_from: Path, clinic_ids) -> dict:
    """clinics.csv (required) and the optional tables present in ``tables_from``, as bytes."""
    found = {}
    for name in COPIED_TABLES:
        path = tables_from / f"{name}.csv"
        if not path.is_file():
            if name in OTHER_TABLES:
                continue  # optional in the contract
            raise ImportQDAError(f"--tables-from {tables_from}: {path.name} is missing")
        found[name] = path.read_bytes()
    pair = [f"{t}.csv" for t in ("survey_items", "survey_responses")]
    if (pair[0][:-4] in found) != (pair[1][:-4] in found):
        have, lack = pair if pair[0][:-4] in found else pair[::-1]
        raise ImportQDAError(f"--tables-from {tables_from}: {lack} is missing; the survey needs both {pair[0]} "
                             f"and {pair[1]} (or neither), and {have} is there")
    known = set(pd.read_csv(tables_from / "clinics.csv", dtype=str, keep_default_na=False)["clinic_id"])
    unknown = sorted(set(clinic_ids) - known)
    if unknown:
        raise ImportQDAError(
            f"documents refer to clinic(s) {', '.join(unknown)} that are not in {tables_from / 'clinics.csv'}; "
            "map the project's cases to those clinic ids (documents.clinic.values)"
        )
    return found


def write_raw(out, tables: Tables, study: dict, *, copied: dict | None = None, overwrite: bool = False) -> Path:
    """Write the contract folder ``out`` from ``tables`` atomically (temporary folder, then rename)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.importing-", dir=out.parent))
    try:
        io.write_json(tmp / DESCRIPTOR_NAME, template_descriptor(study=study))
        # Rows keep the project's order (documents, codes, selections): deterministic for a given input.
        io.write_table(tables.documents, tmp / "documents.csv")
        io.write_table(tables.codebook, tmp / "codebook.csv")
        io.write_table(tables.segments, tmp / "coded_segments.csv")
        for doc_id, text in sorted(tables.texts.items()):
            io.write_text(tmp / "documents" / f"{doc_id}.txt", text)
        if copied:
            for name, data in copied.items():
                io.write_bytes(tmp / f"{name}.csv", data)
        else:  # the optional tables are left out: a qualitative-only data set
            io.write_table(tables.clinics, tmp / "clinics.csv")
        os.chmod(tmp, 0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.replaced-", dir=out.parent))
            os.rmdir(old)
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old)
        else:
            os.rename(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out


def import_qda(path, out, mapping, *, positions: str | None = None, line_ends: str | None = None,
               tables_from=None, limits: Limits | None = None, overwrite: bool = False) -> ImportReport:
    """Import a REFI-QDA project (.qdpx, .qde or folder) or a coded-segment spreadsheet (.csv, .xlsx).

    ``mapping`` is a mapping file path or dict (:func:`~integrating.qda.mapping.load_mapping`);
    ``positions`` (auto, codepoints, utf16) and ``line_ends`` (auto, stored, crlf, lf) override the
    mapping's; ``tables_from`` names a raw-data folder whose clinics table and whichever of the
    implementation log and survey tables it holds are copied; without it, clinics come from the
    project and the optional tables are not written. Raises :class:`ImportQDAError`, writing
    nothing, on any refusal (including sources without a readable text, unless the mapping sets
    ``documents.skip_unreadable``).
    """
    path, out = Path(path), Path(out)
    tables_from = Path(tables_from) if tables_from is not None else None
    mapping = load_mapping(mapping)
    _check_out(out, [path], overwrite)
    limits = limits or Limits()
    if path.suffix.lower() in SPREADSHEET_SUFFIXES:
        from .spreadsheet import read_spreadsheet

        project = read_spreadsheet(path, mapping, limits)
    else:
        project = read_project(path, limits)
    tables = build_tables(project, mapping, positions=positions, line_ends=line_ends)
    study = _study(mapping, tables_from)
    _check_dates(tables, study)
    copied = _read_tables_from(tables_from, tables.documents["clinic_id"]) if tables_from is not None else None
    write_raw(out, tables, study, copied=copied, overwrite=overwrite)
    clinics = len(tables.clinics) if copied is None else len(set(tables.documents["clinic_id"]))
    return ImportReport(
        out=out, documents=len(tables.documents), codes=len(tables.codebook), segments=len(tables.segments),
        coders=tables.segments["coder"].nunique(), clinics=clinics, scheme=tables.scheme,
        tables_from=tables_from, notes=tables.notes, skipped=tables.skipped, merged=tables.merged,
        tables=tuple(t for t in OTHER_TABLES if copied and t in copied),
    )
