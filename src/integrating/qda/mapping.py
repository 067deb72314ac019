"""The mapping file: how a QDA project's cases, sets, variables, codes and users become contract tables.

A mapping is a small YAML file (``docs/bring-your-own-data.md`` documents every key; ``integrating
qda-mapping PROJECT`` prints a filled-in template). It is checked before anything is read from the
project: an unknown key, a wrong type or a missing required entry is an error naming the key.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from pathlib import Path

import yaml

from ..contract import CATEGORIES, MECHANISMS
from ..errors import ImportQDAError
from .model import Project

DOCUMENT_FIELDS = ("document_id", "clinic", "source_type", "date", "participant_role")
REQUIRED_FIELDS = ("clinic", "source_type", "date")
FROM = ("name", "guid", "case", "set", "variable", "column")
FIELD_KEYS = ("from", "name", "value", "values", "pattern", "default", "format")
SEGMENT_IDS = ("sequence", "selection_name", "coding_guid")
UNLISTED = ("keep", "drop", "error")
CODE_KEYS = ("path", "guid", "code", "category", "label", "definition", "parent", "drop")
SPREADSHEET_FORMATS = ("dedoose", "atlasti", "columns")
SPREADSHEET_KEYS = ("format", "texts", "sheet", "columns", "code_separator", "unfound")
SPREADSHEET_COLUMNS = ("document", "excerpt", "codes", "coder", "start", "end")
TOP_KEYS = ("version", "study", "positions", "line_ends", "documents", "clinics", "coders", "segments",
            "codes", "spreadsheet")

DEFAULTS = {
    "version": 1,
    "study": {},
    "positions": "auto",
    "line_ends": "auto",
    "documents": {"document_id": {"from": "name"}},
    "clinics": {"columns": {}},
    "coders": {},
    "segments": {"segment_id": "sequence"},
    "codes": {"default_category": "other", "unlisted": "keep", "parent_column": True, "list": []},
    "spreadsheet": None,
}


def _fail(msg: str):
    raise ImportQDAError(f"mapping: {msg}")


def _keys(section: dict, allowed, where: str) -> None:
    if not isinstance(section, dict):
        _fail(f"{where} must be a mapping of keys to values, not {type(section).__name__}")
    unknown = sorted(set(map(str, section)) - set(allowed))
    if unknown:
        _fail(f"unknown key(s) {', '.join(repr(k) for k in unknown)} in {where}; allowed: {', '.join(allowed)}")


def _choice(value, allowed, where: str):
    if value not in allowed:
        _fail(f"{where} is {value!r}; expected one of {', '.join(allowed)}")
    return value


def _str_dict(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        _fail(f"{where} must be a mapping, not {type(value).__name__}")
    return {str(k): ("" if v is None else str(v)) for k, v in value.items()}


def load_mapping(source) -> dict:
    """Read and check a mapping (a YAML file path or an already-loaded dict); fill in the defaults."""
    base = Path(".")
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ImportQDAError(f"mapping file {path} cannot be read: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise ImportQDAError(f"mapping file {path} is not UTF-8") from exc
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ImportQDAError(f"mapping file {path} is not valid YAML{where}: {exc}") from exc
        base = path.parent
    else:
        data = copy.deepcopy(source)
        if isinstance(data, dict) and "base_dir" in data:  # an already-checked mapping
            base = Path(data.pop("base_dir"))
    _keys(data, TOP_KEYS, "the mapping")
    m = copy.deepcopy(DEFAULTS)
    for key, value in data.items():
        if isinstance(m.get(key), dict) and key not in ("study", "coders") and value is not None:
            _keys(value, _allowed(key), key)
            m[key].update(value)
        else:
            m[key] = value
    if m["version"] != 1:
        _fail(f"version is {m['version']!r}; this compendium reads mapping version 1")
    m["study"] = _study(m["study"] or {})
    _choice(m["positions"], ("auto", "codepoints", "utf16"), "positions")
    _choice(m["line_ends"], ("auto", "stored", "crlf", "lf"), "line_ends")
    for name in DOCUMENT_FIELDS:
        if m["documents"].get(name) is not None:
            m["documents"][name] = _field(m["documents"][name], f"documents.{name}")
    for key in ("skip_unassigned", "skip_unreadable"):
        if not isinstance(m["documents"].get(key, False), bool):
            _fail(f"documents.{key} must be true or false")
    m["clinics"]["columns"] = _str_dict(m["clinics"].get("columns"), "clinics.columns")
    m["coders"] = _str_dict(m["coders"], "coders")
    _choice(m["segments"]["segment_id"], SEGMENT_IDS, "segments.segment_id")
    codes = m["codes"]
    _choice(codes["default_category"], CATEGORIES, "codes.default_category")
    _choice(codes["unlisted"], UNLISTED, "codes.unlisted")
    if not isinstance(codes["parent_column"], bool):
        _fail("codes.parent_column must be true or false")
    if not isinstance(codes["list"] or [], list):
        _fail("codes.list must be a list of entries")
    codes["list"] = [_code_entry(e, i) for i, e in enumerate(codes["list"] or [])]
    if m["spreadsheet"] is not None:
        m["spreadsheet"] = _spreadsheet(m["spreadsheet"], base)
    m["base_dir"] = str(base)
    return m


def _allowed(section: str):
    return {
        "documents": DOCUMENT_FIELDS + ("skip_unassigned", "skip_unreadable"),
        "clinics": ("columns",),
        "segments": ("segment_id",),
        "codes": ("default_category", "unlisted", "parent_column", "list"),
    }[section]


def _study(study: dict) -> dict:
    _keys(study, ("months", "start_date", "synthetic", "description"), "study")
    out = {}
    if study.get("months") is not None:
        months = study["months"]
        if not isinstance(months, int) or isinstance(months, bool) or months < 1:
            _fail(f"study.months is {months!r}; expected a whole number of months >= 1")
        out["months"] = months
    if study.get("start_date") is not None:
        value = study["start_date"]
        if isinstance(value, date):
            value = value.isoformat()
        try:
            out["start_date"] = date.fromisoformat(str(value)).isoformat()
        except ValueError:
            _fail(f"study.start_date is {value!r}; expected an ISO date such as 2015-01-01")
    synthetic = study.get("synthetic", False)
    if not isinstance(synthetic, bool):
        _fail(f"study.synthetic is {synthetic!r}; expected true or false")
    out["synthetic"] = synthetic
    out["description"] = str(study.get("description") or "")
    return out


def _field(spec, where: str) -> dict:
    if isinstance(spec, str):  # shorthand: "case", "set", "name", "guid"
        spec = {"from": spec}
    _keys(spec, FIELD_KEYS, where)
    spec = dict(spec)
    if "value" in spec:
        if "from" in spec:
            _fail(f"{where} has both 'value' and 'from'; give one")
        spec["value"] = str(spec["value"])
    else:
        _choice(spec.get("from"), FROM, f"{where}.from")
        if spec["from"] == "column":
            spec["from"] = "variable"
        if spec["from"] == "variable" and not spec.get("name"):
            _fail(f"{where} reads a variable but gives no 'name'")
    if spec.get("pattern") is not None:
        try:
            re.compile(spec["pattern"])
        except re.error as exc:
            _fail(f"{where}.pattern {spec['pattern']!r} is not a regular expression: {exc}")
    spec["values"] = _str_dict(spec.get("values"), f"{where}.values")
    if spec.get("default") is not None:
        spec["default"] = str(spec["default"])
    return spec


def _code_entry(entry, i: int) -> dict:
    where = f"codes.list[{i}]"
    _keys(entry, CODE_KEYS, where)
    if not entry.get("path") and not entry.get("guid"):
        _fail(f"{where} has neither 'path' nor 'guid'")
    entry = {k: (None if v is None else v) for k, v in entry.items()}
    if entry.get("category") is not None:
        _choice(entry["category"], CATEGORIES, f"{where}.category")
    if entry.get("code") is not None and not CODE_ID.fullmatch(str(entry["code"])):
        _fail(f"{where}.code {entry['code']!r} is not a contract code (lower case, digits and single '_')")
    if not isinstance(entry.get("drop", False), bool):
        _fail(f"{where}.drop must be true or false")
    return entry


def _spreadsheet(spec, base: Path) -> dict:
    _keys(spec, SPREADSHEET_KEYS, "spreadsheet")
    spec = dict(spec)
    _choice(spec.get("format"), SPREADSHEET_FORMATS, "spreadsheet.format")
    if not spec.get("texts"):
        _fail("spreadsheet.texts must name the folder holding the document texts")
    spec["texts"] = str(base / spec["texts"])
    columns = spec.get("columns") or {}
    _keys(columns, SPREADSHEET_COLUMNS, "spreadsheet.columns")
    spec["columns"] = _str_dict(columns, "spreadsheet.columns")
    spec["unfound"] = _choice(spec.get("unfound", "error"), ("error", "skip"), "spreadsheet.unfound")
    spec["code_separator"] = spec.get("code_separator")
    return spec


# --- names and identifiers ------------------------------------------------------------------------

CODE_ID = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
CLINIC_ID = re.compile(r"[A-Za-z0-9_-]+")
DOCUMENT_ID = re.compile(r"[A-Za-z0-9_.-]+")


def code_slug(name: str) -> str:
    """A contract code id from a code name: 'Engaging groups' -> 'engaging_groups'."""
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    if not slug:
        return "code"
    return slug if slug[0].isalpha() else f"c_{slug}"


def unique_slugs(project: Project) -> dict:
    """A default code id for every code of ``project`` (guid -> id), unique within the project.

    A name shared by several codes is prefixed with its parent's id, then numbered if still shared.
    """
    slugs = {g: code_slug(c.name) for g, c in project.codes.items()}
    counts = {}
    for s in slugs.values():
        counts[s] = counts.get(s, 0) + 1
    out, used = {}, set()
    for guid, code in project.codes.items():  # parents come before their children
        slug = slugs[guid]
        if counts[slug] > 1 and code.parent is not None:
            slug = f"{out[code.parent]}_{slug}"
        base, n = slug, 2
        while slug in used:
            slug, n = f"{base}_{n}", n + 1
        used.add(slug)
        out[guid] = slug
    return out


def clean_id(value: str, pattern: re.Pattern, allowed: str) -> str:
    """Replace every run of characters outside ``allowed`` by '_' (ids keep their case)."""
    if pattern.fullmatch(value):
        return value
    return re.sub(f"[^{allowed}]+", "_", value).strip("_") or "_"


def source_type_slug(value: str) -> str:
    """'Meeting minutes' -> 'meeting_minutes'; values already in the contract pass through."""
    return re.sub(r"[^a-z0-9]+", "_", value.strip().lower()).strip("_")


# --- template -------------------------------------------------------------------------------------


# The template is written by PyYAML's emitter, so that any name (commas, colons, '#', quotes,
# brackets, braces, leading dashes, line breaks, non-ASCII letters) comes out as valid YAML that
# reads back as the same string. Comments are written between the emitted blocks; names listed in
# comments are emitted YAML too, commented out line by line.


class _Flow(dict):
    """A mapping written on one line: ``{key: value, ...}``."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # no &anchors / *aliases for repeated values
        return True


