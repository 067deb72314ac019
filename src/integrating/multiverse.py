"""Multiverse (specification-curve) analysis of the survey effect (notebook 06).

Does the survey result survive other defensible analysis choices? A **specification** is one
combination of

* a **segmentation**: rule ``share`` at each cut-off of ``threshold_grid``, rule ``median``, and rule
  ``count`` at each cut-off of ``count_grid`` (:func:`segmentation_choices`);
* a **composite definition**: all composite items, or all but one (each item left out in turn), at
  each minimum answered share of ``min_answered_grid`` (:func:`composite_choices`);
* an **exclusion**: no clinic left out, or one clinic left out (leave-one-clinic-out, at most
  ``max_loo_clinics`` clinics, see :func:`loo_clinics`);
* a **test** of the difference in clinic-level change, more - less: :data:`TESTS`.

Everything is computed in process and vectorised: composite scores once for all composite
definitions (one matrix product), clinic changes once per definition, then every segmentation x
exclusion as matrices, grouped by group sizes so that the permutation test shares its relabelings
across specifications; every test is a vectorised two-group test of :mod:`integrating.stats`
(:func:`~integrating.stats.t_tests`, :func:`~integrating.stats.permutation_tests`,
:func:`~integrating.stats.rank_sum_tests`) applied to every specification at once. The patient-level mixed model is not part of the multiverse:
a fit takes seconds, so thousands of fits would take hours; notebook 04 reports it for the primary
specification.

Each specification's ``estimate`` is the difference in mean clinic-level change (more - less), the
same quantity for every test, so that the specification curve compares like with like (the
Hodges-Lehmann shift that notebook 04 reports with the Mann-Whitney test is a different quantity and
is not part of it). Specifications that cannot be computed (a group with fewer than 2 clinics, zero
variance for a t-test) are kept, with empty results and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from . import segmentation, stats, survey
from .contract import MIN_CLINICS_PER_GROUP, WAVES
from .errors import AnalysisError

TESTS = ("student_t", "welch_t", "permutation", "mann_whitney")
TEST_LABELS = {
    "student_t": "Student t",
    "welch_t": "Welch t",
    "permutation": "Permutation",
    "mann_whitney": "Mann-Whitney U",
}
TEST_NAMES = {
    "student_t": "two-sample Student t-test (equal variances), two-sided, with its t-based CI",
    "welch_t": "two-sample Welch t-test (unequal variances, Welch-Satterthwaite df), two-sided, with its t-based CI",
    "permutation": "permutation test of the difference in mean change, two-sided (|difference| >= observed): exact "
                   "over all relabelings up to multiverse_permutation_max_exact, else Monte Carlo with "
                   "multiverse_permutation_draws random relabelings, p = (1 + extreme) / (1 + draws)",
    "mann_whitney": "Mann-Whitney U test, two-sided: exact permutation distribution of U (mid-ranks for ties) up to "
                    "multiverse_permutation_max_exact relabelings, else normal approximation with tie and "
                    "continuity corrections",
}
COLUMNS = [
    "spec_id", "primary", "segmentation", "rule", "cutoff", "composite", "left_out_item", "min_answered",
    "excluded_clinic", "test", "estimate", "ci_low", "ci_high", "p_value", "n_more", "n_less", "method", "reason",
]
SUMMARY_COLUMNS = [
    "dimension", "choice", "n_specs", "n_estimated", "n_same_sign", "share_same_sign", "n_tested",
    "n_significant", "share_significant", "estimate_median", "estimate_min", "estimate_max",
]
ALL_ITEMS = "all items"
NO_CLINIC = "none"


# ----------------------------------------------------------------------------------------------
# The choices


@dataclass(frozen=True)
class SegmentationChoice:
    """A segmentation rule and its cut-off (NaN for ``median``)."""

    rule: str
    cutoff: float

    @property
    def label(self) -> str:
        if self.rule == "share":
            return f"share >= {self.cutoff:g}"
        if self.rule == "count":
            return f"count >= {int(self.cutoff)}"
        return "median"


@dataclass(frozen=True)
class CompositeChoice:
    """A composite definition: the item left out ("" for none) and the minimum answered share."""

    left_out: str
    min_answered: float

    @property
    def label(self) -> str:
        return ALL_ITEMS if not self.left_out else f"without {self.left_out}"


def segmentation_choices(rule: str = "share", threshold: float = 0.5, count_threshold: int = 3,
                         threshold_grid=(0.5,), count_grid=(3,)) -> list[SegmentationChoice]:
    """Every segmentation of the multiverse, in order: share cut-offs ascending, median, count cut-offs
    ascending. The configured segmentation is always included."""
    if rule not in segmentation.RULES:
        raise AnalysisError(f"unknown segmentation rule {rule!r}; expected one of {', '.join(segmentation.RULES)}")
    configured = {round(float(threshold), 12)} if rule == "share" else set()
    shares = sorted({round(float(t), 12) for t in threshold_grid} | configured)
    counts = sorted({int(c) for c in count_grid} | ({int(count_threshold)} if rule == "count" else set()))
    for t in shares:
        if not 0 <= t <= 1:
            raise AnalysisError(f"share cut-off {t!r} is outside 0..1")
    for c in counts:
        if c < 0:
            raise AnalysisError(f"count cut-off {c!r} is negative; expected >= 0")
    return ([SegmentationChoice("share", t) for t in shares] + [SegmentationChoice("median", np.nan)]
            + [SegmentationChoice("count", float(c)) for c in counts])


def composite_choices(items: pd.DataFrame, min_answered: float = 0.5,
                      min_answered_grid=(0.5,)) -> list[CompositeChoice]:
    """Every composite definition, in order: all items, then each composite item left out (in the order
    of ``survey_items``; only when there are at least 2 composite items); each at every minimum answered
    share of ``min_answered_grid`` plus ``min_answered``, ascending."""
    comp = items.loc[items["in_composite"].astype(bool), "item"].tolist()
    if not comp:
        raise AnalysisError("no survey item has in_composite = true; the composite needs at least one item")
    shares = sorted({round(float(s), 12) for s in min_answered_grid} | {round(float(min_answered), 12)})
    for s in shares:
        if not 0 < s <= 1:
            raise AnalysisError(f"minimum answered share {s!r}; expected a share in (0, 1]")
    left_out = [""] + (comp if len(comp) >= 2 else [])
    return [CompositeChoice(item, s) for item in left_out for s in shares]


# ----------------------------------------------------------------------------------------------
# Clinic-level change for every composite definition, groups for every segmentation


def clinic_changes(responses: pd.DataFrame, items: pd.DataFrame, clinic_ids, choices) -> tuple[np.ndarray, np.ndarray]:
    """Clinic-level change (post - pre) of every clinic under every composite definition.

    Returns ``change`` (clinics x definitions, NaN where undefined) and ``valid`` (the clinic has a
    valid response in both waves), clinics in the order of ``clinic_ids``. Each column equals
    :func:`integrating.survey.composite_scores` and :func:`integrating.survey.clinic_change` with the
    left-out item's ``in_composite`` set to false and that ``min_answered``. Vectorised: one matrix
    product gives every response's composite sum and count under every definition.
    """
    comp = items.loc[items["in_composite"].astype(bool)]
    names = comp["item"].tolist()
    if not names:
        raise AnalysisError("no survey item has in_composite = true; the composite needs at least one item")
    # Validation (columns, waves) and reversal exactly as the survey analysis does it.
    survey.composite_scores(responses.iloc[:0], items)
    bad_wave = ~responses["wave"].isin(WAVES)
    if bad_wave.any():
        found = sorted(map(str, responses.loc[bad_wave, "wave"].unique()))
        raise AnalysisError(f"survey_responses has wave value(s) {found}; expected {' or '.join(WAVES)}")
    values = responses[names].to_numpy(dtype="float64", na_value=np.nan)
    lo, hi = comp["scale_min"].to_numpy(dtype="float64"), comp["scale_max"].to_numpy(dtype="float64")
    values = np.where(comp["reverse"].to_numpy(dtype=bool), lo + hi - values, values)
    answered = ~np.isnan(values)
    weights = np.array([[name != c.left_out for c in choices] for name in names], dtype="float64")  # items x defs
    sums = np.where(answered, values, 0.0) @ weights
    counts = answered.astype("float64") @ weights
    needed = np.array([c.min_answered for c in choices]) * weights.sum(axis=0) - 1e-9
    included = counts >= needed
    with np.errstate(invalid="ignore", divide="ignore"):
        composite = np.where(included, sums / np.where(counts > 0, counts, 1.0), 0.0)

    ids = pd.Index(list(clinic_ids), dtype=object)
    clinic = ids.get_indexer(responses["clinic_id"].to_numpy(dtype=object))
    post = responses["wave"].eq("post").to_numpy()
    known = clinic >= 0
    cell = (clinic * 2 + post)[known]
    n_cells = 2 * len(ids)
    change = np.full((len(ids), len(choices)), np.nan)
    valid = np.zeros((len(ids), len(choices)), dtype=bool)
    for d in range(len(choices)):  # a handful of composite definitions
        w = included[known, d].astype("float64")
        n = np.bincount(cell, weights=w, minlength=n_cells).reshape(-1, 2)
        total = np.bincount(cell, weights=composite[known, d] * w, minlength=n_cells).reshape(-1, 2)
        ok = (n > 0).all(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = total / n
        valid[:, d] = ok
        change[ok, d] = means[ok, 1] - means[ok, 0]
    return change, valid


def group_matrix(segments: pd.DataFrame, choices) -> np.ndarray:
    """Clinics x segmentations: True where the clinic is 'more' (rows in the order of ``segments``)."""
    cols = []
    for c in choices:
        if c.rule == "count":
            g = segmentation.assign_groups(segments, "count", count_threshold=int(c.cutoff))
        elif c.rule == "share":
            g = segmentation.assign_groups(segments, "share", threshold=c.cutoff)
        else:
            g = segmentation.assign_groups(segments, "median")
        cols.append(g.eq("more").to_numpy())
    return np.column_stack(cols) if cols else np.zeros((len(segments), 0), dtype=bool)


def loo_clinics(change: np.ndarray, valid: np.ndarray, more: np.ndarray, max_clinics: int) -> list[int]:
    """Indices of the clinics left out one at a time, sorted by clinic order.

    Candidates are the clinics with survey change under the primary composite definition. When there
    are more than ``max_clinics``, the ``max_clinics`` with the largest influence on the primary
    estimate are kept: leaving clinic i out of group g moves the difference by
    |change_i - mean_g| / (n_g - 1) (ties by clinic order; clinic order alone when a group of the
    primary segmentation has fewer than 2 clinics).
    """
    if max_clinics < 0:
        raise AnalysisError(f"multiverse_max_loo_clinics is {max_clinics!r}; expected an integer >= 0")
    candidates = np.flatnonzero(valid)
    if len(candidates) <= max_clinics:
        return candidates.tolist()
    x, g = change[candidates], more[candidates]
    n_more, n_less = int(g.sum()), int((~g).sum())
    if min(n_more, n_less) < MIN_CLINICS_PER_GROUP:
        influence = np.zeros(len(candidates))
    else:
        m1, m0 = x[g].mean(), x[~g].mean()
        influence = np.where(g, np.abs(x - m1) / (n_more - 1), np.abs(x - m0) / (n_less - 1))
    order = np.lexsort((candidates, -influence))  # largest influence first, then clinic order
    return sorted(candidates[order[:max_clinics]].tolist())


# ----------------------------------------------------------------------------------------------
# The tests, vectorised over specifications with the same group sizes


def resampling_tests(packed: np.ndarray, k: int, *, max_exact: int = 100_000, draws: int = 2_000,
                     seed: int = 0) -> dict:
    """Permutation test of the difference in means and Mann-Whitney test of each row of ``packed``.

    The permutation test is :func:`integrating.stats.permutation_tests`: the rows share their
    relabelings, all C(n, k) of them when at most ``max_exact``, else ``draws`` random ones (the same
    ones, for the same seed, as notebook 04's test). The Mann-Whitney test is
    :func:`integrating.stats.rank_sum_tests` (exact up to ``max_exact`` relabelings, else the normal
    approximation). Returns arrays ``permutation`` and ``mann_whitney`` (two-sided p) and the method names.
    """
    perm = stats.permutation_tests(packed, k, max_exact=max_exact, draws=draws, seed=seed,
                                   draws_key="multiverse_permutation_draws")
    rank_sum = stats.rank_sum_tests(packed, k, max_exact=max_exact)
    methods = ("exact" if perm.exact else "monte_carlo", "exact" if rank_sum.exact else "asymptotic")
    return {"permutation": perm.p, "mann_whitney": rank_sum.p, "methods": methods}


# ----------------------------------------------------------------------------------------------
# The multiverse


@dataclass(frozen=True)
class MultiverseResult:
    """``table``: multiverse.csv; ``summary``: multiverse_summary.csv (computed on first use: it raises
    when the primary specification cannot be computed, after the table is available); the choices."""

    table: pd.DataFrame
    segmentations: tuple
    composites: tuple
    excluded: tuple
    seconds: float
    alpha: float = 0.05

    @cached_property
    def summary(self) -> pd.DataFrame:
        return summarise(self.table, alpha=self.alpha)


def _group_reason(n_more: int, n_less: int) -> str:
    if n_more == 0 or n_less == 0:
        only = "more" if n_less == 0 else "less"
        return (f"all {n_more + n_less} clinic(s) with survey change are in group '{only}'; comparing groups "
                f"needs at least {MIN_CLINICS_PER_GROUP} clinics in each of 'more' and 'less'")
    g, k = ("more", n_more) if n_more < MIN_CLINICS_PER_GROUP else ("less", n_less)
    return (f"group '{g}' has {k} clinic with survey change; a two-group comparison needs at least "
            f"{MIN_CLINICS_PER_GROUP} per group")


ZERO_VARIANCE = "clinic-level changes have zero variance within both groups; t-tests are undefined"


def multiverse(clinics: pd.DataFrame, implementation_log: pd.DataFrame, responses: pd.DataFrame,
               items: pd.DataFrame, *, months: int | None = None, rule: str = "share", threshold: float = 0.5,
               count_threshold: int = 3, threshold_grid=(0.5,), count_grid=(3,), min_answered: float = 0.5,
               min_answered_grid=(0.5,), max_loo_clinics: int = 20, confidence: float = 0.95,
               max_exact: int = 100_000, draws: int = 2_000, seed: int = 0) -> MultiverseResult:
    """Every specification of the multiverse, computed in process.

    The primary specification is the configured segmentation (``rule``, ``threshold``,
    ``count_threshold``), all composite items at ``min_answered``, no clinic left out, Student t:
    it equals notebook 04's ``student_t`` row. Returns a :class:`MultiverseResult` whose ``table``
    has one row per specification (columns :data:`COLUMNS`, sorted by ``spec_id``, which enumerates
    segmentation, composite, minimum answered share, exclusion and test in that nesting order).
    """
    import time

    start = time.perf_counter()
    if not 0 < confidence < 1:
        raise AnalysisError(f"confidence level {confidence!r}; expected a number strictly between 0 and 1")
    segs = segmentation_choices(rule, threshold, count_threshold, threshold_grid, count_grid)
    comps = composite_choices(items, min_answered, min_answered_grid)
    segments = segmentation.clinic_segments(clinics, implementation_log, months=months, rule=rule,
                                            threshold=threshold, count_threshold=count_threshold)
    ids = segments["clinic_id"].to_numpy(dtype=object)
    more = group_matrix(segments, segs)  # clinics x G
    change, valid = clinic_changes(responses, items, ids, comps)  # clinics x D
    g0 = next(i for i, c in enumerate(segs) if c.rule == rule and (
        rule == "median" or (rule == "share" and abs(c.cutoff - threshold) < 1e-12)
        or (rule == "count" and int(c.cutoff) == int(count_threshold))))
    d0 = next(i for i, c in enumerate(comps) if not c.left_out and abs(c.min_answered - min_answered) < 1e-12)
    loo = loo_clinics(change[:, d0], valid[:, d0], more[:, g0], max_loo_clinics)
    excl = np.array([-1] + loo, dtype=np.intp)
    G, D, E, n = len(segs), len(comps), len(excl), len(ids)

    # Spec sets (segmentation x composite x exclusion), in enumeration order g, d, e.
    gi, di, ei = (a.ravel() for a in np.meshgrid(np.arange(G), np.arange(D), np.arange(E), indexing="ij"))
    S = gi.size
    estimate = np.full(S, np.nan)
    res = {t: (np.full(S, np.nan), np.full(S, np.nan), np.full(S, np.nan)) for t in TESTS}  # p, lo, hi
    method = {t: np.full(S, "", dtype=object) for t in TESTS}
    reason = {t: np.full(S, "", dtype=object) for t in TESTS}
    n_more = np.zeros(S, dtype=np.int64)
    n_less = np.zeros(S, dtype=np.int64)

    buckets: dict[tuple[int, int], list] = {}
    clinic_pos = np.arange(n)
    for d in range(D):  # a handful of composite definitions; all segmentations x exclusions at once
        sel = np.flatnonzero(di == d)
        inc = valid[:, d][None, :] & (clinic_pos[None, :] != excl[ei[sel]][:, None])
        lab = more[:, gi[sel]].T
        k = (inc & lab).sum(axis=1)
        m_total = inc.sum(axis=1)
        n_more[sel], n_less[sel] = k, m_total - k
        key = np.where(inc, np.where(lab, 0, 1), 2)
        order = np.argsort(key, axis=1, kind="stable")
        values = np.where(np.isnan(change[:, d]), 0.0, change[:, d])
        for nk in set(zip(m_total.tolist(), k.tolist())):
            rows = np.flatnonzero((m_total == nk[0]) & (k == nk[1]))
            buckets.setdefault(nk, []).append((sel[rows], values[order[rows, : nk[0]]]))

    for (n_s, k), parts in sorted(buckets.items()):
        idx = np.concatenate([p[0] for p in parts])
        packed = np.concatenate([p[1] for p in parts], axis=0)
        if min(k, n_s - k) < MIN_CLINICS_PER_GROUP:
            why = _group_reason(k, n_s - k)
            for t in TESTS:
                reason[t][idx] = why
            continue
        tt = stats.t_tests(packed, k, confidence)
        estimate[idx] = tt["difference"]
        for t, key in (("student_t", "student"), ("welch_t", "welch")):
            p, lo, hi = tt[key].p, tt[key].ci_low, tt[key].ci_high
            ok = ~tt["zero_variance"]
            for arr, v in zip(res[t], (p, lo, hi)):
                arr[idx[ok]] = v[ok]
            method[t][idx[ok]] = "t"
            reason[t][idx[~ok]] = ZERO_VARIANCE
        rs = resampling_tests(packed, k, max_exact=max_exact, draws=draws, seed=seed)
        res["permutation"][0][idx] = rs["permutation"]
        res["mann_whitney"][0][idx] = rs["mann_whitney"]
        method["permutation"][idx], method["mann_whitney"][idx] = rs["methods"]

    # One row per specification: spec sets x tests.
    T = len(TESTS)
    seg_lab = np.array([c.label for c in segs], dtype=object)
    seg_rule = np.array([c.rule for c in segs], dtype=object)
    seg_cut = np.array([c.cutoff for c in segs], dtype="float64")
    comp_lab = np.array([c.label for c in comps], dtype=object)
    comp_item = np.array([c.left_out for c in comps], dtype=object)
    comp_min = np.array([c.min_answered for c in comps], dtype="float64")
    excl_lab = np.array([NO_CLINIC] + [ids[i] for i in loo], dtype=object)
    rep = lambda a: np.repeat(a, T)  # noqa: E731
    table = pd.DataFrame({
        "spec_id": np.arange(1, S * T + 1, dtype=np.int64),
        "primary": np.repeat((gi == g0) & (di == d0) & (ei == 0), T) & np.tile(np.array(TESTS) == "student_t", S),
        "segmentation": rep(seg_lab[gi]),
        "rule": rep(seg_rule[gi]),
        "cutoff": rep(seg_cut[gi]),
        "composite": rep(comp_lab[di]),
        "left_out_item": rep(comp_item[di]),
        "min_answered": rep(comp_min[di]),
        "excluded_clinic": rep(excl_lab[ei]),
        "test": np.tile(np.array(TESTS, dtype=object), S),
        "estimate": rep(estimate),
        "ci_low": np.column_stack([res[t][1] for t in TESTS]).ravel(),
        "ci_high": np.column_stack([res[t][2] for t in TESTS]).ravel(),
        "p_value": np.column_stack([res[t][0] for t in TESTS]).ravel(),
        "n_more": rep(n_more),
        "n_less": rep(n_less),
        "method": np.column_stack([method[t] for t in TESTS]).ravel(),
        "reason": np.column_stack([reason[t] for t in TESTS]).ravel(),
    })
    return MultiverseResult(table=table[COLUMNS], segmentations=tuple(segs), composites=tuple(comps),
                            excluded=tuple(excl_lab), seconds=time.perf_counter() - start, alpha=1 - confidence)


def run_multiverse(study, cfg: dict) -> MultiverseResult:
    """:func:`multiverse` on a loaded study with the parameters of a config dict (config.yaml's keys)."""
    return multiverse(
        study.clinics, study.implementation_log, study.survey_responses, study.survey_items,
        months=study.info.months, rule=cfg["segmentation_rule"], threshold=cfg["implementation_threshold"],
        count_threshold=cfg["implemented_count_threshold"], threshold_grid=cfg["threshold_grid"],
        count_grid=cfg["multiverse_count_grid"], min_answered=cfg["composite_min_answered"],
        min_answered_grid=cfg["multiverse_min_answered_grid"], max_loo_clinics=cfg["multiverse_max_loo_clinics"],
        confidence=cfg["confidence_level"], max_exact=cfg["multiverse_permutation_max_exact"],
        draws=cfg["multiverse_permutation_draws"], seed=cfg["seed"],
    )


# ----------------------------------------------------------------------------------------------
# Summary


def primary_row(table: pd.DataFrame) -> pd.Series:
    rows = table.loc[table["primary"].astype(bool)]
    if len(rows) != 1:
        raise AnalysisError(f"the multiverse table has {len(rows)} primary specification(s); expected exactly 1")
    return rows.iloc[0]


def summarise(table: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """``multiverse_summary.csv``: per choice, how many specifications share the primary estimate's sign
    and how many have p < ``alpha``.

    Rows: ``all``, then each value of each dimension (test, segmentation, composite, min_answered,
    excluded_clinic) in the table's order. ``share_same_sign`` is over specifications with an estimate,
    ``share_significant`` over those with a p-value.
    """
    primary = primary_row(table)
    if not np.isfinite(primary["estimate"]):
        raise AnalysisError(f"the primary specification cannot be computed ({primary['reason']}); the multiverse "
                            "summary compares every specification with it")
    sign = np.sign(primary["estimate"])
    est = table["estimate"].to_numpy(dtype="float64")
    p = table["p_value"].to_numpy(dtype="float64")
    frame = pd.DataFrame({
        "has_est": np.isfinite(est), "same": np.isfinite(est) & (np.sign(est) == sign),
        "has_p": np.isfinite(p), "sig": np.isfinite(p) & (p < alpha), "estimate": est,
    })
    parts = [("all", pd.Series("all", index=table.index))]
    for dim in ("test", "segmentation", "composite", "min_answered", "excluded_clinic"):
        parts.append((dim, table[dim]))
    rows = []
    for dim, key in parts:
        order = pd.unique(key)
        grouped = frame.groupby(key.to_numpy(), sort=False)
        agg = grouped.agg(n_specs=("has_est", "size"), n_estimated=("has_est", "sum"), n_same_sign=("same", "sum"),
                          n_tested=("has_p", "sum"), n_significant=("sig", "sum"),
                          estimate_median=("estimate", "median"), estimate_min=("estimate", "min"),
                          estimate_max=("estimate", "max")).reindex(order)
        agg.insert(0, "choice", [f"{v:g}" if isinstance(v, float) else str(v) for v in order])
        agg.insert(0, "dimension", dim)
        rows.append(agg.reset_index(drop=True))
    out = pd.concat(rows, ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_same_sign"] = out["n_same_sign"] / out["n_estimated"].where(out["n_estimated"] > 0)
        out["share_significant"] = out["n_significant"] / out["n_tested"].where(out["n_tested"] > 0)
    ints = ["n_specs", "n_estimated", "n_same_sign", "n_tested", "n_significant"]
    out[ints] = out[ints].astype("int64")
    return out[SUMMARY_COLUMNS]


# ----------------------------------------------------------------------------------------------
# Robustness of the headline

HEADLINE_COLUMNS = ["check", "scenario", "n_more", "n_less", "estimate", "p_value", "value", "detail"]


def near_cutoff_clinics(segments: pd.DataFrame, rule: str = "share", threshold: float = 0.5,
                        count_threshold: int = 3) -> pd.DataFrame:
    """Clinics one implemented change from the other group at a fixed cut-off (the median rule's
    median is held fixed): a 'more' clinic with one implemented change fewer, or a 'less' clinic with one
    more, would change group. Columns: clinic_id, group, n_implemented, n_changes, implementation_share."""
    k = segments["n_implemented"].to_numpy(dtype="int64")
    n = segments["n_changes"].to_numpy(dtype="int64")
    more = segments["group"].eq("more").to_numpy()
    if rule == "count":
        def is_more(kk):
            return kk >= count_threshold
    else:
        cut = threshold if rule == "share" else float(np.median(segments["implementation_share"].to_numpy(float)))

        def is_more(kk):
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(n > 0, kk / np.where(n > 0, n, 1), 0.0) >= cut - segmentation.TOLERANCE
    flips = np.where(more, ~is_more(k - 1), is_more(np.minimum(k + 1, n))) & (n > 0)
    cols = ["clinic_id", "group", "n_implemented", "n_changes", "implementation_share"]
    return segments.loc[flips, cols].sort_values("clinic_id", kind="mergesort").reset_index(drop=True)


def headline_robustness(clinics: pd.DataFrame, implementation_log: pd.DataFrame, responses: pd.DataFrame,
                        items: pd.DataFrame, table: pd.DataFrame, *, months: int | None = None,
                        rule: str = "share", threshold: float = 0.5, count_threshold: int = 3,
                        min_answered: float = 0.5, alpha: float = 0.05) -> pd.DataFrame:
    """``headline_robustness.csv``: what the primary Student t result rests on, computed from the data.

    Rows (``check``): ``primary`` (the configured analysis); ``near_cutoff`` (each clinic one
    implemented change from the other group, :func:`near_cutoff_clinics`, moved to the other group,
    all other clinics as they are); ``median_rule`` (the groups of the median rule); ``leave_one_out``
    (each clinic with survey change left out in turn); ``leave_one_out_summary`` and
    ``multiverse`` (``value`` = share of the multiverse ``table``'s specifications with p < ``alpha``).
    Every p-value is the two-sided Student t-test of clinic-level change; a scenario that cannot be
    computed has an empty p-value and the reason in ``detail``.
    """
    segments = segmentation.clinic_segments(clinics, implementation_log, months=months, rule=rule,
                                            threshold=threshold, count_threshold=count_threshold)
    scored = survey.composite_scores(responses, items, min_answered=min_answered)
    labels = survey.group_labels(segments)
    rows = []

    def scenario(check, name, groups, drop=None, detail=""):
        change = survey.clinic_change(scored, groups).table
        if drop is not None:
            change = change.loc[change["clinic_id"].ne(drop)]
        n_more, n_less = int(change["group"].eq("more").sum()), int(change["group"].eq("less").sum())
        try:
            t = stats.student_t(change["change"], change["group"])
            est, p = t.estimate, t.p_value
        except AnalysisError as exc:
            est, p, detail = np.nan, np.nan, f"not computable: {exc}"
        rows.append((check, name, n_more, n_less, est, p, np.nan, detail))
        return p

    scenario("primary", "as configured", labels)
    near = near_cutoff_clinics(segments, rule, threshold, count_threshold)
    for r in near.itertuples(index=False):
        other = "less" if r.group == "more" else "more"
        moved = labels.copy()
        moved[r.clinic_id] = other
        scenario("near_cutoff", f"{r.clinic_id} moved to '{other}'", moved,
                 detail=f"{r.n_implemented} of {r.n_changes} changes implemented (share {r.implementation_share:.3g}); "
                        f"one change {'fewer' if r.group == 'more' else 'more'} would move it")
    median = segmentation.clinic_segments(clinics, implementation_log, months=months, rule="median")
    scenario("median_rule", "median rule", survey.group_labels(median),
             detail=f"share >= median {float(np.median(median['implementation_share'])):.3g}")
    base = survey.clinic_change(scored, labels).table
    loo = []
    for cid in base["clinic_id"]:
        loo.append((cid, scenario("leave_one_out", f"without {cid}", labels, drop=cid)))
    ps = np.array([p for _, p in loo], dtype="float64")
    above = [cid for cid, p in loo if not (np.isfinite(p) and p < alpha)]
    rows.append(("leave_one_out_summary", f"p < {alpha:g} without any one clinic", np.nan, np.nan, np.nan,
                 float(np.nanmax(ps)) if np.isfinite(ps).any() else np.nan,
                 float(np.mean(np.isfinite(ps) & (ps < alpha))) if ps.size else np.nan,
                 f"{len(above)} of {len(loo)} clinics, left out, give p >= {alpha:g}"
                 + (f": {', '.join(map(str, above))}" if above else "") + "; p_value = the largest"))
    p_all = table["p_value"].to_numpy(dtype="float64")
    tested = np.isfinite(p_all)
    rows.append(("multiverse", f"specifications with p < {alpha:g}", np.nan, np.nan, np.nan, np.nan,
                 float(np.mean(p_all[tested] < alpha)) if tested.any() else np.nan,
                 f"{int(np.sum(p_all[tested] < alpha))} of {int(tested.sum())} tested specifications (all tests)"))
    out = pd.DataFrame(rows, columns=HEADLINE_COLUMNS)
    out[["n_more", "n_less"]] = out[["n_more", "n_less"]].astype("Int64")
    return out


# ----------------------------------------------------------------------------------------------
# Figure: the specification curve


def spec_curve_data(table: pd.DataFrame, *, test: str = "student_t", alpha: float = 0.05) -> pd.DataFrame:
    """One row per specification of ``test`` with an estimate, sorted by estimate (then spec_id).

    Columns: rank (1 = smallest), spec_id, primary (the primary analysis path), the choices
    (segmentation, composite, min_answered, excluded_clinic), estimate, ci_low, ci_high, p_value of
    ``test``, and ``significant_<test>`` (p < ``alpha``) for every test of the table.
    """
    if test not in TESTS:
        raise AnalysisError(f"unknown test {test!r}; expected one of {', '.join(TESTS)}")
    keys = ["segmentation", "composite", "min_answered", "excluded_clinic"]
    base = table.loc[table["test"].eq(test)].reset_index(drop=True)
    primary_path = (base[keys] == primary_row(table)[keys]).all(axis=1)
    out = base[["spec_id", *keys, "estimate", "ci_low", "ci_high", "p_value"]].copy()
    out.insert(1, "primary", primary_path.to_numpy())
    for t in pd.unique(table["test"]):
        p = table.loc[table["test"].eq(t), "p_value"].to_numpy(dtype="float64")
        out[f"significant_{t}"] = np.isfinite(p) & (p < alpha)
    out = out.loc[np.isfinite(out["estimate"].to_numpy(dtype="float64"))]
    out = out.sort_values(["estimate", "spec_id"], kind="mergesort").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1, dtype=np.int64))
    return out


def indicator_rows(data: pd.DataFrame) -> list[tuple[str, str, np.ndarray]]:
    """The rows of the choice panel: (heading, label, boolean per specification of ``data``)."""
    rows = []
    for heading, col in (("Segmentation", "segmentation"), ("Composite", "composite"),
                         ("Min. answered share", "min_answered")):
        for v in pd.unique(data[col]):
            label = f"{v:g}" if isinstance(v, float) else str(v)
            rows.append((heading, label, data[col].eq(v).to_numpy()))
    none = data["excluded_clinic"].eq(NO_CLINIC).to_numpy()
    rows.append(("Clinic left out", "none", none))
    if (~none).any():
        rows.append(("Clinic left out", "one clinic", ~none))
    for col in [c for c in data.columns if c.startswith("significant_")]:
        t = col.removeprefix("significant_")
        rows.append(("p < alpha", TEST_LABELS.get(t, t), data[col].to_numpy(dtype=bool)))
    return rows


def spec_curve_plot(data: pd.DataFrame, fig, *, alpha: float = 0.05, ci_label: str = "95% CI",
                    ylabel: str = "Difference in mean change\n(more - less)") -> None:
    """Specification curve: sorted estimates with CIs (top) and the choices of each specification (bottom)."""
    from matplotlib.collections import LineCollection

    from . import plotting

    rows = indicator_rows(data)
    axes = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.0, 0.05 + 0.045 * len(rows)]})
    ax, bx = axes
    x = data["rank"].to_numpy(dtype="float64")
    est = data["estimate"].to_numpy(dtype="float64")
    lo, hi = data["ci_low"].to_numpy(dtype="float64"), data["ci_high"].to_numpy(dtype="float64")
    p = data["p_value"].to_numpy(dtype="float64")
    sig = np.isfinite(p) & (p < alpha)
    colors = np.where(sig, plotting.GROUP_COLORS["more"], "#999999")
    has_ci = np.isfinite(lo) & np.isfinite(hi)
    segs = np.stack([np.c_[x[has_ci], lo[has_ci]], np.c_[x[has_ci], hi[has_ci]]], axis=1)
    ax.add_collection(LineCollection(segs, colors=colors[has_ci], linewidths=0.4, alpha=0.35, rasterized=True))
    ax.scatter(x, est, s=2, c=colors, lw=0, rasterized=True, zorder=3)
    prim = data["primary"].to_numpy(dtype=bool)
    if prim.any():
        xp = x[prim][0]
        ax.plot([xp], [est[prim][0]], marker="D", ms=5, color="#000000", zorder=4, label="primary specification")
        for a in axes:
            a.axvline(xp, color="#000000", lw=0.5, ls=":", zorder=0)
    ax.axhline(0, color="#666666", lw=0.6)
    ax.set_ylabel(ylabel)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=plotting.GROUP_COLORS["more"], marker="o", ms=3, lw=0.8,
                      label=f"p < {alpha:g}, estimate and {ci_label}"),
               Line2D([], [], color="#999999", marker="o", ms=3, lw=0.8, label=f"p >= {alpha:g}")]
    if prim.any():
        handles.append(Line2D([], [], color="#000000", marker="D", ms=4, lw=0, label="primary specification"))
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=len(handles), frameon=False,
              borderaxespad=0.2)

    # Choice panel: one image row per choice, dark where the specification uses it.
    image = np.ones((len(rows), len(data), 3))
    heading_colors = {"p < alpha": (0.0, 0.447, 0.698)}
    for i, (heading, _label, mask) in enumerate(rows):
        color = heading_colors.get(heading, (0.15, 0.15, 0.15))
        image[i, mask] = color
    bx.imshow(image, aspect="auto", interpolation="nearest", extent=(0.5, len(data) + 0.5, len(rows) - 0.5, -0.5))
    bx.set_yticks(range(len(rows)), [f"{label}" for _h, label, _m in rows], fontsize=plotting.MIN_FONT_SIZE)
    last = None
    for i, (heading, _label, _m) in enumerate(rows):
        if heading != last:
            if i:
                bx.axhline(i - 0.5, color="#666666", lw=0.5)
            bx.annotate(heading.replace("alpha", f"{alpha:g}"), (1.01, i - 0.5), xycoords=("axes fraction", "data"),
                        fontsize=plotting.MIN_FONT_SIZE, va="top", ha="left", fontweight="bold")
            last = heading
    bx.set_xlabel("Analysis path (sorted by estimate)")
    bx.set_xlim(0.5, len(data) + 0.5)


