"""Notebook tier: the committed notebooks are clean, and each runs under papermill with
non-default parameters on a small synthetic study (in pipeline order, outputs in a scratch folder)."""

from __future__ import annotations

import json

import nbformat
import pandas as pd
import pytest

from integrating import paths, runner

NOTEBOOKS = sorted(paths.NOTEBOOKS.rglob("*.ipynb"))

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
