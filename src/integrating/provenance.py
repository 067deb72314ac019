"""Provenance records: what made each derived table and figure, from what, with which parameters.

A notebook opens a :class:`Run`, writes every output through it and closes it with
:meth:`Run.finish`, which writes ``<provenance_dir>/<notebook>.json``. That record is also the
pipeline's marker that the notebook completed (Snakemake tracks it, not the tables themselves, so
that a failed run never deletes the previous good outputs).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import time
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from . import io, paths
from .io import sha256

#: Set by :mod:`integrating.runner` for the kernel: the command that reruns the notebook alone.
COMMAND_ENV = "INTEGRATING_RUN_COMMAND"


def _git(*args) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(["git", *args], cwd=paths.ROOT, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    out = _git("rev-parse", "HEAD")
    return (out.stdout.decode().strip() or None) if out and out.returncode == 0 else None


@lru_cache(maxsize=1)
def git_state() -> dict:
    """The commit, whether tracked files differ from it, and a hash of that difference.

    Two records with the same commit and ``diff_sha256`` come from the same code; a dirty tree without
    the hash could not be told apart from a clean one (untracked files are not part of it)."""
    commit = git_commit()
    if commit is None:
        return {"commit": None, "dirty": None, "diff_sha256": None}
    diff = _git("diff", "HEAD", "--binary", "--no-color", "--no-ext-diff")
    patch = diff.stdout if diff and diff.returncode == 0 else b""
    return {"commit": commit, "dirty": bool(patch),
            "diff_sha256": hashlib.sha256(patch).hexdigest() if patch else None}


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


#: The report site's record of its pages (relative to the working folder of a run).
SITE_MANIFEST = "reports/site/manifest.json"


def write_manifest(path, files) -> Path:
    """A record of the files a step other than a notebook wrote, in the form :func:`changed_outputs` reads."""
    return io.write_json(path, {"outputs": [{"path": str(p), "sha256": sha256(p)} for p in files]})


def read_records(provenance_dir) -> dict[str, dict]:
    """The provenance records of a run by step name (file stem), sorted; an unreadable one says so."""
    records = {}
    for path in sorted(Path(provenance_dir).glob("*.json")):
        try:
            records[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            records[path.stem] = {"notebook": path.stem, "error": "not valid JSON"}
    return records


def not_computable(records: dict[str, dict]) -> list[dict]:
    """Every analysis the run's steps found not computable (:func:`read_records`): notebook, analysis
    and reason, once each."""
    seen, out = set(), []
    for name, record in records.items():
        for item in record.get("not_computable") or []:
            key = (name, item.get("analysis"), item.get("reason"))
            if key not in seen:
                seen.add(key)
                out.append({"notebook": name, "analysis": item.get("analysis", ""), "reason": item.get("reason", ""),
                            "figures": list(item.get("figures", [])), "tables": list(item.get("tables", []))})
    return out


def changed_outputs(record_path, also=()) -> list[str]:
    """What no longer matches a provenance record: outputs missing or changed since the run wrote them.

    ``also`` names further files the run made that must exist (its executed notebook). The workflow
    asks this of every record before it decides what to run, so a deleted or edited table, figure or
    page is made again, with everything that depends on it."""
    record_path = Path(record_path)
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # no record (or an unreadable one): the workflow reruns the step anyway
    problems = []
    written = record_path.stat().st_mtime
    for item in record.get("outputs", []):
        path = Path(item["path"])
        if not path.exists():
            problems.append(f"{path} is missing")
        # A file not touched since the record was written is what the run wrote: only newer ones are
        # hashed, so a run with nothing changed does not read every output again.
        elif (item.get("sha256") and path.stat().st_mtime > written
              and _describe(path)["sha256"] != item["sha256"]):
            problems.append(f"{path} differs from what the run wrote")
    problems += [f"{p} is missing" for p in map(Path, also) if not p.exists()]
    return problems


class Run:
    """One execution of a notebook: its parameters, inputs and outputs."""

    def __init__(self, notebook: str, parameters: dict, provenance_dir=None):
        self.notebook = notebook
        self.parameters = dict(parameters)
        self.provenance_dir = Path(provenance_dir or paths.PROVENANCE)
        self.inputs: list[Path] = []
        self.outputs: list[Path] = []
        self.not_computable: list[dict] = []
        self._start_wall = datetime.now(timezone.utc)
        self._start = time.perf_counter()

    @classmethod
    def start(cls, notebook: str, namespace: dict) -> "Run":
        """Open a notebook's run from its namespace (``globals()``): the parameters its cell declared.

        A notebook opened in JupyterLab starts in its own folder, while its parameters name folders
        relative to the compendium's root: the run moves there first (the pipeline already runs in
        its working folder, never under ``notebooks/``)."""
        from .dependencies import parameter_values

        cwd = Path.cwd().resolve()
        if cwd == paths.NOTEBOOKS.resolve() or paths.NOTEBOOKS.resolve() in cwd.parents:
            os.chdir(paths.ROOT)
        return cls(notebook, parameter_values(namespace), namespace.get("provenance_dir"))

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

    def skip(self, analysis: str, reason: str, *, tables=(), figures=(), synthetic: bool = False) -> None:
        """Record that ``analysis`` is not computable on these data, and why.

        The tables it would write are removed (a later step must not read a previous run's numbers);
        each figure it would draw is written as a panel that states the reason, so the report shows it
        where the figure would be."""
        import matplotlib.pyplot as plt

        from . import plotting

        for table in map(Path, tables):
            table.unlink(missing_ok=True)
        for stem in figures:
            fig = plotting.not_computable_figure(analysis, reason, synthetic=synthetic)
            self.figure(fig, stem, caption=f"Not computable on these data ({analysis}): {reason}")
            plt.close(fig)
        self.not_computable.append({"analysis": analysis, "reason": reason, "tables": [str(t) for t in tables],
                                    "figures": [str(f) for f in figures]})
        print(f"NOT COMPUTABLE on these data: {analysis}: {reason}")

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
            "not_computable": self.not_computable,
            "git_commit": git_commit(),
            "git": git_state(),
            "versions": package_versions(),
            "platform": platform.platform(),
            "started": self._start_wall.isoformat(timespec="seconds"),
            "duration_s": round(time.perf_counter() - self._start, 3),
            # Reruns this notebook alone (set by integrating.runner); `make run` reruns what changed.
            "command": os.environ.get(COMMAND_ENV, f"run interactively: {self.notebook}"),
            "rerun": "make run",
        }

    def finish(self) -> Path:
        return io.write_json(self.provenance_dir / f"{self.notebook}.json", self.record())
