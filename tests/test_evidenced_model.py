"""Figure B: the evidenced model, from hand-made derived tables."""

from __future__ import annotations

import re

import numpy as np
import pytest
from figure_fixtures import (  # style: autouse, the compendium's figure style
    style,  # noqa: F401
    STAKE,
    WIDTHS,
    base_data,
    evidence_kwargs,
    overlaps,
    write_model,
)
from matplotlib.text import Text

from integrating import (
    conceptual_model,
    evidenced_model,
    overlap,
    plotting,
)
from integrating.errors import AnalysisError


def test_evidenced_model_data_matches_hand_worked_values():
    kw = evidence_kwargs(8)  # shares 0, 1/7, ..., 1: less = first four, more = last four
    data = evidenced_model.evidenced_model_data(conceptual_model.load(), **kw)
    assert list(data.columns) == evidenced_model.EVIDENCE_COLUMNS
    assert not data["value"].isna().any()

    def value(node, measure, group=""):
        hit = data[data["node"].eq(node) & data["measure"].str.startswith(measure) & data["group"].eq(group)]
        assert len(hit) == 1, (node, measure, group)
        return hit.iloc[0]

    assert value("implementation", "mean implementation share", "more")["value"] == pytest.approx((4 + 5 + 6 + 7) / 28)
    assert value("implementation", "mean implementation share", "less")["value"] == pytest.approx((0 + 1 + 2 + 3) / 28)
    assert value("implementation", "mean implementation share", "more")["n"] == 4
    # connections: clinic i connects stakeholder k when i*(k+1) is odd; by hand per clinic:
    per_clinic = [0, 2, 0, 2, 0, 2, 0, 2]
    assert value("unity_of_effort", "mean stakeholder", "less")["value"] == pytest.approx(np.mean(per_clinic[:4]))
    assert value("unity_of_effort", "mean stakeholder", "more")["value"] == pytest.approx(np.mean(per_clinic[4:]))
    assert value("unity_of_effort", "stakeholder groups coded")["value"] == len(STAKE)
    eg = value("engaging_groups", "p_value")
    assert eg["value"] == 0.0123 and eg["test"].startswith("exact permutation") and eg["verdict"] == "strongly"
    assert value("engaging_groups", "mean (documents per 10)", "more")["value"] == 5.25
    assert value("sensemaking", "effect_size")["value"] == 0.9
    assert value("performance", "mean change", "less")["value"] == -0.081
    p = value("performance", "p_value")
    assert p["value"] == 0.0214 and p["test"] == "Student t-test, two-sided" and p["source"] == "survey_effects.csv"


def test_the_survey_analysis_comes_from_the_model_file(tmp_path):
    data = base_data()
    data["nodes"][-1]["evidence"] = {"kind": "survey", "analysis": "welch_t"}
    m = conceptual_model.load(write_model(tmp_path, data))
    out = evidenced_model.evidenced_model_data(m, **evidence_kwargs())
    assert out.loc[out["node"].eq("performance") & out["measure"].eq("p_value"), "value"].item() == 0.026
    data["nodes"][-1]["evidence"] = {"kind": "survey", "analysis": "ancova"}
    with pytest.raises(AnalysisError, match=r"0 row\(s\) for analysis 'ancova'.*student_t, welch_t"):
        evidenced_model.evidenced_model_data(conceptual_model.load(write_model(tmp_path, data)), **evidence_kwargs())


def test_evidenced_model_data_errors_name_table_and_key():
    m = conceptual_model.load()
    kw = evidence_kwargs()
    with pytest.raises(AnalysisError, match="needs survey_effects.csv"):
        evidenced_model.evidenced_model_data(m, **{**kw, "survey_effects": None})
    with pytest.raises(AnalysisError, match=r"0 row\(s\) for code 'negotiating'"):
        evidenced_model.evidenced_model_data(m, **{**kw, "mechanism_comparison": kw["mechanism_comparison"].iloc[:3]})
    with pytest.raises(AnalysisError, match="clinic_segments.csv: missing column"):
        evidenced_model.evidenced_model_data(m, **{**kw, "clinic_segments": kw["clinic_segments"].drop(columns="group")})
    bad = kw["clinic_segments"].assign(group="middle")
    with pytest.raises(AnalysisError, match="column 'group' has value"):
        evidenced_model.evidenced_model_data(m, **{**kw, "clinic_segments": bad})


def test_an_empty_group_and_a_missing_p_value_are_left_out_not_nan():
    m = conceptual_model.load()
    kw = evidence_kwargs()
    kw["clinic_segments"] = kw["clinic_segments"].assign(group="more")
    kw["stakeholder_connections"] = kw["stakeholder_connections"].assign(group="more")
    kw["survey_group_change"] = kw["survey_group_change"].iloc[1:]
    kw["survey_effects"] = kw["survey_effects"].assign(p_value=np.nan)
    data = evidenced_model.evidenced_model_data(m, **kw)
    assert not data["value"].isna().any()
    assert not ((data["evidence"] == "implementation") & (data["group"] == "less")).any()
    notes = evidenced_model.evidence_notes(m, data)
    assert "less n/a" in " ".join(notes["implementation"]) and "p n/a" in notes["performance"]
    assert overlap.layout_problems(evidenced_model.evidenced_model_plot(m, data)) == []


NUMBER = re.compile(r"(?<![\w.])([+\u2212-]?\d*\.?\d+)(%?)")


def test_every_number_on_figure_b_comes_from_the_table():
    m = conceptual_model.load()
    data = evidenced_model.evidenced_model_data(m, **evidence_kwargs())
    fig = evidenced_model.evidenced_model_plot(m, data)
    notes = [t for t in fig.findobj(Text) if (t.get_gid() or "").startswith("note-")]
    assert len(notes) == sum(1 for n in m.nodes if n.evidence)
    checked = 0
    for t in notes:
        node = t.get_gid().split("-", 1)[1]
        values = data.loc[data["node"].eq(node), "value"].to_numpy()
        for number, percent in NUMBER.findall(t.get_text()):
            x = float(number.replace("\u2212", "-"))
            decimals = len(number.split(".")[1]) if "." in number else 0
            candidates = values * 100 if percent else values
            assert np.any(np.abs(candidates - x) <= 0.5 * 10 ** -decimals + 1e-9), (node, number, values)
            checked += 1
    assert checked >= 20


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_figure_b_has_no_overlaps_and_the_synthetic_stamp(width):
    m = conceptual_model.load()
    fig = evidenced_model.evidenced_model_plot(m, evidenced_model.evidenced_model_data(m, **evidence_kwargs()), width)
    plotting.label_synthetic(fig, True)
    assert "SYNTHETIC DATA" in [t.get_text() for t in fig.texts]
    assert overlaps(fig, m) == []
    assert overlap.layout_problems(fig) == []


def test_number_formats():
    assert plotting.fmt_p(0.0214) == "p = .021"
    assert plotting.fmt_p(0.0004) == "p < .001"
    assert plotting.fmt_p(1.0) == "p = 1.000"
    assert plotting.fmt_number(2.25, 1) == "2.3"  # half away from zero, not to even
    assert plotting.fmt_number(-0.081, 2, signed=True) == "\u22120.08"
    assert plotting.fmt_number(0.074, 2, signed=True) == "+0.07"
    assert plotting.fmt_number(-0.001, 2, signed=True) == "0.00"
