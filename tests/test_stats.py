"""Two-group statistics (integrating.stats): every test against a hand-worked value, brute-force
enumeration or an independent implementation (scipy, statsmodels, pingouin)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import scipy.stats as st
from statsmodels.stats.weightstats import CompareMeans

from integrating import mechanisms, multiverse, stats
from integrating.errors import AnalysisError

RNG = np.random.default_rng(7)
CHANGE = np.round(np.r_[RNG.normal(0.07, 0.12, 9), RNG.normal(-0.08, 0.1, 7)], 6)
GROUPS = np.array(["more"] * 9 + ["less"] * 7)


# ----------------------------------------------------------------------------------------------
# t-tests


@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_student_and_welch_against_pingouin_and_statsmodels(confidence):
    x, y = CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"]
    cm = CompareMeans.from_data(x, y)
    for fn, correction, usevar in ((stats.student_t, False, "pooled"), (stats.welch_t, True, "unequal")):
        r = fn(CHANGE, GROUPS, confidence=confidence)
        ref = pg.ttest(x, y, correction=correction).iloc[0]
        assert r.statistic == pytest.approx(ref["T"], rel=1e-10)
        assert r.df == pytest.approx(ref["dof"], rel=1e-10)
        assert r.p_value == pytest.approx(ref["p_val"], rel=1e-8)
        lo, hi = cm.tconfint_diff(alpha=1 - confidence, usevar=usevar)
        assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), rel=1e-10)
        assert r.estimate == pytest.approx(x.mean() - y.mean(), rel=1e-12)
        assert (r.n_more, r.n_less) == (9, 7)
    assert "Student" in stats.student_t(CHANGE, GROUPS).test and "Welch" in stats.welch_t(CHANGE, GROUPS).test


def test_t_hand_worked():
    # more 1, 2, 3 (mean 2, var 1); less 0, 0, 0, 4 (mean 1, var 4): pooled var (2 + 12) / 5 = 2.8
    r = stats.student_t([1, 2, 3, 0, 0, 0, 4], ["more"] * 3 + ["less"] * 4)
    assert r.estimate == pytest.approx(1.0)
    assert r.statistic == pytest.approx(1 / math.sqrt(2.8 * (1 / 3 + 1 / 4)))
    assert r.df == 5


def test_boolean_labels():
    a = stats.student_t(CHANGE, GROUPS == "more")
    b = stats.student_t(CHANGE, GROUPS)
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
    r = stats.permutation_test([3, 4, 1, 2], ["more", "more", "less", "less"], return_distribution=True)
    assert r.exact and r.n_relabelings == 6 and r.n_extreme == 2
    assert r.p_value == pytest.approx(1 / 3)
    assert sorted(np.round(r.distribution, 12)) == [-2, -1, 0, 0, 1, 2]


def test_permutation_against_brute_force_and_scipy():
    values = np.r_[CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"]]
    p_brute, total = brute_force_p(values, 9)
    r = stats.permutation_test(CHANGE, GROUPS)
    assert total == 11440 == r.n_relabelings == r.n_evaluated
    assert r.p_value == pytest.approx(p_brute, abs=1e-15)
    ref = st.permutation_test((CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"]),
                              lambda a, b, axis: np.abs(a.mean(axis=axis) - b.mean(axis=axis)),
                              permutation_type="independent", n_resamples=np.inf, vectorized=True,
                              alternative="greater")
    assert r.p_value == pytest.approx(ref.pvalue, abs=1e-12)
    e = stats.permutation_exact(CHANGE, GROUPS)
    assert e.analysis == "permutation_exact" and "exact" in e.test and "11440" in e.test


def test_permutation_ties_and_small_group_side(monkeypatch):
    # Ties among values and among relabeling differences; the 'more' group is the smaller side here.
    vals = [0.1, 0.1, 0.2, 0.0, 0.0, 0.1, 0.3]
    labels = ["more", "more", "less", "less", "less", "less", "less"]
    p_brute, _ = brute_force_p([0.1, 0.1, 0.2, 0.0, 0.0, 0.1, 0.3], 2)
    assert stats.permutation_test(vals, labels).p_value == pytest.approx(p_brute)
    # Chunking does not change the result.
    full = stats.permutation_test(CHANGE, GROUPS, return_distribution=True)
    monkeypatch.setattr(stats, "CHUNK_ELEMENTS", 50)
    small = stats.permutation_test(CHANGE, GROUPS, return_distribution=True)
    assert small.p_value == full.p_value
    np.testing.assert_array_equal(small.distribution, full.distribution)


def test_kept_monte_carlo_relabelings_are_the_ones_drawn_afresh(monkeypatch):
    """The multiverse's rows share Monte Carlo relabelings, kept as ranks between its tests."""
    rng = np.random.default_rng(0)
    packed = rng.normal(size=(5, 40))
    kept = [stats.permutation_tests(packed, k, max_exact=10, draws=300, seed=s).n_extreme for k, s in
            ((12, 1), (20, 1), (12, 2))]
    monkeypatch.setattr(stats, "KEPT_RANKS_ELEMENTS", 0)  # every relabeling drawn afresh, in chunks
    monkeypatch.setattr(stats, "CHUNK_ELEMENTS", 400)
    fresh = [stats.permutation_tests(packed, k, max_exact=10, draws=300, seed=s).n_extreme for k, s in
             ((12, 1), (20, 1), (12, 2))]
    for a, b in zip(kept, fresh):
        np.testing.assert_array_equal(a, b)
    one = [stats.permutation_tests(packed[i:i + 1], 12, max_exact=10, draws=300, seed=1).n_extreme[0] for i in range(5)]
    np.testing.assert_array_equal(one, kept[0])  # a row alone: the same relabelings, summed directly


