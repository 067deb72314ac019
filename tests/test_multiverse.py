"""Multiverse analysis: specifications against the survey module run on the changed data, tests against
scipy and brute force, and scale."""

from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from integrating import multiverse, segmentation, stats, survey
from integrating.errors import AnalysisError

REL = 1e-9
MONTHS = 15
# Implemented changes of 4 per clinic: shares 1, .75, .75, .5, .5, .25, .25, 0.
IMPLEMENTED = {"C1": 4, "C2": 3, "C3": 3, "C4": 2, "C5": 2, "C6": 1, "C7": 1, "C8": 0}
OPTIONS = dict(months=MONTHS, rule="share", threshold=0.5, count_threshold=2, threshold_grid=[0.5, 0.75, 1.0],
               count_grid=[1, 2], min_answered=0.5, min_answered_grid=[0.5, 1.0], max_loo_clinics=20,
               confidence=0.95, max_exact=100_000, draws=500, seed=7)


def make_clinics():
    return pd.DataFrame({"clinic_id": list(IMPLEMENTED)})


def make_log():
    rows = []
    for cid, k in IMPLEMENTED.items():
        for j in range(4):
            rows.append((cid, f"c{j}", 2, "planned"))
            rows.append((cid, f"c{j}", 9, "implemented" if j < k else "started"))
    log = pd.DataFrame(rows, columns=["clinic_id", "change_id", "month", "status"])
    log["month"] = log["month"].astype("int64")
    return log


def make_items():
    rows = [("a", "A", 1, 5, False, True), ("b", "B", 1, 5, False, True), ("c", "C", 1, 5, True, True),
            ("x", "not in composite", 1, 5, False, False)]
    return pd.DataFrame(rows, columns=["item", "text", "scale_min", "scale_max", "reverse", "in_composite"])


def make_responses(seed=5, per_cell=6):
    """Six responses per clinic and wave; C8's post-wave responses never answer item b."""
    rng = np.random.default_rng(seed)
    rows = []
    i = 0
    for c, cid in enumerate(IMPLEMENTED):
        lift = 0.6 if IMPLEMENTED[cid] >= 2 else -0.3
        for wave in ("pre", "post"):
            for _ in range(per_cell):
                i += 1
                base = 3 + (lift if wave == "post" else 0) + rng.normal(0, 0.8) + 0.1 * c
                vals = np.clip(np.rint(base + rng.normal(0, 0.7, 4)), 1, 5)
                vals[2] = 6 - vals[2]  # item c is reversed
                vals[rng.random(4) < 0.15] = np.nan
                if cid == "C8" and wave == "post":
                    vals[1] = np.nan
                rows.append((f"R{i:04d}", cid, wave, *vals))
    df = pd.DataFrame(rows, columns=["response_id", "clinic_id", "wave", "a", "b", "c", "x"])
    for col in "abcx":
        df[col] = df[col].astype("float64")
    return df


@pytest.fixture(scope="module")
def data():
    return make_clinics(), make_log(), make_responses(), make_items()


@pytest.fixture(scope="module")
def result(data):
    return multiverse.multiverse(*data, **OPTIONS)


def segments_for(rule="share", threshold=0.5, count_threshold=2):
    return segmentation.clinic_segments(make_clinics(), make_log(), months=MONTHS, rule=rule, threshold=threshold,
                                        count_threshold=count_threshold)


def survey_change(responses, items, groups, *, left_out="", min_answered=0.5, drop=None):
    """Clinic-level change computed by the survey module itself, on the changed data."""
    items = items.copy()
    if left_out:
        items.loc[items["item"].eq(left_out), "in_composite"] = False
    scored = survey.composite_scores(responses, items, min_answered=min_answered)
    table = survey.clinic_change(scored, groups, min_answered=min_answered).table
    if drop is not None:
        table = table.loc[table["clinic_id"].ne(drop)]
    return table


def spec(table, **choices):
    mask = np.ones(len(table), dtype=bool)
    for k, v in choices.items():
        mask &= np.isclose(table[k], v) if isinstance(v, float) else table[k].eq(v).to_numpy()
    rows = table.loc[mask]
    assert len(rows) == 1, choices
    return rows.iloc[0]


def assert_effect(row, effect, ci=True):
    assert row["estimate"] == pytest.approx(effect.estimate, rel=REL)
    assert row["p_value"] == pytest.approx(effect.p_value, rel=REL)
    if ci:
        assert row["ci_low"] == pytest.approx(effect.ci_low, rel=REL)
        assert row["ci_high"] == pytest.approx(effect.ci_high, rel=REL)
    assert (row["n_more"], row["n_less"]) == (effect.n_more, effect.n_less)


