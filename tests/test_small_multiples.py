"""Figure C: per-clinic small multiples, from hand-made derived tables."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from figure_fixtures import (  # style: autouse, the compendium's figure style
    style,  # noqa: F401
    MECH,
    STAKE,
    WIDTHS,
    clinic_tables,
    evidence_kwargs,
    overlaps,
)

from integrating import (
    conceptual_model,
    evidenced_model,
    overlap,
    plotting,
    small_multiples,
)
from integrating.errors import AnalysisError


def test_small_multiples_data_hand_worked():
    _, mm, con = clinic_tables(4)  # shares 0, 1/3, 2/3, 1
    con = con[con["clinic_id"].ne("K01")]  # a clinic absent from the connections: not connected
    clinics = pd.DataFrame({"clinic_id": ["K00", "K03"], "clinic_label": ["North", None]})
    codebook = pd.DataFrame({"code": ["physicians", "negotiating"], "label": ["Doctors", "Bargaining"],
                             "category": ["stakeholder", "mechanism"], "definition": "x"})
    d = small_multiples.clinic_small_multiples_data(mm, con, codebook=codebook, clinics=clinics)
    assert list(d.columns) == small_multiples.SMALL_COLUMNS
    assert list(d.drop_duplicates("panel")["clinic_id"]) == ["K03", "K02", "K01", "K00"]
    assert list(d.drop_duplicates("panel")["clinic_label"]) == ["K03", "K02", "K01", "North"]
    assert len(d) == 4 * (len(MECH) + len(STAKE))
    k02 = d[d["clinic_id"].eq("K02")].set_index("code")
    assert [k02.loc[c, "value"] for c in MECH] == [2, 0, 1, 2]  # (2 + k) % 3, copied from the rates
    assert [k02.loc[c, "present"] for c in MECH] == [True, False, True, True]
    k03 = d[d["clinic_id"].eq("K03")].set_index("code")
    assert [k03.loc[c, "present"] for c in STAKE] == [True, False, True, False]  # 3*(k+1) odd
    assert [k03.loc[c, "value"] for c in STAKE] == [2.0, 0.0, 2.0, 0.0]  # 1 overlap per 5 documents = 2 per 10
    assert not d.loc[d["clinic_id"].eq("K01") & d["kind"].eq("stakeholder"), "present"].any()
    labels = d.drop_duplicates("code").set_index("code")["label"]
    assert labels["physicians"] == "Doctors" and labels["negotiating"] == "Bargaining"
    assert labels["engaging_groups"] == "Engaging groups" and labels["front_desk"] == "Front desk"
    # a clinic without documents: its connections per 10 documents are 0, not NaN
    con.loc[con["clinic_id"].eq("K00"), STAKE] = 1
    mm.loc[mm["clinic_id"].eq("K00"), "n_documents"] = 0
    d0 = small_multiples.clinic_small_multiples_data(mm, con)
    assert not d0["value"].isna().any()
    assert not d0.loc[d0["clinic_id"].eq("K00") & d0["kind"].eq("stakeholder"), "present"].any()


def test_ties_in_share_are_ordered_by_clinic_id_and_the_cap_spreads_evenly():
    _, mm, con = clinic_tables(10)
    mm["implementation_share"] = 0.5
    d = small_multiples.clinic_small_multiples_data(mm, con)
    assert list(d.drop_duplicates("panel")["clinic_id"]) == sorted(mm["clinic_id"])
    capped = small_multiples.clinic_small_multiples_data(mm, con, max_clinics=4)
    assert list(capped.drop_duplicates("panel")["clinic_id"]) == ["K00", "K03", "K06", "K09"]
    assert "4 of 10 clinics" in small_multiples.clinic_small_multiples_caption(capped, 10, True)
    with pytest.raises(AnalysisError, match="no clinics"):
        small_multiples.clinic_small_multiples_data(mm.iloc[:0], con)


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_figure_c_has_no_overlaps(width):
    _, mm, con = clinic_tables(11)
    fig = small_multiples.clinic_small_multiples_plot(small_multiples.clinic_small_multiples_data(mm, con), width)
    plotting.label_synthetic(fig, True)
    assert len(fig.axes) == 11
    assert overlaps(fig) == []
    assert overlap.layout_problems(fig) == []


def test_figure_c_without_stakeholder_codes():
    _, mm, con = clinic_tables(3)
    fig = small_multiples.clinic_small_multiples_plot(small_multiples.clinic_small_multiples_data(mm, con[["clinic_id", "group"]]))
    assert overlap.layout_problems(fig) == []


def test_data_functions_scale_to_1600_clinics():
    _, mm, con = clinic_tables(1600)
    seg = clinic_tables(1600)[0]
    start = time.perf_counter()
    d = small_multiples.clinic_small_multiples_data(mm, con, max_clinics=48)
    e = evidenced_model.evidenced_model_data(conceptual_model.load(), **{**evidence_kwargs(), "clinic_segments": seg,
                                                     "stakeholder_connections": con})
    assert time.perf_counter() - start < 3
    assert d["panel"].nunique() == 48 and len(e)
