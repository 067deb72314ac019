"""Patient-survey effect analysis (notebook 04): did the integrating clinics' patients rate them better?

The pipeline, each step a function of DataFrames and parameters (no paths), so that a multiverse
analysis can call it many times in-process:

1. :func:`composite_scores`: each response's composite (mean of the ``in_composite`` items, reversed
   items turned round), or excluded when fewer than ``min_answered`` of those items are answered.
2. :func:`clinic_change`: each clinic's mean composite per wave and its change (post - pre); clinics
   without valid responses in both waves, or without a group, are excluded and listed with the reason.
3. The comparisons of clinic-level change, "more" versus "less": the two-group tests of
   :mod:`integrating.stats` (Student t, primary; Welch t; permutation; Mann-Whitney; Hedges g), and
   the survey's own models :func:`mixed_anova_interaction` (clinic x wave means) and
   :func:`mixedlm_interaction` (patient-level mixed model with clinic and clinic x wave random
   intercepts); :func:`survey_effects` gathers them in ``survey_effects.csv``, with one more row,
   :func:`mixedlm_random_intercept_only`, labelled as ignoring clinic-level change (a pitfall shown,
   not an alternative analysis).

Degenerate inputs raise :class:`~integrating.errors.AnalysisError` naming what is wrong;
docs/methods-survey.md lists which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import stats
from .contract import GROUPS, WAVES
from .errors import AnalysisError
from .mixed_model import mixedlm_interaction, mixedlm_random_intercept_only
from .stats import Effect, check_variance, confidence_text, split_groups

ANALYSES = (
    "student_t",
    "welch_t",
    "permutation_exact",
    "mann_whitney",
    "mixed_anova_interaction",
    "mixedlm_interaction",
    "hedges_g",
    "mixedlm_random_intercept_only",
)
#: Rows shown only to illustrate a pitfall: never in the forest plot or offered as an alternative.
PITFALL_ANALYSES = ("mixedlm_random_intercept_only",)
ANALYSIS_LABELS = {
    "student_t": "Student t (primary)",
    "welch_t": "Welch t",
    "permutation_exact": "Permutation test",
    "mann_whitney": "Mann-Whitney U (Hodges-Lehmann shift)",
    "mixed_anova_interaction": "Mixed ANOVA, group x wave",
    "mixedlm_interaction": "Mixed model, group x wave (clinic x wave random intercepts)",
    "hedges_g": "Hedges g",
    "mixedlm_random_intercept_only": "Mixed model, clinic intercept only (ignores clinic-level change)",
}
EFFECT_COLUMNS = [
    "analysis", "estimate", "statistic", "df", "p_value", "ci_low", "ci_high", "n_more", "n_less", "test",
]
CLINIC_CHANGE_COLUMNS = ["clinic_id", "group", "n_pre", "n_post", "mean_pre", "mean_post", "change"]
GROUP_CHANGE_COLUMNS = ["group", "n_clinics", "mean_change", "ci_low", "ci_high", "sd_change"]
EXCLUSION_COLUMNS = ["unit", "clinic_id", "wave", "n_responses", "reason"]
SCORED_COLUMNS = ["response_id", "clinic_id", "wave", "n_answered", "composite", "included"]


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
    from scipy import stats as sps

    change = table["change"].to_numpy(dtype="float64")
    labels = table["group"].to_numpy()
    stats.check_counts(labels)
    rows = []
    for g in sorted(GROUPS):
        x = change[labels == g]
        m, sd = float(x.mean()), float(x.std(ddof=1))
        half = float(sps.t.ppf(0.5 + confidence / 2, x.size - 1)) * sd / math.sqrt(x.size)
        rows.append((g, x.size, m, m - half, m + half, sd))
    return pd.DataFrame(rows, columns=GROUP_CHANGE_COLUMNS)



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
    from scipy import stats as sps

    x, y = split_groups(table["change"].to_numpy(dtype="float64"), table["group"].to_numpy())
    check_variance(x, y)
    aov = pg.mixed_anova(data=_long_means(table), dv="mean", within="wave", subject="clinic_id", between="group")
    row = aov.loc[aov["Source"].eq("Interaction")].iloc[0]
    f, df1, df2, p = float(row["F"]), int(row["DF1"]), int(row["DF2"]), float(row["p_unc"])
    estimate = float(x.mean() - y.mean())
    if f > 0:
        half = float(sps.t.ppf(0.5 + confidence / 2, df2)) * abs(estimate) / math.sqrt(f)
        lo, hi, note = estimate - half, estimate + half, ""
    else:
        lo = hi = np.nan
        note = " (CI undefined: F = 0)"
    return Effect("mixed_anova_interaction", estimate, f, float(df2), p, lo, hi, x.size, y.size,
                  f"mixed ANOVA on clinic x wave means (pingouin.mixed_anova, clinic as subject), group x wave "
                  f"interaction F({df1}, {df2}); estimate = interaction contrast (difference in mean change); "
                  f"{confidence_text(confidence)} CI from inverting the F test{note}")


def survey_effects(scored: pd.DataFrame, table: pd.DataFrame, *, confidence: float = 0.95,
                   max_exact: int = 1_000_000, draws: int = 100_000, seed: int = 0) -> pd.DataFrame:
    """``survey_effects.csv``: one row per analysis of :data:`ANALYSES`, in that order."""
    change = table["change"].to_numpy(dtype="float64")
    labels = table["group"].to_numpy()
    x, y = split_groups(change, labels)
    check_variance(x, y)
    rows = [
        stats.student_t(change, labels, confidence=confidence),
        stats.welch_t(change, labels, confidence=confidence),
        stats.permutation_exact(change, labels, max_exact=max_exact, draws=draws, seed=seed),
        stats.mann_whitney(change, labels, max_exact=max_exact),
        mixed_anova_interaction(table, confidence=confidence),
        mixedlm_interaction(scored, table, confidence=confidence),
        stats.hedges_g(change, labels, confidence=confidence),
        mixedlm_random_intercept_only(scored, table, confidence=confidence),
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
    as the claims check rounds: :func:`integrating.rounding.round_half_away`)."""
    from .rounding import round_half_away

    means = group_change_table.set_index("group")["mean_change"]
    p = float(effects.set_index("analysis").loc["student_t", "p_value"])
    return {"mean_change_more": float(round_half_away(means["more"], 2)),
            "mean_change_less": float(round_half_away(means["less"], 2)),
            "p_student": float(round_half_away(p, 2))}