def summary_data(summary: pd.DataFrame) -> pd.DataFrame:
    """The rows of the summary plot: every choice of every dimension (not the 'all' row), in table order,
    with its position ``y`` (0 = top; a gap between dimensions) and a readable ``label``."""
    rows = summary.loc[summary["dimension"].ne("all")].reset_index(drop=True)
    gaps = rows["dimension"].ne(rows["dimension"].shift()).cumsum() - 1
    out = rows[["dimension", "choice", "n_specs", "share_same_sign", "share_significant"]].copy()
    out.insert(0, "y", np.arange(len(rows), dtype="float64") + gaps.to_numpy() * 0.8)
    names = {"test": "test", "segmentation": "segmentation", "composite": "composite",
             "min_answered": "min. answered", "excluded_clinic": "left out"}
    prefixed = ("min_answered", "excluded_clinic")
    out["label"] = [TEST_LABELS.get(c, c) if d == "test" else (f"{names[d]} {c}" if d in prefixed else c)
                    for d, c in zip(out["dimension"], out["choice"])]
    return out


def summary_plot(data: pd.DataFrame, ax, *, alpha: float = 0.05) -> None:
    """Per choice: share of its specifications with the primary estimate's sign (open) and with
    p < ``alpha`` (filled)."""
    from . import plotting

    ax.scatter(data["share_same_sign"], data["y"], s=14, facecolors="white", edgecolors="#000000", lw=0.8,
               label="same sign as the primary specification", zorder=3)
    ax.scatter(data["share_significant"], data["y"], s=14, color=plotting.GROUP_COLORS["more"],
               label=f"p < {alpha:g}", zorder=3)
    for y in data["y"]:
        ax.axhline(y, color="#EEEEEE", lw=0.5, zorder=0)
    ax.set_yticks(data["y"], data["label"], fontsize=plotting.MIN_FONT_SIZE)
    ax.set_ylim(data["y"].max() + 0.8, -0.8)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("Share of the specifications\nusing the choice")
    ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=1, borderaxespad=0.2)
