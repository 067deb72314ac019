"""Patient-survey effect analysis (notebook 04): did the integrating clinics' patients rate them better?

The pipeline, each step a function of DataFrames and parameters (no paths), so that a multiverse
analysis can call it many times in-process:

1. :func:`composite_scores`: each response's composite (mean of the ``in_composite`` items, reversed
   items turned round), or excluded when fewer than ``min_answered`` of those items are answered.
2. :func:`clinic_change`: each clinic's mean composite per wave and its change (post - pre); clinics
   without valid responses in both waves, or without a group, are excluded and listed with the reason.
3. The comparisons of clinic-level change, "more" versus "less": :func:`student_t` (primary),
   :func:`welch_t`, :func:`permutation_exact`, :func:`mann_whitney`, :func:`hedges_g`,
   :func:`mixed_anova_interaction` (clinic x wave means) and :func:`mixedlm_interaction`
   (patient-level mixed model); :func:`survey_effects` gathers them in ``survey_effects.csv``.

The clinic-level functions take a vector of changes and a vector of group labels and return an
:class:`Effect` (a named tuple, no pandas), so that they stay cheap. Degenerate inputs raise
:class:`~integrating.errors.AnalysisError` naming what is wrong; docs/methods-survey.md lists which.

The two-group statistics that other modules share are defined here once, vectorised over many
comparisons of the same group sizes (each row of a matrix is one comparison, its first ``k`` values
'more'): :func:`t_tests` (Student and Welch; also the power simulation and the multiverse),
:func:`rank_sum_tests` (Wilcoxon-Mann-Whitney; also the mechanism comparison and the multiverse) and
:func:`hedges_g_values` (also the mechanism comparison).
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from .contract import GROUPS, MIN_CLINICS_PER_GROUP, WAVES
from .errors import AnalysisError

ANALYSES = (
    "student_t",
    "welch_t",
    "permutation_exact",
    "mann_whitney",
    "mixed_anova_interaction",
    "mixedlm_interaction",
    "hedges_g",
)
ANALYSIS_LABELS = {
    "student_t": "Student t (primary)",
    "welch_t": "Welch t",
    "permutation_exact": "Permutation test",
    "mann_whitney": "Mann-Whitney U (Hodges-Lehmann shift)",
    "mixed_anova_interaction": "Mixed ANOVA, group x wave",
    "mixedlm_interaction": "Mixed model, group x wave",
    "hedges_g": "Hedges g",
}
EFFECT_COLUMNS = [
    "analysis", "estimate", "statistic", "df", "p_value", "ci_low", "ci_high", "n_more", "n_less", "test",
]
CLINIC_CHANGE_COLUMNS = ["clinic_id", "group", "n_pre", "n_post", "mean_pre", "mean_post", "change"]
GROUP_CHANGE_COLUMNS = ["group", "n_clinics", "mean_change", "ci_low", "ci_high", "sd_change"]
EXCLUSION_COLUMNS = ["unit", "clinic_id", "wave", "n_responses", "reason"]
SCORED_COLUMNS = ["response_id", "clinic_id", "wave", "n_answered", "composite", "included"]

#: Elements (indices or random keys) held in memory at once by the permutation test.
CHUNK_ELEMENTS = 1 << 21
#: Two relabelings whose differences agree within this share of the data's scale count as tied.
TIE_RTOL = 1e-11


class Effect(NamedTuple):
    """One row of ``survey_effects.csv``. Cells an analysis does not define are NaN (written empty)."""

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
# Composite scores and clinic-level change


def composite_scores(responses: pd.DataFrame, items: pd.DataFrame, *, min_answered: float = 0.5) -> pd.DataFrame:
    """Composite score of every response (vectorised over responses).

    The composite is the mean of the answered ``in_composite`` items after reversing ``reverse``
    items (v -> scale_min + scale_max - v). A response enters (``included``) when it answers at least
    ``min_answered`` of those items; otherwise its ``composite`` is NaN. Columns: response_id,
    clinic_id, wave, n_answered, composite, included; rows in the order of ``responses``.
    """
    if not 0 < min_answered <= 1:
        raise AnalysisError(f"composite_min_answered is {min_answered!r}; expected a share in (0, 1]")
    comp = items.loc[items["in_composite"].astype(bool)]
    if comp.empty:
        raise AnalysisError("no survey item has in_composite = true; the composite needs at least one item")
    names = comp["item"].tolist()
    missing = [c for c in ["response_id", "clinic_id", "wave", *names] if c not in responses.columns]
    if missing:
        raise AnalysisError(f"survey_responses lacks column(s) {', '.join(missing)}; expected one column per item")
    bad_wave = ~responses["wave"].isin(WAVES)
    if bad_wave.any():
        raise AnalysisError(
            f"survey_responses has wave value(s) {sorted(map(str, responses.loc[bad_wave, 'wave'].unique()))}; "
            f"expected {' or '.join(WAVES)}"
        )
    values = responses[names].to_numpy(dtype="float64", na_value=np.nan)
    lo = comp["scale_min"].to_numpy(dtype="float64")
    hi = comp["scale_max"].to_numpy(dtype="float64")
    values = np.where(comp["reverse"].to_numpy(dtype=bool), lo + hi - values, values)
    answered = ~np.isnan(values)
    n_answered = answered.sum(axis=1)
    # "at least half": compare counts, with a tolerance for shares such as 0.6 * 5 = 3.0000000000000004.
    included = n_answered >= min_answered * len(names) - 1e-9
    total = np.where(answered, values, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        composite = np.where(included, total / n_answered, np.nan)
    return pd.DataFrame(
        {
            "response_id": responses["response_id"].to_numpy(),
            "clinic_id": responses["clinic_id"].to_numpy(),
            "wave": responses["wave"].to_numpy(),
            "n_answered": n_answered.astype("int64"),
            "composite": composite,
            "included": included,
        }
    )


def group_labels(groups) -> pd.Series:
    """Group of each clinic (index clinic_id) from ``clinic_segments.csv`` or a Series of labels."""
    if isinstance(groups, pd.DataFrame):
        missing = {"clinic_id", "group"} - set(groups.columns)
        if missing:
            raise AnalysisError(f"the group table lacks column(s) {', '.join(sorted(missing))}; "
                                "expected clinic_segments.csv (clinic_id, ..., group)")
        labels = pd.Series(groups["group"].to_numpy(), index=groups["clinic_id"].to_numpy(), name="group")
    else:
        labels = pd.Series(groups, name="group")
    labels.index.name = "clinic_id"
    if labels.index.has_duplicates:
        dup = sorted(map(str, labels.index[labels.index.duplicated()].unique()))
        raise AnalysisError(f"clinic(s) {', '.join(dup)} appear more than once in the group table; expected one row per clinic")
    bad = ~labels.isin(GROUPS)
    if bad.any():
        raise AnalysisError(
            f"group value(s) {sorted(map(str, labels[bad].unique()))} in the group table; expected 'more' or 'less'"
        )
    return labels.astype(object)


@dataclass(frozen=True)
class ClinicChange:
    """``table``: survey_clinic_change.csv; ``exclusions``: survey_exclusions.csv."""

    table: pd.DataFrame
    exclusions: pd.DataFrame


def clinic_change(scored: pd.DataFrame, groups, *, min_answered: float | None = None) -> ClinicChange:
    """Clinic wave means and change (post - pre) of the clinics with valid responses in both waves.

    ``scored`` is the output of :func:`composite_scores`; ``groups`` is ``clinic_segments.csv`` (or a
    Series of group labels indexed by clinic_id). Every clinic of either input appears either in
    ``table`` or, with its reason, in ``exclusions``; responses below the answered-items rule are
    counted there per clinic and wave. ``min_answered`` only words the reason.
    """
    labels = group_labels(groups)
    included = scored["included"].to_numpy(dtype=bool)
    by = scored.loc[included].groupby(["clinic_id", "wave"], sort=True)["composite"]
    clinics = pd.Index(scored["clinic_id"].unique()).union(labels.index)
    size = by.size().unstack("wave").reindex(index=clinics, columns=list(WAVES)).fillna(0).astype("int64")
    mean = by.mean().unstack("wave").reindex(index=clinics, columns=list(WAVES)).astype("float64")
    has_group = clinics.isin(labels.index)
    lack_pre, lack_post = size["pre"].to_numpy() == 0, size["post"].to_numpy() == 0
    complete = has_group & ~lack_pre & ~lack_post

    table = pd.DataFrame(
        {
            "clinic_id": clinics[complete].to_numpy(dtype=object),
            "group": labels.reindex(clinics[complete]).to_numpy(dtype=object),
            "n_pre": size["pre"].to_numpy()[complete],
            "n_post": size["post"].to_numpy()[complete],
            "mean_pre": mean["pre"].to_numpy()[complete],
            "mean_post": mean["post"].to_numpy()[complete],
        }
    )
    table["change"] = table["mean_post"] - table["mean_pre"]

    # Clinic level: no group, or no valid response in a wave; n_responses = valid responses dropped with it.
    n_valid = size.sum(axis=1).to_numpy()
    lacking = has_group & ~complete
    both, pre_only = lack_pre & lack_post, lack_pre & ~lack_post
    wave = np.where(both, "pre+post", np.where(pre_only, "pre", "post"))
    reason = np.where(both, "no valid responses in the pre and post waves",
                      np.where(pre_only, "no valid responses in the pre wave", "no valid responses in the post wave"))
    parts = [
        pd.DataFrame({"unit": "clinic", "clinic_id": clinics[~has_group].to_numpy(dtype=object), "wave": "",
                      "n_responses": n_valid[~has_group], "reason": "not in clinic_segments.csv (no group)"}),
        pd.DataFrame({"unit": "clinic", "clinic_id": clinics[lacking].to_numpy(dtype=object), "wave": wave[lacking],
                      "n_responses": n_valid[lacking], "reason": reason[lacking]}),
    ]
    # Response level: below the answered-items rule, counted per clinic and wave.
    if not included.all():
        share = "the required share" if min_answered is None else f"{min_answered:g}"
        counts = scored.loc[~included].groupby(["clinic_id", "wave"], sort=True).size()
        parts.append(pd.DataFrame({"unit": "response",
                                   "clinic_id": counts.index.get_level_values("clinic_id").to_numpy(dtype=object),
                                   "wave": counts.index.get_level_values("wave").to_numpy(dtype=object),
                                   "n_responses": counts.to_numpy(),
                                   "reason": f"fewer than {share} of the composite items answered"}))
    exclusions = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) \
        else pd.DataFrame({c: pd.Series(dtype="int64" if c == "n_responses" else object) for c in EXCLUSION_COLUMNS})
    exclusions = exclusions[EXCLUSION_COLUMNS].astype({"n_responses": "int64"})
    exclusions = exclusions.sort_values(["unit", "clinic_id", "wave"], kind="mergesort").reset_index(drop=True)
    return ClinicChange(table=table[CLINIC_CHANGE_COLUMNS].reset_index(drop=True), exclusions=exclusions)


def group_change(table: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """``survey_group_change.csv``: per group, number of clinics, mean change, its t-based CI and SD."""
    from scipy import stats

    change = table["change"].to_numpy(dtype="float64")
    labels = table["group"].to_numpy()
    _check_counts(labels)
    rows = []
    for g in sorted(GROUPS):
        x = change[labels == g]
        m, sd = float(x.mean()), float(x.std(ddof=1))
        half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1)) * sd / math.sqrt(x.size)
        rows.append((g, x.size, m, m - half, m + half, sd))
    return pd.DataFrame(rows, columns=GROUP_CHANGE_COLUMNS)


# ----------------------------------------------------------------------------------------------
# Shared two-group statistics, vectorised: each row of ``packed`` is one comparison whose first
# ``k`` values are 'more' and the others 'less' (all rows with the same group sizes)


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
    return d * (1 - 3 / (4 * (n1 + n2) - 9))


# ----------------------------------------------------------------------------------------------
# Clinic-level comparisons (cheap: numpy in, named tuple out)


def _count_text(count: int) -> str:
    if count < 10**12:
        return str(count)
    digits = str(count)  # exact integer, possibly beyond float range
    return f"about {digits[0]}.{digits[1:3]}e{len(digits) - 1}"


def _pct(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def _check_counts(labels) -> None:
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
    _check_counts(g)
    return x[g == "more"], x[g == "less"]


def _check_variance(x: np.ndarray, y: np.ndarray) -> None:
    scale = max(float(np.abs(np.r_[x, y]).max()), 1.0)
    if np.ptp(x) <= 1e-12 * scale and np.ptp(y) <= 1e-12 * scale:
        raise AnalysisError(
            "clinic-level changes have zero variance within both groups (every clinic of a group changed by "
            "the same amount); t-tests and standardised differences are undefined"
        )


def _t_effect(analysis: str, change, groups, confidence: float, equal_var: bool) -> Effect:
    from scipy import stats

    x, y = split_groups(change, groups)
    _check_variance(x, y)
    with warnings.catch_warnings():
        # scipy warns when one group's changes are identical; the pooled test is still well defined.
        warnings.filterwarnings("ignore", message="Precision loss occurred", category=RuntimeWarning)
        res = stats.ttest_ind(x, y, equal_var=equal_var, alternative="two-sided")
    ci = res.confidence_interval(confidence_level=confidence)
    name = ("two-sample Student t-test (equal variances), two-sided" if equal_var
            else "two-sample Welch t-test (unequal variances, Welch-Satterthwaite df), two-sided")
    return Effect(analysis, float(x.mean() - y.mean()), float(res.statistic), float(res.df), float(res.pvalue),
                  float(ci.low), float(ci.high), x.size, y.size,
                  f"{name}; estimate = mean change more - less; {_pct(confidence)} CI")


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
    """Two-sided permutation test of the difference in mean change, vectorised over relabelings.

    Exact over all C(n, n_more) relabelings when that count is at most ``max_exact``; otherwise
    Monte Carlo with ``draws`` random relabelings from ``numpy.random.default_rng(seed)``. Relabelings
    are processed in chunks of about :data:`CHUNK_ELEMENTS` numbers, which bounds memory.
    """
    x, y = split_groups(change, groups)
    values = np.r_[x, y]
    n, k = values.size, x.size
    # Difference for a relabeling whose 'more' sum is S: S * (1/k + 1/(n-k)) - total / (n-k).
    a, b = 1.0 / k + 1.0 / (n - k), values.sum() / (n - k)
    observed = float(x.mean() - y.mean())
    obs_lin = abs(x.sum() * a - b)
    tol = TIE_RTOL * a * float(np.abs(values).max()) * n
    # Enumerate the smaller side: m labels per relabeling.
    m = min(k, n - k)
    small_is_more = m == k
    total = float(values.sum())
    count = math.comb(n, k)
    exact = count <= max_exact
    sums_list = []
    n_extreme = 0
    if exact:
        rows = max(1, CHUNK_ELEMENTS // m)
        combos = itertools.combinations(range(n), m)
        while True:
            idx = np.fromiter(itertools.chain.from_iterable(itertools.islice(combos, rows)), dtype=np.intp)
            if idx.size == 0:
                break
            s = values[idx.reshape(-1, m)].sum(axis=1)
            s = s if small_is_more else total - s
            d = s * a - b
            n_extreme += int(np.count_nonzero(np.abs(d) >= obs_lin - tol))
            if return_distribution:
                sums_list.append(d)
        n_evaluated = count
        p = n_extreme / count
    else:
        if draws < 1:
            raise AnalysisError(f"permutation_draws is {draws!r}; expected an integer >= 1")
        rng = np.random.default_rng(seed)
        rows = max(1, CHUNK_ELEMENTS // n)
        done = 0
        while done < draws:
            r = min(rows, draws - done)
            keys = rng.random((r, n))
            idx = np.argpartition(keys, m - 1, axis=1)[:, :m]  # a uniform random m-subset per row
            s = values[idx].sum(axis=1)
            s = s if small_is_more else total - s
            d = s * a - b
            n_extreme += int(np.count_nonzero(np.abs(d) >= obs_lin - tol))
            if return_distribution:
                sums_list.append(d)
            done += r
        n_evaluated = draws
        p = (1 + n_extreme) / (1 + draws)
    distribution = np.concatenate(sums_list) if return_distribution else None
    return PermutationResult(observed, float(min(p, 1.0)), exact, count, n_evaluated, n_extreme,
                             None if exact else seed, distribution)


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


def hedges_g(change, groups, *, confidence: float = 0.95) -> Effect:
    """Hedges g of clinic-level change, more - less (:func:`hedges_g_values`), with pingouin's t-based CI."""
    import pingouin as pg

    x, y = split_groups(change, groups)
    _check_variance(x, y)
    g = float(hedges_g_values(np.r_[x, y], x.size)[0])
    ci = pg.compute_esci(stat=g, nx=x.size, ny=y.size, eftype="hedges", confidence=float(confidence), decimals=15)
    return Effect("hedges_g", g, np.nan, float(x.size + y.size - 2), np.nan, float(ci[0]), float(ci[1]),
                  x.size, y.size,
                  f"Hedges g of clinic-level change, more - less (pooled SD, small-sample corrected); "
                  f"{_pct(confidence)} CI g +/- t(df) * sqrt((n1 + n2) / (n1 n2) + g^2 / (2 (n1 + n2))) "
                  "(pingouin.compute_esci)")