PRIMARY = dict(segmentation="share >= 0.5", composite="all items", min_answered=0.5, excluded_clinic="none")


# ----------------------------------------------------------------------------------------------
# Specifications equal the survey module's own results


def test_primary_specification_equals_survey_student_t(result):
    table = result.table
    primary = multiverse.primary_row(table)
    assert primary["spec_id"] == spec(table, test="student_t", **PRIMARY)["spec_id"]
    change = survey_change(make_responses(), make_items(), segments_for())
    effect = stats.student_t(change["change"], change["group"])
    assert_effect(primary, effect)
    assert primary["method"] == "t" and primary["reason"] == ""


def test_every_test_of_the_primary_path_equals_the_survey_functions(result):
    change = survey_change(make_responses(), make_items(), segments_for())
    x, g = change["change"], change["group"]
    assert_effect(spec(result.table, test="welch_t", **PRIMARY), stats.welch_t(x, g))
    perm = stats.permutation_exact(x, g, max_exact=100_000)
    row = spec(result.table, test="permutation", **PRIMARY)
    assert_effect(row, perm, ci=False)
    assert row["method"] == "exact"
    mw = stats.mann_whitney(x, g, max_exact=100_000)
    row = spec(result.table, test="mann_whitney", **PRIMARY)
    assert row["p_value"] == pytest.approx(mw.p_value, rel=REL)
    # the multiverse estimate is the difference in means for every test (not the Hodges-Lehmann shift)
    assert row["estimate"] == pytest.approx(perm.estimate, rel=REL)
    assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])


@pytest.mark.parametrize("clinic", ["C1", "C5", "C7"])
def test_leave_one_clinic_out_equals_the_t_test_without_that_clinic(result, clinic):
    change = survey_change(make_responses(), make_items(), segments_for(), drop=clinic)
    row = spec(result.table, test="student_t", **{**PRIMARY, "excluded_clinic": clinic})
    assert_effect(row, stats.student_t(change["change"], change["group"]))
    row = spec(result.table, test="welch_t", **{**PRIMARY, "excluded_clinic": clinic})
    assert_effect(row, stats.welch_t(change["change"], change["group"]))


@pytest.mark.parametrize("left_out, min_answered", [("", 1.0), ("b", 0.5), ("b", 1.0), ("c", 1.0), ("a", 0.5)])
def test_composite_definitions_equal_the_survey_with_those_items(result, left_out, min_answered):
    change = survey_change(make_responses(), make_items(), segments_for(), left_out=left_out,
                           min_answered=min_answered)
    label = "all items" if not left_out else f"without {left_out}"
    row = spec(result.table, test="student_t", **{**PRIMARY, "composite": label, "min_answered": min_answered})
    assert_effect(row, stats.student_t(change["change"], change["group"]))


def test_c8_drops_out_only_when_every_item_including_b_is_required(result):
    t = result.table.loc[result.table["test"].eq("student_t") & result.table["segmentation"].eq("share >= 0.5")
                         & result.table["excluded_clinic"].eq("none")]
    n = (t["n_more"] + t["n_less"]).to_numpy()
    strict = (t["min_answered"].eq(1.0) & ~t["composite"].eq("without b")).to_numpy()
    assert (n[strict] == 7).all() and (n[~strict] == 8).all()


@pytest.mark.parametrize("label, rule, threshold, count", [
    ("share >= 0.75", "share", 0.75, 2), ("median", "median", 0.5, 2), ("count >= 2", "count", 0.5, 2),
])
def test_segmentations_equal_the_survey_with_those_groups(result, label, rule, threshold, count):
    segs = segments_for(rule, threshold, count)
    change = survey_change(make_responses(), make_items(), segs)
    row = spec(result.table, test="student_t", **{**PRIMARY, "segmentation": label})
    assert_effect(row, stats.student_t(change["change"], change["group"]))


def test_clinic_changes_equal_survey_clinic_change_for_every_definition(data):
    clinics, log, responses, items = data
    choices = multiverse.composite_choices(items, 0.5, [0.5, 0.75, 1.0])
    ids = clinics["clinic_id"].tolist()
    change, valid = multiverse.clinic_changes(responses, items, ids, choices)
    groups = pd.Series("more", index=ids)
    for d, c in enumerate(choices):
        ref = survey_change(responses, items, groups, left_out=c.left_out, min_answered=c.min_answered)
        ref = ref.set_index("clinic_id")["change"].reindex(ids)
        np.testing.assert_array_equal(valid[:, d], ref.notna().to_numpy())
        np.testing.assert_allclose(change[valid[:, d], d], ref.dropna().to_numpy(), rtol=1e-12, atol=1e-14)


