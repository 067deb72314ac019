"""Patient-survey effect analysis: every number against a hand-worked value or an independent computation."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import scipy.stats as st
import statsmodels
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from integrating import claims, mechanisms, multiverse, survey
from integrating.errors import AnalysisError

# ----------------------------------------------------------------------------------------------
# Fixtures


def items_table(extra_scale=False):
    rows = [
        ("a", "A", 1, 5, False, True),
        ("b", "B", 1, 5, False, True),
        ("c", "C", 1, 5, True, True),  # reversed: v -> 6 - v
        ("d", "D", 1, 5, False, True),
        ("x", "not in composite", 1, 5, False, False),
    ]
    if extra_scale:
        rows[3] = ("d", "D", 0, 10, True, True)  # reversed on 0..10: v -> 10 - v
    return pd.DataFrame(rows, columns=["item", "text", "scale_min", "scale_max", "reverse", "in_composite"])


def responses_table(rows):
    """rows: (response_id, clinic_id, wave, a, b, c, d, x) with None = unanswered."""
    df = pd.DataFrame(rows, columns=["response_id", "clinic_id", "wave", "a", "b", "c", "d", "x"])
    for c in "abcdx":
        df[c] = pd.to_numeric(df[c]).astype("float64")
    return df


def scored_from(clinic_wave_values, groups=None):
    """A scored table from {(clinic, wave): [composites]}."""
    rows = []
    i = 0
    for (cid, wave), vals in clinic_wave_values.items():
        for v in vals:
            i += 1
            rows.append((f"R{i:05d}", cid, wave, 4, float(v), True))
    return pd.DataFrame(rows, columns=survey.SCORED_COLUMNS)


def change_table(change, groups, pre=None):
    change = np.asarray(change, float)
    pre = np.linspace(3.0, 4.0, change.size) if pre is None else np.asarray(pre, float)
    return pd.DataFrame({
        "clinic_id": [f"C{i:02d}" for i in range(change.size)],
        "group": list(groups),
        "n_pre": 10, "n_post": 10,
        "mean_pre": pre, "mean_post": pre + change, "change": change,
    })


# Clinic-level changes used throughout: 9 'more', 7 'less' (the published design), no ties.
RNG = np.random.default_rng(7)
CHANGE = np.round(np.r_[RNG.normal(0.07, 0.12, 9), RNG.normal(-0.08, 0.1, 7)], 6)
GROUPS = np.array(["more"] * 9 + ["less"] * 7)


# ----------------------------------------------------------------------------------------------
# Composite scores


def test_composite_hand_worked():
    resp = responses_table([
        ("r1", "A", "pre", 5, 4, 2, 3, 1),        # c reversed: 4 -> (5 + 4 + 4 + 3) / 4 = 4.0
        ("r2", "A", "pre", 5, None, 1, None, 1),  # 2 of 4 answered: exactly half -> (5 + 5) / 2 = 5.0
        ("r3", "A", "post", None, None, 3, None, 5),  # 1 of 4 answered: excluded
        ("r4", "B", "post", 1, 2, 5, 4, None),    # (1 + 2 + 1 + 4) / 4 = 2.0; x does not count
    ])
    out = survey.composite_scores(resp, items_table(), min_answered=0.5)
    assert list(out.columns) == survey.SCORED_COLUMNS
    assert out["response_id"].tolist() == ["r1", "r2", "r3", "r4"]
    assert out["n_answered"].tolist() == [4, 2, 1, 4]
    assert out["included"].tolist() == [True, True, False, True]
    np.testing.assert_allclose(out["composite"].to_numpy()[[0, 1, 3]], [4.0, 5.0, 2.0])
    assert np.isnan(out["composite"].iloc[2])


def test_composite_other_scale_and_threshold():
    resp = responses_table([
        ("r1", "A", "pre", 5, 5, 1, 0, 3),   # d on 0..10 reversed: 0 -> 10: (5 + 5 + 5 + 10) / 4 = 6.25
        ("r2", "A", "pre", 4, 2, None, None, 3),
    ])
    out = survey.composite_scores(resp, items_table(extra_scale=True), min_answered=0.5)
    assert out["composite"].iloc[0] == pytest.approx(6.25)
    assert out["composite"].iloc[1] == pytest.approx(3.0)
    # 0.75 of 4 items = 3 answers needed: r2 (2 answered) is excluded; 0.6 * 5-style float products are safe.
    strict = survey.composite_scores(resp, items_table(extra_scale=True), min_answered=0.75)
    assert strict["included"].tolist() == [True, False]
    five = pd.DataFrame([(f"i{j}", "t", 1, 5, False, True) for j in range(5)], columns=items_table().columns)
    r5 = pd.DataFrame({"response_id": ["r"], "clinic_id": ["A"], "wave": ["pre"],
                       "i0": [1.0], "i1": [2.0], "i2": [3.0], "i3": [np.nan], "i4": [np.nan]})
    assert survey.composite_scores(r5, five, min_answered=0.6)["included"].tolist() == [True]


def test_composite_errors():
    resp = responses_table([("r1", "A", "pre", 5, 4, 2, 3, 1)])
    none = items_table().assign(in_composite=False)
    with pytest.raises(AnalysisError, match="in_composite"):
        survey.composite_scores(resp, none)
    with pytest.raises(AnalysisError, match="lacks column"):
        survey.composite_scores(resp.drop(columns="b"), items_table())
    with pytest.raises(AnalysisError, match="wave"):
        survey.composite_scores(resp.assign(wave="middle"), items_table())
    with pytest.raises(AnalysisError, match="composite_min_answered"):
        survey.composite_scores(resp, items_table(), min_answered=0)


def test_composite_vectorised_300k():
    n = 300_000
    rng = np.random.default_rng(1)
    vals = rng.integers(1, 6, size=(n, 5)).astype(float)
    vals[rng.random((n, 5)) < 0.1] = np.nan
    resp = pd.DataFrame({"response_id": np.arange(n).astype(str), "clinic_id": (np.arange(n) % 1600).astype(str),
                         "wave": np.where((np.arange(n) // 1600) % 2, "post", "pre")})
    for j, c in enumerate("abcdx"):
        resp[c] = vals[:, j]
    out = survey.composite_scores(resp, items_table())
    cc = survey.clinic_change(out, pd.DataFrame({"clinic_id": np.arange(1600).astype(str),
                                                 "group": np.where(np.arange(1600) % 3, "more", "less")}))
    # Independent check on a few rows: pandas row-wise mean after reversing.
    sub = resp.iloc[:200, 3:7].copy()
    sub["c"] = 6 - sub["c"]
    expected = sub.mean(axis=1).where(sub.notna().sum(axis=1) >= 2)
    np.testing.assert_allclose(out["composite"].iloc[:200], expected, equal_nan=True)
    assert len(cc.table) == 1600


# ----------------------------------------------------------------------------------------------
# Clinic change and exclusions


def fixture_study():
    rows = [
        # A (more): pre composites 3, 4 -> 3.5; post 4, 5 -> 4.5; change +1.0
        ("r01", "A", "pre", 3, 3, 3, 3, 1), ("r02", "A", "pre", 4, 4, 2, 4, 1),
        ("r03", "A", "post", 4, 4, 2, 4, 1), ("r04", "A", "post", 5, 5, 1, 5, 1),
        ("r05", "A", "post", 5, None, None, None, 1),  # 1 of 4 answered: excluded response
        # B (less): pre 4; post 3.5 -> change -0.5
        ("r06", "B", "pre", 4, 4, 2, 4, 1), ("r07", "B", "post", 3, 4, 2, 3, 1),
        # C (more): only pre responses -> excluded clinic
        ("r08", "C", "pre", 2, 2, 4, 2, 1),
        # D: responses but not in the group table -> excluded clinic
        ("r09", "D", "pre", 2, 2, 4, 2, 1), ("r10", "D", "post", 2, 2, 4, 2, 1),
        # F (less): post only valid (its pre response is below the rule)
        ("r11", "F", "pre", None, None, 1, None, 1), ("r12", "F", "post", 2, 2, 4, 2, 1),
    ]
    groups = pd.DataFrame({"clinic_id": ["A", "B", "C", "E", "F"], "n_changes": 1, "n_implemented": 1,
                           "implementation_share": 1.0, "group": ["more", "less", "more", "less", "less"]})
    return responses_table(rows), groups


def test_clinic_change_hand_worked():
    resp, groups = fixture_study()
    scored = survey.composite_scores(resp, items_table())
    cc = survey.clinic_change(scored, groups, min_answered=0.5)
    t = cc.table
    assert list(t.columns) == survey.CLINIC_CHANGE_COLUMNS
    assert t["clinic_id"].tolist() == ["A", "B"]
    assert t["group"].tolist() == ["more", "less"]
    assert t["n_pre"].tolist() == [2, 1] and t["n_post"].tolist() == [2, 1]
    np.testing.assert_allclose(t["mean_pre"], [3.5, 4.0])
    np.testing.assert_allclose(t["mean_post"], [4.5, 3.5])
    np.testing.assert_allclose(t["change"], [1.0, -0.5])
    ex = cc.exclusions
    assert list(ex.columns) == survey.EXCLUSION_COLUMNS
    got = [tuple(r) for r in ex[["unit", "clinic_id", "wave", "n_responses"]].itertuples(index=False)]
    assert got == [
        ("clinic", "C", "post", 1),
        ("clinic", "D", "", 2),
        ("clinic", "E", "pre+post", 0),
        ("clinic", "F", "pre", 1),
        ("response", "A", "post", 1),
        ("response", "F", "pre", 1),
    ]
    reasons = dict(zip(ex["clinic_id"] + ex["unit"], ex["reason"]))
    assert reasons["Cclinic"] == "no valid responses in the post wave"
    assert "no group" in reasons["Dclinic"]
    assert reasons["Eclinic"] == "no valid responses in the pre and post waves"
    assert "fewer than 0.5" in reasons["Aresponse"]
    assert not ex.isna().any().any()


def test_clinic_change_no_exclusions_and_bad_groups():
    scored = scored_from({("A", "pre"): [3], ("A", "post"): [4]})
    cc = survey.clinic_change(scored, pd.DataFrame({"clinic_id": ["A"], "group": ["more"]}))
    assert cc.exclusions.empty and list(cc.exclusions.columns) == survey.EXCLUSION_COLUMNS
    with pytest.raises(AnalysisError, match="expected 'more' or 'less'"):
        survey.clinic_change(scored, pd.DataFrame({"clinic_id": ["A"], "group": ["other"]}))
    with pytest.raises(AnalysisError, match="more than once"):
        survey.clinic_change(scored, pd.DataFrame({"clinic_id": ["A", "A"], "group": ["more", "less"]}))


def test_group_change_against_statsmodels():
    table = change_table(CHANGE, GROUPS)
    out = survey.group_change(table, confidence=0.9)
    assert list(out.columns) == survey.GROUP_CHANGE_COLUMNS
    assert out["group"].tolist() == ["less", "more"]
    for _, row in out.iterrows():
        x = CHANGE[GROUPS == row["group"]]
        lo, hi = DescrStatsW(x).tconfint_mean(alpha=0.1)
        assert row["n_clinics"] == x.size
        assert row["mean_change"] == pytest.approx(x.mean(), rel=1e-12)
        assert row["sd_change"] == pytest.approx(np.std(x, ddof=1), rel=1e-12)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-10)


# ----------------------------------------------------------------------------------------------
# t-tests


@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_student_and_welch_against_pingouin_and_statsmodels(confidence):
    x, y = CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"]
    cm = CompareMeans.from_data(x, y)
    for fn, correction, usevar in ((survey.student_t, False, "pooled"), (survey.welch_t, True, "unequal")):
        r = fn(CHANGE, GROUPS, confidence=confidence)
        ref = pg.ttest(x, y, correction=correction).iloc[0]
        assert r.statistic == pytest.approx(ref["T"], rel=1e-10)
        assert r.df == pytest.approx(ref["dof"], rel=1e-10)
        assert r.p_value == pytest.approx(ref["p_val"], rel=1e-8)
        lo, hi = cm.tconfint_diff(alpha=1 - confidence, usevar=usevar)
        assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), rel=1e-10)
        assert r.estimate == pytest.approx(x.mean() - y.mean(), rel=1e-12)
        assert (r.n_more, r.n_less) == (9, 7)
    assert "Student" in survey.student_t(CHANGE, GROUPS).test and "Welch" in survey.welch_t(CHANGE, GROUPS).test


def test_t_hand_worked():
    # more 1, 2, 3 (mean 2, var 1); less 0, 0, 0, 4 (mean 1, var 4): pooled var (2 + 12) / 5 = 2.8
    r = survey.student_t([1, 2, 3, 0, 0, 0, 4], ["more"] * 3 + ["less"] * 4)
    assert r.estimate == pytest.approx(1.0)
    assert r.statistic == pytest.approx(1 / math.sqrt(2.8 * (1 / 3 + 1 / 4)))
    assert r.df == 5


def test_boolean_labels():
    a = survey.student_t(CHANGE, GROUPS == "more")
    b = survey.student_t(CHANGE, GROUPS)
    assert a == b


# ----------------------------------------------------------------------------------------------
# Permutation test


def brute_force_p(values, k):
    values = list(values)
    obs = np.mean(values[:k]) - np.mean(values[k:])
    hits = total = 0
    for combo in itertools.combinations(range(len(values)), k):
        rest = [v for i, v in enumerate(values) if i not in combo]
        d = np.mean([values[i] for i in combo]) - np.mean(rest)
        hits += abs(d) >= abs(obs) - 1e-12
        total += 1
    return hits / total, total


def test_permutation_hand_worked():
    # more {3, 4}, less {1, 2}: the 6 relabelings give differences 2, -2, 1, -1, 0, 0 -> p = 2/6.
    r = survey.permutation_test([3, 4, 1, 2], ["more", "more", "less", "less"], return_distribution=True)
    assert r.exact and r.n_relabelings == 6 and r.n_extreme == 2
    assert r.p_value == pytest.approx(1 / 3)
    assert sorted(np.round(r.distribution, 12)) == [-2, -1, 0, 0, 1, 2]


def test_permutation_against_brute_force_and_scipy():
    values = np.r_[CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"]]
    p_brute, total = brute_force_p(values, 9)
    r = survey.permutation_test(CHANGE, GROUPS)
    assert total == 11440 == r.n_relabelings == r.n_evaluated
    assert r.p_value == pytest.approx(p_brute, abs=1e-15)
    ref = st.permutation_test((CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"]),
                              lambda a, b, axis: np.abs(a.mean(axis=axis) - b.mean(axis=axis)),
                              permutation_type="independent", n_resamples=np.inf, vectorized=True,
                              alternative="greater")
    assert r.p_value == pytest.approx(ref.pvalue, abs=1e-12)
    e = survey.permutation_exact(CHANGE, GROUPS)
    assert e.analysis == "permutation_exact" and "exact" in e.test and "11440" in e.test


def test_permutation_ties_and_small_group_side(monkeypatch):
    # Ties among values and among relabeling differences; the 'more' group is the smaller side here.
    vals = [0.1, 0.1, 0.2, 0.0, 0.0, 0.1, 0.3]
    labels = ["more", "more", "less", "less", "less", "less", "less"]
    p_brute, _ = brute_force_p([0.1, 0.1, 0.2, 0.0, 0.0, 0.1, 0.3], 2)
    assert survey.permutation_test(vals, labels).p_value == pytest.approx(p_brute)
    # Chunking does not change the result.
    full = survey.permutation_test(CHANGE, GROUPS, return_distribution=True)
    monkeypatch.setattr(survey, "CHUNK_ELEMENTS", 50)
    small = survey.permutation_test(CHANGE, GROUPS, return_distribution=True)
    assert small.p_value == full.p_value
    np.testing.assert_array_equal(small.distribution, full.distribution)


def test_permutation_monte_carlo():
    exact = survey.permutation_test(CHANGE, GROUPS)
    mc = survey.permutation_test(CHANGE, GROUPS, max_exact=1000, draws=20000, seed=3)
    assert not mc.exact and mc.n_evaluated == 20000 and mc.seed == 3
    assert mc.p_value == pytest.approx((1 + mc.n_extreme) / 20001)
    se = math.sqrt(exact.p_value * (1 - exact.p_value) / 20000)
    assert abs(mc.p_value - exact.p_value) < 5 * se + 1e-4
    again = survey.permutation_test(CHANGE, GROUPS, max_exact=1000, draws=20000, seed=3)
    assert again.p_value == mc.p_value  # fixed seed: reproducible
    assert "Monte Carlo" in mc.test and "seed 3" in mc.test and "20000" in mc.test


def test_permutation_many_clinics():
    rng = np.random.default_rng(5)
    change = rng.normal(0, 0.1, 1600) + np.r_[np.full(800, 0.01), np.zeros(800)]
    labels = np.r_[np.full(800, "more"), np.full(800, "less")]
    r = survey.permutation_test(change, labels, draws=5000, seed=1)
    assert not r.exact and "about 8.86e479" in r.test and "5000 random relabelings" in r.test
    # Against the t-test's p (large samples: permutation and t agree closely).
    assert r.p_value == pytest.approx(survey.student_t(change, labels).p_value, abs=0.03)


# ----------------------------------------------------------------------------------------------
# Mann-Whitney and Hedges g


def brute_force_mwu(x, y):
    values = np.r_[x, y]
    ranks = st.rankdata(values)
    k = len(x)
    u_obs = ranks[:k].sum() - k * (k + 1) / 2
    us = np.array([ranks[list(c)].sum() - k * (k + 1) / 2 for c in itertools.combinations(range(values.size), k)])
    p = 2 * min(np.mean(us <= u_obs + 1e-9), np.mean(us >= u_obs - 1e-9))
    return u_obs, min(p, 1.0)


def test_mann_whitney_exact_against_enumeration():
    x, y = CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"]
    r = survey.mann_whitney(CHANGE, GROUPS)
    u, p = brute_force_mwu(x, y)
    assert r.statistic == u
    assert r.p_value == pytest.approx(p, rel=1e-10)
    assert r.estimate == pytest.approx(np.median([a - b for a in x for b in y]))
    assert "exact null distribution" in r.test


def test_mann_whitney_ties_and_asymptotic():
    vals = np.array([0.1, 0.2, 0.2, 0.3, 0.0, 0.1, 0.1, -0.1])
    labels = ["more"] * 4 + ["less"] * 4
    r = survey.mann_whitney(vals, labels)
    u, p = brute_force_mwu(vals[:4], vals[4:])
    assert r.statistic == u and r.p_value == pytest.approx(p, rel=1e-10)
    assert "mid-ranks" in r.test
    a = survey.mann_whitney(CHANGE, GROUPS, max_exact=100)
    ref = st.mannwhitneyu(CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"], method="asymptotic")
    assert a.p_value == pytest.approx(ref.pvalue) and "normal approximation" in a.test


def test_hodges_lehmann_hand_worked():
    # pairwise differences of (1, 3) - (0, 2): 1, -1, 3, 1 -> median 1
    assert survey.hodges_lehmann(np.array([1, 3]), np.array([0, 2])) == 1.0


def test_hedges_g_hand_formula():
    x, y = CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"]
    n1, n2 = x.size, y.size
    sp = math.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2))
    g = (x.mean() - y.mean()) / sp * (1 - 3 / (4 * (n1 + n2) - 9))
    se = math.sqrt((n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2)))
    crit = st.t.ppf(0.975, n1 + n2 - 2)
    r = survey.hedges_g(CHANGE, GROUPS)
    assert r.estimate == pytest.approx(g, rel=1e-10)
    assert (r.ci_low, r.ci_high) == pytest.approx((g - crit * se, g + crit * se), rel=1e-10)


# ----------------------------------------------------------------------------------------------
# The shared vectorised statistics (also used by mechanisms, multiverse and power)


def tied_rows(seed, rows, n):
    return np.random.default_rng(seed).integers(0, 4, size=(rows, n)).astype(float)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("k", [2, 4, 6])
def test_t_tests_match_scipy(k, ties):
    packed = np.random.default_rng(3).normal(0, 1, (6, 9))
    packed = np.round(packed * 2) / 2 if ties else packed
    tt = survey.t_tests(packed, k, 0.9)
    for i, row in enumerate(packed):
        assert tt["difference"][i] == pytest.approx(row[:k].mean() - row[k:].mean(), rel=1e-12)
        for key, equal in (("student", True), ("welch", False)):
            ref = st.ttest_ind(row[:k], row[k:], equal_var=equal)
            ci = ref.confidence_interval(0.9)
            got = survey.TTest(*(a[i] for a in tt[key]))
            assert got.statistic == pytest.approx(ref.statistic, rel=1e-10)
            assert got.df == pytest.approx(ref.df, rel=1e-10)
            assert got.p == pytest.approx(ref.pvalue, rel=1e-10)
            assert (got.ci_low, got.ci_high) == (pytest.approx(ci.low, rel=1e-10), pytest.approx(ci.high, rel=1e-10))
    # the primary analysis of notebook 04 is the same test
    one = survey.t_tests(np.r_[CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"]], 9)
    assert one["student"].p[0] == pytest.approx(survey.student_t(CHANGE, GROUPS).p_value, rel=1e-12)
    assert one["welch"].p[0] == pytest.approx(survey.welch_t(CHANGE, GROUPS).p_value, rel=1e-12)


@pytest.mark.parametrize("n1, n2", [(2, 3), (3, 4), (5, 7), (9, 7), (2, 12)])
def test_rank_sum_tests_equal_scipy_exact_without_ties(n1, n2):
    rng = np.random.default_rng(n1 * 100 + n2)
    packed = np.array([rng.permutation(n1 + n2) for _ in range(25)], dtype=float)
    res = survey.rank_sum_tests(packed, n1)
    assert res.exact and res.n_relabelings == math.comb(n1 + n2, n1)
    for i, row in enumerate(packed):
        ref = st.mannwhitneyu(row[:n1], row[n1:], method="exact", alternative="two-sided")
        assert res.u[i] == ref.statistic
        assert res.p[i] == pytest.approx(ref.pvalue, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("n1, n2", [(2, 3), (4, 5), (6, 5), (3, 9)])
def test_rank_sum_tests_equal_enumeration_with_ties(n1, n2):
    packed = tied_rows(n1 + n2, 30, n1 + n2)
    res = survey.rank_sum_tests(packed, n1)
    for i, row in enumerate(packed):
        u, p = brute_force_mwu(row[:n1], row[n1:])
        assert res.u[i] == u and res.p[i] == pytest.approx(p, rel=1e-12)


def test_every_rank_sum_caller_gives_the_same_p():
    """Survey, mechanism comparison and multiverse share one test: tied and untied data alike."""
    cases = [([3, 2, 2, 1], [1, 0, 0, 0, 0]),  # ties across and within groups
             ([2, 2, 2], [1, 1]),  # separated, ties within groups
             ([0.5, 0.5, 0.25, 0.0, 1.0], [0.0, 0.25, 0.25, 0.5])]
    rng = np.random.default_rng(4)
    cases += [(list(row[:5]), list(row[5:])) for row in tied_rows(8, 4, 11)]
    cases += [(list(row[:6]), list(row[6:])) for row in rng.normal(size=(4, 13))]  # no ties
    for more, less in cases:
        values = np.r_[more, less]
        k = len(more)
        labels = ["more"] * k + ["less"] * len(less)
        ties = np.unique(values).size < values.size
        expected = brute_force_mwu(np.array(more), np.array(less))[1]
        if not ties:
            assert expected == pytest.approx(st.mannwhitneyu(more, less, method="exact").pvalue, rel=1e-12)
        ps = {
            "rank_sum_tests": survey.rank_sum_tests(values, k).p[0],
            "survey.mann_whitney": survey.mann_whitney(values, labels).p_value,
            "mechanisms.compare_groups": mechanisms.compare_groups(
                pd.DataFrame({"x": values, "group": labels}), ["x"])["p_value"].iloc[0],
            "multiverse.resampling_tests": multiverse.resampling_tests(values[None, :], k)["mann_whitney"][0],
        }
        for caller, p in ps.items():
            assert p == pytest.approx(expected, rel=1e-12), (caller, more, less)
    # the example where a distance-from-the-centre rule gives 0.0238 instead
    p = survey.mann_whitney([3, 2, 2, 1, 1, 0, 0, 0, 0], ["more"] * 4 + ["less"] * 5).p_value
    assert p == pytest.approx(4 / 126) == pytest.approx(0.0317, abs=5e-5)


def test_rank_sum_tests_asymptotic_and_constant_rows():
    packed = tied_rows(2, 5, 40)
    packed[0] = 1.0  # one value throughout
    res = survey.rank_sum_tests(packed, 20, max_exact=1000)
    assert not res.exact and res.n_relabelings == math.comb(40, 20)
    assert res.p[0] == 1.0
    for i in range(1, 5):
        ref = st.mannwhitneyu(packed[i, :20], packed[i, 20:], method="asymptotic", use_continuity=True)
        assert res.p[i] == pytest.approx(ref.pvalue, rel=1e-12)
    exact = survey.rank_sum_tests(np.ones((1, 6)), 3)
    assert exact.exact and exact.p[0] == 1.0
    with pytest.raises(AnalysisError, match="both groups non-empty"):
        survey.rank_sum_tests(np.ones((2, 4)), 4)


def test_hedges_g_values_against_pingouin():
    packed = np.r_[np.random.default_rng(6).normal(0, 1, (5, 11)), tied_rows(3, 5, 11)]
    g = survey.hedges_g_values(packed, 5)
    for i, row in enumerate(packed):
        assert g[i] == pytest.approx(pg.compute_effsize(row[:5], row[5:], paired=False, eftype="hedges"), rel=1e-10)
    # no variance within either group: 0 when the groups are equal, +/-inf otherwise
    constant = survey.hedges_g_values(np.array([[1.0, 1, 1, 1], [2, 2, 1, 1], [0, 0, 1, 1]]), 2)
    assert constant.tolist() == [0.0, np.inf, -np.inf]
    assert survey.hedges_g(CHANGE, GROUPS).estimate == pytest.approx(
        pg.compute_effsize(CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"], eftype="hedges"), rel=1e-12)


# ----------------------------------------------------------------------------------------------
# Mixed ANOVA and mixed model


def test_mixed_anova_interaction_equals_student_t_squared():
    table = change_table(CHANGE, GROUPS, pre=np.random.default_rng(2).normal(3.8, 0.3, 16))
    a = survey.mixed_anova_interaction(table)
    t = survey.student_t(CHANGE, GROUPS)
    assert a.statistic == pytest.approx(t.statistic**2, rel=1e-9)
    assert a.p_value == pytest.approx(t.p_value, rel=1e-7)
    assert a.df == t.df == 14
    assert (a.ci_low, a.ci_high) == pytest.approx((t.ci_low, t.ci_high), rel=1e-8)
    assert "F(1, 14)" in a.test


def dietox():
    path = Path(statsmodels.__file__).parent / "regression" / "tests" / "results" / "dietox.csv"
    if not path.exists():
        pytest.skip("statsmodels' bundled dietox data not found")
    return pd.read_csv(path)


def test_random_intercept_fit_matches_lme4_on_dietox():
    # Reference: R lme4, lmer(Weight ~ Time + (1 | Pig), data = dietox) (REML), as recorded with the data.
    data = dietox()
    exog = pd.DataFrame({"Intercept": 1.0, "Time": data["Time"].astype(float)})
    fit = survey.random_intercept_fit(data["Weight"], exog, data["Pig"])
    r = fit.result
    np.testing.assert_allclose(r.fe_params, [15.723523, 6.942505], rtol=1e-5)
    np.testing.assert_allclose(r.bse_fe, [0.78805374, 0.03338727], rtol=1e-4)
    assert r.scale == pytest.approx(11.36692, rel=1e-4)
    assert float(r.cov_re.iloc[0, 0]) == pytest.approx(40.39395, rel=1e-4)


def balanced_scored(change, groups, per=1, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(3.5, 0.8, len(change))  # large between-clinic spread: REML variance is interior
    data = {}
    for i, (c, g) in enumerate(zip(change, groups)):
        noise = rng.normal(0, 0.3, per) if per > 1 else np.zeros(1)
        noise2 = rng.normal(0, 0.3, per) if per > 1 else np.zeros(1)
        noise -= noise.mean()
        noise2 -= noise2.mean()
        data[(f"C{i:02d}", "pre")] = base[i] + noise
        data[(f"C{i:02d}", "post")] = base[i] + c + noise2
    return scored_from(data)


def test_mixedlm_one_response_per_wave_equals_two_stage_t():
    scored = balanced_scored(CHANGE, GROUPS, per=1)
    table = survey.clinic_change(scored, pd.DataFrame({"clinic_id": [f"C{i:02d}" for i in range(16)],
                                                       "group": GROUPS})).table
    m = survey.mixedlm_interaction(scored, table)
    t = survey.student_t(table["change"], table["group"])
    assert m.estimate == pytest.approx(t.estimate, rel=1e-6)
    assert m.statistic == pytest.approx(t.statistic, rel=1e-4)  # Wald z = Student t in this design
    assert m.p_value == pytest.approx(2 * st.norm.sf(abs(t.statistic)), rel=1e-3)
    assert "REML" in m.test and "Wald z" in m.test


def test_mixedlm_balanced_estimate_equals_difference_in_mean_change():
    scored = balanced_scored(CHANGE, GROUPS, per=5, seed=4)
    table = survey.clinic_change(scored, pd.Series(GROUPS, index=[f"C{i:02d}" for i in range(16)])).table
    np.testing.assert_allclose(table["change"], CHANGE, atol=1e-9)
    m = survey.mixedlm_interaction(scored, table, confidence=0.9)
    assert m.estimate == pytest.approx(CHANGE[GROUPS == "more"].mean() - CHANGE[GROUPS == "less"].mean(), rel=1e-6)
    half = st.norm.ppf(0.95) * (m.estimate / m.statistic)
    assert (m.ci_low, m.ci_high) == pytest.approx((m.estimate - half, m.estimate + half), rel=1e-8)


# ----------------------------------------------------------------------------------------------
# The effects table, determinism, degenerate inputs


def full_fixture(seed=0, change=CHANGE, groups=GROUPS, per=4):
    scored = balanced_scored(change, groups, per=per, seed=seed)
    seg = pd.DataFrame({"clinic_id": [f"C{i:02d}" for i in range(len(change))], "group": groups})
    return scored, survey.clinic_change(scored, seg).table


def test_survey_effects_table():
    scored, table = full_fixture()
    eff = survey.survey_effects(scored, table, seed=1)
    assert list(eff.columns) == survey.EFFECT_COLUMNS
    assert tuple(eff["analysis"]) == survey.ANALYSES
    assert (eff["n_more"] == 9).all() and (eff["n_less"] == 7).all()
    assert eff["estimate"].notna().all() and eff["test"].str.len().gt(20).all()
    assert eff.loc[eff["analysis"] != "hedges_g", "p_value"].notna().all()
    ci = eff.set_index("analysis")[["ci_low", "ci_high"]]
    for a in ("student_t", "welch_t", "mixed_anova_interaction", "mixedlm_interaction", "hedges_g"):
        assert ci.loc[a].notna().all()
    again = survey.survey_effects(scored, table, seed=1)
    pd.testing.assert_frame_equal(eff, again)


def test_analyse_and_published_rounding():
    resp, groups = fixture_study()
    with pytest.raises(AnalysisError, match="group 'more' has 1 clinic"):
        survey.analyse(resp, items_table(), groups)
    scored, table = full_fixture()
    eff = survey.survey_effects(scored, table)
    gc = survey.group_change(table)
    out = survey.published_rounding(eff, gc)
    assert out["mean_change_more"] == pytest.approx(CHANGE[GROUPS == "more"].mean(), abs=0.005)
    assert out["p_student"] == pytest.approx(eff.loc[0, "p_value"], abs=0.005)


def test_published_rounding_rounds_halves_away_from_zero_as_the_claims_check():
    # Python's round() gives 0.07, -0.07 and 0.12 here (binary floats, halves to even).
    effects = pd.DataFrame({"analysis": ["student_t"], "p_value": [0.125]})
    group_change = pd.DataFrame({"group": ["less", "more"], "mean_change": [-0.075, 0.075]})
    out = survey.published_rounding(effects, group_change)
    assert out == {"mean_change_more": 0.08, "mean_change_less": -0.08, "p_student": 0.13}
    # the same rule as the claims check, on halves and on the bundled data's numbers
    for value in (0.075, -0.075, 0.125, 0.0744375161, -0.08263424128, 0.02395940868):
        out = survey.published_rounding(effects.assign(p_value=value), group_change.assign(mean_change=value))
        expected = float(claims.round_half_away(value, 2))
        assert out == {"mean_change_more": expected, "mean_change_less": expected, "p_student": expected}


@pytest.mark.parametrize(
    "change, groups, message",
    [
        ([0.1, 0.2, 0.3, 0.0], ["more", "more", "more", "less"], "group 'less' has 1 clinic"),
        ([0.1, 0.2, 0.3], ["more", "more", "more"], "all 3 clinic\\(s\\) with survey change are in group 'more'"),
        ([0.1, 0.1, 0.0, 0.0], ["more", "more", "less", "less"], "zero variance"),
        ([0.1, np.nan, 0.0, 0.0], ["more", "more", "less", "less"], "finite"),
        ([0.1, 0.2, 0.0, 0.0], ["more", "x", "less", "less"], "expected 'more' or 'less'"),
    ],
)
def test_degenerate_inputs_raise_clear_errors(change, groups, message):
    for fn in (survey.student_t, survey.welch_t, survey.hedges_g):
        with pytest.raises(AnalysisError, match=message):
            fn(change, groups)
    table = change_table(change, groups)
    with pytest.raises(AnalysisError, match=message):
        survey.survey_effects(scored_from({}), table)


def test_clinic_without_post_is_listed_not_crashing():
    scored, _ = full_fixture()
    scored = scored.loc[~((scored["clinic_id"] == "C00") & (scored["wave"] == "post"))]
    seg = pd.DataFrame({"clinic_id": [f"C{i:02d}" for i in range(16)], "group": GROUPS})
    cc = survey.clinic_change(scored, seg)
    assert "C00" not in set(cc.table["clinic_id"])
    row = cc.exclusions.loc[cc.exclusions["clinic_id"].eq("C00")].iloc[0]
    assert (row["unit"], row["wave"], row["reason"]) == ("clinic", "post", "no valid responses in the post wave")
    eff = survey.survey_effects(scored, cc.table)
    assert (eff["n_more"] == 8).all()


def test_zero_variance_in_one_group_is_fine():
    change = [0.1, 0.1, 0.1, -0.1, 0.0, -0.2]
    groups = ["more"] * 3 + ["less"] * 3
    r = survey.welch_t(change, groups)
    assert np.isfinite(r.statistic)
    assert survey.permutation_test(change, groups).p_value == pytest.approx(brute_force_p(change, 3)[0])


# ----------------------------------------------------------------------------------------------
# Figure data and plots


def test_figure_data_and_plots():
    scored, table = full_fixture()
    inter = survey.interaction_data(table)
    g = inter.loc[inter["kind"].eq("group") & inter["group"].eq("more") & inter["wave"].eq("post")].iloc[0]
    vals = table.loc[table["group"].eq("more"), "mean_post"]
    lo, hi = DescrStatsW(vals.to_numpy()).tconfint_mean()
    assert g["mean"] == pytest.approx(vals.mean()) and (g["ci_low"], g["ci_high"]) == pytest.approx((lo, hi))
    assert (inter["kind"] == "clinic").sum() == 32

    cbg = survey.change_by_group_data(table)
    assert (cbg["kind"] == "clinic").sum() == 16
    means = cbg.loc[cbg["kind"].eq("mean")].set_index("group")
    assert means.loc["less", "change"] == pytest.approx(CHANGE[GROUPS == "less"].mean())

    perm = survey.permutation_data(table["change"], table["group"])
    assert perm["count"].sum() == 11440 and perm["share"].sum() == pytest.approx(1.0)
    assert perm["p_value"].iloc[0] == survey.permutation_test(table["change"], table["group"]).p_value

    eff = survey.survey_effects(scored, table)
    forest = survey.forest_data(eff)
    assert forest["analysis"].tolist() == list(survey.ANALYSES)
    assert forest.set_index("analysis").loc["hedges_g", "panel"] == "standardised"
    assert (forest["panel"] == "difference").sum() == 6
    assert forest["has_ci"].sum() == 5

    fig, axes = plt.subplots(1, 3)
    survey.interaction_plot(inter, axes[0])
    survey.change_by_group_plot(cbg, axes[1])
    survey.permutation_plot(perm, axes[2])
    plt.close(fig)
    fig = plt.figure()
    survey.forest_plot(forest, fig)
    plt.close(fig)
