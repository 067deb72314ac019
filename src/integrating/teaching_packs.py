"""The course's student and teacher packs (``make teaching``): the exercise notebooks, their data, and
for the teacher the solutions, the answer key (:func:`integrating.teaching.answer_key`) and the guide.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import io, paths
from .dependencies import parameters_cell
from .errors import TeachingError
from .teaching import EXERCISE_DIR, EXERCISES, answer_key, data_folder

#: Marker file of a folder written by :func:`write_packs` (only such a folder is ever replaced).
PACK_MARKER = ".teaching-pack"
SOLUTION_DIR = EXERCISE_DIR / "solutions"
GUIDE = paths.DOCS / "teaching.md"


def _pack_table(with_sessions: bool = True) -> str:
    lines = ["| session | notebook | exercise | minutes |", "| --- | --- | --- | --- |"]
    lines += [f"| {e.session} | `{e.name}.ipynb` | {e.title} | {e.minutes} |" for e in EXERCISES]
    return "\n".join(lines)


STUDENT_README = """# Methods course: student pack

Exercises on a SYNTHETIC study (invented clinics, documents and patients that follow the design of
a published case study). Open a notebook in JupyterLab with the kernel "Python (integrating)", run
it from the top (*Run > Run All Cells*), read, answer in the cell tagged `answer`, then run the
self-check cell below it. The self-check says RIGHT, NOT YET or "not answered yet" for each
question; it never shows the expected value. Write your interpretation where the notebook asks.

{table}

`data/raw/` is the study's data (the notebooks read it; nothing writes into this folder).
"""

TEACHER_README = """# Methods course: teacher pack

- `guide.md`: the course (sessions, timing, the method each exercise practises, common mistakes);
- `solutions/`: each exercise with its answer cell worked out and a model interpretation;
- `expected/`: the solutions executed on the bundled data (the outputs students should see){expected_note};
- `answer_key.csv`: every question's expected answer with the notebooks' default parameters;
- `../student/` is the pack to hand out (the same exercises and data, no solutions).

{table}
"""


def _clean_copy(source: Path, target: Path) -> None:
    import nbformat

    nb = nbformat.read(str(source), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))


def _drop_run_times(notebook: Path) -> None:
    """Remove papermill's times and temporary paths and fix the injected cell's id: two runs, same bytes."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    for meta in [nb.metadata, *(c.metadata for c in nb.cells)]:
        pm = meta.get("papermill", {})
        for k in ("start_time", "end_time", "duration"):
            pm.pop(k, None)
        meta.pop("execution", None)
    pm = nb.metadata.get("papermill", {})
    pm.update(input_path=f"solutions/{notebook.name}", output_path=f"expected/{notebook.name}")
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
    io.write_text(notebook, nbformat.writes(nb) + "\n")


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise TeachingError(f"{out} is a file; expected a folder for the packs")
    if out.is_dir() and any(out.iterdir()) and not (out / PACK_MARKER).exists():
        raise TeachingError(f"{out} exists and holds files that are not teaching packs; choose a new or empty folder")


def write_packs(out, *, raw_dir=None, student_only: bool = False, execute: bool = True) -> dict[str, Path]:
    """Write ``out/student`` (exercises, data, README; no solution) and, unless ``student_only``,
    ``out/teacher`` (guide, solutions, executed solutions, answer key).

    Everything is written into a temporary folder beside ``out`` and moved into place at the end, so
    a failure leaves the previous packs as they were. A folder that is not a former pack is never
    replaced.
    """
    from . import runner

    out = Path(out)
    _check_out(out)
    raw = data_folder(raw_dir) if raw_dir is not None else paths.RAW
    if not (raw / "datapackage.json").exists():
        raise TeachingError(f"{raw} holds no datapackage.json; expected a raw-data folder (e.g. data/raw)")
    if raw.resolve() != paths.RAW.resolve():
        from . import validate

        problems = validate.validate(raw)
        if problems:
            raise TeachingError(f"{raw} has {len(problems)} problem(s) with the data contract; "
                                f"`integrating validate {raw}` lists them")
    names = [e.name for e in EXERCISES]
    missing = [n for n in names if not (EXERCISE_DIR / f"{n}.ipynb").exists()]
    if missing:
        raise TeachingError(f"exercise notebook(s) missing from {EXERCISE_DIR}: {', '.join(missing)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        student = work / "student"
        for n in names:
            _clean_copy(EXERCISE_DIR / f"{n}.ipynb", student / f"{n}.ipynb")
        shutil.copytree(raw, student / "data" / "raw", ignore=shutil.ignore_patterns(".*"))
        (student / "README.md").write_text(STUDENT_README.format(table=_pack_table()), encoding="utf-8")
        written = {"student": out / "student"}
        if not student_only:
            teacher = work / "teacher"
            for n in names:
                _clean_copy(SOLUTION_DIR / f"{n}.ipynb", teacher / "solutions" / f"{n}.ipynb")
            shutil.copyfile(GUIDE, teacher / "guide.md")
            io.write_table(answer_key(raw), teacher / "answer_key.csv")
            if execute:
                # The bundled data need no parameter (a notebook finds them from any folder); other data do.
                other = {} if raw.resolve() == paths.RAW.resolve() else {"raw_dir": str(raw.resolve())}
                for n in names:
                    params = other if "raw_dir" in parameters_cell(SOLUTION_DIR / f"{n}.ipynb") else {}
                    code = runner.run(teacher / "solutions" / f"{n}.ipynb", teacher / "expected" / f"{n}.ipynb",
                                      params, cwd=teacher / "solutions")
                    if code:
                        raise TeachingError(f"the solution {n} failed on {raw}; open it in JupyterLab to see why")
                    _drop_run_times(teacher / "expected" / f"{n}.ipynb")
            note = "" if execute else " (not written: packs built without execution)"
            (teacher / "README.md").write_text(TEACHER_README.format(table=_pack_table(), expected_note=note),
                                               encoding="utf-8")
            written["teacher"] = out / "teacher"
        (work / PACK_MARKER).write_text("written by `integrating teaching-packs`; replaced when it runs again\n",
                                        encoding="utf-8")
        old = None
        if out.exists():  # swap: the former packs stay whole until the new ones are in place
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            out.rename(old / out.name)
        work.rename(out)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if work.exists():
            shutil.rmtree(work)
    return written
