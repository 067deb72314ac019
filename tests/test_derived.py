"""The registry of derived tables and the conceptual-model notebook."""

from __future__ import annotations

import json
import re

import matplotlib
import pytest
from figure_fixtures import (
    clinic_tables,
)

from integrating import (
    conceptual_model,
    derived,
    evidenced_model,
    paths,
    plotting,
)
from integrating.errors import AnalysisError


@pytest.fixture(autouse=True)
def style():
    with matplotlib.rc_context():
        plotting.use_style()
        yield


def test_read_derived_checks_file_and_columns(tmp_path):
    with pytest.raises(AnalysisError, match="not found"):
        derived.read_derived(tmp_path / "survey_effects.csv")
    seg, _, _ = clinic_tables(3)
    seg.to_csv(tmp_path / "clinic_segments.csv", index=False)
    back = derived.read_derived(tmp_path / "clinic_segments.csv")
    assert back["clinic_id"].tolist() == seg["clinic_id"].tolist()
    seg.drop(columns="n_changes").to_csv(tmp_path / "clinic_segments.csv", index=False)
    with pytest.raises(AnalysisError, match="missing column.*n_changes"):
        derived.read_derived(tmp_path / "clinic_segments.csv")
    assert evidenced_model.evidence_tables(conceptual_model.load()) == ["clinic_segments", "mechanism_comparison",
                                                   "stakeholder_connections", "survey_group_change",
                                                   "survey_effects"]


NOTEBOOK = paths.NOTEBOOKS / "03_conceptual_model.ipynb"


@pytest.mark.skipif(not NOTEBOOK.exists(), reason="notebook not written yet")
def test_notebook_is_thin_clean_and_never_exports_the_readme_copy():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "integrating"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"].get("tags", [])
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    source = "\n".join("".join(c["source"]) for c in code)
    assert "export_readme_figure" not in source
    assert "".join(code[-1]["source"]).strip() == "run.finish()"
    params = "".join(code[0]["source"])
    for name in ("raw_dir", "derived_dir", "figures_dir", "provenance_dir", "model_file", "max_clinic_panels"):
        assert re.search(rf"^{name} = ", params, re.M), name
