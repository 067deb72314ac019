"""Applying a mapping to a read project: the contract's documents, texts, codebook, segments and clinics."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd

from ..contract import MECHANISMS, SOURCE_TYPES
from ..errors import ImportQDAError
from .mapping import CLINIC_ID, DOCUMENT_ID, clean_id, source_type_slug, unique_slugs
from .model import NO_CLINIC, Project, Skipped
from .positions import TextUnits, choose_scheme, describe, normalize_newlines
from .refi import guid_key

DOCUMENT_COLUMNS = ["document_id", "clinic_id", "source_type", "date", "participant_role", "text_path"]
CODEBOOK_COLUMNS = ["code", "label", "category", "definition", "parent"]
SEGMENT_COLUMNS = ["segment_id", "document_id", "code", "coder", "start", "end"]
_MAX_LISTED = 10


@dataclass
class Tables:
    documents: pd.DataFrame
    texts: dict  # document_id -> text (line ends normalized to LF)
    codebook: pd.DataFrame
    segments: pd.DataFrame
    clinics: pd.DataFrame
    scheme: tuple | None
    notes: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # model.Skipped: sources not imported, with the reason
    merged: dict = field(default_factory=dict)  # contract code -> project code paths merged into it


def _listing(problems: list[str]) -> str:
    shown = problems[:_MAX_LISTED]
    more = len(problems) - len(shown)
    return "\n  " + "\n  ".join(shown) + (f"\n  ... and {more} more" if more else "")


class _Resolver:
    """Resolves one document field (clinic, source type, ...) of one source from its field spec."""

    def __init__(self, project: Project):
        self.cases_of, self.sets_of = {}, {}
        for case in project.cases:
            for s in case.sources:
                self.cases_of.setdefault(s, []).append(case)
        for group in project.sets:
            for s in group.sources:
                self.sets_of.setdefault(s, []).append(group)

    def candidates(self, spec: dict, source) -> list[tuple[str, object]]:
        """(value, group) pairs before renaming; group is the case or set the value came from."""
        if "value" in spec:
            return [(spec["value"], None)]
        kind = spec["from"]
        if kind == "name":
            return [(source.name, None)]
        if kind == "guid":
            return [(source.guid, None)]
        if kind in ("case", "set"):
            groups = (self.cases_of if kind == "case" else self.sets_of).get(source.guid, [])
            found = [(g.name, g) for g in groups]
            if spec["values"]:
                found = [(n, g) for n, g in found if n in spec["values"]]
            return found
        name = spec["name"]
        if name in source.variables:
            return [(source.variables[name], None)]
        return [(c.variables[name], c) for c in self.cases_of.get(source.guid, []) if name in c.variables]

    def resolve(self, spec: dict | None, source, what: str):
        """Return (value or None, raw value, group); raise when the source has several values."""
        if spec is None:
            return None, None, None
        found = []
        pattern = re.compile(spec["pattern"]) if spec.get("pattern") else None
        for raw, group in self.candidates(spec, source):
            value = raw
            if pattern is not None:
                match = pattern.search(raw)
                if match is None:
                    continue
                if "value" in match.groupdict():
                    value = match.group("value")
                else:
                    value = match.group(1) if match.re.groups else match.group(0)
            value = spec["values"].get(value, value)
            found.append((value, raw, group))
        distinct = sorted({v for v, _, _ in found})
        if len(distinct) > 1:
            origins = ", ".join(repr(r) for _, r, _ in found)
            raise ImportQDAError(
                f"source {source.name!r}: {what} is ambiguous: {', '.join(map(repr, distinct))} (from {origins}); "
                f"restrict documents.{what} in the mapping (values: or pattern:)"
            )
        if not found:
            if spec.get("default") is not None:
                return spec["default"], None, None
            return None, None, None
        return found[0]


def _parse_date(value: str, fmt: str | None) -> date:
    if fmt:
        return datetime.strptime(value.strip(), fmt).date()
    return date.fromisoformat(value.strip()[:10])


def build_documents(project: Project, mapping: dict):
    docs_spec = mapping["documents"]
    missing = [f for f in ("clinic", "source_type", "date") if docs_spec.get(f) is None]
    if missing:
        raise ImportQDAError(f"mapping: documents.{missing[0]} is missing; it says where each document's {missing[0]} comes from")
    resolver = _Resolver(project)
    rows, problems, skipped, clinic_groups, cleaned = [], [], [], {}, {}
    codings_of = {}
    for c in project.codings:
        codings_of[c.source] = codings_of.get(c.source, 0) + 1
    for source in project.sources.values():
        row = {"guid": source.guid}
        clinic, raw_clinic, group = resolver.resolve(docs_spec["clinic"], source, "clinic")
        if clinic is None:
            if docs_spec.get("skip_unassigned"):
                skipped.append(Skipped(source.name, NO_CLINIC, codings=codings_of.get(source.guid, 0)))
                continue
            problems.append(f"source {source.name!r}: no clinic (documents.clinic finds no value and gives no default)")
            continue
        clinic_id = clean_id(clinic, CLINIC_ID, "A-Za-z0-9_-")
        if cleaned.setdefault(clinic_id, clinic) != clinic:
            problems.append(f"source {source.name!r}: clinics {cleaned[clinic_id]!r} and {clinic!r} both become clinic id "
                            f"{clinic_id!r} (letters, digits, '_' and '-' only); give them ids in documents.clinic.values")
            continue
        row["clinic_id"] = clinic_id
        clinic_groups.setdefault(clinic_id, (raw_clinic if raw_clinic is not None else clinic, group))
        doc_spec = docs_spec.get("document_id") or {"from": "name", "values": {}}
        doc_id = resolver.resolve(doc_spec, source, "document_id")[0] or source.name
        row["document_id"] = clean_id(doc_id, DOCUMENT_ID, "A-Za-z0-9_.-")
        stype = resolver.resolve(docs_spec["source_type"], source, "source_type")[0]
        if stype is not None and stype not in SOURCE_TYPES:
            stype = source_type_slug(stype) if source_type_slug(stype) in SOURCE_TYPES else stype
        if stype is None or stype not in SOURCE_TYPES:
            problems.append(
                f"source {source.name!r}: source type {stype!r} is not one of {', '.join(SOURCE_TYPES)} "
                "(map it with documents.source_type.values)"
            )
        row["source_type"] = stype
        raw_date = resolver.resolve(docs_spec["date"], source, "date")[0]
        try:
            row["date"] = _parse_date(raw_date, docs_spec["date"].get("format")) if raw_date else None
        except ValueError:
            fmt = docs_spec["date"].get("format") or "an ISO date (YYYY-MM-DD)"
            problems.append(f"source {source.name!r}: date {raw_date!r} does not match {fmt}")
            row["date"] = None
        else:
            if row["date"] is None:
                problems.append(f"source {source.name!r}: no date (documents.date finds no value and gives no default)")
        row["participant_role"] = resolver.resolve(docs_spec.get("participant_role"), source, "participant_role")[0]
        rows.append(row)
    if problems:
        raise ImportQDAError(f"{len(problems)} document(s) cannot be mapped:" + _listing(problems))
    docs = pd.DataFrame(rows, columns=["guid", "document_id", "clinic_id", "source_type", "date", "participant_role"])
    # Document ids must be unique: a shared name gets the start of its source's guid appended.
    dup = docs["document_id"].duplicated(keep=False)
    docs.loc[dup, "document_id"] = docs.loc[dup, "document_id"] + "_" + docs.loc[dup, "guid"].str.replace("-", "").str[:8]
    if docs["document_id"].duplicated().any():
        raise ImportQDAError("document ids are not unique even with their guid appended; set documents.document_id")
    return docs, clinic_groups, skipped


def build_codebook(project: Project, mapping: dict):
    spec = mapping["codes"]
    by_path = {}
    for guid in project.codes:
        by_path.setdefault(project.code_path(guid), []).append(guid)
    entry_of, problems = {}, []
    for i, entry in enumerate(spec["list"]):
        where = f"codes.list[{i}]"
        if entry.get("guid"):
            guid = guid_key(str(entry["guid"]))
            if guid not in project.codes:
                problems.append(f"{where}: guid {guid} names no code of the project")
                continue
        else:
            guids = by_path.get(str(entry["path"]), [])
            if not guids:
                problems.append(f"{where}: path {entry['path']!r} names no code of the project")
                continue
            if len(guids) > 1:
                problems.append(f"{where}: path {entry['path']!r} names {len(guids)} codes; identify it by guid")
                continue
            guid = guids[0]
        if guid in entry_of:
            problems.append(f"{where}: code {project.code_path(guid)!r} is listed twice")
        entry_of[guid] = entry
    if spec["unlisted"] == "error":
        problems += [f"code {project.code_path(g)!r} is not listed in codes.list" for g in project.codes if g not in entry_of]
    if problems:
        raise ImportQDAError(f"mapping: {len(problems)} problem(s) with the codes:" + _listing(problems))

    slugs = unique_slugs(project)
    kept, explicit_category, members = {}, {}, {}
    for guid, code in project.codes.items():  # parents come before their children
        entry = entry_of.get(guid, {})
        parent = code.parent
        inherited = explicit_category.get(parent) if parent is not None else None
        if entry.get("category"):
            explicit_category[guid] = entry["category"]
        elif inherited:
            explicit_category[guid] = inherited
        if entry.get("drop", False) or (guid not in entry_of and spec["unlisted"] == "drop"):
            continue
        code_id = str(entry.get("code") or slugs[guid])
        kept[guid] = code_id
        members.setdefault(code_id, []).append(guid)

    # Several project codes may be given one contract code (sub-codes of a mechanism, or a code under
    # two branches), but only on purpose: each of them must name it in codes.list[].code.
    problems = []
    for code_id, guids in members.items():
        if len(guids) > 1 and not all(entry_of.get(g, {}).get("code") for g in guids):
            implicit = [project.code_path(g) for g in guids if not entry_of.get(g, {}).get("code")]
            problems.append(f"code id {code_id} is given to {len(guids)} codes, and to {', '.join(map(repr, implicit))} "
                            "only by default (from its name); give that code another id in codes.list[].code, or "
                            f"list it with code: {code_id} to merge it")
        categories = sorted({str(entry_of[g]["category"]) for g in guids if entry_of.get(g, {}).get("category")})
        if len(categories) > 1:
            problems.append(f"the codes merged into {code_id} have different categories ({', '.join(categories)}); "
                            "give them one category")
    if problems:
        raise ImportQDAError(f"mapping: {len(problems)} problem(s) with the codes:" + _listing(problems))

    def outside_parent(guid: str, code_id: str):
        """The id of the nearest kept ancestor of ``guid`` that is not ``code_id`` itself."""
        parent = project.codes[guid].parent
        while parent is not None and kept.get(parent, code_id) == code_id:
            parent = project.codes[parent].parent
        return None if parent is None else kept[parent]

    rows = []
    for code_id, guids in members.items():  # in the order of each id's first code (parents first)
        entries = [entry_of.get(g, {}) for g in guids]
        given = lambda key: next((str(e[key]) for e in entries if e.get(key)), None)  # noqa: E731
        descriptions = list(dict.fromkeys(project.codes[g].description or project.codes[g].name for g in guids))
        parents = [p for p in (outside_parent(g, code_id) for g in guids) if p is not None]
        # The category an entry gives, else the first inherited one, else the default.
        category = (given("category") or next((explicit_category[g] for g in guids if g in explicit_category), None)
                    or spec["default_category"])
        rows.append({
            "code": code_id,
            "label": given("label") or project.codes[guids[0]].name,
            "category": category,
            "definition": given("definition") or "; ".join(descriptions),
            "parent": given("parent") or (parents[0] if parents else None),
        })
    book = pd.DataFrame(rows, columns=CODEBOOK_COLUMNS)  # in the project's order (parents first)
    parent_of = dict(zip(book["code"], book["parent"]))
    for code_id in parent_of:
        seen, node = [], code_id
        while node is not None and node in parent_of and node not in seen:
            seen.append(node)
            node = parent_of[node]
        if node is not None and node in seen:
            raise ImportQDAError(f"mapping: code {code_id} is its own ancestor through the parent column "
                                 f"({' -> '.join(seen)}); merging codes made the hierarchy circular: set codes.list[].parent")
    unknown_parent = set(book["parent"].dropna()) - set(book["code"])
    if unknown_parent:
        raise ImportQDAError(f"mapping: parent code(s) {', '.join(sorted(unknown_parent))} are not in the codebook")
    absent = [m for m in MECHANISMS if m not in set(book["code"])]
    if absent:
        raise ImportQDAError(
            f"mapping: the codebook has no code {', '.join(absent)}; the contract needs the four mechanism codes "
            f"({', '.join(MECHANISMS)}): give them as codes.list[].code with category mechanism"
        )
    notes = []
    dropped = len(project.codes) - len(kept)
    if dropped:
        notes.append(f"dropped {dropped} code(s) and their codings (codes.list drop / unlisted: drop)")
    merged = {c: [project.code_path(g) for g in guids] for c, guids in members.items() if len(guids) > 1}
    return book, kept, notes, merged


def unite_overlaps(codings: pd.DataFrame, codes) -> pd.DataFrame:
    """Codings of ``codes`` united where they overlap: one row per maximal run of spans of the same
    document, coder and code that share at least one character (spans that only touch stay apart).

    A run keeps the first of its rows (by start, end, coding guid) with the run's end; rows of other
    codes are unchanged. The row order of ``codings`` is kept.
    """
    is_m = codings["code"].isin(list(codes)).to_numpy()
    if not is_m.any():
        return codings
    m = codings.loc[is_m].sort_values(["document_id", "coder", "code", "start", "end", "guid"], kind="mergesort")
    key = [m["document_id"], m["coder"], m["code"]]
    reach = m.groupby(key, sort=False)["end"].cummax()  # furthest end so far within the key
    before = reach.groupby(key, sort=False).shift()  # ... up to the previous row
    new_run = (before.isna() | m["start"].ge(before)).to_numpy()
    run = np.cumsum(new_run)
    firsts = m.loc[new_run].copy()
    firsts["end"] = m["end"].groupby(run).max().to_numpy()
    return pd.concat([codings.loc[~is_m], firsts]).sort_index(kind="mergesort")


def build_segments(project: Project, mapping: dict, docs: pd.DataFrame, kept: dict, unit: str, line_ends: str,
                   merged: dict | None = None):
    notes = []
    codings = pd.DataFrame(
        [(c.source, c.selection, c.selection_name, c.guid, c.code, c.user, c.start, c.end) for c in project.codings],
        columns=["source", "selection", "selection_name", "guid", "code_guid", "user", "start", "end"],
    )
    unknown = codings.loc[~codings["code_guid"].isin(list(project.codes))]
    if len(unknown):
        first = unknown.iloc[0]
        raise ImportQDAError(
            f"{len(unknown)} coding(s) refer to codes that are not in the codebook, e.g. coding {first['guid']} "
            f"in source {project.sources[first['source']].name!r} refers to code {first['code_guid']}"
        )
    n_all = len(codings)
    codings = codings.loc[codings["source"].isin(docs["guid"]) & codings["code_guid"].isin(list(kept))].copy()
    if len(codings) < n_all:
        notes.append(f"left out {n_all - len(codings)} coding(s) of dropped codes or skipped sources")

    whole = codings["selection"].isna().to_numpy()
    sel = codings.loc[~whole]
    texts = {g: project.sources[g].text for g in docs["guid"]}
    positions_of = sel.groupby("source", sort=False).indices  # source -> row positions within sel
    starts_all = sel["start"].to_numpy(np.int64)
    ends_all = sel["end"].to_numpy(np.int64)
    groups = {g: (starts_all[ix], ends_all[ix]) for g, ix in positions_of.items()}
    scheme, details, converted = choose_scheme(texts, groups, unit, line_ends)
    if scheme is None:
        first_scheme = next(iter(details))
        key, i = details[first_scheme]
        row = sel.iloc[positions_of[key][i]]
        units = TextUnits(texts[key])
        raise ImportQDAError(
            f"selection {row['selection_name'] or row['selection']!r} of source {project.sources[key].name!r} "
            f"(positions {row['start']}..{row['end']}) does not fit its text ({units.length} code points, "
            f"{int(units.cum(('utf16', 'stored'))[-1])} UTF-16 units) in any allowed counting of positions "
            f"(tried: {'; '.join(describe(s) for s in details)})"
        )
    if details.get("ambiguous"):
        notes.append("several countings of positions fit equally well; chose the first (force one with --positions)")
    new_start = np.zeros(len(sel), np.int64)
    new_end = np.zeros(len(sel), np.int64)
    for key, ix in positions_of.items():
        new_start[ix], new_end[ix] = converted[key]
    codings["start"] = 0
    codings["end"] = 0
    codings.loc[~whole, "start"] = new_start
    codings.loc[~whole, "end"] = new_end
    lengths = {g: len(normalize_newlines(t)) for g, t in texts.items()}
    codings.loc[whole, "start"] = 0
    codings.loc[whole, "end"] = codings.loc[whole, "source"].map(lengths)
    empty = codings["end"].le(codings["start"])
    if empty.any():
        notes.append(f"left out {int(empty.sum())} coding(s) of empty sources")
        codings = codings.loc[~empty]

    # Coders: the coding's user, else its selection's or source's (read already), else the project's creator.
    users = {g: u.label for g, u in project.users.items()}
    user = codings["user"].fillna(project.creating_user) if project.creating_user else codings["user"]
    unknown_users = sorted(set(user.dropna()) - set(users))
    if unknown_users:
        notes.append(f"{len(unknown_users)} user guid(s) are not among the project's users; used as coder ids")
    if user.isna().any():
        notes.append(f"{int(user.isna().sum())} coding(s) name no user; coder set to 'unknown'")
    coder = user.map(lambda g: users.get(g, g), na_action="ignore").fillna("unknown")
    codings["coder"] = coder.map(lambda c: mapping["coders"].get(c, c))

    doc_of = docs.set_index("guid")["document_id"]
    codings["document_id"] = codings["source"].map(doc_of)
    codings["code"] = codings["code_guid"].map(kept)
    if merged:
        before = len(codings)
        codings = unite_overlaps(codings, merged)
        if len(codings) < before:
            notes.append(f"united {before - len(codings)} coding(s) of merged codes with an overlapping coding of the "
                         "same contract code, coder and document")
    mode = mapping["segments"]["segment_id"]
    if mode == "selection_name":
        names = codings["selection_name"]
        if names.isna().any() or names.eq("").any() or names.duplicated().any():
            bad = codings.loc[names.isna() | names.eq("") | names.duplicated(keep=False), "selection"].iloc[0]
            raise ImportQDAError(
                f"segments.segment_id is selection_name, but selection names are missing or not unique "
                f"(e.g. selection {bad}); use segment_id: sequence or coding_guid"
            )
        codings["segment_id"] = names
    elif mode == "coding_guid":
        codings["segment_id"] = codings["guid"]
    else:
        codings = codings.sort_values(["document_id", "start", "end", "code", "coder", "guid"], kind="mergesort")
        number = codings.groupby("document_id", sort=False).cumcount() + 1
        width = max(4, len(str(int(number.max())))) if len(number) else 4
        codings["segment_id"] = codings["document_id"] + "-" + number.astype(str).str.zfill(width)
    segments = codings[SEGMENT_COLUMNS].copy()
    segments[["start", "end"]] = segments[["start", "end"]].astype("int64")
    return segments.reset_index(drop=True), scheme, notes


def build_clinics(project: Project, docs: pd.DataFrame, clinic_groups: dict, mapping: dict) -> pd.DataFrame:
    """One row per clinic: every case (listed in values, if given) when clinics are cases, in the
    project's order; otherwise the clinics the documents name, sorted."""
    columns = mapping["clinics"]["columns"]
    spec = mapping["documents"]["clinic"]
    if columns and spec.get("from") != "case":
        raise ImportQDAError("mapping: clinics.columns reads case variables; it needs documents.clinic: {from: case}")
    order = sorted(set(docs["clinic_id"]))
    if spec.get("from") == "case":
        values = spec["values"]
        for case in project.cases:
            if values and case.name not in values:
                continue
            clinic_id = clean_id(values.get(case.name, case.name), CLINIC_ID, "A-Za-z0-9_-")
            clinic_groups.setdefault(clinic_id, (case.name, case))
        order = list(dict.fromkeys(
            clean_id(spec["values"].get(c.name, c.name), CLINIC_ID, "A-Za-z0-9_-")
            for c in project.cases if not values or c.name in values))
    rows = []
    for clinic_id in order:
        raw, group = clinic_groups[clinic_id]
        row = {"clinic_id": clinic_id}
        if not columns:  # without a choice of columns, the label is the case, set or value named
            row["clinic_label"] = raw
        for column, variable in columns.items():
            row[column] = group.variables.get(variable) if group is not None else None
        rows.append(row)
    return pd.DataFrame(rows, columns=["clinic_id", *(columns or ["clinic_label"])])