def _long_means(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "clinic_id": np.tile(table["clinic_id"].to_numpy(dtype=object), 2),
            "group": np.tile(table["group"].to_numpy(dtype=object), 2),
            "wave": np.repeat(np.array(WAVES, dtype=object), len(table)),
            "mean": np.r_[table["mean_pre"].to_numpy(dtype="float64"), table["mean_post"].to_numpy(dtype="float64")],
        }
    )


def mixed_anova_interaction(table: pd.DataFrame, *, confidence: float = 0.95) -> Effect:
    """Group x wave interaction of a mixed ANOVA (pingouin.mixed_anova) on clinic x wave means.

    ``table`` is survey_clinic_change.csv. With two waves the interaction F equals the Student t of
    clinic-level change squared; the estimate is the interaction contrast (difference in mean change)
    and its CI inverts the F test: contrast +/- t(df) * |contrast| / sqrt(F).
    """
    import pingouin as pg
    from scipy import stats

    x, y = split_groups(table["change"].to_numpy(dtype="float64"), table["group"].to_numpy())
    _check_variance(x, y)
    aov = pg.mixed_anova(data=_long_means(table), dv="mean", within="wave", subject="clinic_id", between="group")
    row = aov.loc[aov["Source"].eq("Interaction")].iloc[0]
    f, df1, df2, p = float(row["F"]), int(row["DF1"]), int(row["DF2"]), float(row["p_unc"])
    estimate = float(x.mean() - y.mean())
    if f > 0:
        half = float(stats.t.ppf(0.5 + confidence / 2, df2)) * abs(estimate) / math.sqrt(f)
        lo, hi, note = estimate - half, estimate + half, ""
    else:
        lo = hi = np.nan
        note = " (CI undefined: F = 0)"
    return Effect("mixed_anova_interaction", estimate, f, float(df2), p, lo, hi, x.size, y.size,
                  f"mixed ANOVA on clinic x wave means (pingouin.mixed_anova, clinic as subject), group x wave "
                  f"interaction F({df1}, {df2}); estimate = interaction contrast (difference in mean change); "
                  f"{_pct(confidence)} CI from inverting the F test{note}")


