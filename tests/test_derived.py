"""The registry of derived tables: reading a table checks that it exists and has its agreed columns."""

from __future__ import annotations


import pytest
from figure_fixtures import (
    clinic_tables,
)

from integrating import (
    conceptual_model,
    derived,
    evidenced_model,
)
from integrating.errors import AnalysisError


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
