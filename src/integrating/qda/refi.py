"""Reading REFI-QDA projects (``.qdpx`` archives, bare ``.qde`` files, unpacked project folders).

The REFI-QDA Project exchange standard (QDA-XML 1.0, namespace ``urn:QDA-XML:project:1.0``) stores a
project as XML (``project.qde``) plus its source files (``sources/``), zipped as ``.qdpx``. This
module reads what the compendium needs into a :class:`~integrating.qda.model.Project`: users, the
(nested) codebook, variables, cases, text sources with their selections and codings, and sets.
Picture, PDF, audio and video sources, and text sources whose text is missing, outside the project
or not UTF-8, are not read: they are listed in the project's ``skipped`` sources with the reason, so
that a mapping template can still be drafted and the import decides what to do with them.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path

from ..errors import ImportQDAError
from .model import (
    NO_TEXT, NOT_TEXT, NOT_UTF8, TEXT_MISSING, TEXT_OUTSIDE, Code, Coding, Group, Project, Skipped, Source, User,
)
from .safety import Budget, Limits, check_archive, decode_text, inside, parse_xml, read_file, read_member, strip_bom

NAMESPACE = "urn:QDA-XML:project:1.0"
_SKIPPED_SOURCES = ("PictureSource", "PDFSource", "AudioSource", "VideoSource")
_VALUE_TAGS = ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue", "DateTimeValue")


class _Unreadable(ImportQDAError):
    """A text source whose text cannot be read (the reason is one of the model's reasons)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def guid_key(value: str | None) -> str | None:
    """GUIDs compare case-insensitively, with or without braces."""
    if value is None:
        return None
    return value.strip().strip("{}").lower()


class _Archive:
    """A ``.qdpx`` zip archive, checked before anything is read."""

    def __init__(self, path: Path, limits: Limits):
        self.path = path
        self.budget = Budget(limits)
        try:
            self.zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ImportQDAError(f"{path}: not a readable zip archive ({exc})") from exc
        self.members = {i.filename: i for i in check_archive(self.zf, path.name, limits)}
        self._lower = {}
        for name in self.members:
            self._lower.setdefault(name.lower(), name)
        qde = [n for n in self.members if n.lower().endswith(".qde")]
        if len(qde) > 1:
            named = [n for n in qde if posixpath.basename(n).lower() == "project.qde"]
            qde = named if len(named) == 1 else qde
        if not qde:
            raise ImportQDAError(f"{path}: the archive holds no .qde project file")
        if len(qde) > 1:
            raise ImportQDAError(f"{path}: the archive holds several .qde files ({', '.join(sorted(qde))}); expected one")
        self.qde = qde[0]
        self.base = posixpath.dirname(self.qde)

    def close(self):
        self.zf.close()

    def project_xml(self) -> tuple[str, bytes]:
        info = self.members[self.qde]
        return f"{self.path.name}:{self.qde}", read_member(self.zf, info, self.path.name, self.budget)

    def source(self, ref: str, what: str) -> tuple[str, bytes]:
        candidates = []
        if ref.lower().startswith("internal://"):
            name = ref[len("internal://"):]
            candidates = [posixpath.join(self.base, folder, name) for folder in ("sources", "Sources")]
        else:
            rel = _relative(ref, what)
            candidates = [posixpath.normpath(posixpath.join(self.base, rel))]
        for cand in candidates:
            member = self.members.get(cand) or self.members.get(self._lower.get(cand.lower(), ""))
            if member is not None:
                return f"{self.path.name}:{member.filename}", read_member(self.zf, member, self.path.name, self.budget)
        raise _Unreadable(TEXT_MISSING, f"{what}: plainTextPath {ref!r} names no member of {self.path.name} "
                                        f"(looked for {', '.join(candidates)})")


class _Folder:
    """A bare ``.qde`` file with its sources beside it (``sources/`` or ``Sources/``)."""

    def __init__(self, qde: Path, limits: Limits):
        self.qde = qde
        self.base = qde.parent
        self.budget = Budget(limits)
        self.limits = limits
        self.files_read = 0

    def close(self):
        pass

    def project_xml(self) -> tuple[str, bytes]:
        return self.qde.name, read_file(self.qde, self.budget)

    def source(self, ref: str, what: str) -> tuple[str, bytes]:
        if ref.lower().startswith("internal://"):
            name = ref[len("internal://"):]
            candidates = [inside(self.base, f"{folder}/{name}", what) for folder in ("sources", "Sources")]
            if not any(c.is_file() for c in candidates):  # only then list the folder, for other spellings
                candidates += _case_insensitive(self.base, name)
        else:
            candidates = [inside(self.base, _relative(ref, what), what)]
        for cand in candidates:
            if cand.is_file():
                self.files_read += 1
                if self.files_read > self.limits.max_members:
                    raise ImportQDAError(
                        f"{what}: more than {self.limits.max_members} source files (the --max-members limit); refused"
                    )
                return str(cand.relative_to(self.base.resolve())), read_file(cand, self.budget, str(cand))
        raise _Unreadable(
            TEXT_MISSING,
            f"{what}: plainTextPath {ref!r} names no file beside {self.qde.name} "
            f"(looked for {', '.join(str(c) for c in candidates)})",
        )


def _case_insensitive(base: Path, name: str) -> list[Path]:
    """Files ``<base>/<sources folder in any case>/<name in any case>``."""
    found = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and p.name.lower() == "sources"):
        found += sorted(p for p in folder.iterdir() if p.name.lower() == name.lower())
    return [inside(base, str(p.relative_to(base)), name) for p in found]