# ----------------------------------------------------------------------------------------------
# Figures: <figure>_data (tested) and <figure>_plot


def _t_ci(values: np.ndarray, confidence: float) -> tuple[float, float, float]:
    from scipy import stats as sps

    m = float(values.mean())
    if values.size < 2:
        return m, np.nan, np.nan
    half = float(sps.t.ppf(0.5 + confidence / 2, values.size - 1)) * float(values.std(ddof=1)) / math.sqrt(values.size)
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
    res = stats.permutation_test(change, groups, max_exact=max_exact, draws=draws, seed=seed, return_distribution=True)
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
    shown = [a for a in ANALYSES if a in set(effects["analysis"]) and a not in PITFALL_ANALYSES]
    out = effects.set_index("analysis").reindex(shown).reset_index()
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
    import textwrap

    # Long labels (the mixed model's) wrap so the two panels keep their room at two columns.
    labels = [textwrap.fill(f"{label}   {_p_text(p)}".rstrip(), 36, break_long_words=False)
              for label, p in zip(data["label"], data["p_value"])]
    axes[0].set_yticks(list(ypos.values()), labels[::-1])
    axes[0].set_ylim(-0.6, len(ypos) - 0.4)
    handles = [Line2D([], [], color="#000000", marker="o", ms=5, lw=1.2, label="estimate and CI"),
               Line2D([], [], color="#000000", marker="o", ms=5, mfc="white", lw=0, label="estimate (test without CI)")]
    axes[0].legend(handles=handles, loc="best", frameon=False, fontsize=6)