def test_permutation_monte_carlo():
    exact = stats.permutation_test(CHANGE, GROUPS)
    mc = stats.permutation_test(CHANGE, GROUPS, max_exact=1000, draws=20000, seed=3)
    assert not mc.exact and mc.n_evaluated == 20000 and mc.seed == 3
    assert mc.p_value == pytest.approx((1 + mc.n_extreme) / 20001)
    se = math.sqrt(exact.p_value * (1 - exact.p_value) / 20000)
    assert abs(mc.p_value - exact.p_value) < 5 * se + 1e-4
    again = stats.permutation_test(CHANGE, GROUPS, max_exact=1000, draws=20000, seed=3)
    assert again.p_value == mc.p_value  # fixed seed: reproducible
    assert "Monte Carlo" in mc.test and "seed 3" in mc.test and "20000" in mc.test


def test_permutation_many_clinics():
    rng = np.random.default_rng(5)
    change = rng.normal(0, 0.1, 1600) + np.r_[np.full(800, 0.01), np.zeros(800)]
    labels = np.r_[np.full(800, "more"), np.full(800, "less")]
    r = stats.permutation_test(change, labels, draws=5000, seed=1)
    assert not r.exact and "about 8.86e479" in r.test and "5000 random relabelings" in r.test
    # Against the t-test's p (large samples: permutation and t agree closely).
    assert r.p_value == pytest.approx(stats.student_t(change, labels).p_value, abs=0.03)


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
    r = stats.mann_whitney(CHANGE, GROUPS)
    u, p = brute_force_mwu(x, y)
    assert r.statistic == u
    assert r.p_value == pytest.approx(p, rel=1e-10)
    assert r.estimate == pytest.approx(np.median([a - b for a in x for b in y]))
    assert "exact null distribution" in r.test