def _str(dumper, data: str):
    # Line breaks in a plain or single-quoted scalar are folded when read back (and U+2028, U+2029,
    # U+0085 are line breaks to YAML): a string holding any is written double-quoted, escaped.
    if any(ch in data for ch in "\n\r\x85\u2028\u2029"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_str(data)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(
    _Flow, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True))


def _dump(value) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=1 << 16)


def _comment(text: str) -> list[str]:
    """``text`` as comment lines (split at every line break YAML knows, so nothing escapes the comment)."""
    return [f"# {line}".rstrip() for line in text.splitlines()]


def _guess_category(path: str, slug: str) -> str:
    if slug in MECHANISMS:
        return "mechanism"
    lower = path.lower()
    for word, category in (("barrier", "barrier"), ("stakeholder", "stakeholder"), ("mechanism", "mechanism"),
                           ("implement", "implementation")):
        if word in lower:
            return category if category != "mechanism" else "other"
    return "other"


def _window(project: Project) -> tuple[int | None, date | None]:
    """study.months and study.start_date spanning the project's Date variables (None when it has none)."""
    names = [n for n, t in project.variables.items() if t in ("Date", "DateTime")]
    found = []
    for holder in [*project.sources.values(), *project.cases]:
        for n in names:
            try:
                found.append(date.fromisoformat(str(holder.variables.get(n, ""))[:10]))
            except ValueError:
                pass
    if not found:
        return None, None
    first, last = min(found), max(found)
    return (last.year - first.year) * 12 + last.month - first.month + 1, first.replace(day=1)


