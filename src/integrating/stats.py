"""Two-group statistics: every test comparing a 'more' group with a 'less' group, defined once.

Notebook 02 (mechanism and barrier rates), notebook 04 (clinic-level survey change), notebook 06 (the
multiverse) and the power simulation all compare two groups of clinics; they use these functions.

* Vectorised over many comparisons with the same group sizes (each row of a matrix is one comparison,
  its first ``k`` values 'more'): :func:`t_tests` (Student and Welch), :func:`rank_sum_tests`
  (Wilcoxon-Mann-Whitney, exact or normal approximation), :func:`permutation_tests` (difference in
  means, exact or Monte Carlo) and :func:`hedges_g_values`.
* One comparison of clinic-level values, returned as an :class:`Effect` (one row of a results table):
  :func:`student_t`, :func:`welch_t`, :func:`permutation_exact` (with :func:`permutation_test`),
  :func:`mann_whitney` and :func:`hedges_g`.
* :func:`holm`: Holm-adjusted p-values of a family of tests.

Every permutation test draws its relabelings from one engine, :func:`relabelings` (all of them in
:func:`itertools.combinations` order, or uniform random ones from ``numpy.random.default_rng(seed)``),
so the single test and the multiverse's many tests give the same p-values for the same seed.
Degenerate inputs raise :class:`~integrating.errors.AnalysisError` naming what is wrong.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .contract import GROUPS, MIN_CLINICS_PER_GROUP
from .errors import AnalysisError

#: Elements (indices or random keys) held in memory at once by the permutation test.
CHUNK_ELEMENTS = 1 << 21
#: Relabelings x comparisons held at once when many comparisons share their relabelings.
BLOCK_ELEMENTS = 1 << 22
#: Monte Carlo relabelings (draws x clinics) up to which their ranks are kept for the next test with
#: the same clinics, draws and seed (the multiverse tests each segmentation on the same relabelings).
KEPT_RANKS_ELEMENTS = 1 << 23
#: Two relabelings whose differences agree within this share of the data's scale count as tied.
TIE_RTOL = 1e-11


class Effect(NamedTuple):
    """One two-group comparison, one row of a results table such as ``survey_effects.csv``. Cells an
    analysis does not define are NaN (written empty)."""

    analysis: str
    estimate: float
    statistic: float
    df: float
    p_value: float
    ci_low: float
    ci_high: float
    n_more: int
    n_less: int
    test: str


# ----------------------------------------------------------------------------------------------
# Vectorised two-group statistics: each row of ``packed`` is one comparison whose first ``k``
# values are 'more' and the others 'less' (all rows with the same group sizes)


class TTest(NamedTuple):
    """A t-test of every row: t, degrees of freedom, two-sided p and the CI of the difference in means."""

    statistic: np.ndarray
    df: np.ndarray
    p: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray


class RankSum(NamedTuple):
    """A Wilcoxon-Mann-Whitney test of every row: U of 'more', two-sided p, whether p is exact, and
    the number of relabelings C(n, k)."""

    u: np.ndarray
    p: np.ndarray
    exact: bool
    n_relabelings: int


def _rows(packed, k: int) -> np.ndarray:
    values = np.asarray(packed, dtype="float64")
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2 or not 0 < k < values.shape[1]:
        raise AnalysisError(f"{k} 'more' value(s) in rows of {values.shape[-1]}; expected both groups non-empty")
    return values


def t_tests(packed, k: int, confidence: float = 0.95) -> dict:
    """Two-sided two-sample Student (pooled variance) and Welch t-tests of every row of ``packed``.

    Returns ``difference`` (mean more - mean less), ``zero_variance`` (no variance within either group,
    judged as :func:`student_t` judges it; the t-tests of those rows are undefined) and, under
    ``student`` and ``welch``, a :class:`TTest` with the ``confidence`` CI of the difference. Row by
    row the same numbers as ``scipy.stats.ttest_ind``.
    """
    from scipy import special

    packed = _rows(packed, k)
    x, y = packed[:, :k], packed[:, k:]
    n1, n2 = k, packed.shape[1] - k
    mx, my = x.mean(axis=1), y.mean(axis=1)
    diff = mx - my
    ssx = ((x - mx[:, None]) ** 2).sum(axis=1)
    ssy = ((y - my[:, None]) ** 2).sum(axis=1)
    scale = np.maximum(np.abs(packed).max(axis=1), 1.0)
    zero = (np.ptp(x, axis=1) <= 1e-12 * scale) & (np.ptp(y, axis=1) <= 1e-12 * scale)
    q = 0.5 + confidence / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        df = np.full(diff.shape, float(n1 + n2 - 2))
        se = np.sqrt((ssx + ssy) / df * (1.0 / n1 + 1.0 / n2))
        vx, vy = ssx / (n1 - 1) / n1, ssy / (n2 - 1) / n2
        se_w = np.sqrt(vx + vy)
        df_w = (vx + vy) ** 2 / (vx**2 / (n1 - 1) + vy**2 / (n2 - 1))
        out = {"difference": diff, "zero_variance": zero}
        for name, s, d in (("student", se, df), ("welch", se_w, df_w)):
            t = diff / s
            p = np.minimum(2.0 * special.stdtr(d, -np.abs(t)), 1.0)
            half = special.stdtrit(d, q) * s
            out[name] = TTest(t, d, p, diff - half, diff + half)
    return out


def _rank_sum_counts(doubled_ranks: np.ndarray, k: int, dtype) -> np.ndarray:
    """Number of the k-subsets of the pooled values with each sum 0, 1, ... of doubled mid-ranks."""
    top = int(np.sort(doubled_ranks)[-k:].sum())
    counts = np.zeros((k + 1, top + 1), dtype=dtype)
    counts[0, 0] = 1
    for r in doubled_ranks.tolist():  # each value joins the subsets counted so far, at most once
        counts[1:, r:] += counts[:-1, : top + 1 - r].copy()
    return counts[k]


def rank_sum_tests(packed, k: int, *, max_exact: int = 1_000_000) -> RankSum:
    """Two-sided Wilcoxon-Mann-Whitney test of every row of ``packed``, on mid-ranks.

    Exact when the number of relabelings C(n, k) is at most ``max_exact``: the permutation
    distribution of the 'more' rank sum over all relabelings (mid-ranks for ties; without ties this is
    the exact null distribution of U), counted rather than enumerated, once per pattern of ties. Beyond
    that, the normal approximation with tie and continuity corrections (``scipy.stats.mannwhitneyu``).
    Two-sided p = twice the smaller one-sided p, at most 1 (scipy's convention); a row with one value
    throughout has p = 1.
    """
    from scipy import stats

    packed = _rows(packed, k)
    rows, n = packed.shape
    ranks = stats.rankdata(packed, axis=1)
    u = ranks[:, :k].sum(axis=1) - k * (k + 1) / 2
    count = math.comb(n, k)
    exact = count <= max_exact
    if rows == 0:
        return RankSum(u, np.zeros(0), exact, count)
    if exact:
        doubled = np.rint(2 * ranks).astype(np.int64)  # mid-ranks are multiples of 1/2
        observed = doubled[:, :k].sum(axis=1)
        patterns, which = np.unique(np.sort(doubled, axis=1), axis=0, return_inverse=True)
        which = which.reshape(-1)
        dtype = np.int64 if count < 2**62 else np.float64
        p = np.empty(rows)
        for j, pattern in enumerate(patterns):
            at_most = np.cumsum(_rank_sum_counts(pattern, k, dtype))  # relabelings with sum <= s
            sel = which == j
            s = observed[sel]
            lower, upper = at_most[s], count - at_most[s - 1]  # P(sum <= s), P(sum >= s), times count
            p[sel] = 2.0 * np.minimum(lower, upper) / count
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            res = stats.mannwhitneyu(packed[:, :k], packed[:, k:], axis=1, method="asymptotic",
                                     use_continuity=True, alternative="two-sided")
        p = np.asarray(res.pvalue, dtype="float64").reshape(rows)
    constant = np.ptp(packed, axis=1) == 0
    return RankSum(u, np.where(constant, 1.0, np.minimum(p, 1.0)), exact, count)


def hedges_g_values(packed, k: int) -> np.ndarray:
    """Hedges g of every row: (mean more - mean less) / pooled SD x (1 - 3 / (4 (n1 + n2) - 9)).

    The same number as ``pingouin.compute_effsize(..., eftype="hedges")``. When neither group varies
    at all, g is 0 if the groups are equal and +/-inf otherwise.
    """
    packed = _rows(packed, k)
    x, y = packed[:, :k], packed[:, k:]
    n1, n2 = k, packed.shape[1] - k
    diff = x.mean(axis=1) - y.mean(axis=1)
    pooled = np.sqrt(((n1 - 1) * x.var(axis=1, ddof=1) + (n2 - 1) * y.var(axis=1, ddof=1)) / (n1 + n2 - 2))
    constant = (np.ptp(x, axis=1) == 0) & (np.ptp(y, axis=1) == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = diff / pooled
    if constant.any():
        exact_diff = x[:, 0] - y[:, 0]
        d = np.where(constant, np.where(exact_diff == 0, 0.0, np.copysign(np.inf, exact_diff)), d)
    return d * hedges_correction(n1 + n2 - 2)


# ----------------------------------------------------------------------------------------------
# The relabeling engine and the permutation test of the difference in means


def relabelings(n: int, m: int, *, exact: bool, draws: int = 0, seed: int = 0) -> Iterator[np.ndarray]:
    """Positions of the smaller group (``m`` of ``n``) in each relabeling, as index matrices in chunks.

    Exact: every m-subset of range(n), in :func:`itertools.combinations` order. Monte Carlo: ``draws``
    uniform random m-subsets, one per row of random keys from ``numpy.random.default_rng(seed)``
    (the ``m`` smallest keys). Chunks hold about :data:`CHUNK_ELEMENTS` numbers, which bounds memory.
    """
    if exact:
        rows = max(1, CHUNK_ELEMENTS // m)
        combos = itertools.combinations(range(n), m)
        while True:
            idx = np.fromiter(itertools.chain.from_iterable(itertools.islice(combos, rows)), dtype=np.intp)
            if idx.size == 0:
                return
            yield idx.reshape(-1, m)
    else:
        for keys in _random_keys(n, draws, seed):
            yield np.argpartition(keys, m - 1, axis=1)[:, :m]  # a uniform random m-subset per row


def _random_keys(n: int, draws: int, seed: int) -> Iterator[np.ndarray]:
    """The random keys of the Monte Carlo relabelings: ``n`` per relabeling, in chunks of rows."""
    rng = np.random.default_rng(seed)
    rows = max(1, CHUNK_ELEMENTS // n)
    for start in range(0, draws, rows):
        yield rng.random((min(rows, draws - start), n))


@lru_cache(maxsize=2)
def _random_ranks(n: int, draws: int, seed: int) -> np.ndarray:
    """Rank (0 = smallest) of each of the ``n`` random keys of every Monte Carlo relabeling, from the
    keys :func:`relabelings` draws: a relabeling's ``m`` clinics are those ranked below ``m``, for any m."""
    ranks = np.empty((draws, n), dtype=np.int16 if n <= np.iinfo(np.int16).max else np.int32)
    positions = np.arange(n, dtype=ranks.dtype)
    start = 0
    for keys in _random_keys(n, draws, seed):
        np.put_along_axis(ranks[start:start + len(keys)], np.argsort(keys, axis=1), positions[None, :], axis=1)
        start += len(keys)
    ranks.flags.writeable = False
    return ranks


def _indicators(n: int, m: int, *, exact: bool, draws: int = 0, seed: int = 0) -> Iterator[np.ndarray]:
    """The relabelings of :func:`relabelings` as 0/1 matrices (relabelings x n), in the same order."""
    if not exact and draws * n <= KEPT_RANKS_ELEMENTS:
        ranks = _random_ranks(n, draws, seed)
        rows = max(1, CHUNK_ELEMENTS // n)
        for start in range(0, draws, rows):
            yield (ranks[start:start + rows] < m).astype(np.float64)
        return
    for idx in relabelings(n, m, exact=exact, draws=draws, seed=seed):
        ind = np.zeros(idx.shape[:1] + (n,))
        np.put_along_axis(ind, idx, 1.0, axis=1)
        yield ind


def _row_blocks(n_rows: int, width: int):
    step = max(1, BLOCK_ELEMENTS // max(width, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


class PermutationTests(NamedTuple):
    """The permutation test of every row: two-sided p, relabelings at least as extreme as the observed
    one, whether the test is exact, the number of relabelings with these group sizes and of those
    evaluated, and (for one row, when asked for) the difference under every evaluated relabeling."""

    p: np.ndarray
    n_extreme: np.ndarray
    exact: bool
    n_relabelings: int
    n_evaluated: int
    distribution: np.ndarray | None


def permutation_tests(packed, k: int, *, max_exact: int = 1_000_000, draws: int = 100_000, seed: int = 0,
                      return_distribution: bool = False, draws_key: str = "permutation_draws") -> PermutationTests:
    """Two-sided permutation test of the difference in means (more - less) of every row of ``packed``.

    Exact over all C(n, k) relabelings when that count is at most ``max_exact`` (p = extreme / count);
    otherwise Monte Carlo with ``draws`` random relabelings (p = (1 + extreme) / (1 + draws)). Every
    row shares the same relabelings (:func:`relabelings`). A relabeling is extreme when its
    |difference| is at least the observed one, within :data:`TIE_RTOL` of the data's scale.
    ``draws_key`` names the setting in the error raised for ``draws`` < 1.
    """
    packed = _rows(packed, k)
    s_rows, n = packed.shape
    # Difference for a relabeling whose 'more' sum is S: S * (1/k + 1/(n-k)) - total / (n-k).
    a = 1.0 / k + 1.0 / (n - k)
    total = packed.sum(axis=1)
    b = total / (n - k)
    obs = np.abs(packed[:, :k].sum(axis=1) * a - b)
    tol = TIE_RTOL * a * np.abs(packed).max(axis=1) * n
    m = min(k, n - k)  # enumerate the smaller side
    small_is_more = m == k
    count = math.comb(n, k)
    exact = count <= max_exact
    if not exact and draws < 1:
        raise AnalysisError(f"{draws_key} is {draws!r}; expected an integer >= 1")
    if return_distribution and s_rows != 1:
        raise AnalysisError(f"the permutation distribution is returned for one comparison, not {s_rows}")
    extreme = np.zeros(s_rows, dtype=np.int64)
    dist = []
    if s_rows == 1:  # one comparison: sum the selected values directly (the same sums in any chunking)
        for idx in relabelings(n, m, exact=exact, draws=draws, seed=seed):
            s = packed[0][idx].sum(axis=1)
            s = s if small_is_more else total[0] - s
            d = s * a - b[0]
            extreme[0] += int(np.count_nonzero(np.abs(d) >= obs[0] - tol[0]))
            if return_distribution:
                dist.append(d)
    else:
        for ind in _indicators(n, m, exact=exact, draws=draws, seed=seed):
            for rows in _row_blocks(s_rows, ind.shape[0]):
                sums = ind @ packed[rows].T  # relabelings x rows
                s = sums if small_is_more else total[rows] - sums
                d = s * a - b[rows]
                extreme[rows] += np.count_nonzero(np.abs(d) >= obs[rows] - tol[rows], axis=0)
    evaluated = count if exact else draws
    p = extreme / count if exact else (1.0 + extreme) / (1.0 + draws)
    return PermutationTests(np.minimum(p, 1.0), extreme, exact, count, evaluated,
                            np.concatenate(dist) if return_distribution else None)


# ----------------------------------------------------------------------------------------------
# One comparison of clinic-level values (numpy in, named tuple out)


def _count_text(count: int) -> str:
    if count < 10**12:
        return str(count)
    digits = str(count)  # exact integer, possibly beyond float range
    return f"about {digits[0]}.{digits[1:3]}e{len(digits) - 1}"


def confidence_text(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def check_counts(labels) -> None:
    n_more = int(np.sum(labels == "more"))
    n_less = int(np.sum(labels == "less"))
    if n_more == 0 or n_less == 0:
        only = "more" if n_less == 0 else "less"
        raise AnalysisError(
            f"all {n_more + n_less} clinic(s) with survey change are in group '{only}'; comparing groups "
            f"needs at least {MIN_CLINICS_PER_GROUP} clinics in each of 'more' and 'less'"
        )
    for g, k in (("more", n_more), ("less", n_less)):
        if k < MIN_CLINICS_PER_GROUP:
            raise AnalysisError(
                f"group '{g}' has {k} clinic with survey change; a two-group comparison needs at least "
                f"{MIN_CLINICS_PER_GROUP} per group"
            )


def split_groups(change, groups) -> tuple[np.ndarray, np.ndarray]:
    """Clinic-level changes of 'more' and 'less' as float arrays, after checking them.

    ``groups`` holds 'more'/'less' labels, or booleans (True = 'more').
    """
    x = np.asarray(change, dtype="float64")
    g = np.asarray(groups)
    if x.ndim != 1 or g.shape != x.shape:
        raise AnalysisError(f"{x.size} change value(s) but {g.size} group label(s); expected one label per clinic")
    if g.dtype == bool:
        g = np.where(g, "more", "less")
    bad = ~np.isin(g, GROUPS)
    if bad.any():
        raise AnalysisError(f"group label(s) {sorted(map(str, set(g[bad])))}; expected 'more' or 'less'")
    if not np.isfinite(x).all():
        raise AnalysisError("clinic-level change has missing or infinite values; expected one finite change per clinic")
    check_counts(g)
    return x[g == "more"], x[g == "less"]


def check_variance(x: np.ndarray, y: np.ndarray) -> None:
    scale = max(float(np.abs(np.r_[x, y]).max()), 1.0)
    if np.ptp(x) <= 1e-12 * scale and np.ptp(y) <= 1e-12 * scale:
        raise AnalysisError(
            "clinic-level changes have zero variance within both groups (every clinic of a group changed by "
            "the same amount); t-tests and standardised differences are undefined"
        )


def _t_effect(analysis: str, change, groups, confidence: float, equal_var: bool) -> Effect:
    from scipy import stats

    x, y = split_groups(change, groups)
    check_variance(x, y)
    with warnings.catch_warnings():
        # scipy warns when one group's changes are identical; the pooled test is still well defined.
        warnings.filterwarnings("ignore", message="Precision loss occurred", category=RuntimeWarning)
        res = stats.ttest_ind(x, y, equal_var=equal_var, alternative="two-sided")
    ci = res.confidence_interval(confidence_level=confidence)
    name = ("two-sample Student t-test (equal variances), two-sided" if equal_var
            else "two-sample Welch t-test (unequal variances, Welch-Satterthwaite df), two-sided")
    return Effect(analysis, float(x.mean() - y.mean()), float(res.statistic), float(res.df), float(res.pvalue),
                  float(ci.low), float(ci.high), x.size, y.size,
                  f"{name}; estimate = mean change more - less; {confidence_text(confidence)} CI")


def student_t(change, groups, *, confidence: float = 0.95) -> Effect:
    """Primary test: two-sided two-sample Student t-test (pooled variance) of clinic-level change."""
    return _t_effect("student_t", change, groups, confidence, equal_var=True)


def welch_t(change, groups, *, confidence: float = 0.95) -> Effect:
    """Two-sided two-sample Welch t-test (unequal variances) of clinic-level change."""
    return _t_effect("welch_t", change, groups, confidence, equal_var=False)


@dataclass(frozen=True)
class PermutationResult:
    """Difference in mean change (more - less) and its two-sided permutation p-value."""

    difference: float
    p_value: float
    exact: bool
    n_relabelings: int  # all relabelings with the observed group sizes
    n_evaluated: int  # relabelings enumerated (exact) or drawn (Monte Carlo)
    n_extreme: int  # of those, how many give |difference| >= |observed|
    seed: int | None
    distribution: np.ndarray | None = None  # the differences, when asked for

    @property
    def test(self) -> str:
        if self.exact:
            return (f"exact permutation test of the difference in mean change, two-sided (|difference| >= "
                    f"observed), all {_count_text(self.n_relabelings)} relabelings")
        return (f"Monte Carlo permutation test of the difference in mean change, two-sided (|difference| >= "
                f"observed), {self.n_evaluated} random relabelings (seed {self.seed}) of "
                f"{_count_text(self.n_relabelings)}; p = (1 + extreme) / (1 + draws)")


def permutation_test(change, groups, *, max_exact: int = 1_000_000, draws: int = 100_000, seed: int = 0,
                     return_distribution: bool = False) -> PermutationResult:
    """Two-sided permutation test of the difference in mean change (:func:`permutation_tests` on
    one comparison): exact over all C(n, n_more) relabelings when that count is at most
    ``max_exact``, otherwise Monte Carlo with ``draws`` random relabelings (seed ``seed``)."""
    x, y = split_groups(change, groups)
    res = permutation_tests(np.r_[x, y], x.size, max_exact=max_exact, draws=draws, seed=seed,
                            return_distribution=return_distribution)
    return PermutationResult(float(x.mean() - y.mean()), float(res.p[0]), res.exact, res.n_relabelings,
                             res.n_evaluated, int(res.n_extreme[0]), None if res.exact else seed, res.distribution)


def permutation_exact(change, groups, *, max_exact: int = 1_000_000, draws: int = 100_000,
                      seed: int = 0) -> Effect:
    """The ``permutation_exact`` row: estimate and statistic are the observed difference in mean change."""
    res = permutation_test(change, groups, max_exact=max_exact, draws=draws, seed=seed)
    x, y = split_groups(change, groups)
    return Effect("permutation_exact", res.difference, res.difference, np.nan, res.p_value, np.nan, np.nan,
                  x.size, y.size, res.test + "; statistic = difference in mean change more - less")


def hodges_lehmann(x: np.ndarray, y: np.ndarray) -> float:
    """Hodges-Lehmann shift: median of all pairwise differences x_i - y_j."""
    return float(np.median(np.subtract.outer(np.asarray(x, float), np.asarray(y, float))))


def mann_whitney(change, groups, *, max_exact: int = 1_000_000) -> Effect:
    """Two-sided Mann-Whitney U test of clinic-level change (:func:`rank_sum_tests`); estimate =
    Hodges-Lehmann shift.

    Exact when C(n, n_more) <= ``max_exact``: the exact null distribution of U without ties, the exact
    permutation distribution of U (mid-ranks) with ties; the normal approximation with tie and
    continuity corrections beyond. Two-sided p = twice the smaller one-sided p (at most 1).
    """
    x, y = split_groups(change, groups)
    n = x.size + y.size
    res = rank_sum_tests(np.r_[x, y], x.size, max_exact=max_exact)
    count = res.n_relabelings
    ties = np.unique(np.r_[x, y]).size < n
    if res.exact and not ties:
        how = "exact null distribution of U"
    elif res.exact:
        how = f"exact permutation distribution of U with mid-ranks for ties (all {count} relabelings)"
    else:
        how = (f"normal approximation with tie and continuity corrections ({_count_text(count)} relabelings exceed "
               f"permutation_max_exact)")
    return Effect("mann_whitney", hodges_lehmann(x, y), float(res.u[0]), np.nan, float(res.p[0]),
                  np.nan, np.nan, x.size, y.size,
                  f"Mann-Whitney U test, {how}, two-sided; statistic = U of 'more'; "
                  "estimate = Hodges-Lehmann shift more - less")


def hedges_correction(df: float) -> float:
    """Small-sample correction J = 1 - 3 / (4 df - 1) of Hedges g (df = n1 + n2 - 2)."""
    return 1 - 3 / (4 * df - 1)


def noncentral_t_interval(t: float, df: float, confidence: float = 0.95) -> tuple[float, float]:
    """Confidence interval of the noncentrality parameter of a t statistic, by inverting the noncentral
    t distribution: the lower limit has P(T <= t) = (1 + confidence) / 2, the upper limit
    P(T <= t) = (1 - confidence) / 2 (``scipy.stats.nct`` and ``scipy.optimize.brentq``)."""
    from scipy import optimize
    from scipy import stats as sps

    if not (np.isfinite(t) and df > 0 and 0 < confidence < 1):
        raise AnalysisError(f"noncentral t interval of t = {t!r} on {df!r} df at level {confidence!r}; "
                            "expected a finite t, df > 0 and a level in (0, 1)")

    def limit(prob: float) -> float:
        def f(ncp):
            return float(sps.nct.cdf(t, df, ncp)) - prob

        step = max(1.0, abs(t))
        lo, hi = t - step, t + step  # the cdf falls as the noncentrality grows
        while f(lo) < 0:
            lo -= step
            step *= 2
        step = max(1.0, abs(t))
        while f(hi) > 0:
            hi += step
            step *= 2
        return float(optimize.brentq(f, lo, hi, xtol=1e-13, rtol=1e-13))

    return limit((1 + confidence) / 2), limit((1 - confidence) / 2)


def hedges_g(change, groups, *, confidence: float = 0.95) -> Effect:
    """Hedges g of clinic-level change, more - less (:func:`hedges_g_values`), with the exact CI.

    The CI inverts the noncentral t distribution of t = d / sqrt(1/n1 + 1/n2) on n1 + n2 - 2 df
    (:func:`noncentral_t_interval`), turns the noncentrality limits into limits of d and multiplies
    both by the small-sample correction J (as R's ``effectsize::hedges_g`` does).
    """
    x, y = split_groups(change, groups)
    check_variance(x, y)
    n1, n2 = x.size, y.size
    df = float(n1 + n2 - 2)
    g = float(hedges_g_values(np.r_[x, y], n1)[0])
    j = hedges_correction(df)
    scale = math.sqrt(1 / n1 + 1 / n2)
    lo, hi = noncentral_t_interval(g / j / scale, df, confidence)
    return Effect("hedges_g", g, np.nan, df, np.nan, lo * scale * j, hi * scale * j, n1, n2,
                  f"Hedges g of clinic-level change, more - less (pooled SD, small-sample corrected: g = J d, "
                  f"J = 1 - 3 / (4 df - 1)); {confidence_text(confidence)} CI by inverting the noncentral t "
                  f"distribution of t = d / sqrt(1/n1 + 1/n2) on {df:g} df (scipy.stats.nct, brentq), both "
                  "limits times J")


# ----------------------------------------------------------------------------------------------
# Families of tests


def holm(p_values) -> np.ndarray:
    """Holm step-down adjusted p-values of one family of tests
    (``statsmodels.stats.multitest.multipletests(method="holm")``).

    Missing p-values (tests that could not be computed) are not members of the family and stay NaN.
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype="float64").reshape(-1)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out