def test_mann_whitney_ties_and_asymptotic():
    vals = np.array([0.1, 0.2, 0.2, 0.3, 0.0, 0.1, 0.1, -0.1])
    labels = ["more"] * 4 + ["less"] * 4
    r = stats.mann_whitney(vals, labels)
    u, p = brute_force_mwu(vals[:4], vals[4:])
    assert r.statistic == u and r.p_value == pytest.approx(p, rel=1e-10)
    assert "mid-ranks" in r.test
    a = stats.mann_whitney(CHANGE, GROUPS, max_exact=100)
    ref = st.mannwhitneyu(CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"], method="asymptotic")
    assert a.p_value == pytest.approx(ref.pvalue) and "normal approximation" in a.test


def test_hodges_lehmann_hand_worked():
    # pairwise differences of (1, 3) - (0, 2): 1, -1, 3, 1 -> median 1
    assert stats.hodges_lehmann(np.array([1, 3]), np.array([0, 2])) == 1.0


def test_hedges_g_hand_formula_and_noncentral_t_interval():
    x, y = CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"]
    n1, n2 = x.size, y.size
    sp = math.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2))
    d = (x.mean() - y.mean()) / sp
    j = 1 - 3 / (4 * (n1 + n2) - 9)
    r = stats.hedges_g(CHANGE, GROUPS, confidence=0.9)
    assert r.estimate == pytest.approx(d * j, rel=1e-10)
    # the limits are the noncentralities at which the observed t sits at the 95th and 5th percentiles
    t, scale = d / math.sqrt(1 / n1 + 1 / n2), math.sqrt(1 / n1 + 1 / n2)
    assert st.nct.cdf(t, 14, r.ci_low / j / scale) == pytest.approx(0.95, abs=1e-10)
    assert st.nct.cdf(t, 14, r.ci_high / j / scale) == pytest.approx(0.05, abs=1e-10)
    assert "noncentral t" in r.test and "times J" in r.test


def test_noncentral_t_interval_symmetric_at_zero_and_near_normal_for_large_df():
    # at t = 0: P(T <= 0 | ncp) = P(Z + ncp <= 0) = Phi(-ncp) on any df, so the limits are -/+ z(0.975)
    lo, hi = stats.noncentral_t_interval(0.0, 10, 0.95)
    assert (lo, hi) == pytest.approx((-st.norm.ppf(0.975), st.norm.ppf(0.975)), abs=1e-9)
    lo, hi = stats.noncentral_t_interval(3.0, 100_000, 0.95)
    assert (lo, hi) == pytest.approx((3 - 1.959964, 3 + 1.959964), abs=1e-3)
    lo, hi = stats.noncentral_t_interval(40.0, 5, 0.9)  # far from zero: the bracket widens
    assert st.nct.cdf(40.0, 5, lo) == pytest.approx(0.95, abs=1e-9) and lo < 40 < hi
    with pytest.raises(AnalysisError, match="finite t"):
        stats.noncentral_t_interval(np.inf, 5)


REFERENCE = Path(__file__).parent / "reference"


@pytest.mark.parametrize("name", ["bundled", "synth4", "synth6"])
def test_hedges_g_interval_equals_r_effectsize(name):
    """R effectsize (tests/reference/mixed_model.R): Cohen's d's noncentral-t interval times J to 1e-6;
    effectsize's own hedges_g uses the exact gamma-function J, within 1e-3 of the approximate one."""
    data = pd.read_csv(REFERENCE / f"survey_{name}.csv", dtype={"clinic_id": str})
    means = data.groupby(["clinic_id", "wave"])["composite"].mean().unstack("wave")
    groups = data.groupby("clinic_id")["group"].first().reindex(means.index)
    r = stats.hedges_g((means["post"] - means["pre"]).to_numpy(), groups.to_numpy())
    ref = pd.read_csv(REFERENCE / "mixed_model_reference.csv").query("data_set == @name").set_index("model")
    j = stats.hedges_correction(r.df)
    d = ref.loc["cohens_d"]
    assert (r.estimate / j, r.ci_low / j, r.ci_high / j) == pytest.approx((d["estimate"], d["ci_low"], d["ci_high"]),
                                                                         abs=1e-6)
    g = ref.loc["hedges_g"]
    assert (r.estimate, r.ci_low, r.ci_high) == pytest.approx((g["estimate"], g["ci_low"], g["ci_high"]), rel=1e-3)
    if name == "bundled":
        assert (round(r.ci_low, 3), round(r.ci_high, 3)) == (0.155, 2.222)