def _clinic_ids(names: list[str]) -> list[str]:
    """A distinct clinic id for each name: kept when it is one, else letters folded to ASCII and other
    runs of characters replaced by '_' ('Klinika Dél' -> 'Klinika_Del'); 'clinic_N' when nothing is left."""
    import unicodedata

    out, used = [], set()
    for i, name in enumerate(names, start=1):
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        base = name if CLINIC_ID.fullmatch(name) else clean_id(ascii_name, CLINIC_ID, "A-Za-z0-9_-").strip("_-")
        base = base or f"clinic_{i}"
        clinic_id, n = base, 2
        while clinic_id in used:
            clinic_id, n = f"{base}_{n}", n + 1
        used.add(clinic_id)
        out.append(clinic_id)
    return out


def _documents(project: Project) -> tuple[dict, list[str]]:
    """The documents section and the comments about what to edit in it."""
    date_vars = [n for n, t in project.variables.items() if t in ("Date", "DateTime")]
    type_vars = [n for n in project.variables if "type" in n.lower()]
    role_vars = [n for n in project.variables if "role" in n.lower()]
    notes = []
    docs = {"document_id": _Flow({"from": "name"})}
    # Clinics come from the project's cases, else from its sets.
    kind, groupings = ("case", project.cases) if project.cases else ("set", project.sets)
    if groupings:
        docs["clinic"] = {"from": kind, "values": dict(zip([g.name for g in groupings],
                                                          _clinic_ids([g.name for g in groupings])))}
        notes.append(f"clinic: {kind} name -> clinic_id ({kind}s not listed under values are ignored).")
    else:
        docs["clinic"] = _Flow({"from": "name", "pattern": "^([A-Za-z0-9]+)"})
        notes.append("clinic: EDIT, the project has no cases or sets (this takes the start of each document name).")
    if type_vars:
        docs["source_type"] = _Flow({"from": "variable", "name": type_vars[0]})
        notes.append("source_type: values must be field_note, meeting_minutes or interview (map others with values:).")
    else:
        docs["source_type"] = _Flow({"value": "field_note"})
        notes.append("source_type: EDIT, field_note | meeting_minutes | interview (no variable names a type).")
    if date_vars:
        docs["date"] = _Flow({"from": "variable", "name": date_vars[0]})
    else:
        docs["date"] = _Flow({"from": "variable", "name": "Date"})
        notes.append("date: EDIT, the project has no Date variable.")
    if role_vars:
        docs["participant_role"] = _Flow({"from": "variable", "name": role_vars[0]})
    docs["skip_unassigned"] = False
    docs["skip_unreadable"] = False
    return docs, notes


