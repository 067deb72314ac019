"""The committed notebooks are clean, thin and paired with their text files; in the notebook tier each
pipeline notebook runs under papermill with non-default parameters on a small synthetic study (in
pipeline order, outputs in a scratch folder)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import jupytext
import nbformat
import pandas as pd
import pytest

from integrating import dependencies, multiverse, paths, runner

NOTEBOOKS = sorted(paths.NOTEBOOKS.rglob("*.ipynb"))
PIPELINE = sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
#: A code cell longer than this is a function waiting to move into the package.
MAX_CELL_LINES = 25

# Pipeline order, each with parameters that differ from config.yaml's to exercise other paths.
RUNS = [
    ("01_data_inventory", {}),
    ("02_case_segmentation", {"segmentation_rule": "median", "show_excerpts": False}),
    ("04_survey_effect", {"permutation_max_exact": 10, "permutation_draws": 2000, "confidence_level": 0.9}),
    ("03_conceptual_model", {"max_clinic_panels": 4}),
    ("05_claims_check", {}),
    ("06_robustness", {"threshold_grid": [0.4, 0.6], "multiverse_max_loo_clinics": 2}),
]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(paths.NOTEBOOKS).as_posix())
def test_committed_notebooks_are_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == runner.KERNEL
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: committed with outputs"
    if not path.parent.name == "solutions":
        assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells), f"{path.name}: no parameters cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(paths.NOTEBOOKS).as_posix())
def test_notebooks_define_no_functions_and_keep_cells_short(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        tree = ast.parse(dependencies.python_source(cell.source))
        defined = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        assert not defined, f"{path.name}, code cell {i}: defines {defined}; move it into the package"
        assert len(cell.source.splitlines()) <= MAX_CELL_LINES, f"{path.name}, code cell {i}: longer than {MAX_CELL_LINES} lines"
        assert "export_readme_figure" not in cell.source, f"{path.name}: a run must not change a committed file"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(paths.NOTEBOOKS).as_posix())
def test_each_notebook_has_its_text_file_in_step(path):
    text = path.with_suffix(".py")
    assert text.is_file(), f"{text} is missing; run `make notebooks`"
    expected = jupytext.writes(jupytext.read(path), fmt="py:percent")
    assert text.read_text(encoding="utf-8") == expected, f"{text.name} and {path.name} differ; run `make notebooks`"


@pytest.mark.parametrize("path", PIPELINE, ids=lambda p: p.stem)
def test_pipeline_notebooks_open_with_parameters_and_close_the_run(path):
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), f"{path.name}: the first code cell must be the parameters"
    assert code[-1].source.strip().startswith("run.finish()"), f"{path.name}: the last code cell must be run.finish()"
    # The record's parameters come from the parameters cell, never from a list written out again.
    assert f'provenance.Run.start("{path.stem}", globals())' in code[1].source, path.name


@pytest.fixture(scope="module")
def executed(tmp_path_factory, small_raw):
    out = tmp_path_factory.mktemp("notebooks")
    folders = {"raw_dir": str(small_raw), "derived_dir": str(out / "derived"), "figures_dir": str(out / "figures"),
               "provenance_dir": str(out / "provenance")}
    results = {}
    for name, params in RUNS:
        code = runner.run(paths.NOTEBOOKS / f"{name}.ipynb", out / "executed" / f"{name}.ipynb",
                          {**folders, **params}, cwd=paths.ROOT)
        results[name] = code
    return out, results


@pytest.mark.notebook
@pytest.mark.parametrize("name", [name for name, _ in RUNS])
def test_notebook_runs_with_other_parameters(executed, name):
    out, results = executed
    assert results[name] == 0, f"{name} failed; see {out / 'executed' / (name + '.ipynb')}"
    record = json.loads((out / "provenance" / f"{name}.json").read_text())
    assert record["outputs"], f"{name} declared no output"
    params = dict(RUNS)[name]
    for key, value in params.items():
        assert record["parameters"][key] == value


@pytest.mark.notebook
def test_parameters_reach_the_analyses(executed):
    out, _ = executed
    assert not (out / "derived" / "mechanism_excerpts.csv").exists()  # show_excerpts = False
    effects = pd.read_csv(out / "derived" / "survey_effects.csv").set_index("analysis")
    assert effects.loc["permutation_exact", "test"].startswith("Monte Carlo")
    assert "90% CI" in effects.loc["student_t", "test"]


@pytest.mark.notebook
def test_robustness_writes_the_multiverse_and_its_figures(executed):
    out, _ = executed
    table = pd.read_csv(out / "derived" / "multiverse.csv", keep_default_na=False, na_values=[""])
    assert list(table.columns) == multiverse.COLUMNS and table["primary"].sum() == 1
    summary = pd.read_csv(out / "derived" / "multiverse_summary.csv")
    assert summary.iloc[0]["n_specs"] == len(table)
    for stem in ("multiverse_curve", "multiverse_choices"):
        for ext in ("svg", "pdf", "png", "txt"):
            assert (out / "figures" / f"{stem}.{ext}").exists()
    record = json.loads((out / "provenance" / "06_robustness.json").read_text())
    assert {Path(o["path"]).name for o in record["outputs"]} >= {"multiverse.csv", "multiverse_summary.csv"}
