"""Provenance records: what made each derived table and figure, from what, with which parameters.

A notebook opens a :class:`Run`, writes every output through it and closes it with
:meth:`Run.finish`, which writes ``<provenance_dir>/<notebook>.json``. That record is also the
pipeline's marker that the notebook completed (Snakemake tracks it, not the tables themselves, so
that a failed run never deletes the previous good outputs).
"""

from __future__ import annotations

import hashlib
import platform
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from . import io, paths


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=paths.ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Versions of Python, this package and each of its direct dependencies."""
    versions = {"python": platform.python_version()}
    try:
        versions["integrating"] = metadata.version("integrating")
        requirements = metadata.requires("integrating") or []
    except metadata.PackageNotFoundError:
        requirements = []
    for req in requirements:
        if "extra ==" in req:
            continue
        name = re.split(r"[\s;<>=!~\[]", req, maxsplit=1)[0]
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _describe(path) -> dict:
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        digest = hashlib.sha256()
        for f in files:
            digest.update(f.relative_to(path).as_posix().encode() + b"\0" + sha256(f).encode())
        return {"path": str(path), "sha256": digest.hexdigest(), "files": len(files)}
    return {"path": str(path), "sha256": sha256(path)}


class Run:
    """One execution of a notebook: its parameters, inputs and outputs."""

    def __init__(self, notebook: str, parameters: dict, provenance_dir=None):
        self.notebook = notebook
        self.parameters = dict(parameters)
        self.provenance_dir = Path(provenance_dir or paths.PROVENANCE)
        self.inputs: list[Path] = []
        self.outputs: list[Path] = []
        self._start_wall = datetime.now(timezone.utc)
        self._start = time.perf_counter()

    def input(self, *paths_):
        """Declare files (or folders) read; each is hashed in the record."""
        for p in paths_:
            if Path(p) not in self.inputs:
                self.inputs.append(Path(p))
        return paths_[0] if len(paths_) == 1 else paths_

    def table(self, df, path, *, sort_by=None) -> Path:
        written = io.write_table(df, path, sort_by=sort_by)
        self.outputs.append(written)
        return written

    def figure(self, fig, stem, *, caption: str | None = None) -> list[Path]:
        written = io.save_figure(fig, stem, caption=caption)
        self.outputs.extend(written)
        return written

    def file(self, path) -> Path:
        """Declare an output written by other means."""
        self.outputs.append(Path(path))
        return Path(path)

    def record(self) -> dict:
        return {
            "notebook": self.notebook,
            "parameters": self.parameters,
            "inputs": [_describe(p) for p in self.inputs],
            "outputs": [_describe(p) for p in self.outputs],
            "git_commit": git_commit(),
            "versions": package_versions(),
            "platform": platform.platform(),
            "started": self._start_wall.isoformat(timespec="seconds"),
            "duration_s": round(time.perf_counter() - self._start, 3),
            "command": " ".join(sys.argv[:1]),
        }

    def finish(self) -> Path:
        return io.write_json(self.provenance_dir / f"{self.notebook}.json", self.record())
