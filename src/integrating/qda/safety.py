"""Limits and checks for files that come from elsewhere: zip archives, XML and texts.

Every check raises :class:`integrating.errors.ImportQDAError` with a message naming the member,
file or line at fault. Archives are inspected (member names, count, declared sizes) before any
member is read, and members are read into memory with a byte budget, never extracted to disk.
"""

from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from ..errors import ImportQDAError

#: Default number of members an archive (or a project folder's sources) may hold.
DEFAULT_MAX_MEMBERS = 100_000
#: Default total uncompressed size, in bytes, of everything read from a project (1 GiB).
DEFAULT_MAX_BYTES = 1 << 30
_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what an import may read: member count and total uncompressed bytes."""

    max_members: int = DEFAULT_MAX_MEMBERS
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self):
        for name in ("max_members", "max_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ImportQDAError(f"limit {name} is {value!r}; expected a positive integer")


class Budget:
    """Counts the bytes read so far against ``Limits.max_bytes``."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.used = 0

    def take(self, n: int, what: str) -> None:
        self.used += n
        if self.used > self.limits.max_bytes:
            raise ImportQDAError(
                f"{what}: reading it brings the uncompressed total to more than {self.limits.max_bytes} "
                f"bytes (the --max-bytes limit); refused (raise the limit if the project is genuinely this large)"
            )


def unsafe_member_reason(name: str) -> str | None:
    """Why an archive member name is unsafe (absolute, drive letter, '..', NUL), or None if it is fine."""
    if "\x00" in name:
        return "contains a NUL character"
    if name.startswith(("/", "\\")):
        return "is an absolute path"
    if _DRIVE.match(name):
        return "starts with a drive letter"
    if any(part == ".." for part in re.split(r"[/\\]", name)):
        return "contains a '..' component"
    return None


def check_archive(zf: zipfile.ZipFile, archive_name: str, limits: Limits) -> list[zipfile.ZipInfo]:
    """Inspect every member of an open archive before anything is read; return the file members."""
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise ImportQDAError(
            f"{archive_name}: the archive holds {len(infos)} members, more than the limit of "
            f"{limits.max_members} (--max-members); refused"
        )
    total = 0
    for info in infos:
        reason = unsafe_member_reason(info.filename)
        if reason:
            raise ImportQDAError(f"{archive_name}: member {info.filename!r} {reason}; refused")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ImportQDAError(f"{archive_name}: member {info.filename!r} is a symbolic link; refused")
        if info.flag_bits & 0x1:
            raise ImportQDAError(f"{archive_name}: member {info.filename!r} is encrypted; refused")
        total += info.file_size
        if total > limits.max_bytes:
            raise ImportQDAError(
                f"{archive_name}: members declare more than {limits.max_bytes} uncompressed bytes "
                f"(the --max-bytes limit), reached at member {info.filename!r}; refused before extraction"
            )
    return [i for i in infos if not i.is_dir()]


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive_name: str, budget: Budget) -> bytes:
    """Read one member into memory, stopping as soon as it exceeds its declared size or the budget."""
    what = f"{archive_name}: member {info.filename!r}"
    chunks, size = [], 0
    try:
        with zf.open(info) as fh:
            while True:
                block = fh.read(_CHUNK)
                if not block:
                    break
                size += len(block)
                if size > info.file_size:
                    raise ImportQDAError(f"{what} is larger than its declared size {info.file_size}; refused")
                budget.take(len(block), what)
                chunks.append(block)
    except ImportQDAError:
        raise
    except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, ValueError) as exc:
        raise ImportQDAError(f"{what} cannot be read: {exc}") from exc
    return b"".join(chunks)


def read_file(path: Path, budget: Budget, what: str | None = None) -> bytes:
    """Read a file on disk within the byte budget."""
    path = Path(path)
    what = what or str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImportQDAError(f"{what} cannot be read: {exc.strerror}") from exc
    budget.take(size, what)
    return path.read_bytes()


def inside(base: Path, relative: str, what: str) -> Path:
    """Resolve ``relative`` under ``base``; refuse absolute paths and paths leaving ``base``."""
    reason = unsafe_member_reason(relative)
    if reason:
        raise ImportQDAError(f"{what}: path {relative!r} {reason}; refused")
    base = base.resolve()
    target = (base / PurePosixPath(relative.replace("\\", "/"))).resolve()
    if target != base and base not in target.parents:
        raise ImportQDAError(f"{what}: path {relative!r} leads outside {base}; refused")
    return target


def parse_xml(data: bytes, name: str):
    """Parse XML bytes with protection against entity expansion and external references."""
    try:
        return SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ImportQDAError(
            f"{name}: the XML declares entities or external references ({type(exc).__name__}); refused"
        ) from exc
    except SafeET.ParseError as exc:
        raise ImportQDAError(f"{name}: not well-formed XML ({exc})") from exc


def decode_text(data: bytes, name: str) -> str:
    """Decode UTF-8 text (a leading byte-order mark is dropped); report the line of the first bad byte."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportQDAError(f"{name}: text is UTF-16, not UTF-8; save it as UTF-8 and import again")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ImportQDAError(
            f"{name}: text is not valid UTF-8 (byte 0x{data[exc.start]:02x} at line {line}); "
            "save it as UTF-8 and import again"
        ) from exc


def strip_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text
