"""A small study's derived tables, written by hand, for the values and the manuscript tests.

Its results differ from the bundled study's on purpose: six clinics; ratings fell where more was
implemented and rose where less was; one of two mechanisms is weakly distinguishing; the Student
t-test is not significant; a single coder (no agreement table), no sensitivity or multiverse table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

CLINICS = pd.DataFrame({
    "clinic_id": ["K1", "K2", "K3", "K4", "K5", "K6"],
    "n_changes": [4, 6, 5, 5, 3, 7],
    "n_implemented": [3, 5, 4, 1, 0, 2],
    "group": ["more", "more", "more", "less", "less", "less"],
})
CLINICS["implementation_share"] = CLINICS["n_implemented"] / CLINICS["n_changes"]
INVENTORY = pd.DataFrame({
    "clinic_id": ["K1", "K2", "K3", "K4", "K5", "K6"],
    "n_documents": [11, 9, 12, 8, 10, 13],
    "n_field_notes": [6, 4, 7, 3, 5, 8],
    "n_meeting_minutes": [3, 3, 3, 3, 3, 3],
    "n_interviews": [2, 2, 2, 2, 2, 2],
    "n_coded_segments": [41, 38, 52, 29, 33, 47],
    "n_responses_pre": [31, 27, 44, 36, 29, 40],
    "n_responses_post": [33, 25, 39, 38, 30, 42],
})
MECHANISMS = pd.DataFrame({
    "code": ["engaging_groups", "negotiating"],
    "label": ["Engaging groups", "Negotiating"],
    "measure": ["documents per 10", "documents per 10"],
    "mean_more": [3.21, 2.48], "mean_less": [2.96, 1.37], "difference": [0.25, 1.11],
    "effect_size": [0.21, 0.93],
    "test": ["Wilcoxon-Mann-Whitney U, two-sided, exact permutation distribution (mid-ranks for ties)"] * 2,
    "statistic": [5.5, 8.0], "p_value": [0.7, 0.2], "verdict": ["not distinguishing", "weakly distinguishing"],
    "n_more": [3, 3], "n_less": [3, 3],
})
EXCERPTS = pd.DataFrame({"code": ["negotiating"], "clinic_id": ["K2"], "document_id": ["K2-FN01"],
                         "segment_id": ["S1"], "excerpt": ["The manager swapped two shifts to free the nurses."]})
GROUP_CHANGE = pd.DataFrame({
    "group": ["less", "more"], "n_clinics": [3, 3], "mean_change": [0.1234, -0.0461],
    "ci_low": [-0.2113, -0.3377], "ci_high": [0.4581, 0.2455], "sd_change": [0.13, 0.12],
})
_T = "two-sample Student t-test (equal variances), two-sided; estimate = mean change more - less; 95% CI"
EFFECTS = pd.DataFrame({
    "analysis": ["student_t", "hedges_g"], "estimate": [-0.1695, -1.09], "statistic": [-1.1321, None],
    "df": [4, 4], "p_value": [0.3208, None], "ci_low": [-0.5852, -2.71], "ci_high": [0.2462, 0.53],
    "n_more": [3, 3], "n_less": [3, 3], "test": [_T, "Hedges g of clinic-level change, more - less"],
})


def write_study(root: Path, *, synthetic: bool = False) -> tuple[Path, Path]:
    """Write the derived tables and a descriptor under ``root``; return (derived_dir, raw_dir)."""
    derived, raw = root / "derived", root / "raw"
    derived.mkdir(parents=True)
    raw.mkdir(parents=True)
    for name, df in (("clinic_segments", CLINICS), ("inventory", INVENTORY), ("mechanism_comparison", MECHANISMS),
                     ("mechanism_excerpts", EXCERPTS), ("survey_group_change", GROUP_CHANGE),
                     ("survey_effects", EFFECTS)):
        df.to_csv(derived / f"{name}.csv", index=False)
    study = {"months": 9, "start_date": "2019-03-01", "synthetic": synthetic, "description": "a test study"}
    (raw / "datapackage.json").write_text(json.dumps({"name": "t", "study": study}), encoding="utf-8")
    return derived, raw