def _relative(ref: str, what: str) -> str:
    lower = ref.lower()
    if lower.startswith("relative://"):
        return ref[len("relative://"):]
    if lower.startswith(("absolute://", "file://")) or "://" in ref:
        raise _Unreadable(
            TEXT_OUTSIDE,
            f"{what}: plainTextPath {ref!r} points outside the project; copy the file into the project's "
            "sources/ folder (internal://) and export again",
        )
    return ref


def _open(path: Path, limits: Limits):
    if path.is_dir():
        qde = sorted(p for p in path.iterdir() if p.suffix.lower() == ".qde" and p.is_file())
        if len(qde) > 1:
            named = [p for p in qde if p.name.lower() == "project.qde"]
            qde = named if len(named) == 1 else qde
        if len(qde) != 1:
            raise ImportQDAError(f"{path}: expected exactly one .qde file in the folder, found {len(qde)}")
        return _Folder(qde[0], limits)
    if not path.is_file():
        raise ImportQDAError(f"{path}: no such file or folder")
    if path.suffix.lower() == ".qde":
        return _Folder(path, limits)
    if path.suffix.lower() == ".qdpx" or zipfile.is_zipfile(path):
        return _Archive(path, limits)
    raise ImportQDAError(f"{path}: expected a .qdpx archive, a .qde file or a folder holding one")


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el, name: str):
    return [c for c in el if _local(c.tag) == name]


def _child(el, name: str):
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _text(el, name: str) -> str:
    c = _child(el, name)
    return (c.text or "") if c is not None else ""


def _required(el, attr: str, what: str) -> str:
    value = el.get(attr)
    if value is None or not value.strip():
        raise ImportQDAError(f"{what} has no {attr} attribute")
    return value


def _integer(el, attr: str, what: str) -> int:
    value = _required(el, attr, what)
    try:
        return int(value.strip())
    except ValueError:
        raise ImportQDAError(f"{what}: {attr}={value!r} is not an integer") from None


def _variable_values(el, variables_by_guid: dict, what: str) -> dict:
    values = {}
    for vv in _children(el, "VariableValue"):
        ref = _child(vv, "VariableRef")
        if ref is None:
            raise ImportQDAError(f"{what}: a VariableValue has no VariableRef")
        key = guid_key(_required(ref, "targetGUID", f"{what}: VariableRef"))
        if key not in variables_by_guid:
            raise ImportQDAError(f"{what}: VariableRef {key} names no variable of the project")
        value = None
        for tag in _VALUE_TAGS:
            c = _child(vv, tag)
            if c is not None:
                value = (c.text or "").strip()
                break
        if value not in (None, ""):
            values[variables_by_guid[key]] = value
    return values


def read_project(path, limits: Limits | None = None) -> Project:
    """Read a REFI-QDA project (``.qdpx``, ``.qde`` or a folder holding a ``.qde``); the input is only read."""
    path = Path(path)
    container = _open(path, limits or Limits())
    try:
        xml_name, data = container.project_xml()
        root = parse_xml(data, xml_name)
        if _local(root.tag) != "Project":
            raise ImportQDAError(f"{xml_name}: the root element is {_local(root.tag)!r}; expected a REFI-QDA 'Project'")
        project = Project(
            name=root.get("name") or path.stem,
            origin=str(path),
            description=_text(root, "Description"),
            creating_user=guid_key(root.get("creatingUserGUID")),
        )
        _read_users(root, project)
        _read_codes(root, project, xml_name)
        variables_by_guid = _read_variables(root, project)
        _read_sources(root, project, container, variables_by_guid, xml_name)
        _read_groups(root, project, variables_by_guid)
    finally:
        container.close()
    return project


def _read_users(root, project: Project) -> None:
    users = _child(root, "Users")
    for u in _children(users, "User") if users is not None else []:
        key = guid_key(_required(u, "guid", "a User"))
        project.users[key] = User(guid=key, name=u.get("name"), id=u.get("id"))


def _read_codes(root, project: Project, xml_name: str) -> None:
    book = _child(root, "CodeBook")
    codes = _child(book, "Codes") if book is not None else None
    if codes is None:
        return
    stack = [(c, None) for c in reversed(_children(codes, "Code"))]
    while stack:
        el, parent = stack.pop()
        what = f"{xml_name}: Code {el.get('name')!r}"
        key = guid_key(_required(el, "guid", what))
        if key in project.codes:
            raise ImportQDAError(f"{what}: guid {key} is used by two codes")
        codable = (el.get("isCodable") or "true").strip().lower() in ("true", "1")
        project.codes[key] = Code(
            guid=key, name=_required(el, "name", what), parent=parent,
            description=_text(el, "Description").strip(), codable=codable,
        )
        stack.extend((c, key) for c in reversed(_children(el, "Code")))