#: Optimisers tried for the mixed model; the fit with the highest (REML) log-likelihood is kept.
#: statsmodels' default gradient optimisers can stop short of the maximum when the random-intercept
#: variance is small, so two derivative-free ones are compared instead.
MIXEDLM_METHODS = ("powell", "nm")


@dataclass(frozen=True)
class MixedFit:
    result: object  # statsmodels MixedLMResults
    method: str  # optimiser of the kept fit
    warnings: tuple[str, ...]  # first lines of the warnings statsmodels raised for the kept fit


def random_intercept_fit(endog, exog: pd.DataFrame, groups, *, reml: bool = True,
                         methods: tuple[str, ...] = MIXEDLM_METHODS) -> MixedFit:
    """statsmodels MixedLM with a random intercept per group, fitted with each optimiser of ``methods``;
    the converged fit with the highest log-likelihood is kept (the first one on a tie)."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    model = MixedLM(np.asarray(endog, dtype="float64"), exog, groups=np.asarray(groups))
    best = None
    for method in methods:
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
            warnings.simplefilter("always")
            result = model.fit(reml=reml, method=method)
        if not (result.converged and np.isfinite(result.llf)):
            continue
        if best is None or result.llf > best.result.llf + 1e-9 * abs(best.result.llf):
            messages = tuple(sorted({str(w.message).strip().splitlines()[0] for w in caught}))
            best = MixedFit(result, method, messages)
    if best is None:
        raise AnalysisError(f"the mixed model did not converge with any of the optimisers {', '.join(methods)}")
    return best


def mixedlm_interaction(scored: pd.DataFrame, table: pd.DataFrame, *, confidence: float = 0.95) -> Effect:
    """Patient-level linear mixed model ``composite ~ wave * group + (1 | clinic)``, REML.

    Uses the valid responses of the clinics in ``table`` (the same clinics as every other analysis),
    with reference levels wave = pre and group = less, so the interaction coefficient estimates the
    difference in mean change (more - less). Reports its Wald z, two-sided p and CI.
    """
    x, y = split_groups(table["change"].to_numpy(dtype="float64"), table["group"].to_numpy())
    labels = pd.Series(table["group"].to_numpy(dtype=object), index=table["clinic_id"].to_numpy(dtype=object))
    keep = scored["included"].to_numpy(dtype=bool) & scored["clinic_id"].isin(labels.index).to_numpy()
    data = scored.loc[keep]
    post = data["wave"].eq("post").to_numpy(dtype="float64")
    more = data["clinic_id"].map(labels).eq("more").to_numpy(dtype="float64")
    term = "wave[post]:group[more]"
    exog = pd.DataFrame({"Intercept": np.ones_like(post), "wave[post]": post, "group[more]": more, term: post * more})
    fit = random_intercept_fit(data["composite"].to_numpy(), exog, data["clinic_id"].to_numpy())
    result = fit.result
    with np.errstate(all="ignore"):
        estimate, se = float(result.fe_params[term]), float(result.bse_fe[term])
        if not (np.isfinite(estimate) and np.isfinite(se) and se > 0):
            raise AnalysisError("the mixed model's interaction standard error is undefined (singular fit); "
                                "expected variation of the composite within clinics and waves")
        z, p = float(result.tvalues[term]), float(result.pvalues[term])
        lo, hi = (float(v) for v in result.conf_int(alpha=1 - confidence).loc[term])
    note = f"; optimiser {fit.method}"
    if fit.warnings:
        note += "; statsmodels warned: " + " | ".join(fit.warnings)
    return Effect("mixedlm_interaction", estimate, z, np.nan, p, lo, hi, x.size, y.size,
                  f"linear mixed model composite ~ wave * group + (1 | clinic), REML (statsmodels MixedLM), "
                  f"{len(data)} responses; Wald z of the wave x group interaction, two-sided; "
                  f"{_pct(confidence)} Wald CI{note}")


def survey_effects(scored: pd.DataFrame, table: pd.DataFrame, *, confidence: float = 0.95,
                   max_exact: int = 1_000_000, draws: int = 100_000, seed: int = 0) -> pd.DataFrame:
    """``survey_effects.csv``: one row per analysis of :data:`ANALYSES`, in that order."""
    change = table["change"].to_numpy(dtype="float64")
    labels = table["group"].to_numpy()
    x, y = split_groups(change, labels)
    _check_variance(x, y)
    rows = [
        student_t(change, labels, confidence=confidence),
        welch_t(change, labels, confidence=confidence),
        permutation_exact(change, labels, max_exact=max_exact, draws=draws, seed=seed),
        mann_whitney(change, labels, max_exact=max_exact),
        mixed_anova_interaction(table, confidence=confidence),
        mixedlm_interaction(scored, table, confidence=confidence),
        hedges_g(change, labels, confidence=confidence),
    ]
    out = pd.DataFrame(rows, columns=EFFECT_COLUMNS)
    return out.astype({"n_more": "int64", "n_less": "int64"})


@dataclass(frozen=True)
class SurveyAnalysis:
    scored: pd.DataFrame
    clinic_change: pd.DataFrame
    exclusions: pd.DataFrame
    group_change: pd.DataFrame
    effects: pd.DataFrame


def analyse(responses: pd.DataFrame, items: pd.DataFrame, groups, *, min_answered: float = 0.5,
            confidence: float = 0.95, max_exact: int = 1_000_000, draws: int = 100_000,
            seed: int = 0) -> SurveyAnalysis:
    """The whole analysis of notebook 04: composites, clinic change, group change and every effect."""
    scored = composite_scores(responses, items, min_answered=min_answered)
    cc = clinic_change(scored, groups, min_answered=min_answered)
    return SurveyAnalysis(
        scored=scored,
        clinic_change=cc.table,
        exclusions=cc.exclusions,
        group_change=group_change(cc.table, confidence=confidence),
        effects=survey_effects(scored, cc.table, confidence=confidence, max_exact=max_exact, draws=draws, seed=seed),
    )


def published_rounding(effects: pd.DataFrame, group_change_table: pd.DataFrame) -> dict:
    """The three numbers the paper reports, rounded as it reports them (2 decimals, half away from zero,
    as the claims check rounds: :func:`integrating.claims.round_half_away`)."""
    from .claims import round_half_away  # imported here: the power shards use this module but not the claims

    means = group_change_table.set_index("group")["mean_change"]
    p = float(effects.set_index("analysis").loc["student_t", "p_value"])
    return {"mean_change_more": float(round_half_away(means["more"], 2)),
            "mean_change_less": float(round_half_away(means["less"], 2)),
            "p_student": float(round_half_away(p, 2))}


# ----------------------------------------------------------------------------------------------
# Figures: <figure>_data (tested) and <figure>_plot


def _t_ci(values: np.ndarray, confidence: float) -> tuple[float, float, float]:
    from scipy import stats

    m = float(values.mean())
    if values.size < 2:
        return m, np.nan, np.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, values.size - 1)) * float(values.std(ddof=1)) / math.sqrt(values.size)
    return m, m - half, m + half


def interaction_data(table: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Pre/post means: one row per clinic and wave (kind 'clinic') and per group and wave (kind 'group',
    with the mean of the clinic means and its t-based CI). Columns: kind, group, clinic_id, wave, mean,
    ci_low, ci_high."""
    long = _long_means(table)
    clinic_rows = long.assign(kind="clinic", ci_low=np.nan, ci_high=np.nan)
    rows = []
    for g in GROUPS:
        for w in WAVES:
            vals = long.loc[long["group"].eq(g) & long["wave"].eq(w), "mean"].to_numpy(dtype="float64")
            if vals.size:
                m, lo, hi = _t_ci(vals, confidence)
                rows.append(("group", g, "", w, m, lo, hi))
    group_rows = pd.DataFrame(rows, columns=["kind", "group", "clinic_id", "wave", "mean", "ci_low", "ci_high"])
    out = pd.concat([group_rows, clinic_rows[group_rows.columns]], ignore_index=True)
    return out.sort_values(["kind", "group", "clinic_id", "wave"], kind="mergesort").reset_index(drop=True)


