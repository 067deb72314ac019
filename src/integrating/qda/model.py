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

    def code_path(self, guid: str) -> str:
        names, seen = [], set()
        while guid is not None and guid not in seen:
            seen.add(guid)
            code = self.codes[guid]
            names.append(code.name)
            guid = code.parent
        return "/".join(reversed(names))
