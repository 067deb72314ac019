"""Teaching exercises: each runs unsolved without error, and its self-check passes with the solution filled in."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from integrating import paths

TEACHING = paths.NOTEBOOKS / "teaching"
EXERCISES = sorted(TEACHING.glob("*.ipynb"))
NAMES = [p.stem for p in EXERCISES]


def tagged(nb, tag):
    cells = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}"
    return cells[0]


def test_there_are_two_or_three_exercises_each_with_a_solution():
    assert 2 <= len(EXERCISES) <= 3
    for path in EXERCISES:
        assert (TEACHING / "solutions" / path.name).exists(), path.name


@pytest.mark.parametrize("name", NAMES)
def test_solution_is_the_exercise_with_the_answer_filled_in(name):
    exercise = nbformat.read(TEACHING / f"{name}.ipynb", as_version=4)
    solution = nbformat.read(TEACHING / "solutions" / f"{name}.ipynb", as_version=4)
    nbformat.validate(exercise)
    for nb in (exercise, solution):
        assert nb.metadata["kernelspec"]["name"] == "integrating"
        assert nb.metadata["kernelspec"]["display_name"] == "Python (integrating)"
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
    # same cells, except the answer cell; the solution may add explanations at the end
    assert len(solution.cells) >= len(exercise.cells)
    for ex, so in zip(exercise.cells, solution.cells):
        if "answer" in ex.metadata.get("tags", []):
            assert "answer" in so.metadata.get("tags", [])
            continue
        assert (ex.cell_type, ex.source) == (so.cell_type, so.source)
    assert all(c.cell_type == "markdown" for c in solution.cells[len(exercise.cells):])
    # the unsolved answer cell only sets placeholders
    answer = tagged(exercise, "answer").source
    assert all(line.split("=")[1].split("#")[0].strip() == "None" for line in answer.splitlines() if "=" in line)
    tagged(exercise, "parameters"), tagged(exercise, "self-check")
    assert exercise.cells[0].cell_type == "markdown" and exercise.cells[0].source.startswith("# Exercise")


def outputs_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif out.get("output_type") == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
    return "".join(parts)


@pytest.mark.notebook
@pytest.mark.parametrize("name", NAMES)
def test_exercise_runs_unsolved_and_passes_its_self_check_when_solved(name, tmp_path, bundled_raw):
    """One kernel: the exercise as a student finds it (self-check says 'not answered yet'), then the
    solution's answer cell and the self-check again (it must say 'All right!')."""
    import papermill

    exercise = nbformat.read(TEACHING / f"{name}.ipynb", as_version=4)
    solution = nbformat.read(TEACHING / "solutions" / f"{name}.ipynb", as_version=4)
    combined = copy.deepcopy(exercise)
    check = copy.deepcopy(tagged(exercise, "self-check"))
    check["id"] = "solved-check"
    answer = copy.deepcopy(tagged(solution, "answer"))
    answer["id"] = "solved-answer"
    combined.cells += [answer, check]
    source = tmp_path / f"{name}.ipynb"
    nbformat.write(combined, source)
    parameters = {"raw_dir": str(bundled_raw)} if "raw_dir" in tagged(exercise, "parameters").source else {}
    out = papermill.execute_notebook(str(source), str(tmp_path / "out.ipynb"), parameters=parameters,
                                     kernel_name="integrating", cwd=str(tmp_path), progress_bar=False)
    checks = [c for c in out.cells if "self-check" in c.metadata.get("tags", [])]
    unsolved, solved = outputs_text(checks[0]), outputs_text(checks[-1])
    assert "Not answered yet" in unsolved, unsolved
    assert "All right!" in solved and "NOT YET" not in solved, solved
    assert not list(Path(tmp_path).glob("data")), "an exercise must not write into its working folder"


@pytest.mark.notebook
def test_a_wrong_answer_is_called_not_yet(tmp_path):
    import papermill

    exercise = nbformat.read(TEACHING / "03_design_power.ipynb", as_version=4)
    tagged(exercise, "answer").source = "answer_clinics_100 = 16\nanswer_clinics_400 = 16\nanswer_eight_enough = None\n"
    nbformat.write(exercise, tmp_path / "wrong.ipynb")
    out = papermill.execute_notebook(str(tmp_path / "wrong.ipynb"), str(tmp_path / "out.ipynb"),
                                     kernel_name="integrating", cwd=str(tmp_path), progress_bar=False)
    text = outputs_text(tagged(out, "self-check"))
    assert text.count("NOT YET") == 2 and "not answered yet" in text and "All right" not in text