def test_monte_carlo_permutation_equals_the_survey_test_with_the_same_seed(data):
    res = multiverse.multiverse(*data, **{**OPTIONS, "max_exact": 10, "draws": 700, "seed": 11})
    change = survey_change(make_responses(), make_items(), segments_for(), drop="C2")
    ref = stats.permutation_test(change["change"], change["group"], max_exact=10, draws=700, seed=11)
    row = spec(res.table, test="permutation", **{**PRIMARY, "excluded_clinic": "C2"})
    assert not ref.exact and row["method"] == "monte_carlo"
    assert row["p_value"] == pytest.approx(ref.p_value, rel=REL)
    mw = stats.mann_whitney(change["change"], change["group"], max_exact=10)
    row = spec(res.table, test="mann_whitney", **{**PRIMARY, "excluded_clinic": "C2"})
    assert row["method"] == "asymptotic" and row["p_value"] == pytest.approx(mw.p_value, rel=REL)


# ----------------------------------------------------------------------------------------------
# Enumeration, degenerate specifications, leave-one-out cap, summary


def test_enumeration_order_and_size(result):
    table = result.table
    g, d, e = len(result.segmentations), len(result.composites), len(result.excluded)
    assert len(table) == g * d * e * len(multiverse.TESTS)
    assert table["spec_id"].tolist() == list(range(1, len(table) + 1))
    assert list(table.columns) == multiverse.COLUMNS
    assert [c.label for c in result.segmentations] == [
        "share >= 0.5", "share >= 0.75", "share >= 1", "median", "count >= 1", "count >= 2"]
    assert [c.label for c in result.composites][:2] == ["all items", "all items"]
    assert result.excluded == ("none", *IMPLEMENTED)
    assert table["test"].head(4).tolist() == list(multiverse.TESTS)
    assert int(table["primary"].sum()) == 1


def test_specifications_with_a_group_below_two_clinics_are_kept_with_the_reason(result):
    rows = result.table.loc[result.table["segmentation"].eq("share >= 1")]
    assert len(rows) == len(result.composites) * len(result.excluded) * len(multiverse.TESTS)
    none = rows.loc[rows["excluded_clinic"].eq("none")]
    assert none["n_more"].eq(1).all()
    assert none["estimate"].isna().all() and none["p_value"].isna().all()
    assert none["reason"].str.contains("group 'more' has 1 clinic").all()
    # leaving C1 (the only 'more' clinic) out leaves all clinics in one group
    c1 = rows.loc[rows["excluded_clinic"].eq("C1")]
    assert c1["reason"].str.contains("are in group 'less'").all()
    computable = result.table.loc[result.table["reason"].eq("")]
    assert computable["p_value"].notna().all() and computable["estimate"].notna().all()


def test_leave_one_out_cap_keeps_the_most_influential_clinics(data):
    res = multiverse.multiverse(*data, **{**OPTIONS, "max_loo_clinics": 3})
    change = survey_change(make_responses(), make_items(), segments_for())
    full = stats.student_t(change["change"], change["group"]).estimate
    shift = {}
    for cid in change["clinic_id"]:
        rest = change.loc[change["clinic_id"].ne(cid)]
        shift[cid] = abs(stats.student_t(rest["change"], rest["group"]).estimate - full)
    top = sorted(sorted(shift, key=lambda c: -shift[c])[:3])
    assert res.excluded == ("none", *top)
    assert multiverse.multiverse(*data, **{**OPTIONS, "max_loo_clinics": 0}).excluded == ("none",)


def test_summary_shares_by_hand(result):
    table, summary = result.table, result.summary
    primary = multiverse.primary_row(table)
    est, p = table["estimate"], table["p_value"]
    all_row = summary.iloc[0]
    assert (all_row["dimension"], all_row["choice"], all_row["n_specs"]) == ("all", "all", len(table))
    assert all_row["n_same_sign"] == int((np.sign(est) == np.sign(primary["estimate"])).sum())
    assert all_row["share_same_sign"] == pytest.approx(all_row["n_same_sign"] / est.notna().sum())
    assert all_row["share_significant"] == pytest.approx((p < 0.05).sum() / p.notna().sum())
    welch = summary.loc[summary["choice"].eq("welch_t")].iloc[0]
    sub = table.loc[table["test"].eq("welch_t")]
    assert welch["n_significant"] == int((sub["p_value"] < 0.05).sum())
    assert set(summary["dimension"]) == {"all", "test", "segmentation", "composite", "min_answered", "excluded_clinic"}


