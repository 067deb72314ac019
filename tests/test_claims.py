"""Claims check: hand-made derived tables (the agreed columns), checked against scipy and brute force."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from integrating import claims, io, paths, survey

N_ITEMS = 6  # composite items of the hand-made survey (L = lcm(1..6) = 60)
L = 60
N_RESP = 1000  # responses per clinic and wave: means on a grid of 1 / 60000
Z_MORE = np.array([-1.6, -1.1, -0.6, -0.2, 0.1, 0.4, 0.7, 1.0, 1.3])
Z_LESS = np.array([-1.5, -0.9, -0.4, 0.0, 0.3, 0.9, 1.6])


def _standardise(z):
    return (z - z.mean()) / z.std(ddof=1)


def _grid(x, n=N_RESP):
    """Nearest mean achievable by n responses of a 6-item composite (a multiple of 1 / (n * L))."""
    return np.round(np.asarray(x) * n * L) / (n * L)


def write_raw(raw: Path, *, synthetic=True, months=15, n_items=N_ITEMS) -> Path:
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "datapackage.json").write_text(json.dumps(
        {"name": "x", "study": {"months": months, "start_date": "2014-01-01", "synthetic": synthetic}}))
    items = pd.DataFrame({"item": [f"q{i}" for i in range(1, n_items + 2)], "text": "t", "scale_min": 1,
                          "scale_max": 5, "reverse": "false", "in_composite": ["true"] * n_items + ["false"]})
    items.to_csv(raw / "survey_items.csv", index=False)
    return raw


def write_derived(derived: Path, *, change_more=0.07, change_less=-0.08, p=0.02, n_more=9, n_less=7,
                  verdicts=("strongly distinguishing",) * 3 + ("weakly distinguishing",)) -> pd.DataFrame:
    """Derived tables reproducing (by default) the published numbers, each computed independently.

    Clinic changes are the group means plus scaled fixed patterns whose pooled SD makes the Student
    t-test give ``p``; wave means sit on the GRIM grid. Group and effect tables come from pandas and
    scipy directly. Returns the clinic-level table.
    """
    derived.mkdir(parents=True, exist_ok=True)
    z_more, z_less = _standardise(Z_MORE[:n_more] if n_more <= 9 else np.linspace(-1, 1, n_more)), \
        _standardise(Z_LESS[:n_less] if n_less <= 7 else np.linspace(-1, 1, n_less))
    df = n_more + n_less - 2
    t = stats.t.isf(p / 2, df)
    s = (change_more - change_less) / (t * math.sqrt(1 / n_more + 1 / n_less))
    change = np.r_[change_more + s * z_more, change_less + s * z_less]
    ids = [f"C{i:02d}" for i in range(1, n_more + n_less + 1)]
    group = ["more"] * n_more + ["less"] * n_less
    mean_pre = _grid(3.6 + 0.01 * np.arange(len(ids)))
    mean_post = _grid(mean_pre + change)
    clinic = pd.DataFrame({"clinic_id": ids, "group": group, "n_pre": N_RESP, "n_post": N_RESP,
                           "mean_pre": mean_pre, "mean_post": mean_post})
    clinic["change"] = clinic["mean_post"] - clinic["mean_pre"]
    io.write_table(clinic, derived / "survey_clinic_change.csv")

    g = clinic.groupby("group", sort=True)["change"]
    groups = pd.DataFrame({"group": g.size().index, "n_clinics": g.size().to_numpy(),
                           "mean_change": g.mean().to_numpy(), "sd_change": g.std().to_numpy()})
    half = stats.t.ppf(0.975, groups["n_clinics"] - 1) * groups["sd_change"] / np.sqrt(groups["n_clinics"])
    groups.insert(3, "ci_low", groups["mean_change"] - half)
    groups.insert(4, "ci_high", groups["mean_change"] + half)
    io.write_table(groups, derived / "survey_group_change.csv")

    x, y = clinic.loc[clinic.group.eq("more"), "change"], clinic.loc[clinic.group.eq("less"), "change"]
    rows = []
    for name, equal in (("student_t", True), ("welch_t", False)):
        r = stats.ttest_ind(x, y, equal_var=equal)
        ci = r.confidence_interval(0.95)
        rows.append({"analysis": name, "estimate": x.mean() - y.mean(), "statistic": r.statistic, "df": r.df,
                     "p_value": r.pvalue, "ci_low": ci.low, "ci_high": ci.high, "n_more": len(x),
                     "n_less": len(y), "test": f"{name}, two-sided"})
    u = stats.mannwhitneyu(x, y)
    rows.append({"analysis": "mann_whitney", "estimate": np.nan, "statistic": u.statistic, "df": np.nan,
                 "p_value": u.pvalue, "ci_low": np.nan, "ci_high": np.nan, "n_more": len(x), "n_less": len(y),
                 "test": "Mann-Whitney U, two-sided"})
    io.write_table(pd.DataFrame(rows), derived / "survey_effects.csv")

    segments = pd.DataFrame({"clinic_id": ids, "n_changes": 4, "n_implemented": [3] * n_more + [1] * n_less,
                             "group": group})
    segments.insert(3, "implementation_share", segments["n_implemented"] / segments["n_changes"])
    io.write_table(segments, derived / "clinic_segments.csv")

    codes = ["engaging_groups", "bridging_communication", "sensemaking", "negotiating", "extra_mechanism"]
    comparison = pd.DataFrame({"code": codes, "label": codes, "measure": "documents per 10",
                               "mean_more": 5.0, "mean_less": 3.0, "difference": 2.0, "effect_size": 1.2,
                               "test": "exact Wilcoxon-Mann-Whitney, two-sided", "statistic": 50.0,
                               "p_value": 0.01, "verdict": list(verdicts) + ["not distinguishing"] * (5 - len(verdicts)),
                               "n_more": n_more, "n_less": n_less})
    io.write_table(comparison, derived / "mechanism_comparison.csv")

    inventory = pd.DataFrame({"clinic_id": ids, "n_documents": 6, "n_field_notes": 3, "n_meeting_minutes": 2,
                              "n_interviews": 1, "n_coded_segments": 20, "n_responses_pre": N_RESP,
                              "n_responses_post": N_RESP})
    io.write_table(inventory, derived / "inventory.csv")
    return clinic


@pytest.fixture
def dirs(tmp_path):
    raw, derived = write_raw(tmp_path / "raw"), tmp_path / "derived"
    write_derived(derived)
    return derived, raw


def _by_id(table):
    return table.set_index("claim_id")


# --- the claims file ----------------------------------------------------------------------------


def test_packaged_claims_file_lists_every_published_number():
    cf = claims.load_claims()
    ids = [c.id for c in cf.claims]
    assert ids == ["n_clinics", "study_months", "source_types", "n_more", "n_less", "mechanisms",
                   "change_more", "change_less", "p_change"]
    published = {c.id: c.published for c in cf.claims}
    assert published["change_more"] == 0.07 and published["change_less"] == -0.08 and published["p_change"] == 0.02
    for c in cf.claims:
        assert c.source and c.description and c.kind in claims.KINDS
        if c.kind == "rounded":
            assert c.decimals == 2
    assert {c.check for c in cf.checks} == set(claims.CHECKS)
    citation = yaml.safe_load((paths.ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cf.paper["doi"] == citation["references"][0]["doi"]


@pytest.mark.parametrize("bad, message", [
    ({"id": "x", "description": "d", "source": "s", "published": 1, "kind": "fuzzy",
      "from": {"table": "t.csv", "measure": "n_rows"}}, "kind 'fuzzy'"),
    ({"id": "x", "description": "d", "source": "s", "published": 1, "kind": "count",
      "from": {"table": "t.csv", "measure": "median"}}, "measure 'median'"),
    ({"id": "x", "description": "d", "source": "s", "published": 1, "kind": "rounded",
      "from": {"table": "t.csv", "measure": "value", "column": "c"}}, "rounding.decimals"),
    ({"id": "x", "published": 1, "kind": "count", "from": {"descriptor": "study.months"}}, "lacks description, source"),
    ({"id": "x", "description": "d", "source": "s", "published": 1, "kind": "count",
      "from": {"table": "t.csv", "descriptor": "study.months", "measure": "n_rows"}}, "exactly one of"),
])
def test_malformed_claims_file_is_refused_naming_the_problem(tmp_path, bad, message):
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump({"claims": [bad]}))
    with pytest.raises(claims.ClaimsFileError, match=re.escape(message)):
        claims.load_claims(path)


def test_unknown_check_and_duplicate_id_are_refused(tmp_path):
    path = tmp_path / "claims.yaml"
    c = {"id": "x", "description": "d", "source": "s", "published": 1, "kind": "count",
         "from": {"descriptor": "study.months"}}
    path.write_text(yaml.safe_dump({"claims": [c, c], "checks": [{"id": "y", "check": "nope", "description": "d"}]}))
    with pytest.raises(claims.ClaimsFileError) as err:
        claims.load_claims(path)
    assert "used twice" in str(err.value) and "unknown check 'nope'" in str(err.value)


# --- reproducing ----------------------------------------------------------------------------------


def test_tables_reproducing_the_paper_pass_every_claim_and_check(dirs):
    table = claims.check(*dirs)
    assert list(table.columns[:6]) == ["claim_id", "description", "published", "reproduced", "tolerance", "status"]
    assert table["status"].eq("pass").all(), table.loc[table.status.ne("pass"), ["claim_id", "reason"]]
    t = _by_id(table)
    assert t.loc["change_more", "reproduced"] == "+0.07" and t.loc["change_more", "published"] == "+0.07"
    assert t.loc["change_less", "reproduced"] == "-0.08"
    assert t.loc["p_change", "reproduced"] == "0.02"
    assert t.loc["source_types", "reproduced"] == "field_note; interview; meeting_minutes"
    # 3 strongly + 1 weakly; "not" not counted
    assert t.loc["mechanisms", "reproduced"] == "bridging_communication; engaging_groups; negotiating; sensemaking"
    # claims first (file order), then the consistency checks with one row per analysis / group
    assert table["claim_id"].tolist()[9:] == [
        "p_from_t.student_t", "p_from_t.welch_t", "t_from_group_summary", "estimate_is_difference",
        "group_mean_change.more", "group_mean_change.less", "clinic_change_arithmetic", "grim_clinic_means"]
    assert (table["kind"].eq("consistency")).sum() == 8


def test_reproduced_values_never_depend_on_the_published_ones(dirs):
    cf = claims.load_claims()
    absurd = dataclasses.replace(cf, claims=[
        dataclasses.replace(c, published=["nothing"] if isinstance(c.published, list) else 999) for c in cf.claims])
    honest, fooled = claims.check(*dirs, cf), claims.check(*dirs, absurd)
    n = len(cf.claims)
    assert honest["reproduced"].iloc[:n].tolist() == fooled["reproduced"].iloc[:n].tolist()
    assert fooled["status"].iloc[:n].eq("fail").all()


def test_other_data_fail_truthfully_naming_each_claim(tmp_path):
    raw = write_raw(tmp_path / "raw", months=12)
    write_derived(tmp_path / "derived", change_more=0.04, change_less=-0.11, p=0.027, n_more=10, n_less=6,
                  verdicts=("strongly distinguishing",) * 3)
    table = _by_id(claims.check(tmp_path / "derived", raw))
    expected = {"study_months": "12", "n_more": "10", "n_less": "6",
                "mechanisms": "bridging_communication; engaging_groups; sensemaking", "change_more": "+0.04",
                "change_less": "-0.11", "p_change": "0.03"}
    for cid, reproduced in expected.items():
        assert table.loc[cid, "status"] == "fail" and table.loc[cid, "reproduced"] == reproduced, cid
    assert table.loc["n_more", "reason"] == "differs by +1"
    assert table.loc["n_clinics", "status"] == "pass"
    assert (table.loc[table.kind == "consistency", "status"] == "pass").all()
    with pytest.raises(claims.ClaimsFailed) as err:
        claims.enforce(table.reset_index(), True)
    for cid in expected:
        assert f"{cid}:" in str(err.value)
    assert "n_clinics" not in str(err.value)
    assert claims.enforce(table.reset_index(), False) == "10 of 17 claims and checks pass; 7 fail"


@pytest.mark.parametrize("mean_more, status", [(0.0749, "pass"), (0.065, "pass"), (0.0751, "fail"), (0.0649, "fail")])
def test_rounded_claim_boundaries(mean_more, status):
    claim = next(c for c in claims.load_claims().claims if c.id == "change_more")
    assert claims.compare(claim, mean_more)[0] == status


def test_tolerance_widens_a_rounded_claim():
    claim = next(c for c in claims.load_claims().claims if c.id == "change_more")
    assert claims.compare(claim, 0.081)[0] == "fail"
    assert claims.compare(dataclasses.replace(claim, tolerance=0.01), 0.081)[0] == "pass"


# --- missing and malformed inputs: failing rows with the reason, never a crash ----------------------


def test_an_absent_table_makes_its_claims_not_checkable_with_the_reason(dirs):
    derived, raw = dirs
    (derived / "survey_effects.csv").unlink()
    t = _by_id(claims.check(derived, raw))
    for cid in ("p_change", "p_from_t.student_t", "p_from_t.welch_t", "t_from_group_summary", "estimate_is_difference"):
        assert t.loc[cid, "status"] == "not checkable" and "survey_effects.csv was not written" in t.loc[cid, "reason"], cid
    assert t.loc["change_more", "status"] == "pass" and t.loc["grim_clinic_means", "status"] == "pass"
    with pytest.raises(claims.ClaimsFailed, match="p_change"):  # make verify: not checkable is not reproduced
        claims.enforce(claims.check(derived, raw), fail_on_claims=True)


def test_missing_everything_passes_nothing(tmp_path):
    table = claims.check(tmp_path / "nothing", tmp_path / "nothing")
    assert len(table) == 17 and table["status"].isin(["fail", "not checkable"]).all()
    assert table["status"].eq("fail").any()  # the raw descriptor itself is missing: a failure, not a gap in the data
    assert table["reason"].str.startswith("not computable").all()


def test_missing_column_no_matching_row_and_empty_file(dirs):
    derived, raw = dirs
    groups = pd.read_csv(derived / "survey_group_change.csv")
    groups.loc[groups.group.eq("less"), "group"] = "fewer"
    groups.to_csv(derived / "survey_group_change.csv", index=False)
    pd.read_csv(derived / "clinic_segments.csv").drop(columns="group").to_csv(derived / "clinic_segments.csv", index=False)
    (derived / "mechanism_comparison.csv").write_text("")
    t = _by_id(claims.check(derived, raw))
    assert "0 rows of survey_group_change.csv match where group = less" in t.loc["change_less", "reason"]
    assert t.loc["change_more", "status"] == "pass"
    assert "clinic_segments.csv lacks column(s) group" in t.loc["n_more", "reason"]
    assert "cannot be read as CSV" in t.loc["mechanisms", "reason"]
    assert t.loc["group_mean_change.less", "status"] == "fail"


def test_non_numeric_value_fails(dirs):
    derived, raw = dirs
    eff = pd.read_csv(derived / "survey_effects.csv")
    eff["p_value"] = eff["p_value"].astype(object)
    eff.loc[0, "p_value"] = "about .02"
    eff.to_csv(derived / "survey_effects.csv", index=False)
    t = _by_id(claims.check(derived, raw))
    assert t.loc["p_change", "status"] == "fail" and "not a number" in t.loc["p_change", "reason"]


# --- consistency checks against independent computations -------------------------------------------


def test_p_from_t_recomputes_with_scipy_and_catches_a_wrong_p(dirs):
    derived, raw = dirs
    eff = pd.read_csv(derived / "survey_effects.csv")
    student = eff.loc[eff.analysis.eq("student_t")].iloc[0]
    t = _by_id(claims.check(derived, raw))
    expected = 2 * stats.t.sf(abs(student.statistic), student.df)
    assert float(t.loc["p_from_t.student_t", "reproduced"]) == pytest.approx(expected, rel=1e-9)
    eff.loc[eff.analysis.eq("welch_t"), "p_value"] *= 1.01
    io.write_table(eff, derived / "survey_effects.csv")
    t = _by_id(claims.check(derived, raw))
    assert t.loc["p_from_t.welch_t", "status"] == "fail" and t.loc["p_from_t.student_t", "status"] == "pass"
    assert "gives p =" in t.loc["p_from_t.welch_t", "reason"]


def test_t_from_group_summary_and_estimate(dirs):
    derived, raw = dirs
    groups = pd.read_csv(derived / "survey_group_change.csv")
    groups.loc[groups.group.eq("more"), "sd_change"] *= 1.05
    io.write_table(groups, derived / "survey_group_change.csv")
    t = _by_id(claims.check(derived, raw))
    assert t.loc["t_from_group_summary", "status"] == "fail"
    assert t.loc["estimate_is_difference", "status"] == "pass"
    assert t.loc["group_mean_change.more", "status"] == "fail"  # SD disagrees with the clinic table
    eff = pd.read_csv(derived / "survey_effects.csv")
    eff.loc[eff.analysis.eq("student_t"), "n_less"] = 6
    io.write_table(eff, derived / "survey_effects.csv")
    assert _by_id(claims.check(derived, raw)).loc["estimate_is_difference", "status"] == "fail"


def test_group_means_are_checked_against_the_clinic_table(dirs):
    derived, raw = dirs
    clinic = pd.read_csv(derived / "survey_clinic_change.csv")
    clinic.loc[clinic.clinic_id.eq("C12"), ["mean_post", "change"]] += 0.05  # a 'less' clinic, kept consistent
    io.write_table(clinic, derived / "survey_clinic_change.csv")
    t = _by_id(claims.check(derived, raw))
    assert t.loc["group_mean_change.less", "status"] == "fail"
    assert t.loc["group_mean_change.more", "status"] == "pass"
    assert t.loc["clinic_change_arithmetic", "status"] == "pass"
    assert float(t.loc["group_mean_change.less", "reproduced"]) == pytest.approx(
        clinic.loc[clinic.group.eq("less"), "change"].mean(), rel=1e-9)


def test_clinic_change_arithmetic_names_the_clinic(dirs):
    derived, raw = dirs
    clinic = pd.read_csv(derived / "survey_clinic_change.csv")
    clinic.loc[clinic.clinic_id.eq("C03"), "change"] += 0.001
    io.write_table(clinic, derived / "survey_clinic_change.csv")
    row = _by_id(claims.check(derived, raw)).loc["clinic_change_arithmetic"]
    assert row["status"] == "fail" and row["reason"] == "clinic(s) C03" and row["reproduced"] == "1"


# --- GRIM ------------------------------------------------------------------------------------------


def _achievable_means(n_items, lo, hi, n):
    """Brute force: every mean of n composites, each the mean of k in 1..n_items integer answers."""
    composites = {Fraction(sum(a), k) for k in range(1, n_items + 1)
                  for a in itertools.combinations_with_replacement(range(lo, hi + 1), k)}
    sums = {Fraction(0)}
    for _ in range(n):
        sums = {s + c for s in sums for c in composites}
    return sorted(s / n for s in sums)


@pytest.mark.parametrize("n_items, lo, hi, n", [(2, 1, 3, 2), (3, 1, 5, 2), (3, 1, 4, 3), (4, 1, 5, 1)])
def test_grim_accepts_every_achievable_mean_and_rejects_off_grid_ones(n_items, lo, hi, n):
    design = claims.GrimDesign(n_items, lo, hi)
    means = _achievable_means(n_items, lo, hi, n)
    texts = [io.FLOAT_FORMAT % float(m) for m in means]
    assert (claims.grim(texts, [n] * len(texts), design)["verdict"] == "consistent").all()
    grain = Fraction(1, n * design.denominator)
    off = [io.FLOAT_FORMAT % float(m + grain / 2) for m in means[:-1]]  # half-way between two grid points
    assert (claims.grim(off, [n] * len(off), design)["verdict"] == "inconsistent").all()
    # and the grid is exactly what brute force finds when every k is possible on a wide scale
    assert set(means) <= {Fraction(i, n * design.denominator) for i in range(lo * n * design.denominator,
                                                                              hi * n * design.denominator + 1)}


def test_grim_on_means_computed_by_the_survey_module(tmp_path):
    """Integer answers with missing items, scored by integrating.survey, written with io: all consistent."""
    rng = np.random.default_rng(3)
    n = 600
    items = pd.DataFrame({"item": [f"q{i}" for i in range(1, 7)], "text": "t", "scale_min": 1, "scale_max": 5,
                          "reverse": [False, True, False, False, True, False], "in_composite": True})
    answers = rng.integers(1, 6, size=(n, 6)).astype(float)
    answers[rng.random((n, 6)) < 0.2] = np.nan
    responses = pd.DataFrame(answers, columns=items["item"])
    responses.insert(0, "wave", np.where(np.arange(n) % 2, "post", "pre"))
    responses.insert(0, "clinic_id", [f"K{i % 7}" for i in range(n)])
    responses.insert(0, "response_id", [f"r{i}" for i in range(n)])
    scored = survey.composite_scores(responses, items, min_answered=0.5)
    groups = pd.Series(["more", "less"] * 3 + ["more"], index=[f"K{i}" for i in range(7)])
    table = survey.clinic_change(scored, groups).table
    raw = tmp_path / "raw"
    raw.mkdir()
    items.assign(reverse=items.reverse.map(str).str.lower(), in_composite="true").to_csv(raw / "survey_items.csv", index=False)
    derived = tmp_path / "derived"
    io.write_table(table, derived / "survey_clinic_change.csv")
    check = next(c for c in claims.load_claims().checks if c.check == "grim_clinic_means")
    row = claims.grim_clinic_means(check, derived, raw)[0]
    assert row["status"] == "pass" and "of 14 checked, 0 skipped" in row["description"]
    # one mean moved by half a grain: inconsistent, named
    text = pd.read_csv(derived / "survey_clinic_change.csv", dtype=str)
    k2 = table.loc[table.clinic_id.eq("K2")].iloc[0]
    text.loc[text.clinic_id.eq("K2"), "mean_pre"] = io.FLOAT_FORMAT % (k2.mean_pre + 0.5 / (k2.n_pre * L))
    text.to_csv(derived / "survey_clinic_change.csv", index=False)
    row = claims.grim_clinic_means(check, derived, raw)[0]
    assert row["status"] == "fail" and row["reason"].startswith("K2 pre (mean ") and row["reproduced"] == "1"


def test_grim_skips_what_it_cannot_discriminate_and_flags_out_of_range():
    design = claims.GrimDesign(6, 1, 5)
    res = claims.grim(["4.123456789", "4.25", "5.5", "0", "4.1"], [10 ** 8, 0, 10, 10, "x"], design)
    assert res["verdict"].tolist() == ["skipped", "skipped", "inconsistent", "inconsistent", "inconsistent"]
    assert "every mean at this precision is achievable" in res["detail"][0]
    assert "outside the scale 1..5" in res["detail"][2]


def test_grim_row_passes_with_skips_listed(dirs):
    derived, raw = dirs
    clinic = pd.read_csv(derived / "survey_clinic_change.csv", dtype=str)
    clinic.loc[0, "n_pre"] = "0"
    clinic.to_csv(derived / "survey_clinic_change.csv", index=False)
    row = _by_id(claims.check(derived, raw)).loc["grim_clinic_means"]
    assert row["status"] == "pass" and row["reason"] == "skipped: C01 pre (n = 0)"


@pytest.mark.parametrize("text, expected", [
    ("4.25", 5e-10), ("0.0744375161", 5e-12), ("1e-05", 5e-15), ("312.3456789", 5e-8), ("-0.08263424128", 5e-12),
    ("4.123456789012", 5e-13),
])
def test_half_units_follow_ten_significant_digits(text, expected):
    assert claims.half_units([text])[0] == pytest.approx(expected)


def test_grim_is_not_checkable_without_the_survey_items(dirs):
    derived, raw = dirs
    (raw / "survey_items.csv").unlink()
    row = _by_id(claims.check(derived, raw)).loc["grim_clinic_means"]
    assert row["status"] == "not checkable" and "survey_items.csv not found" in row["reason"]


# --- summary, inputs, notebook ---------------------------------------------------------------------


def test_summary_and_inputs(dirs):
    derived, raw = dirs
    (derived / "inventory.csv").unlink()
    table = claims.check(derived, raw)
    summary = claims.summary(table)
    assert summary.to_dict("records") == [
        {"kind": "published", "n_checks": 9, "n_pass": 8, "n_fail": 0, "failing": "", "n_not_checkable": 1,
         "not_checkable": "source_types"},
        {"kind": "consistency", "n_checks": 8, "n_pass": 8, "n_fail": 0, "failing": "", "n_not_checkable": 0,
         "not_checkable": ""},
        {"kind": "all", "n_checks": 17, "n_pass": 16, "n_fail": 0, "failing": "", "n_not_checkable": 1,
         "not_checkable": "source_types"}]
    names = [p.name for p in claims.inputs(derived, raw)]
    assert names == ["clinic_segments.csv", "mechanism_comparison.csv", "survey_clinic_change.csv",
                     "survey_effects.csv", "survey_group_change.csv", "datapackage.json", "survey_items.csv"]


def test_check_is_deterministic(dirs, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    io.write_table(claims.check(*dirs), a)
    io.write_table(claims.check(*dirs), b)
    assert a.read_bytes() == b.read_bytes()


NOTEBOOK = paths.NOTEBOOKS / "05_claims_check.ipynb"


@pytest.mark.notebook
def test_notebook_fails_naming_the_claims_when_asked(tmp_path, small_raw):
    """On another synthetic study with the agreed tables: claims_check.csv is written, then the run stops."""
    from integrating import runner

    derived = tmp_path / "derived"
    write_derived(derived, change_more=0.05, n_more=10, n_less=6)
    out = tmp_path / "05.ipynb"
    params = {"raw_dir": str(small_raw), "derived_dir": str(derived), "figures_dir": str(tmp_path / "fig"),
              "provenance_dir": str(tmp_path / "prov"), "fail_on_claims": True}
    assert runner.run(NOTEBOOK, out, params, cwd=paths.ROOT) == 1
    table = _by_id(pd.read_csv(derived / "claims_check.csv", dtype=str, keep_default_na=False))
    assert table.loc["change_more", "status"] == "fail" and table.loc["study_months", "status"] == "pass"
    summary = pd.read_csv(derived / "claims_summary.csv")
    assert summary.columns.tolist() == claims.SUMMARY_COLUMNS
    executed = out.read_text(encoding="utf-8")
    assert "ClaimsFailed" in executed
    for cid in ("change_more:", "n_more:", "n_less:"):
        assert cid in executed
    assert (tmp_path / "prov" / "05_claims_check.json").is_file()
