"""Validation of a raw-data folder against the data contract, reporting every problem at once.

Column types and constraints come from the folder's ``datapackage.json`` (Frictionless Table
Schemas, read by pandera); the rules a Table Schema cannot express (foreign keys across files,
offsets into texts, the study window, item scales declared in another table) are checked here
with vectorised pandas. Each problem names the file, the row (1-based data row; the file line is
one more, after the header), the column, the bad value and what was expected.

Tables whose resource says ``"required": false`` (the implementation log and the survey) may be
absent or hold a header only; every rule applies to them when they have rows. What valid data
cannot support is not a problem: :func:`integrating.support.capabilities` says which analyses
they allow, and ``integrating validate`` prints the others as warnings.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from . import contract
from .errors import ContractError

#: Rows listed per (file, column, expectation) before the rest are summarised in one line.
MAX_LISTED = 20


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None  # 1-based data row (file line = row + 1); None for file- or column-level problems
    column: str | None
    value: object
    expected: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row} (line {self.row + 1})")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        value = "" if self.value is None else f"value {self.value!r}; "
        return f"{', '.join(where)}: {value}expected {self.expected}"


def _fmt(value):
    """Values as read from the file (text); numpy scalars as plain Python values."""
    return value.item() if hasattr(value, "item") else value


class _Collector:
    def __init__(self):
        self.problems: list[Problem] = []

    def add(self, file, row=None, column=None, value=None, expected=""):
        self.problems.append(Problem(file, None if row is None else int(row), column, _fmt(value), expected))

    def rows(self, file, df: pd.DataFrame, mask, column, expected, value_column=None):
        """One problem per row of ``df`` where ``mask`` holds (vectorised)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        idx = np.flatnonzero(mask)
        values = df[value_column or column].to_numpy()[idx] if (value_column or column) in df else [None] * len(idx)
        for i, v in zip(idx, values):
            self.add(file, int(df.index[i]) + 1, column, None if pd.isna(v) else v, expected)


# ----------------------------------------------------------------------------------------------
# Field-level rules from the Table Schema


def _describe_field(field: dict) -> str:
    """What a field expects, in words, from its Table Schema type and constraints."""
    c = field.get("constraints", {})
    if "enum" in c:
        return "one of " + ", ".join(repr(v) for v in c["enum"])
    if field.get("type") == "boolean":
        return "true or false (lower case)"
    parts = [{"integer": "an integer", "number": "a number", "date": "an ISO date (YYYY-MM-DD)"}.get(
        field.get("type", "string"), "text")]
    if "minimum" in c and "maximum" in c:
        parts.append(f"from {c['minimum']} to {c['maximum']}")
    elif "minimum" in c:
        parts.append(f">= {c['minimum']}")
    elif "maximum" in c:
        parts.append(f"<= {c['maximum']}")
    if "pattern" in c:
        parts.append(f"matching {c['pattern']!r}")
    return " ".join(parts)


def _pandera_schema(fields: list[dict], primary_key: list[str], dynamic: dict | None = None):
    """A pandera schema for the present columns, from the Frictionless field descriptors."""
    import pandera.pandas as pa
    from pandera.io import from_frictionless_schema

    # Dates and booleans are checked below (Frictionless' trueValues and ISO dates are stricter
    # than pandas' coercion); pandera checks strings, integers and their constraints.
    simple = []
    for f in fields:
        f = dict(f)
        if f.get("type") in ("date", "boolean"):
            f = {"name": f["name"], "type": "string", "constraints": {"required": f.get("constraints", {}).get("required", False)}}
        simple.append(f)
    schema = from_frictionless_schema({"fields": simple, "primaryKey": primary_key})
    updates = {}
    for f in fields:
        if f.get("type") == "integer":
            updates[f["name"]] = {"dtype": "Int64", "nullable": not f.get("constraints", {}).get("required", False)}
    for name, kwargs in updates.items():
        schema = schema.update_column(name, **kwargs)
    for name, column in (dynamic or {}).items():
        schema = schema.add_columns({name: column})
    # Extra columns are allowed (clinic characteristics, respondent covariates).
    return pa.DataFrameSchema(columns=schema.columns, coerce=True, strict=False, unique=schema.unique)