def template_mapping(project: Project, spreadsheet: dict | None = None) -> str:
    """A mapping file for ``project`` listing all its codes, cases, sets, variables and users, to be edited.

    Always valid YAML (written by PyYAML's emitter) that :func:`load_mapping` reads; ``spreadsheet``
    adds a ``spreadsheet:`` section. The project's texts are not needed: sources whose text could not
    be read are listed in a comment.
    """
    out = _comment(
        f"Mapping of the QDA project {project.name!r} onto the compendium's raw data contract.\n"
        "Edit it, then run:  integrating import-qda PROJECT --out RAW_DIR --mapping THIS_FILE\n"
        "Every key is explained in docs/bring-your-own-data.md.")

    def block(comments: str | None, value: dict) -> None:
        if comments:
            out.extend(_comment(comments))
        out.extend(_dump(value).splitlines())

    block(None, {"version": 1})
    months, start = _window(project)
    block("study: the study window (every document date must fall inside it).\n"
          + ("REQUIRED: fill in months (length of the window) and start_date (its first day, e.g. 2015-01-01)."
             if months is None else "months and start_date span the dates found in the project; check them."),
          {"study": {"months": months, "start_date": start, "synthetic": False,
                     "description": project.description or project.name}})
    block("positions: auto | codepoints | utf16 (how selection positions are counted)\n"
          "line_ends: auto | stored | crlf | lf", {"positions": "auto", "line_ends": "auto"})
    docs, notes = _documents(project)
    out.append("")
    block("Where each document's clinic, source type, date and participant role come from:\n"
          "  {from: case} | {from: set} | {from: variable, name: VARIABLE} | {from: name, pattern: REGEX}\n"
          "  | {value: CONSTANT}; optional: values: {PROJECT VALUE: CONTRACT VALUE}, default:, format: (dates).\n"
          "skip_unassigned: true leaves out sources that belong to no clinic;\n"
          "skip_unreadable: true leaves out sources whose text cannot be read (listed below, if any).\n"
          + "\n".join(notes), {"documents": docs})
    listing = {}
    if project.variables:
        listing["variables"] = dict(project.variables)
    if project.sets:
        listing["sets"] = {g.name: len(g.sources) for g in project.sets}
    if project.cases:
        listing["cases"] = {c.name: len(c.sources) for c in project.cases}
    unreadable = project.unreadable()
    if unreadable:
        listing["sources_without_text"] = {s.name: s.reason for s in unreadable}
    others = [s for s in project.skipped if s not in unreadable]
    if others:
        listing["sources_not_imported"] = {s.name: s.reason for s in others}
    if listing:
        out.append("")
        out.extend(_comment("The project holds (variables -> type; sets and cases -> number of sources; sources\n"
                            "that are not imported -> why; documents.skip_unreadable: true imports the others):\n"
                            + _dump(listing)))
    block("clinics.columns: clinic column -> variable of the clinic's case, e.g. {n_providers: Providers}",
          {"clinics": {"columns": {}}})
    users = sorted({u.label for u in project.users.values()})
    block("coders: user -> coder id (users not listed keep their name)", {"coders": {u: u for u in users}})
    block("segments.segment_id: sequence | selection_name | coding_guid", {"segments": {"segment_id": "sequence"}})
    paths = [project.code_path(g) for g in project.codes]
    duplicated = {p for p in paths if paths.count(p) > 1}
    slugs = unique_slugs(project)
    entries = []
    for guid, path in zip(project.codes, paths):
        entry = _Flow({"path": path})
        if path in duplicated:
            entry["guid"] = guid
        entry["code"] = slugs[guid]
        category = _guess_category(path, slugs[guid])
        if category != "other":  # otherwise inherited from a parent, else codes.default_category
            entry["category"] = category
        entries.append(entry)
    out.append("")
    block("codes.default_category: category of codes whose entry (and ancestors') gives none\n"
          "codes.unlisted: keep | drop | error, for codes of the project not listed below\n"
          "Categories: mechanism | barrier | stakeholder | implementation | other; a code without one\n"
          "takes its parent's. The four mechanism codes must be named exactly:\n"
          f"{', '.join(MECHANISMS)}.\n"
          "Several codes (sub-codes, or codes under two branches) may be given the same code: their\n"
          "codings are united (docs/bring-your-own-data.md). drop: true leaves a code and its codings out.",
          {"codes": {"default_category": "other", "unlisted": "keep", "list": entries}})
    if spreadsheet is not None:
        block("spreadsheet.unfound: error | skip, for excerpts not found in their text", {"spreadsheet": spreadsheet})
    return "\n".join(out) + "\n"