def test_spec_curve_data_and_plots(result):
    curve = multiverse.spec_curve_data(result.table, alpha=0.05)
    assert curve["estimate"].is_monotonic_increasing
    assert curve["rank"].tolist() == list(range(1, len(curve) + 1))
    assert curve["primary"].sum() == 1
    student = result.table.loc[result.table["test"].eq("student_t")]
    assert len(curve) == student["estimate"].notna().sum()
    row = curve.loc[curve["primary"]].iloc[0]
    assert bool(row["significant_student_t"]) == (multiverse.primary_row(result.table)["p_value"] < 0.05)
    rows = multiverse.indicator_rows(curve)
    seg_rows = [m for h, _, m in rows if h == "Segmentation"]
    assert (np.sum(seg_rows, axis=0) == 1).all()  # each path has exactly one segmentation
    fig = plt.figure()
    multiverse.spec_curve_plot(curve, fig)
    plt.close(fig)
    data = multiverse.summary_data(result.summary)
    assert data["y"].is_monotonic_increasing and len(data) == len(result.summary) - 1
    fig, ax = plt.subplots()
    multiverse.summary_plot(data, ax)
    plt.close(fig)


def test_errors_name_the_problem(data):
    clinics, log, responses, items = data
    no_comp = items.assign(in_composite=False)
    with pytest.raises(AnalysisError, match="in_composite"):
        multiverse.multiverse(clinics, log, responses, no_comp, **OPTIONS)
    with pytest.raises(AnalysisError, match="unknown segmentation rule"):
        multiverse.multiverse(*data, **{**OPTIONS, "rule": "tertiles"})
    with pytest.raises(AnalysisError, match="expected a share"):
        multiverse.multiverse(*data, **{**OPTIONS, "min_answered_grid": [0.0]})
    with pytest.raises(AnalysisError, match="lacks column"):
        multiverse.multiverse(clinics, log, responses.drop(columns="b"), items, **OPTIONS)


def test_run_multiverse_with_the_config_on_a_synthetic_study(small_raw):
    from integrating import config, contract

    res = multiverse.run_multiverse(contract.load(small_raw), config.load())
    assert len(res.table) == len(res.segmentations) * len(res.composites) * len(res.excluded) * 4
    assert res.table["primary"].sum() == 1


def large_study(n=1600, seed=1):
    """1,600 clinics with about 300,000 survey responses."""
    rng = np.random.default_rng(seed)
    ids = [f"K{i:04d}" for i in range(n)]
    log = pd.DataFrame({"clinic_id": np.repeat(ids, 5), "change_id": np.tile([f"c{j}" for j in range(5)], n),
                        "month": 3, "status": rng.choice(["implemented", "started"], n * 5)})
    items = pd.DataFrame({"item": [f"q{i}" for i in range(1, 7)], "text": "t", "scale_min": 1, "scale_max": 5,
                          "reverse": [False] * 5 + [True], "in_composite": True})
    m = rng.integers(70, 121, size=(n, 2))
    clinic = np.repeat(np.arange(n), m.sum(axis=1))
    post = np.concatenate([np.repeat([False, True], m[c]) for c in range(n)])
    vals = np.clip(np.rint(3.9 + rng.normal(0, 0.6, (clinic.size, 6))), 1, 5)
    vals[rng.random(vals.shape) < 0.03] = np.nan
    resp = pd.DataFrame({"response_id": np.arange(clinic.size), "clinic_id": np.asarray(ids)[clinic],
                         "wave": np.where(post, "post", "pre")})
    for j in range(6):
        resp[f"q{j + 1}"] = vals[:, j]
    return pd.DataFrame({"clinic_id": ids}), log, resp, items


def test_scales_to_1600_clinics():
    # Correctness at scale only; benchmarks/run.py measures the time.
    data = large_study()
    res = multiverse.multiverse(*data, months=MONTHS, threshold_grid=[0.3, 0.4, 0.5, 0.6, 0.7], count_grid=[2, 3, 4],
                                min_answered_grid=[0.5, 0.75, 1.0], max_loo_clinics=20, max_exact=100_000,
                                draws=2_000, seed=1)
    assert len(data[2]) > 290_000
    assert len(res.excluded) == 21 and len(res.table) > 15_000
    assert set(res.table["method"]) == {"t", "monte_carlo", "asymptotic"}


