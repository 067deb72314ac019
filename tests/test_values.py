"""The study's named values (integrating.values): computed from the derived tables, written, read back."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from integrating import values as V
from paper_fixtures import write_study


@pytest.fixture
def study(tmp_path):
    derived, raw = write_study(tmp_path)
    return derived, raw, {v.name: v for v in V.compute(derived, raw)}


def _column_sum(path, column, where=None):
    with open(path, newline="", encoding="utf-8") as fh:
        return sum(int(r[column]) for r in csv.DictReader(fh) if where is None or r["group"] == where)


def test_counts_agree_with_an_independent_sum_of_the_tables(study):
    derived, _, vals = study
    inventory, segments = derived / "inventory.csv", derived / "clinic_segments.csv"
    for col in ("n_documents", "n_field_notes", "n_meeting_minutes", "n_interviews", "n_responses_pre"):
        assert vals[f"data.{col}"].value == _column_sum(inventory, col)
    for g in ("more", "less"):
        assert vals[f"seg.{g}.n_implemented"].value == _column_sum(segments, "n_implemented", g)
        assert vals[f"seg.{g}.n_changes"].value == _column_sum(segments, "n_changes", g)
    assert vals["seg.all.n_clinics"].text() == "6"
    assert vals["clinic.K5.n_implemented"].text() == "0"
    assert vals["clinic.ids"].text() == "K1; K2; K3; K4; K5; K6"
    assert vals["study.months"].text() == "9" and vals["study.synthetic"].text() == "no"


def test_holm_adjusted_p_by_hand(study):
    *_, vals = study
    # two tests, p = 0.7 and 0.2: Holm gives min(1, 2 * 0.2) = 0.4, then max(0.4, 1 * 0.7) = 0.7
    assert vals["mech.negotiating.p_holm"].value == pytest.approx(0.4)
    assert vals["mech.engaging_groups.p_holm"].value == pytest.approx(0.7)
    assert vals["mech.n_distinguishing"].text() == "1"


def test_analyses_the_data_cannot_support_are_labelled_with_the_reason(study):
    *_, vals = study
    kappa = vals["reliability.kappa"]
    assert not kappa.computable and "coding_reliability.csv was not written" in kappa.reason
    assert kappa.text() == "not computable"
    assert not vals["robust.multiverse.n_specs"].computable
    welch = vals["survey.welch_t.p"]
    assert not welch.computable and "no row for analysis welch_t" in welch.reason
    assert "reports no p_value" in vals["survey.hedges_g.p"].reason


def test_values_csv_round_trips_and_is_deterministic(study, tmp_path):
    *_, vals = study
    out = tmp_path / "values.csv"
    V.write(list(vals.values()), out)
    first = out.read_bytes()
    back = V.read(out)
    assert list(back) == list(vals)
    assert all(back[n].text() == v.text() for n, v in vals.items())
    assert back["reliability.kappa"].reason == vals["reliability.kappa"].reason
    V.write(list(V.read(out).values()), out)
    assert out.read_bytes() == first
    assert list(pd.read_csv(out).columns) == V.COLUMNS


def test_a_malformed_values_file_names_line_and_column(tmp_path):
    path = tmp_path / "values.csv"
    path.write_text("name,value,unit,rounding,source\na,1,x,integer,s\nb,abc,x,decimals:2,s\n")
    with pytest.raises(V.ValuesError, match=r"line 3, column value: 'abc'; expected a number"):
        V.read(path)
    path.write_text("name,value,unit,rounding,source\na,1,x,sig:2,s\n")
    with pytest.raises(V.ValuesError, match=r"line 2, column rounding: 'sig:2'"):
        V.read(path)
    with pytest.raises(V.ValuesError, match="not found"):
        V.read(tmp_path / "absent.csv")


@pytest.mark.parametrize("value, rounding, text", [
    (0.125, "decimals:2", "0.13"), (-0.125, "decimals:2", "-0.13"), (-0.001, "decimals:2", "0.00"),
    (0.0744, "decimals:2", "0.07"), (0.5, "percent:0", "50"), (0.9607, "percent:0", "96"),
    (0.0239, "p:2", "0.02"), (0.0004, "p:2", "< 0.01"), (0.00017, "p:3", "< 0.001"), (2.5, "integer", "3"),
    ("a; b", "text", "a; b"),
])
def test_rounding_is_half_away_from_zero_as_in_the_claims_check(value, rounding, text):
    assert V.format_value(value, rounding) == text


def test_the_printed_numbers_agree_with_the_claims_check(study):
    *_, vals = study
    claims = pd.DataFrame({"claim_id": ["n_more", "change_more", "p_change", "n_less"],
                           "reproduced": ["3", "-0.05", "0.32", ""]})
    assert V.disagreements_with_claims(vals, claims) == []
    claims.loc[1, "reproduced"] = "-0.04"
    assert V.disagreements_with_claims(vals, claims) == [
        "change_more reproduced -0.04, value survey.more.mean_change prints -0.05"]


def test_a_disagreement_with_the_claims_table_stops_the_values_step(tmp_path):
    derived, raw = write_study(tmp_path)
    pd.DataFrame({"claim_id": ["n_clinics"], "reproduced": ["7"]}).to_csv(derived / "claims_check.csv", index=False)
    with pytest.raises(V.ValuesError, match="n_clinics reproduced 7, value seg.all.n_clinics prints 6"):
        V.compute(derived, raw)
