"""What a pipeline step depends on: the package modules its code imports, and the study parameters its notebook declares.

The workflow computes each rule's code inputs and parameters from here, so they cannot drift from the
notebooks: a module a notebook reaches (directly or through the package) is an input of its rule, and
a parameter a notebook's ``parameters`` cell declares is passed from the config by its rule.
"""

from __future__ import annotations

import ast
import json
import os
from functools import lru_cache
from pathlib import Path

PACKAGE = "integrating"
SOURCE = Path(__file__).resolve().parent
#: Parameters every notebook takes that are folders of the run, not study parameters of config.yaml.
FOLDER_PARAMETERS = ("derived_dir", "figures_dir", "provenance_dir")
#: Modules whose imports are followed at module level only: the command-line dispatcher imports each
#: command's module inside that command, and a rule runs one command, not all of them.
DISPATCHERS = frozenset({"cli"})


@lru_cache(maxsize=None)
def _module_file(module: str) -> Path | None:
    """Source file of a package module named with dots below the package (``qda.mapping``)."""
    base = SOURCE.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _candidates(tree: ast.AST, current: str, *, top_level_only: bool = False) -> set[str]:
    """Names that the import statements of a parsed source (``current``: its module) may refer to as
    package modules: each ``from`` base, and base.name for each imported name."""
    nodes = ast.iter_child_nodes(tree) if top_level_only else ast.walk(tree)
    here = current.split(".")[:-1]  # the package (below ours) that relative imports start from
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    found.add(alias.name[len(PACKAGE) + 1:])
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x / from .x import y / from ..x import y
                parts = here[: len(here) - (node.level - 1)] if node.level > 1 else here
                base = ".".join([*parts, *(node.module.split(".") if node.module else [])])
            elif node.module == PACKAGE or (node.module or "").startswith(PACKAGE + "."):
                base = node.module[len(PACKAGE) + 1:] if node.module != PACKAGE else ""
            else:
                continue
            if base:
                found.add(base)
            # `from pkg import module` names modules, `from mod import f` does not: told apart by the files
            found.update(f"{base}.{alias.name}" if base else alias.name for alias in node.names)
    return found


def _modules(names) -> set[str]:
    """The names that are package modules (have a source file)."""
    return {m for m in names if _module_file(m) is not None}


# ----------------------------------------------------------------------------------------------
# Scans kept between runs: the workflow reads every notebook and module it depends on each time it
# starts, and parsing them is most of that; a file's candidates are kept under its size and
# modification time, as Python keeps a module's bytecode (the filter by existing files is redone).

_scans: dict = {}
_scans_file: Path | None = None
_scans_changed = False


def keep_scans(path) -> None:
    """Keep this process's scans in the JSON file ``path`` (read now; :func:`save_scans` writes it)."""
    global _scans, _scans_file
    _scans_file = Path(path)
    try:
        loaded = json.loads(_scans_file.read_text(encoding="utf-8"))
        _scans = loaded if isinstance(loaded, dict) else {}
    except (OSError, ValueError):
        _scans = {}


def save_scans() -> None:
    """Write the scans kept by :func:`keep_scans` (atomically), if any was made since."""
    global _scans_changed
    if _scans_file is not None and _scans_changed:
        from .io import write_text

        write_text(_scans_file, json.dumps(_scans, sort_keys=True))
        _scans_changed = False


def _scanned(path: Path, scan) -> set[str]:
    """``scan()`` of the file ``path``, or what it gave for the file's current size and time."""
    global _scans_changed
    info = path.stat()
    stamp, key = [info.st_mtime_ns, info.st_size], str(path.resolve())
    entry = _scans.get(key)
    if isinstance(entry, dict) and entry.get("stamp") == stamp and isinstance(entry.get("names"), list):
        return set(entry["names"])
    names = scan()
    _scans[key] = {"stamp": stamp, "names": sorted(names)}
    _scans_changed = True
    return names


@lru_cache(maxsize=None)
def _module_imports(module: str) -> frozenset[str]:
    path = _module_file(module)
    name = f"{module}.__init__" if path.name == "__init__.py" else module

    def scan():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        return _candidates(tree, name, top_level_only=module in DISPATCHERS)

    return frozenset(_modules(_scanned(path, scan)))


def closure(modules) -> list[str]:
    """The given package modules and every package module they import, transitively, sorted."""
    seen, todo = set(), list(modules)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        if _module_file(module) is None:
            raise KeyError(f"no module '{module}' in the package {PACKAGE} ({SOURCE})")
        seen.add(module)
        todo.extend(_module_imports(module))
        # A subpackage's modules run its __init__ first.
        parts = module.split(".")
        for i in range(1, len(parts)):
            todo.append(".".join(parts[:i]))
    return sorted(seen)


def module_files(modules, root: Path | str = SOURCE) -> list[str]:
    """Source files of ``modules`` (and the package's ``__init__``) relative to ``root``, sorted."""
    files = {_module_file(m) for m in closure(modules)} | {SOURCE / "__init__.py"}
    return sorted(Path(_relative(f, Path(root))).as_posix() for f in files)


def _relative(path: Path, root: Path) -> str:
    return os.path.relpath(path, root)


def _code_cells(notebook) -> list[dict]:
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _source(cell: dict) -> str:
    source = cell["source"]
    return python_source(source if isinstance(source, str) else "".join(source))


def python_source(cell_source: str) -> str:
    """A code cell's source as plain Python: IPython magic lines (``%%needs ...``, ``%time``) blanked."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell_source.splitlines())


def notebook_modules(notebook) -> list[str]:
    """Package modules a notebook imports, followed through the package."""
    def scan():
        return set().union(*(_candidates(ast.parse(_source(cell)), "") for cell in _code_cells(notebook)))

    return closure(_modules(_scanned(Path(notebook), scan)))


def parameters_cell(notebook) -> dict:
    """The assignments of the notebook's one cell tagged ``parameters``: name -> literal value, in order."""
    from .errors import IntegratingError

    cells = [c for c in _code_cells(notebook) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise IntegratingError(f"{notebook}: expected one cell tagged 'parameters', found {len(cells)}")
    values = {}
    for node in ast.parse(_source(cells[0])).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError as exc:
                raise IntegratingError(f"{notebook}: parameter '{node.targets[0].id}' is not a literal value "
                                       "(a parameters cell holds plain values only)") from exc
    return values


def notebook_parameters(notebook) -> list[str]:
    """Names assigned in the notebook's cell tagged ``parameters``, in order."""
    return list(parameters_cell(notebook))


def parameter_values(namespace: dict, notebook_keys=None) -> dict:
    """The run's parameters from a notebook's namespace, for its provenance record.

    ``namespace`` is the notebook's ``globals()``: every name of the parameters cell that is a study
    parameter or a folder of the run (``provenance_dir`` is where the record goes, not a parameter).
    """
    from .config import load_schema

    known = set(load_schema()["properties"]) | set(FOLDER_PARAMETERS)
    keys = notebook_keys or [k for k in namespace if k in known]
    out = {}
    for key in keys:
        if key == "provenance_dir" or key not in namespace:
            continue
        value = namespace[key]
        out[key] = list(value) if isinstance(value, tuple) else value
    return out