def _pandera_problems(out: _Collector, file: str, df: pd.DataFrame, schema, describe: dict) -> None:
    import pandera.errors as pe

    try:
        schema.validate(df, lazy=True)
        return
    except pe.SchemaErrors as err:
        cases = err.failure_cases
    cases = cases[cases["index"].notna() | cases["check"].astype(str).str.contains("column_in_dataframe")]
    failed_coercion = set(cases.loc[cases["check"].astype(str).str.startswith("coerce_dtype"), "column"])
    for case in cases.itertuples(index=False):
        check = str(case.check)
        column = case.column
        if case.index is None or pd.isna(case.index):
            continue
        if pd.isna(case.failure_case) and "not_nullable" not in check:
            continue  # an empty optional cell is fine; pandera lists it when the column failed coercion
        if column in failed_coercion and not check.startswith("coerce_dtype"):
            continue  # a value that is not a number was already reported; its range check is moot
        row = int(case.index) + 1
        raw_value = df.at[int(case.index), column] if column in df else case.failure_case
        if "uniqueness" in check or check.startswith("unique"):
            expected = "a unique value (this value occurs in more than one row)"
        elif "not_nullable" in check:
            expected = f"a value ({describe.get(column, 'required')}); the cell is empty"
        else:
            expected = describe.get(column, check)
        out.add(file, row, column, raw_value, expected)


# ----------------------------------------------------------------------------------------------
# The checks


def _study_info(out: _Collector, descriptor: dict):
    study = descriptor.get("study")
    file = contract.DESCRIPTOR_NAME
    if not isinstance(study, dict):
        out.add(file, None, "study", None, 'a "study" object with months, start_date, synthetic and description')
        return None
    ok = True
    months = study.get("months")
    if not isinstance(months, int) or isinstance(months, bool) or months < 1:
        out.add(file, None, "study.months", months, "an integer >= 1")
        ok = False
    try:
        date.fromisoformat(str(study.get("start_date")))
    except ValueError:
        out.add(file, None, "study.start_date", study.get("start_date"), "an ISO date YYYY-MM-DD")
        ok = False
    if not isinstance(study.get("synthetic"), bool):
        out.add(file, None, "study.synthetic", study.get("synthetic"), "true or false")
        ok = False
    return contract.StudyInfo.from_descriptor(descriptor) if ok else None


def _read_table(out: _Collector, raw_dir: Path, res: dict):
    file = res.get("path", f"{res['name']}.csv")
    path = raw_dir / file
    required = res.get("required", True) is not False
    if not path.is_file():
        if required:
            out.add(file, None, None, None, f"the file {file} (table '{res['name']}' of the contract)")
        return None
    try:
        df = contract.read_csv_raw(path)
    except UnicodeDecodeError as exc:
        out.add(file, None, None, None, f"UTF-8 text ({exc.reason} at byte {exc.start})")
        return None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        out.add(file, None, None, None, f"a CSV table with a header row ({str(exc).strip()})")
        return None
    df.columns = [str(c) for c in df.columns]
    if df.empty and required:
        out.add(file, None, None, None, "at least one data row; the table is empty")
        return None
    schema = res.get("schema", {})
    optional = set(schema.get("optionalFields", []))
    missing = [f["name"] for f in schema.get("fields", []) if f["name"] not in df.columns and f["name"] not in optional]
    for name in missing:
        out.add(file, None, name, None, "this column to be present (it is required by the contract)")
    return df  # the checks below run on the columns that exist


def _check_fields(out, file, df, res, dynamic=None):
    schema = res.get("schema", {})
    fields = [f for f in schema.get("fields", []) if f["name"] in df.columns]
    describe = {f["name"]: _describe_field(f) for f in fields}
    pk = [k for k in schema.get("primaryKey", []) if k in df.columns]
    dyn_columns = {}
    for name, (column, text) in (dynamic or {}).items():
        dyn_columns[name] = column
        describe[name] = text
    _pandera_problems(out, file, df, _pandera_schema(fields, pk if len(pk) == len(schema.get("primaryKey", [])) else [], dyn_columns), describe)
    for f in fields:
        values = df[f["name"]]
        if f.get("type") == "boolean":
            allowed = set(f.get("trueValues", ["true"])) | set(f.get("falseValues", ["false"]))
            out.rows(file, df, values.notna() & ~values.isin(allowed), f["name"], describe[f["name"]])
        elif f.get("type") == "date":
            parsed = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
            out.rows(file, df, values.notna() & parsed.isna(), f["name"], describe[f["name"]])
            if f.get("constraints", {}).get("required"):
                out.rows(file, df, values.isna(), f["name"], "a value (an ISO date); the cell is empty")


def _foreign_keys(out, tables: dict, resources: dict):
    for name, res in resources.items():
        df = tables.get(name)
        if df is None:
            continue
        for fk in res.get("schema", {}).get("foreignKeys", []):
            (col,), ref = fk["fields"], fk["reference"]
            target = tables.get(ref["resource"])
            if target is None or col not in df or ref["fields"][0] not in target:
                continue
            known = target[ref["fields"][0]].dropna().unique()
            bad = df[col].notna() & ~df[col].isin(known)
            out.rows(res["path"], df, bad, col,
                     f"a {ref['fields'][0]} listed in {resources[ref['resource']]['path']}")


