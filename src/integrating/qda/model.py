"""What an import reads from a QDA project or spreadsheet, before the mapping turns it into tables."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Code:
    guid: str
    name: str
    parent: str | None = None  # guid of the parent code
    description: str = ""
    codable: bool = True


@dataclass
class Source:
    guid: str
    name: str
    text: str  # stored text, byte-order mark removed, line ends as stored
    origin: str  # where the text came from, for messages
    variables: dict = field(default_factory=dict)  # variable name -> value (str)
    creating_user: str | None = None


@dataclass
class Coding:
    source: str  # source guid
    selection: str | None  # selection guid (None: the whole source is coded)
    selection_name: str | None
    guid: str
    code: str  # code guid
    user: str | None  # user guid
    start: int | None = None  # in the project's position units
    end: int | None = None


@dataclass
class Group:
    """A REFI-QDA case or set: a named group of sources (a case may carry variable values)."""

    guid: str
    name: str
    sources: list = field(default_factory=list)
    variables: dict = field(default_factory=dict)


@dataclass
class User:
    guid: str
    name: str | None = None
    id: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.id or self.guid


#: Why a source was left out: the reasons an import report counts.
NOT_TEXT = "not a text source (picture, PDF, audio or video)"
TEXT_MISSING = "text file missing from the project"
NO_TEXT = "no text in the project (neither PlainTextContent nor plainTextPath)"
TEXT_OUTSIDE = "text file outside the project"
NOT_UTF8 = "text not UTF-8"
NO_CLINIC = "no clinic (documents.skip_unassigned)"
UNREADABLE = (TEXT_MISSING, NO_TEXT, TEXT_OUTSIDE, NOT_UTF8)


@dataclass
class Skipped:
    """A source of the project that is not imported, and why."""

    name: str
    reason: str  # one of the reasons above
    detail: str = ""  # e.g. the plainTextPath looked for
    codings: int = 0  # codings of the source, left out with it


@dataclass
class Project:
    name: str
    origin: str
    description: str = ""
    users: dict = field(default_factory=dict)  # guid -> User
    codes: dict = field(default_factory=dict)  # guid -> Code, in document order
    sources: dict = field(default_factory=dict)  # guid -> Source, in document order
    codings: list = field(default_factory=list)
    cases: list = field(default_factory=list)
    sets: list = field(default_factory=list)
    variables: dict = field(default_factory=dict)  # name -> type of variable
    creating_user: str | None = None
    scheme: tuple | None = None  # how positions are counted, when the reader knows it
    notes: list = field(default_factory=list)  # what was skipped or assumed, for the report
    #: Sources left out while reading, as :class:`Skipped`: non-text media, and text sources whose
    #: text cannot be read (the mapping's documents.skip_unreadable decides whether that stops an import).
    skipped: list = field(default_factory=list)

    def unreadable(self) -> list:
        return [s for s in self.skipped if s.reason in UNREADABLE]

    def code_path(self, guid: str) -> str:
        names, seen = [], set()
        while guid is not None and guid not in seen:
            seen.add(guid)
            code = self.codes[guid]
            names.append(code.name)
            guid = code.parent
        return "/".join(reversed(names))