def _group_order(labels) -> list[str]:
    return [g for g in GROUPS if g in set(labels)]


def interaction_plot(data: pd.DataFrame, ax, *, ylabel: str = "Mean composite score") -> None:
    from . import plotting

    import seaborn as sns

    xpos = {w: i for i, w in enumerate(WAVES)}
    order = _group_order(data["group"])
    shift = {g: (i - (len(order) - 1) / 2) * 0.06 for i, g in enumerate(order)}
    clinics = data.loc[data["kind"].eq("clinic")].sort_values(["group", "clinic_id", "wave"], kind="mergesort")
    clinics = clinics.assign(x=[xpos[w] + shift[g] for w, g in zip(clinics["wave"], clinics["group"])])
    sns.lineplot(data=clinics, x="x", y="mean", hue="group", units="clinic_id", estimator=None, sort=False,
                 palette=plotting.GROUP_COLORS, alpha=0.25, lw=0.7, legend=False, zorder=1, ax=ax)
    for g in order:
        rows = data.loc[data["kind"].eq("group") & data["group"].eq(g)].set_index("wave").reindex(list(WAVES))
        xs = [xpos[w] + shift[g] for w in WAVES]
        ax.errorbar(xs, rows["mean"], yerr=[rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]],
                    color=plotting.GROUP_COLORS[g], lw=2, marker="o", ms=4, capsize=3, zorder=3,
                    label=plotting.GROUP_LABELS[g])
    ax.set_xticks(range(len(WAVES)), ["Before (pre)", "After (post)"])
    ax.set_xlim(-0.4, len(WAVES) - 0.6)
    ax.set_xlabel("")
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2, borderaxespad=0.2)