def build_tables(project: Project, mapping: dict, *, positions: str | None = None, line_ends: str | None = None) -> Tables:
    """Turn a read project into contract tables, following ``mapping`` (checked by load_mapping)."""
    unit = positions or mapping["positions"]
    ends = line_ends or mapping["line_ends"]
    if project.scheme is not None:  # the reader located the selections itself
        unit, ends = project.scheme
    unreadable = project.unreadable()
    if unreadable and not mapping["documents"].get("skip_unreadable"):
        raise ImportQDAError(
            f"{len(unreadable)} source(s) have no readable text, so their codings cannot be placed:"
            + _listing([f"{s.name!r}: {s.reason} ({s.detail})" if s.detail else f"{s.name!r}: {s.reason}"
                        for s in unreadable])
            + "\nadd their texts to the project and export it again, or set documents.skip_unreadable: true "
              "in the mapping to import the other sources"
        )
    docs, clinic_groups, unassigned = build_documents(project, mapping)
    if docs.empty:
        skipped = [*project.skipped, *unassigned]
        reasons = sorted({sk.reason for sk in skipped})
        raise ImportQDAError(f"no document to import: {len(skipped)} source(s) skipped"
                             + (f" ({'; '.join(reasons)})" if reasons else "") + "; the contract needs at least one")
    book, kept, book_notes, merged = build_codebook(project, mapping)
    segments, scheme, seg_notes = build_segments(project, mapping, docs, kept, unit, ends, merged)
    clinics = build_clinics(project, docs, clinic_groups, mapping)
    texts = {row.document_id: normalize_newlines(project.sources[row.guid].text) for row in docs.itertuples()}
    documents = docs.drop(columns="guid").copy()
    documents["date"] = pd.to_datetime(documents["date"]).dt.strftime("%Y-%m-%d")
    documents["text_path"] = "documents/" + documents["document_id"] + ".txt"
    columns = [c for c in DOCUMENT_COLUMNS if c != "participant_role" or mapping["documents"].get("participant_role")]
    documents = documents[columns].reset_index(drop=True)  # in the project's order
    if not mapping["codes"]["parent_column"]:
        book = book.drop(columns="parent")
    return Tables(documents, texts, book, segments, clinics, scheme, [*project.notes, *book_notes, *seg_notes],
                  skipped=[*project.skipped, *unassigned], merged=merged)