def _read_variables(root, project: Project) -> dict:
    by_guid = {}
    variables = _child(root, "Variables")
    for v in _children(variables, "Variable") if variables is not None else []:
        what = f"Variable {v.get('name')!r}"
        name = _required(v, "name", what)
        by_guid[guid_key(_required(v, "guid", what))] = name
        project.variables[name] = v.get("typeOfVariable") or "Text"
    return by_guid


def _read_sources(root, project: Project, container, variables_by_guid: dict, xml_name: str) -> None:
    sources = _child(root, "Sources")
    if sources is None:
        return
    for el in sources:
        tag = _local(el.tag)
        if tag in _SKIPPED_SOURCES:
            project.skipped.append(Skipped(el.get("name") or el.get("guid") or tag, NOT_TEXT, tag, _count_codings(el)))
            continue
        if tag != "TextSource":
            continue
        what = f"{xml_name}: TextSource {el.get('name')!r}"
        key = guid_key(_required(el, "guid", what))
        if key in project.sources:
            raise ImportQDAError(f"{what}: guid {key} is used by two sources")
        try:
            text, origin = _source_text(el, container, xml_name, what)
        except _Unreadable as exc:
            project.skipped.append(Skipped(el.get("name") or key, exc.reason, str(exc), _count_codings(el)))
            continue
        source = Source(
            guid=key, name=el.get("name") or key, text=text, origin=origin,
            variables=_variable_values(el, variables_by_guid, what),
            creating_user=guid_key(el.get("creatingUser")),
        )
        project.sources[key] = source
        for coding in _children(el, "Coding"):
            c = _coding(coding, source, None, None, None, None, what)
            c.user = c.user or source.creating_user
            project.codings.append(c)
        for sel in _children(el, "PlainTextSelection"):
            swhat = f"{what}: PlainTextSelection {sel.get('name') or sel.get('guid')!r}"
            sel_key = guid_key(_required(sel, "guid", swhat))
            start = _integer(sel, "startPosition", swhat)
            end = _integer(sel, "endPosition", swhat)
            user = guid_key(sel.get("creatingUser")) or source.creating_user
            for coding in _children(sel, "Coding"):
                c = _coding(coding, source, sel_key, sel.get("name"), start, end, swhat)
                c.user = c.user or user
                project.codings.append(c)


def _count_codings(el) -> int:
    return sum(1 for c in el.iter() if _local(c.tag) == "Coding")


def _source_text(el, container, xml_name: str, what: str) -> tuple[str, str]:
    """The source's text and where it came from; raises :class:`_Unreadable` when it cannot be read."""
    content = _child(el, "PlainTextContent")
    ref = el.get("plainTextPath")
    if content is not None:
        return strip_bom(content.text or ""), f"{xml_name} (PlainTextContent of {el.get('name')!r})"
    if not ref:
        raise _Unreadable(NO_TEXT, f"{what} has neither PlainTextContent nor a plainTextPath")
    origin, data = container.source(ref.strip(), what)
    try:
        return decode_text(data, origin), origin
    except ImportQDAError as exc:
        raise _Unreadable(NOT_UTF8, str(exc)) from exc


def _coding(el, source: Source, sel_key, sel_name, start, end, what) -> Coding:
    ref = _child(el, "CodeRef")
    if ref is None:
        raise ImportQDAError(f"{what}: a Coding has no CodeRef")
    return Coding(
        source=source.guid, selection=sel_key, selection_name=sel_name,
        guid=guid_key(_required(el, "guid", f"{what}: Coding")),
        code=guid_key(_required(ref, "targetGUID", f"{what}: CodeRef")),
        user=guid_key(el.get("creatingUser")),
        start=start, end=end,
    )


def _read_groups(root, project: Project, variables_by_guid: dict) -> None:
    cases = _child(root, "Cases")
    for el in _children(cases, "Case") if cases is not None else []:
        what = f"Case {el.get('name')!r}"
        key = guid_key(_required(el, "guid", what))
        project.cases.append(Group(
            guid=key, name=el.get("name") or key,
            sources=[guid_key(_required(r, "targetGUID", f"{what}: SourceRef")) for r in _children(el, "SourceRef")],
            variables=_variable_values(el, variables_by_guid, what),
        ))
    sets = _child(root, "Sets")
    for el in _children(sets, "Set") if sets is not None else []:
        what = f"Set {el.get('name')!r}"
        key = guid_key(_required(el, "guid", what))
        project.sets.append(Group(
            guid=key, name=_required(el, "name", what),
            sources=[guid_key(_required(r, "targetGUID", f"{what}: MemberSource")) for r in _children(el, "MemberSource")],
        ))