def change_by_group_data(table: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Clinic-level change by group: one row per clinic (kind 'clinic', x = group position plus a
    deterministic spread by rank) and per group (kind 'mean', with the t-based CI). Columns: kind,
    group, clinic_id, x, change, ci_low, ci_high."""
    order = _group_order(table["group"])
    rows = []
    parts = []
    for i, g in enumerate(order):
        sub = table.loc[table["group"].eq(g), ["clinic_id", "change"]].sort_values(["change", "clinic_id"], kind="mergesort")
        spread = np.linspace(-0.15, 0.15, len(sub)) if len(sub) > 1 else np.zeros(len(sub))
        parts.append(pd.DataFrame({"kind": "clinic", "group": g, "clinic_id": sub["clinic_id"].to_numpy(dtype=object),
                                   "x": i + spread, "change": sub["change"].to_numpy(dtype="float64"),
                                   "ci_low": np.nan, "ci_high": np.nan}))
        m, lo, hi = _t_ci(sub["change"].to_numpy(dtype="float64"), confidence)
        rows.append(("mean", g, "", float(i), m, lo, hi))
    out = pd.concat([pd.DataFrame(rows, columns=["kind", "group", "clinic_id", "x", "change", "ci_low", "ci_high"]),
                     *parts], ignore_index=True)
    return out.sort_values(["kind", "x", "clinic_id"], kind="mergesort").reset_index(drop=True)


def change_by_group_plot(data: pd.DataFrame, ax, *, ylabel: str = "Change in mean composite (post - pre)") -> None:
    """Each clinic's change (a seaborn swarm per group) and the group mean with its t-based CI (from the
    table, not re-estimated), the mean written beside it."""
    import seaborn as sns

    from . import plotting

    order = _group_order(data["group"])
    clinics = data.loc[data["kind"].eq("clinic")]
    sns.swarmplot(data=clinics, x="group", y="change", hue="group", order=order, palette=plotting.GROUP_COLORS,
                  size=3.5, alpha=0.8, legend=False, zorder=2, ax=ax)
    for i, g in enumerate(order):
        m = data.loc[data["kind"].eq("mean") & data["group"].eq(g)].iloc[0]
        ax.errorbar([i + 0.3], [m["change"]], yerr=[[m["change"] - m["ci_low"]], [m["ci_high"] - m["change"]]],
                    color=plotting.GROUP_COLORS[g], marker="D", ms=5, capsize=3, lw=1.5, zorder=3)
        ax.annotate(f"{m['change']:+.2f}", (i + 0.36, m["change"]), va="center", fontsize=7,
                    color=plotting.GROUP_COLORS[g])
    ax.axhline(0, color="#999999", lw=0.6, zorder=0)
    ax.set_xticks(range(len(order)), [plotting.GROUP_LABELS[g] for g in order])
    ax.set_xlim(-0.5, len(order) - 0.3)
    ax.set_xlabel("")
    ax.set_ylabel(ylabel)


def permutation_data(change, groups, *, max_exact: int = 1_000_000, draws: int = 100_000, seed: int = 0,
                     bins: int = 40) -> pd.DataFrame:
    """Histogram of the permutation distribution of the difference in mean change.

    Columns: bin_low, bin_high, count, share (of relabelings), observed, p_value (the last two are
    the same on every row)."""
    res = permutation_test(change, groups, max_exact=max_exact, draws=draws, seed=seed, return_distribution=True)
    d = res.distribution
    lim = max(float(np.abs(d).max()), abs(res.difference)) * 1.02 or 1.0
    counts, edges = np.histogram(d, bins=bins, range=(-lim, lim))
    return pd.DataFrame({"bin_low": edges[:-1], "bin_high": edges[1:], "count": counts.astype("int64"),
                         "share": counts / d.size, "observed": res.difference, "p_value": res.p_value})


def permutation_plot(data: pd.DataFrame, ax, *, xlabel: str = "Difference in mean change, more - less") -> None:
    """The permutation distribution as a seaborn histogram of the table's bins (weights = shares of
    relabelings), darker beyond the observed difference in absolute value; the observed difference and
    its mirror image as lines."""
    import seaborn as sns

    obs, p = float(data["observed"].iloc[0]), float(data["p_value"].iloc[0])
    extreme = (np.maximum(np.abs(data["bin_low"]), np.abs(data["bin_high"])) > abs(obs)).to_numpy()
    # a list, not an array: seaborn 0.13 compares `bins` with "auto" when weights are given
    edges = [*map(float, data["bin_low"]), float(data["bin_high"].iloc[-1])] if len(data) else [0.0, 1.0]
    bins = pd.DataFrame({"x": (data["bin_low"] + data["bin_high"]).to_numpy(dtype=float) / 2,
                         "share": data["share"].to_numpy(dtype=float),
                         "beyond": np.where(extreme, "beyond observed", "within")})
    sns.histplot(data=bins, x="x", weights="share", bins=edges, hue="beyond", hue_order=["within", "beyond observed"],
                 palette={"within": "#CCCCCC", "beyond observed": "#999999"}, multiple="stack", edgecolor="white",
                 linewidth=0.3, alpha=1, legend=False, ax=ax)
    for v in (obs, -obs):
        ax.axvline(v, color="#000000" if v == obs else "#666666", lw=1.2 if v == obs else 0.8,
                   ls="-" if v == obs else "--")
    # headroom above the tallest bar for the observed value's label
    top = float(data["share"].max()) * 1.5 if len(data) and data["share"].max() > 0 else 1.0
    ax.set_ylim(0, top)
    ax.annotate(f"observed {obs:+.3f}\np = {p:.3f}", (obs, top), ha="left" if obs >= 0 else "right",
                va="top", fontsize=7, xytext=(3 if obs >= 0 else -3, -1), textcoords="offset points")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Share of relabelings")


def forest_data(effects: pd.DataFrame) -> pd.DataFrame:
    """Every analysis's estimate and CI, with its panel: 'difference' (change scale) or 'standardised'.

    Columns: analysis, label, panel, estimate, ci_low, ci_high, has_ci, p_value; rows in the order of
    :data:`ANALYSES`."""
    out = effects.set_index("analysis").reindex([a for a in ANALYSES if a in set(effects["analysis"])]).reset_index()
    return pd.DataFrame(
        {
            "analysis": out["analysis"],
            "label": out["analysis"].map(ANALYSIS_LABELS),
            "panel": np.where(out["analysis"].eq("hedges_g"), "standardised", "difference"),
            "estimate": out["estimate"].astype("float64"),
            "ci_low": out["ci_low"].astype("float64"),
            "ci_high": out["ci_high"].astype("float64"),
            "has_ci": out["ci_low"].notna() & out["ci_high"].notna(),
            "p_value": out["p_value"].astype("float64"),
        }
    )


def _p_text(p: float) -> str:
    return "" if not np.isfinite(p) else ("p < 0.001" if p < 0.001 else f"p = {p:.3f}")


def forest_plot(data: pd.DataFrame, fig) -> None:
    """Two panels sharing the rows: change-scale estimates (left), Hedges g (right); p-values in the labels."""
    from matplotlib.lines import Line2D

    panels = [("difference", "Difference in mean change\n(more - less, scale points)"),
              ("standardised", "Standardised\ndifference (Hedges g)")]
    axes = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 1.8]})
    ypos = {a: i for i, a in enumerate(data["analysis"][::-1])}
    for ax, (panel, xlabel) in zip(axes, panels):
        sub = data.loc[data["panel"].eq(panel)]
        for analysis, est, lo, hi, has_ci in sub[["analysis", "estimate", "ci_low", "ci_high", "has_ci"]].itertuples(
                index=False):
            y = ypos[analysis]
            color = "#0072B2" if analysis == "student_t" else "#000000"
            if has_ci:
                ax.plot([lo, hi], [y, y], color=color, lw=1.2)
            ax.plot(est, y, marker="o", ms=5, color=color, mfc=color if has_ci else "white")
        ax.axvline(0, color="#999999", lw=0.6, zorder=0)
        ax.set_xlabel(xlabel)
    labels = [f"{label}   {_p_text(p)}".rstrip() for label, p in zip(data["label"], data["p_value"])]
    axes[0].set_yticks(list(ypos.values()), labels[::-1])
    axes[0].set_ylim(-0.6, len(ypos) - 0.4)
    handles = [Line2D([], [], color="#000000", marker="o", ms=5, lw=1.2, label="estimate and CI"),
               Line2D([], [], color="#000000", marker="o", ms=5, mfc="white", lw=0, label="estimate (test without CI)")]
    axes[0].legend(handles=handles, loc="best", frameon=False, fontsize=6)