def test_an_uncomputable_primary_specification_keeps_the_table_and_the_summary_says_why(data):
    res = multiverse.multiverse(*data, **{**OPTIONS, "threshold": 1.0})
    primary = multiverse.primary_row(res.table)
    assert primary["segmentation"] == "share >= 1" and np.isnan(primary["estimate"])
    assert res.table["estimate"].notna().any()
    with pytest.raises(AnalysisError, match="primary specification cannot be computed.*group 'more' has 1 clinic"):
        res.summary


# ----------------------------------------------------------------------------------------------
# Robustness of the headline


def test_near_cutoff_clinics_hand_worked():
    # 4 changes each; share rule at 0.5: C4, C5 (2 of 4) lose 'more' with one change fewer, C6, C7
    # (1 of 4) gain it with one more; count rule at 3: C2, C3 (3) and C4, C5 (2)
    segs = segments_for()
    assert multiverse.near_cutoff_clinics(segs, "share", 0.5)["clinic_id"].tolist() == ["C4", "C5", "C6", "C7"]
    count = segments_for(rule="count", count_threshold=3)
    assert multiverse.near_cutoff_clinics(count, "count", count_threshold=3)["clinic_id"].tolist() == [
        "C2", "C3", "C4", "C5"]
    median = segments_for(rule="median")  # median share 0.5: the same clinics as the share rule at 0.5
    assert multiverse.near_cutoff_clinics(median, "median")["clinic_id"].tolist() == ["C4", "C5", "C6", "C7"]


def test_headline_robustness_equals_the_survey_test_on_each_scenario(data, result):
    clinics, log, responses, items = data
    out = multiverse.headline_robustness(clinics, log, responses, items, result.table, months=MONTHS,
                                         rule="share", threshold=0.5, alpha=0.05)
    assert out.columns.tolist() == multiverse.HEADLINE_COLUMNS
    rows = out.set_index("scenario")
    groups = survey.group_labels(segments_for())
    ref = stats.student_t(*survey_change(responses, items, groups)[["change", "group"]].T.to_numpy())
    assert rows.loc["as configured", "p_value"] == pytest.approx(ref.p_value, rel=REL)
    assert rows.loc["as configured", "p_value"] == pytest.approx(multiverse.primary_row(result.table)["p_value"],
                                                                 rel=REL)
    moved = groups.copy()
    moved["C4"] = "less"
    ref = stats.student_t(*survey_change(responses, items, moved)[["change", "group"]].T.to_numpy())
    assert rows.loc["C4 moved to 'less'", "p_value"] == pytest.approx(ref.p_value, rel=REL)
    assert (rows.loc["C4 moved to 'less'", "n_more"], rows.loc["C4 moved to 'less'", "n_less"]) == (4, 4)
    # leave one clinic out: the multiverse's own Student t specifications
    for cid in ("C1", "C5"):
        row = spec(result.table, test="student_t", **{**PRIMARY, "excluded_clinic": cid})
        assert rows.loc[f"without {cid}", "p_value"] == pytest.approx(row["p_value"], rel=REL)
    loo = out.loc[out["check"].eq("leave_one_out"), "p_value"].to_numpy()
    summary = out.loc[out["check"].eq("leave_one_out_summary")].iloc[0]
    assert summary["p_value"] == pytest.approx(np.nanmax(loo)) and summary["value"] == pytest.approx(np.mean(loo < 0.05))
    p = result.table["p_value"].to_numpy(dtype="float64")
    share = out.loc[out["check"].eq("multiverse"), "value"].iloc[0]
    assert share == pytest.approx(np.mean(p[np.isfinite(p)] < 0.05))
    median = survey.group_labels(segments_for(rule="median"))
    ref = stats.student_t(*survey_change(responses, items, median)[["change", "group"]].T.to_numpy())
    assert rows.loc["median rule", "p_value"] == pytest.approx(ref.p_value, rel=REL)


def test_headline_scenario_that_cannot_be_computed_says_why(data, result):
    clinics, log, responses, items = data
    # at a cut-off of 1.0 only C1 implemented more: every scenario leaving it alone has one 'more' clinic
    out = multiverse.headline_robustness(clinics, log, responses, items, result.table, months=MONTHS,
                                         rule="share", threshold=1.0)
    primary = out.loc[out["check"].eq("primary")].iloc[0]
    assert np.isnan(primary["p_value"]) and primary["detail"].startswith("not computable: group 'more' has 1")