def _texts(out, raw_dir: Path, documents: pd.DataFrame) -> pd.Series:
    """Length in code points of each document's text (NaN where unreadable), reporting problems."""
    lengths = {}
    # os.path rather than pathlib: with tens of thousands of texts, parsing each path cost as much as reading it.
    base = os.fspath(raw_dir)
    for row, (doc_id, rel) in enumerate(zip(documents["document_id"], documents["text_path"]), start=1):
        if pd.isna(rel):
            continue
        if os.path.isabs(rel) or ".." in rel.split(os.sep):
            out.add("documents.csv", row, "text_path", rel, f"a path inside {raw_dir.name}/ (no absolute path, no '..')")
            continue
        try:
            with open(os.path.join(base, rel), "rb") as handle:
                data = handle.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            out.add("documents.csv", row, "text_path", rel, f"an existing text file under {raw_dir.name}/ (not found)")
            continue
        try:
            lengths[doc_id] = len(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            out.add(str(Path(rel)), None, None, None,
                    f"UTF-8 text (invalid byte 0x{data[exc.start]:02x} at byte {exc.start}); "
                    f"referenced by documents.csv row {row}")
    return pd.Series(lengths, dtype="float64")


def _cross_checks(out, raw_dir, info, tables):
    docs = tables.get("documents")
    if docs is not None and {"document_id", "text_path"} <= set(docs.columns):
        lengths = _texts(out, raw_dir, docs)
        if info is not None and "date" in docs:
            parsed = pd.to_datetime(docs["date"], format="%Y-%m-%d", errors="coerce")
            start, end = pd.Timestamp(info.start_date), pd.Timestamp(info.end_date)
            outside = parsed.notna() & ((parsed < start) | (parsed > end))
            out.rows("documents.csv", docs, outside, "date",
                     f"a date inside the study window {info.start_date} to {info.end_date}")
    else:
        lengths = pd.Series(dtype="float64")

    seg = tables.get("coded_segments")
    if seg is not None and {"start", "end", "document_id"} <= set(seg.columns):
        start = pd.to_numeric(seg["start"], errors="coerce")
        end = pd.to_numeric(seg["end"], errors="coerce")
        both = start.notna() & end.notna()
        out.rows("coded_segments.csv", seg, both & (start >= end), "end", "an offset greater than start")
        length = seg["document_id"].map(lengths)
        past = both & length.notna() & (end > length)
        for i in np.flatnonzero(past.to_numpy()):
            out.add("coded_segments.csv", seg.index[i] + 1, "end", seg["end"].iloc[i],
                    f"an offset <= {int(length.iloc[i])}, the length in code points of the text of "
                    f"document {seg['document_id'].iloc[i]}")

    if seg is not None and docs is not None and "coders" in docs.columns and {"document_id", "coder"} <= set(seg.columns):
        _listed_coders(out, docs, seg)

    log = tables.get("implementation_log")
    if log is not None and info is not None and "month" in log:
        month = pd.to_numeric(log["month"], errors="coerce")
        out.rows("implementation_log.csv", log, month.notna() & (month > info.months), "month",
                 f"a study month from 1 to {info.months}")

    cb = tables.get("codebook")
    if cb is not None and "code" in cb:
        for code in contract.MECHANISMS:
            if not cb["code"].eq(code).any():
                out.add("codebook.csv", None, "code", None,
                        f"the mechanism code '{code}' (the contract requires all four: {', '.join(contract.MECHANISMS)})")


def _listed_coders(out, docs: pd.DataFrame, seg: pd.DataFrame) -> None:
    """A document's ``coders`` cell, when filled, lists every coder with a segment in the document."""
    from .coders import SEPARATOR

    cells = docs["coders"]
    filled = cells.notna() & cells.astype(str).str.strip().ne("")
    listed = {d: {c.strip() for c in str(v).split(SEPARATOR) if c.strip()}
              for d, v in zip(docs.loc[filled, "document_id"], cells[filled])}
    row_of = {d: i + 1 for i, d in enumerate(docs["document_id"])}
    used = seg[["document_id", "coder"]].drop_duplicates().sort_values(["document_id", "coder"], kind="mergesort")
    for d, coder in used.itertuples(index=False):
        if d in listed and coder not in listed[d]:
            out.add("documents.csv", row_of[d], "coders", docs.loc[docs["document_id"].eq(d), "coders"].iloc[0],
                    f"a list of the coders of document {d} that includes '{coder}', who coded segments in it "
                    f"(coded_segments.csv); names separated by '{SEPARATOR}'")


def _survey(out, tables):
    items = tables.get("survey_items")
    responses = tables.get("survey_responses")
    rows = {name: df is not None and not df.empty for name, df in (("survey_items", items), ("survey_responses", responses))}
    if rows["survey_items"] != rows["survey_responses"]:
        have, lack = ("survey_items", "survey_responses") if rows["survey_items"] else ("survey_responses", "survey_items")
        out.add(f"{lack}.csv", None, None, None,
                f"rows in {lack}.csv, since {have}.csv has rows (the survey needs both tables, or neither)")
    if items is None or not {"item", "scale_min", "scale_max"} <= set(items.columns):
        return {}
    lo = pd.to_numeric(items["scale_min"], errors="coerce")
    hi = pd.to_numeric(items["scale_max"], errors="coerce")
    out.rows("survey_items.csv", items, lo.notna() & hi.notna() & (lo >= hi), "scale_max",
             "a value greater than scale_min")
    dynamic = {}
    if responses is None:
        return dynamic
    import pandera.pandas as pa

    for row, (item, a, b) in enumerate(zip(items["item"], lo, hi), start=1):
        if pd.isna(item):
            continue
        if item not in responses.columns:
            out.add("survey_responses.csv", None, item, None,
                    f"a column for item '{item}' (survey_items.csv row {row})")
            continue
        if pd.isna(a) or pd.isna(b):
            continue
        expected = f"an integer from {int(a)} to {int(b)} (the scale of item '{item}'), or empty when unanswered"
        dynamic[item] = (pa.Column("Int64", pa.Check.in_range(int(a), int(b)), nullable=True, coerce=True), expected)
    return dynamic


def validate(raw_dir) -> list[Problem]:
    """Every problem of the raw-data folder ``raw_dir``; an empty list when it follows the contract."""
    raw_dir = Path(raw_dir)
    out = _Collector()
    if not raw_dir.is_dir():
        out.add(str(raw_dir), None, None, None, "a folder holding the raw data contract")
        return out.problems
    try:
        descriptor = contract.read_descriptor(raw_dir)
    except FileNotFoundError:
        out.add(contract.DESCRIPTOR_NAME, None, None, None, "the data package descriptor (docs/data-contract.md)")
        return out.problems
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        out.add(contract.DESCRIPTOR_NAME, None, None, None, f"valid JSON ({exc})")
        return out.problems
    info = _study_info(out, descriptor)
    # Tables are checked against the contract's own schemas: a folder cannot loosen the rules by
    # editing its copy of the descriptor, whose resources must equal the contract's.
    resources = {r["name"]: r for r in contract.template_descriptor()["resources"]}
    own = {r.get("name"): r for r in descriptor.get("resources", []) if isinstance(r, dict)}
    for name, res in resources.items():
        if own.get(name) != res:
            state = "is missing" if name not in own else "differs"
            out.add(contract.DESCRIPTOR_NAME, None, "resources", None,
                    f"the resource '{name}' of data contract {contract.CONTRACT_VERSION} (it {state}; copy the "
                    "resources of src/integrating/datapackage.json and keep this folder's 'study')")
    tables = {name: _read_table(out, raw_dir, res) for name, res in resources.items() if name in contract.TABLES}
    dynamic = _survey(out, tables)
    for name, df in tables.items():
        if df is not None:
            _check_fields(out, resources[name]["path"], df, resources[name],
                          dynamic if name == "survey_responses" else None)
    _foreign_keys(out, tables, resources)
    _cross_checks(out, raw_dir, info, tables)
    order = {name: i for i, name in enumerate([contract.DESCRIPTOR_NAME, *(f"{t}.csv" for t in contract.TABLES)])}
    return sorted(out.problems, key=lambda p: (order.get(p.file, len(order)), p.file, p.row or 0, p.column or ""))


def check(raw_dir) -> None:
    """Raise :class:`ContractError` listing every problem of ``raw_dir``."""
    problems = validate(raw_dir)
    if problems:
        raise ContractError(problems)


def summarise(problems: list[Problem], max_listed: int = MAX_LISTED) -> list[str]:
    """Problems as lines, listing at most ``max_listed`` rows of the same kind before a count."""
    lines, seen = [], {}
    for p in problems:
        key = (p.file, p.column, p.expected)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= max_listed:
            lines.append(str(p))
    for (file, column, expected), n in seen.items():
        if n > max_listed:
            lines.append(f"{file}, column '{column}': ... and {n - max_listed} more rows expected {expected}")
    return lines