# ----------------------------------------------------------------------------------------------
# The shared vectorised statistics (also used by mechanisms, multiverse and power)


def tied_rows(seed, rows, n):
    return np.random.default_rng(seed).integers(0, 4, size=(rows, n)).astype(float)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("k", [2, 4, 6])
def test_t_tests_match_scipy(k, ties):
    packed = np.random.default_rng(3).normal(0, 1, (6, 9))
    packed = np.round(packed * 2) / 2 if ties else packed
    tt = stats.t_tests(packed, k, 0.9)
    for i, row in enumerate(packed):
        assert tt["difference"][i] == pytest.approx(row[:k].mean() - row[k:].mean(), rel=1e-12)
        for key, equal in (("student", True), ("welch", False)):
            ref = st.ttest_ind(row[:k], row[k:], equal_var=equal)
            ci = ref.confidence_interval(0.9)
            got = stats.TTest(*(a[i] for a in tt[key]))
            assert got.statistic == pytest.approx(ref.statistic, rel=1e-10)
            assert got.df == pytest.approx(ref.df, rel=1e-10)
            assert got.p == pytest.approx(ref.pvalue, rel=1e-10)
            assert (got.ci_low, got.ci_high) == (pytest.approx(ci.low, rel=1e-10), pytest.approx(ci.high, rel=1e-10))
    # the primary analysis of notebook 04 is the same test
    one = stats.t_tests(np.r_[CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"]], 9)
    assert one["student"].p[0] == pytest.approx(stats.student_t(CHANGE, GROUPS).p_value, rel=1e-12)
    assert one["welch"].p[0] == pytest.approx(stats.welch_t(CHANGE, GROUPS).p_value, rel=1e-12)


@pytest.mark.parametrize("n1, n2", [(2, 3), (3, 4), (5, 7), (9, 7), (2, 12)])
def test_rank_sum_tests_equal_scipy_exact_without_ties(n1, n2):
    rng = np.random.default_rng(n1 * 100 + n2)
    packed = np.array([rng.permutation(n1 + n2) for _ in range(25)], dtype=float)
    res = stats.rank_sum_tests(packed, n1)
    assert res.exact and res.n_relabelings == math.comb(n1 + n2, n1)
    for i, row in enumerate(packed):
        ref = st.mannwhitneyu(row[:n1], row[n1:], method="exact", alternative="two-sided")
        assert res.u[i] == ref.statistic
        assert res.p[i] == pytest.approx(ref.pvalue, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("n1, n2", [(2, 3), (4, 5), (6, 5), (3, 9)])
def test_rank_sum_tests_equal_enumeration_with_ties(n1, n2):
    packed = tied_rows(n1 + n2, 30, n1 + n2)
    res = stats.rank_sum_tests(packed, n1)
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
            "rank_sum_tests": stats.rank_sum_tests(values, k).p[0],
            "stats.mann_whitney": stats.mann_whitney(values, labels).p_value,
            "mechanisms.compare_groups": mechanisms.compare_groups(
                pd.DataFrame({"x": values, "group": labels}), ["x"])["p_value"].iloc[0],
            "multiverse.resampling_tests": multiverse.resampling_tests(values[None, :], k)["mann_whitney"][0],
        }
        for caller, p in ps.items():
            assert p == pytest.approx(expected, rel=1e-12), (caller, more, less)
    # the example where a distance-from-the-centre rule gives 0.0238 instead
    p = stats.mann_whitney([3, 2, 2, 1, 1, 0, 0, 0, 0], ["more"] * 4 + ["less"] * 5).p_value
    assert p == pytest.approx(4 / 126) == pytest.approx(0.0317, abs=5e-5)


def test_rank_sum_tests_asymptotic_and_constant_rows():
    packed = tied_rows(2, 5, 40)
    packed[0] = 1.0  # one value throughout
    res = stats.rank_sum_tests(packed, 20, max_exact=1000)
    assert not res.exact and res.n_relabelings == math.comb(40, 20)
    assert res.p[0] == 1.0
    for i in range(1, 5):
        ref = st.mannwhitneyu(packed[i, :20], packed[i, 20:], method="asymptotic", use_continuity=True)
        assert res.p[i] == pytest.approx(ref.pvalue, rel=1e-12)
    exact = stats.rank_sum_tests(np.ones((1, 6)), 3)
    assert exact.exact and exact.p[0] == 1.0
    with pytest.raises(AnalysisError, match="both groups non-empty"):
        stats.rank_sum_tests(np.ones((2, 4)), 4)


def test_hedges_g_values_against_pingouin():
    packed = np.r_[np.random.default_rng(6).normal(0, 1, (5, 11)), tied_rows(3, 5, 11)]
    g = stats.hedges_g_values(packed, 5)
    for i, row in enumerate(packed):
        assert g[i] == pytest.approx(pg.compute_effsize(row[:5], row[5:], paired=False, eftype="hedges"), rel=1e-10)
    # no variance within either group: 0 when the groups are equal, +/-inf otherwise
    constant = stats.hedges_g_values(np.array([[1.0, 1, 1, 1], [2, 2, 1, 1], [0, 0, 1, 1]]), 2)
    assert constant.tolist() == [0.0, np.inf, -np.inf]
    assert stats.hedges_g(CHANGE, GROUPS).estimate == pytest.approx(
        pg.compute_effsize(CHANGE[GROUPS == "more"], CHANGE[GROUPS == "less"], eftype="hedges"), rel=1e-12)


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
    for fn in (stats.student_t, stats.welch_t, stats.hedges_g):
        with pytest.raises(AnalysisError, match=message):
            fn(change, groups)


def test_zero_variance_in_one_group_is_fine():
    change = [0.1, 0.1, 0.1, -0.1, 0.0, -0.2]
    groups = ["more"] * 3 + ["less"] * 3
    r = stats.welch_t(change, groups)
    assert np.isfinite(r.statistic)
    assert stats.permutation_test(change, groups).p_value == pytest.approx(brute_force_p(change, 3)[0])


# ----------------------------------------------------------------------------------------------
# The shared relabeling engine, many comparisons at once, against brute force and scipy


def packed_rows(seed=3, rows=6, n=9, ties=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (rows, n))
    return np.round(x * 2) / 2 if ties else x


def brute_force(row, k):
    """Permutation p of |difference in means| and two-sided Mann-Whitney p over every relabeling."""
    n = row.size
    ranks = st.rankdata(row)
    obs_d = row[:k].mean() - row[k:].mean()
    obs_u = ranks[:k].sum() - k * (k + 1) / 2
    d, u = [], []
    for idx in itertools.combinations(range(n), k):
        mask = np.zeros(n, dtype=bool)
        mask[list(idx)] = True
        d.append(row[mask].mean() - row[~mask].mean())
        u.append(ranks[mask].sum() - k * (k + 1) / 2)
    d, u = np.array(d), np.array(u)
    p_perm = np.mean(np.abs(d) >= abs(obs_d) - 1e-12)
    p_mw = min(1.0, 2 * min(np.mean(u <= obs_u + 1e-9), np.mean(u >= obs_u - 1e-9)))
    return p_perm, p_mw


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("k", [3, 6])
def test_exact_tests_of_many_rows_match_brute_force_and_scipy(ties, k):
    packed = packed_rows(ties=ties)
    perm = stats.permutation_tests(packed, k)
    rank_sum = stats.rank_sum_tests(packed, k)
    assert perm.exact and rank_sum.exact
    rs = multiverse.resampling_tests(packed, k)  # the multiverse's tests are these
    assert rs["methods"] == ("exact", "exact")
    np.testing.assert_array_equal(rs["permutation"], perm.p)
    np.testing.assert_array_equal(rs["mann_whitney"], rank_sum.p)
    for i, row in enumerate(packed):
        p_perm, p_mw = brute_force(row, k)
        assert perm.p[i] == pytest.approx(p_perm, rel=1e-12)
        assert rank_sum.p[i] == pytest.approx(p_mw, rel=1e-12)
        ref = stats.mann_whitney(row, np.arange(row.size) < k)  # scipy exact, or exact permutation with ties
        assert rank_sum.p[i] == pytest.approx(ref.p_value, rel=1e-9)


@pytest.mark.parametrize("max_exact, draws", [(1_000_000, 0), (10, 700)])
def test_one_engine_many_rows_equal_one_row_at_a_time(max_exact, draws):
    """Exact and Monte Carlo: every row of a matrix gets the p-value of the single test with the same seed."""
    packed = packed_rows(seed=8, rows=5, n=9, ties=True)
    many = stats.permutation_tests(packed, 4, max_exact=max_exact, draws=draws, seed=11)
    for i, row in enumerate(packed):
        one = stats.permutation_test(row, np.arange(9) < 4, max_exact=max_exact, draws=draws, seed=11)
        assert one.exact == many.exact
        assert one.n_extreme == many.n_extreme[i] and one.p_value == many.p[i]
    assert many.n_evaluated == (126 if many.exact else 700)
    with pytest.raises(AnalysisError, match="multiverse_permutation_draws is 0"):
        stats.permutation_tests(packed, 4, max_exact=10, draws=0, draws_key="multiverse_permutation_draws")


def test_relabelings_enumerate_or_draw_subsets():
    exact = np.concatenate(list(stats.relabelings(5, 2, exact=True)))
    assert [tuple(r) for r in exact] == list(itertools.combinations(range(5), 2))
    drawn = np.concatenate(list(stats.relabelings(6, 3, exact=False, draws=50, seed=1)))
    assert drawn.shape == (50, 3) and all(len(set(r)) == 3 and max(r) < 6 for r in drawn.tolist())
    again = np.concatenate(list(stats.relabelings(6, 3, exact=False, draws=50, seed=1)))
    np.testing.assert_array_equal(drawn, again)


def test_zero_variance_is_flagged_and_kept_with_its_reason():
    packed = np.array([[1.0, 1.0, 1.0, 0.0, 0.0], [1.0, 2.0, 1.0, 0.0, 0.5]])
    tt = stats.t_tests(packed, 3)
    assert tt["zero_variance"].tolist() == [True, False]


# ----------------------------------------------------------------------------------------------
# Holm


def test_holm_equals_statsmodels_and_hand_worked():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.2])
    # sorted 0.01, 0.03, 0.04, 0.2 -> 4 x 0.01, max(0.04, 3 x 0.03), max(0.09, 2 x 0.04), max(0.09, 0.2)
    np.testing.assert_allclose(stats.holm(p), [0.04, 0.09, 0.09, 0.2], rtol=1e-12)
    rng = np.random.default_rng(2)
    for _ in range(20):
        q = rng.uniform(0, 0.2, rng.integers(1, 9))
        np.testing.assert_array_equal(stats.holm(q), multipletests(q, method="holm")[1])
    # a test that could not be computed is not a member of the family
    out = stats.holm([0.01, np.nan, 0.04])
    assert np.isnan(out[1]) and out[[0, 2]].tolist() == pytest.approx([0.02, 0.04])
    assert stats.holm([]).size == 0
