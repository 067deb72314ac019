"""Cross-case comparison of the clinics that implemented more and less (Miles & Huberman meta-matrix).

* :func:`code_document_counts` / :func:`mechanism_matrix`: per clinic and code, the number of
  distinct documents of the clinic in which the code was applied, and the same per 10 documents; a
  code counts once per document, from the document's primary coder (``coders="primary"``, see
  :func:`counting_segments`) or from any coder (``coders="union"``).
* :func:`compare_groups`: per code, group means of the per-10 rates, their difference, Hedges g,
  a two-sided Wilcoxon-Mann-Whitney test (exact permutation distribution of the mid-rank statistic
  when the number of relabelings allows; both from :mod:`integrating.stats`, shared with the survey
  analysis), Holm-adjusted p-values across the codes compared (one family: the mechanisms, or the
  barriers) and a verdict from the adjusted p-value (strongly / weakly / not distinguishing), see
  :func:`verdicts`.
* :func:`stakeholder_connections`: which stakeholder groups a clinic's mechanism-coded segments
  overlap (the evidence for "fragmentation" vs "unity of effort"), and a network per group.
* :func:`segmentation_sensitivity`: groups and verdicts as the share cut-off moves over a grid.
* :func:`mechanism_excerpts`: exemplar coded passages, for teaching with synthetic data only.

Functions take DataFrames and parameters, not file paths.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from . import coders as coders_module
from . import segmentation, stats
from .contract import GROUPS, MIN_CLINICS_PER_GROUP
from .errors import AnalysisError

MEASURE = "documents per 10"
STRONG, WEAK, NOT = "strongly distinguishing", "weakly distinguishing", "not distinguishing"
NOT_COMPUTABLE = "not computable"
DIRECTIONS = ("more", "less", "either")
#: Exact permutation distribution up to this many relabelings of the clinics; normal approximation beyond.
MAX_EXACT = 1_000_000
EXACT_TEST = "Wilcoxon-Mann-Whitney U, two-sided, exact permutation distribution (mid-ranks for ties)"
ASYMPTOTIC_TEST = (
    "Wilcoxon-Mann-Whitney U, two-sided, normal approximation with tie and continuity correction"
)
COMPARISON_COLUMNS = [
    "code", "label", "measure", "mean_more", "mean_less", "difference", "effect_size", "test",
    "statistic", "p_value", "p_holm", "verdict", "n_more", "n_less",
]
#: Which coders' codes a document's rate counts: its primary coder's only, or every coder's.
CODERS = ("primary", "union")


# --- meta-matrix -------------------------------------------------------------------------------


def _segments_with_clinic(coded_segments: pd.DataFrame, documents: pd.DataFrame, codes) -> pd.DataFrame:
    seg = coded_segments[coded_segments["code"].isin(list(codes))]
    return seg.merge(documents[["document_id", "clinic_id"]], on="document_id", how="inner")


def document_counts(documents: pd.DataFrame, clinic_ids: Iterable[str]) -> pd.Series:
    """Number of documents per clinic (0 for a clinic without documents), indexed by clinic_id."""
    ids = pd.Index(list(clinic_ids), name="clinic_id", dtype=object)
    return documents.groupby("clinic_id").size().reindex(ids, fill_value=0).astype("int64").rename("n_documents")


def counting_segments(coded_segments: pd.DataFrame, documents: pd.DataFrame, coders: str = "primary") -> pd.DataFrame:
    """The coded segments a rate counts: those of each document's primary coder (``"primary"``,
    :func:`integrating.coders.primary_coders`) or of every coder (``"union"``)."""
    if coders not in CODERS:
        raise AnalysisError(f"mechanism_coders is {coders!r}; expected one of {', '.join(CODERS)}")
    if coders == "union" or coded_segments.empty:
        return coded_segments
    primary = coders_module.primary_coders(documents, coded_segments)
    return coded_segments.loc[coded_segments["coder"].to_numpy() == coded_segments["document_id"].map(primary).to_numpy()]


def code_document_counts(
    documents: pd.DataFrame, coded_segments: pd.DataFrame, codes: Sequence[str], clinic_ids: Iterable[str]
) -> pd.DataFrame:
    """Clinic x code table: number of distinct documents of the clinic in which a segment of
    ``coded_segments`` applies the code (each code counted once per document)."""
    ids = pd.Index(list(clinic_ids), name="clinic_id", dtype=object)
    seg = _segments_with_clinic(coded_segments, documents, codes)
    counts = (
        seg.drop_duplicates(["document_id", "code"])
        .groupby(["clinic_id", "code"])
        .size()
        .unstack("code")
    )
    counts = counts.reindex(index=ids, columns=pd.Index(list(codes), dtype=object)).fillna(0).astype("int64")
    counts.columns.name = None
    return counts


def mechanism_matrix(
    segments: pd.DataFrame, documents: pd.DataFrame, coded_segments: pd.DataFrame, codes: Sequence[str],
    *, coders: str = "primary",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``mechanism_matrix.csv`` (counts) and ``mechanism_rates.csv`` (documents with code per 10 documents).

    Columns: clinic_id, group, implementation_share, n_documents, then one column per code in the
    given order; rows in case order (implementation share descending, then clinic_id). A clinic
    without documents has counts and rates 0. A code counts once per document, from the segments
    :func:`counting_segments` keeps for ``coders``. Also used for barrier codes.
    """
    ordered = segmentation.case_order(segments)
    ids = ordered["clinic_id"].tolist()
    counts = code_document_counts(documents, counting_segments(coded_segments, documents, coders), codes, ids)
    n_docs = document_counts(documents, ids)
    base = ordered[["clinic_id", "group", "implementation_share"]].reset_index(drop=True)
    base["n_documents"] = n_docs.to_numpy()
    matrix = pd.concat([base, counts.reset_index(drop=True)], axis=1)
    denom = np.where(n_docs.to_numpy() > 0, n_docs.to_numpy(), 1)[:, None]
    rates_values = np.where(n_docs.to_numpy()[:, None] > 0, counts.to_numpy(dtype="float64") * 10.0 / denom, 0.0)
    rates = pd.concat([base, pd.DataFrame(rates_values, columns=list(codes))], axis=1)
    return matrix, rates


# --- group comparison ----------------------------------------------------------------------------


def verdicts(difference, p_adjusted, *, p_strong: float = 0.05, p_weak: float = 0.10,
             direction: str = "more") -> np.ndarray:
    """Verdict per code, in the style of CFIR's distinguishing constructs, from family-wise p-values.

    ``p_adjusted`` are the Holm-adjusted p-values of the family (:func:`integrating.stats.holm`). With
    "expected direction" meaning mean_more > mean_less (``direction="more"``, mechanisms),
    mean_less > mean_more (``"less"``) or any non-zero difference (``"either"``):

    * strongly distinguishing: adjusted p < ``p_strong`` and the difference in the expected direction;
    * weakly distinguishing: not strongly, adjusted p < ``p_weak`` and the difference in the expected
      direction;
    * not distinguishing: otherwise (also when the test could not be computed). An effect size alone
      never makes a verdict.
    """
    if direction not in DIRECTIONS:
        raise AnalysisError(f"unknown direction {direction!r}; expected one of {', '.join(DIRECTIONS)}")
    difference = np.asarray(difference, dtype="float64")
    p_adjusted = np.asarray(p_adjusted, dtype="float64")
    if direction == "more":
        expected = difference > 0
    elif direction == "less":
        expected = difference < 0
    else:
        expected = difference != 0
    strong = expected & (p_adjusted < p_strong)
    weak = expected & ~strong & (p_adjusted < p_weak)
    return np.select([strong, weak], [STRONG, WEAK], default=NOT).astype(object)


def compare_groups(
    table: pd.DataFrame,
    codes: Sequence[str],
    *,
    labels: dict | None = None,
    measure: str = MEASURE,
    p_strong: float = 0.05,
    p_weak: float = 0.10,
    direction: str = "more",
    max_exact: int = MAX_EXACT,
) -> pd.DataFrame:
    """``mechanism_comparison.csv`` / ``barrier_comparison.csv``: one row per code, in the given order.

    ``table`` has one row per clinic with ``group`` and one column per code (e.g. mechanism_rates).
    Clinics without documents (``n_documents`` 0, when that column is present) carry no evidence
    and are left out; n_more and n_less count the clinics compared. Raises AnalysisError when a
    group has fewer than 2 clinics or a code column is missing. Hedges g is
    :func:`integrating.stats.hedges_g_values` and the test :func:`integrating.stats.rank_sum_tests`
    (two-sided p = twice the smaller one-sided p, at most 1; p = 1 for a code with one value throughout).
    ``p_holm``: Holm-adjusted p across the codes of this call (one family); the verdict uses it.
    """
    codes = list(codes)
    missing = [c for c in codes if c not in table.columns]
    if missing:
        raise AnalysisError(f"codes {missing} have no column in the table to compare; expected one column per code")
    if "n_documents" in table.columns:
        table = table[table["n_documents"] > 0]
    is_more = table["group"].eq("more").to_numpy()
    is_less = table["group"].eq("less").to_numpy()
    n_more, n_less = int(is_more.sum()), int(is_less.sum())
    for name, n in (("more", n_more), ("less", n_less)):
        if n < MIN_CLINICS_PER_GROUP:
            raise AnalysisError(
                f"group '{name}' has {n} clinic(s) with documents; comparing the groups needs at least "
                f"{MIN_CLINICS_PER_GROUP} clinics per group"
            )
    if not codes:
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    labels = labels or {}
    out = pd.DataFrame({"code": codes, "label": [labels.get(c, c) for c in codes], "measure": measure})
    values = table[codes].to_numpy(dtype="float64")
    x_more, x_less = values[is_more], values[is_less]
    mean_more, mean_less = x_more.mean(axis=0), x_less.mean(axis=0)
    difference = mean_more - mean_less
    difference = np.where(np.isclose(mean_more, mean_less, rtol=1e-12, atol=0), 0.0, difference)
    packed = np.concatenate([x_more, x_less], axis=0).T  # one row per code, 'more' clinics first
    effect = stats.hedges_g_values(packed, n_more)
    effect = np.where(difference == 0, 0.0, effect)
    rank_sum = stats.rank_sum_tests(packed, n_more, max_exact=max_exact)
    u, p = rank_sum.u, rank_sum.p
    test = (EXACT_TEST if rank_sum.exact else ASYMPTOTIC_TEST) + (
        f"; p_holm: Holm adjustment across the {len(codes)} codes compared (statsmodels multipletests)")
    out["mean_more"] = mean_more
    out["mean_less"] = mean_less
    out["difference"] = difference
    out["effect_size"] = effect
    out["test"] = test
    out["statistic"] = u
    out["p_value"] = p
    out["p_holm"] = stats.holm(p)
    out["verdict"] = verdicts(difference, out["p_holm"].to_numpy(), p_strong=p_strong, p_weak=p_weak,
                              direction=direction)
    out["n_more"] = n_more
    out["n_less"] = n_less
    return out[COMPARISON_COLUMNS]


def comparison_plot(comparison: pd.DataFrame, ax, *, title: str | None = None) -> None:
    """Dot plot: per code, the group means (more, less) joined by a line; the verdict, Holm-adjusted p and Hedges g
    to the right of the axes; the legend above (one column wide at 85 mm)."""
    import textwrap

    from . import plotting

    y = np.arange(len(comparison))
    ax.hlines(y, comparison["mean_less"], comparison["mean_more"], color="#999999", linewidth=1.2, zorder=1)
    for group in GROUPS:
        n = int(comparison[f"n_{group}"].iloc[0]) if len(comparison) else 0
        ax.scatter(comparison[f"mean_{group}"], y, color=plotting.GROUP_COLORS[group], s=22, zorder=2,
                   label=f"{plotting.GROUP_LABELS[group]} (n={n})")
    for yi, (verdict, p, g) in enumerate(zip(comparison["verdict"], comparison["p_holm"], comparison["effect_size"])):
        p_text = "Holm " + plotting.fmt_p(p) if np.isfinite(p) else "p n/a"
        g_text = f"g = {plotting.fmt_number(g, 2)}" if np.isfinite(g) else "g n/a"
        ax.text(1.03, yi, f"{str(verdict).split()[0]}\n{p_text}\n{g_text}", transform=ax.get_yaxis_transform(),
                va="center", ha="left", fontsize=plotting.MIN_FONT_SIZE, linespacing=1.1)
    ax.set_yticks(y, [textwrap.fill(str(lab), 16, break_long_words=False) for lab in comparison["label"]])
    ax.set_ylim(max(len(comparison), 1) - 0.5, -0.5)
    ax.set_xlim(left=0)
    ax.set_xlabel("Documents with the code per 10\ndocuments (group mean)")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=1, frameon=False, borderaxespad=0.2,
              handletextpad=0.2)
    if title:
        ax.set_title(title)


# --- heatmaps ------------------------------------------------------------------------------------


def heatmap_data(table: pd.DataFrame, codes: Sequence[str], labels: dict | None = None) -> pd.DataFrame:
    """Long table for a clinic x code heatmap: rows ordered by group (more first), then case order.

    Columns: row (0-based display row), clinic_id, group, implementation_share, code, label, value.
    """
    labels = labels or {}
    order = table.assign(_g=table["group"].map({"more": 0, "less": 1})).sort_values(
        ["_g", "implementation_share", "clinic_id"], ascending=[True, False, True], kind="mergesort"
    )
    order = order.reset_index(drop=True)
    order["row"] = np.arange(len(order), dtype="int64")
    long = order.melt(id_vars=["row", "clinic_id", "group", "implementation_share"], value_vars=list(codes),
                      var_name="code", value_name="value")
    long["label"] = long["code"].map(lambda c: labels.get(c, c))
    long["value"] = long["value"].astype("float64")
    code_rank = {c: i for i, c in enumerate(codes)}
    long = long.assign(_c=long["code"].map(code_rank)).sort_values(["row", "_c"], kind="mergesort")
    cols = ["row", "clinic_id", "group", "implementation_share", "code", "label", "value"]
    return long[cols].reset_index(drop=True)


def heatmap_plot(data: pd.DataFrame, ax, *, value_label: str, fmt: str = "{:.1f}", cmap: str = "Blues") -> None:
    """Clinic x code heatmap (seaborn) with each cell's value, the group boundary drawn and each clinic's
    group as its label colour."""
    from . import plotting

    if data.empty:
        ax.text(0.5, 0.5, "no codes to show", ha="center", va="center", transform=ax.transAxes)
        ax.axis("off")
        return
    codes = list(dict.fromkeys(data["code"]))
    labels = list(dict.fromkeys(data["label"]))
    rows = data.drop_duplicates("row").sort_values("row")
    grid = data.pivot(index="row", columns="code", values="value").reindex(columns=codes).to_numpy()
    import textwrap

    import seaborn as sns

    vmax = np.nanmax(grid) if grid.size and np.nanmax(grid) > 0 else 1.0
    row_labels = [f"{c} ({s:.2f})" for c, s in zip(rows["clinic_id"], rows["implementation_share"])]
    values = pd.DataFrame(grid, index=row_labels, columns=[textwrap.fill(lab, 12, break_long_words=False) for lab in labels])
    annot = grid.size <= 400
    sns.heatmap(values, ax=ax, cmap=cmap, vmin=0, vmax=vmax, linewidths=0.4, linecolor="white",
                cbar_kws={"label": textwrap.fill(value_label, 18, break_long_words=False), "fraction": 0.06, "pad": 0.03},
                annot=np.vectorize(fmt.format)(grid) if annot else False, fmt="",
                annot_kws={"fontsize": plotting.MIN_FONT_SIZE, "gid": plotting.ON_DATA})
    ax.set_xticks(np.arange(len(codes)) + 0.5, values.columns, rotation=90)
    ax.set_yticks(np.arange(len(rows)) + 0.5, row_labels, rotation=0)
    for tick, group in zip(ax.get_yticklabels(), rows["group"]):
        tick.set_color(plotting.GROUP_COLORS.get(group, "black"))
    n_more = int(rows["group"].eq("more").sum())
    if 0 < n_more < len(rows):
        ax.axhline(n_more, color="black", linewidth=1.5)
    ax.set_ylabel("Clinic (implementation share)" if len(rows) > 10 else "Clinic\n(implementation share)")
    ax.tick_params(axis="x", length=0)
    ax.spines[:].set_visible(False)


# --- stakeholder groups --------------------------------------------------------------------------


def mechanism_stakeholder_overlaps(
    coded_segments: pd.DataFrame, documents: pd.DataFrame, mechanism_codes: Sequence[str],
    stakeholder_codes: Sequence[str],
) -> pd.DataFrame:
    """Each mechanism-coded segment with each stakeholder code it overlaps in the same document.

    Spans [start, end) overlap when each starts before the other ends. One row per (mechanism
    segment, stakeholder code): clinic_id, document_id, segment_id, code (mechanism), stakeholder.
    Segments of every coder count.
    """
    mech = _segments_with_clinic(coded_segments, documents, mechanism_codes)
    holders = coded_segments.loc[coded_segments["code"].isin(list(stakeholder_codes)),
                                 ["document_id", "code", "start", "end"]]
    holders = holders.rename(columns={"code": "stakeholder", "start": "s_start", "end": "s_end"})
    pairs = mech[["clinic_id", "document_id", "segment_id", "code", "start", "end"]].merge(
        holders, on="document_id", how="inner"
    )
    pairs = pairs[(pairs["start"] < pairs["s_end"]) & (pairs["s_start"] < pairs["end"])]
    pairs = pairs.drop_duplicates(["segment_id", "stakeholder"])
    cols = ["clinic_id", "document_id", "segment_id", "code", "stakeholder"]
    return pairs[cols].sort_values(["clinic_id", "document_id", "segment_id", "stakeholder"],
                                   kind="mergesort").reset_index(drop=True)


def stakeholder_connections(
    segments: pd.DataFrame, documents: pd.DataFrame, coded_segments: pd.DataFrame,
    mechanism_codes: Sequence[str], stakeholder_codes: Sequence[str],
) -> pd.DataFrame:
    """``stakeholder_connections.csv``: clinic_id, group, then per stakeholder code the number of
    mechanism-coded segments overlapping a segment of that code in the same document; by clinic_id."""
    overlaps = mechanism_stakeholder_overlaps(coded_segments, documents, mechanism_codes, stakeholder_codes)
    ids = pd.Index(segments["clinic_id"], dtype=object)
    counts = overlaps.groupby(["clinic_id", "stakeholder"]).size().unstack("stakeholder")
    columns = pd.Index(list(stakeholder_codes), dtype=object)
    counts = counts.reindex(index=ids, columns=columns).fillna(0).astype("int64")
    counts.columns.name = None
    out = pd.concat([segments[["clinic_id", "group"]].reset_index(drop=True), counts.reset_index(drop=True)], axis=1)
    return out.sort_values("clinic_id", kind="mergesort").reset_index(drop=True)


def stakeholder_network_data(
    segments: pd.DataFrame, documents: pd.DataFrame, coded_segments: pd.DataFrame,
    mechanism_codes: Sequence[str], stakeholder_codes: Sequence[str],
) -> pd.DataFrame:
    """Nodes and edges of one stakeholder network per group of clinics.

    Columns: group, kind (``node``/``edge``), source, target, n_clinics, clinics_in_group. A node
    (source = target = a stakeholder code; every code, in every group) counts the group's clinics
    with at least one mechanism segment overlapping that stakeholder code; an edge (source < target
    in code order) counts the group's clinics in which at least one mechanism segment overlaps both
    stakeholder codes. Edges with no clinic are left out.
    """
    codes = list(stakeholder_codes)
    overlaps = mechanism_stakeholder_overlaps(coded_segments, documents, mechanism_codes, codes)
    overlaps = overlaps.merge(segments[["clinic_id", "group"]], on="clinic_id", how="inner")
    sizes = segmentation.group_sizes(segments)
    node_counts = overlaps.drop_duplicates(["clinic_id", "stakeholder"]).groupby(["group", "stakeholder"]).size()
    grid = pd.MultiIndex.from_product([list(GROUPS), codes], names=["group", "stakeholder"])
    nodes = node_counts.reindex(grid, fill_value=0).rename("n_clinics").reset_index()
    nodes = nodes.assign(kind="node", source=nodes["stakeholder"], target=nodes["stakeholder"])
    rank = {c: i for i, c in enumerate(codes)}
    ends = overlaps[["group", "clinic_id", "segment_id", "stakeholder"]]
    pairs = ends.merge(ends[["segment_id", "stakeholder"]], on="segment_id", suffixes=("_a", "_b"))
    pairs = pairs[pairs["stakeholder_a"].map(rank) < pairs["stakeholder_b"].map(rank)]
    edges = (
        pairs.drop_duplicates(["clinic_id", "stakeholder_a", "stakeholder_b"])
        .groupby(["group", "stakeholder_a", "stakeholder_b"]).size().rename("n_clinics").reset_index()
        .rename(columns={"stakeholder_a": "source", "stakeholder_b": "target"})
        .assign(kind="edge")
    )
    out = pd.concat([nodes[["group", "kind", "source", "target", "n_clinics"]],
                     edges[["group", "kind", "source", "target", "n_clinics"]]], ignore_index=True)
    out["n_clinics"] = out["n_clinics"].astype("int64")
    out["clinics_in_group"] = out["group"].map(sizes).astype("int64")
    order = out.assign(
        _g=out["group"].map({g: i for i, g in enumerate(GROUPS)}),
        _k=out["kind"].map({"node": 0, "edge": 1}),
        _s=out["source"].map(rank), _t=out["target"].map(rank),
    ).sort_values(["_g", "_k", "_s", "_t"], kind="mergesort")
    return order[["group", "kind", "source", "target", "n_clinics", "clinics_in_group"]].reset_index(drop=True)


def network_plot(data: pd.DataFrame, axes, *, labels: dict | None = None) -> None:
    """One circular network per group (one axis each): node area and edge width grow with n_clinics."""
    from . import plotting

    labels = labels or {}
    for ax, group in zip(np.atleast_1d(axes), GROUPS):
        sub = data[data["group"].eq(group)]
        nodes = sub[sub["kind"].eq("node")]
        edges = sub[sub["kind"].eq("edge")]
        n_group = int(sub["clinics_in_group"].iloc[0]) if len(sub) else 0
        k = len(nodes)
        angles = np.pi / 2 - 2 * np.pi * np.arange(k) / max(k, 1)
        pos = {c: (np.cos(a), np.sin(a)) for c, a in zip(nodes["source"], angles)}
        scale = max(n_group, 1)
        for s, t, w in zip(edges["source"], edges["target"], edges["n_clinics"]):
            (x0, y0), (x1, y1) = pos[s], pos[t]
            ax.plot([x0, x1], [y0, y1], color=plotting.GROUP_COLORS[group], alpha=0.6,
                    linewidth=0.5 + 4.0 * w / scale, solid_capstyle="round", zorder=1)
            ax.text((x0 + x1) / 2, (y0 + y1) / 2, str(w), fontsize=plotting.MIN_FONT_SIZE, ha="center", va="center",
                    zorder=3, gid=plotting.ON_DATA,
                    bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.8))
        for code, w in zip(nodes["source"], nodes["n_clinics"]):
            x, y = pos[code]
            ax.scatter([x], [y], s=30 + 250 * w / scale, color="white", edgecolor=plotting.GROUP_COLORS[group],
                       linewidth=1.2, zorder=2)
            ax.text(x * 1.45, y * 1.3, f"{labels.get(code, code)}\n({w}/{n_group})", ha="center", va="center",
                    fontsize=6)
        if k == 0:
            ax.text(0, 0, "no stakeholder codes", ha="center", va="center", fontsize=7)
        title = plotting.GROUP_LABELS[group]
        ax.set_title(f"{title} ({n_group} clinics)" if len(sub) else title)
        ax.set_xlim(-1.9, 1.9)
        ax.set_ylim(-1.6, 1.6)
        ax.set_aspect("equal")
        ax.axis("off")


# --- sensitivity ---------------------------------------------------------------------------------


def segmentation_sensitivity(
    segments: pd.DataFrame,
    rates: pd.DataFrame,
    codes: Sequence[str],
    thresholds: Iterable[float],
    **compare_kwargs,
) -> pd.DataFrame:
    """``segmentation_sensitivity.csv``: the share rule re-applied at each threshold of the grid.

    ``segments`` holds the configured groups (clinic_segments); ``rates`` one row per clinic with
    n_documents and one column per code. Columns: threshold, n_more, n_less, n_changed (clinics
    whose group differs from ``segments``), then one verdict column per code; "not computable" when
    a group then has fewer than 2 clinics with documents. Sorted by threshold.
    """
    codes = list(codes)
    grid = sorted({float(t) for t in thresholds})
    if not grid:
        raise AnalysisError("the threshold grid is empty; expected at least one threshold")
    base = rates.drop(columns=["group"], errors="ignore")
    rows = []
    for t in grid:
        groups = segmentation.assign_groups(segments, "share", t)
        changed = int((groups.to_numpy() != segments["group"].to_numpy()).sum())
        table = base.merge(pd.DataFrame({"clinic_id": segments["clinic_id"], "group": groups}), on="clinic_id")
        row = {"threshold": t, "n_more": int(groups.eq("more").sum()), "n_less": int(groups.eq("less").sum()),
               "n_changed": changed}
        try:
            comparison = compare_groups(table, codes, **compare_kwargs)
            row.update(dict(zip(comparison["code"], comparison["verdict"])))
        except AnalysisError:
            row.update({c: NOT_COMPUTABLE for c in codes})
        rows.append(row)
    out = pd.DataFrame(rows, columns=["threshold", "n_more", "n_less", "n_changed", *codes])
    return out.astype({"n_more": "int64", "n_less": "int64", "n_changed": "int64"})


def sensitivity_plot(data: pd.DataFrame, axes, *, codes: Sequence[str], labels: dict | None = None,
                     configured: float | None = None) -> None:
    """Top: clinics per group and clinics that change group along the grid; bottom: verdict tiles."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from . import plotting

    labels = labels or {}
    top, bottom = axes
    t = data["threshold"].to_numpy(dtype="float64")
    x = np.arange(len(t))
    top.plot(x, data["n_more"], marker="o", color=plotting.GROUP_COLORS["more"], label=plotting.GROUP_LABELS["more"])
    top.plot(x, data["n_less"], marker="o", color=plotting.GROUP_COLORS["less"], label=plotting.GROUP_LABELS["less"])
    top.bar(x, data["n_changed"], width=0.6, color="#BBBBBB", label="clinics changing group", zorder=0)
    if configured is not None and len(t):
        top.axvline(np.interp(configured, t, x), color="#444444", linestyle="--", linewidth=0.8,
                    label=f"configured cut-off {configured:g}")
    top.set_xticks(x, [f"{v:g}" for v in t])
    top.set_xlim(-0.5, len(t) - 0.5)
    top.set_ylabel("Clinics")
    top.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=6)
    categories = [STRONG, WEAK, NOT, NOT_COMPUTABLE]
    colors = ["#0072B2", "#56B4E9", "#EEEEEE", "#FFFFFF"]
    codes = list(codes)
    grid = np.array([[categories.index(v) for v in data[c]] for c in codes], dtype=float).reshape(len(codes), len(t))
    bottom.imshow(grid, aspect="auto", cmap=ListedColormap(colors), vmin=-0.5, vmax=3.5, interpolation="nearest")
    for (r, c), v in np.ndenumerate(grid):
        if categories[int(v)] == NOT_COMPUTABLE:
            bottom.text(c, r, "n/a", ha="center", va="center", fontsize=plotting.MIN_FONT_SIZE, color="#666666",
                        gid=plotting.ON_DATA)
    bottom.set_yticks(np.arange(len(codes)), [labels.get(c, c) for c in codes])
    bottom.set_xticks(x, [f"{v:g}" for v in t])
    bottom.set_xlabel("Implementation-share cut-off")
    bottom.spines[:].set_visible(False)
    bottom.legend([Patch(facecolor=col, edgecolor="#999999") for col in colors], categories, loc="center left",
                  bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=6)


# --- excerpts ------------------------------------------------------------------------------------


def mechanism_excerpts(
    segments: pd.DataFrame, documents: pd.DataFrame, coded_segments: pd.DataFrame, codes: Sequence[str],
    per_code: int, text_of: Callable[[str], str],
) -> pd.DataFrame:
    """``mechanism_excerpts.csv``: up to ``per_code`` exemplar passages per code, verbatim.

    Deterministic choice: the clinics in case order (highest implementation share first), one passage
    per clinic: the clinic's first segment of the code by coder (the coder with the most coded segments
    first, i.e. the primary coder rather than a reliability coder; ties by name), document_id, start,
    end, segment_id.
    ``text_of(document_id)`` returns a document's text (e.g. ``study.text``); offsets are code points.
    Columns: code, clinic_id, document_id, segment_id, excerpt; codes in the given order.
    """
    columns = ["code", "clinic_id", "document_id", "segment_id", "excerpt"]
    if per_code < 0:
        raise AnalysisError(f"excerpts per mechanism is {per_code}; expected an integer >= 0")
    codes = list(codes)
    seg = _segments_with_clinic(coded_segments, documents, codes)
    ordered = segmentation.case_order(segments)
    seg = seg.merge(ordered[["clinic_id"]].assign(_rank=np.arange(len(ordered))), on="clinic_id", how="inner")
    coder_sizes = coded_segments.groupby("coder").size().rename("n").reset_index()
    coder_sizes = coder_sizes.sort_values(["n", "coder"], ascending=[False, True], kind="mergesort")
    coder_rank = dict(zip(coder_sizes["coder"], range(len(coder_sizes))))
    seg = seg.assign(_code=seg["code"].map({c: i for i, c in enumerate(codes)}), _coder=seg["coder"].map(coder_rank))
    seg = seg.sort_values(["_code", "_rank", "_coder", "document_id", "start", "end", "segment_id"], kind="mergesort")
    chosen = seg.drop_duplicates(["code", "clinic_id"]).groupby("code", sort=False).head(per_code)
    excerpts = [text_of(d)[s:e] for d, s, e in zip(chosen["document_id"], chosen["start"], chosen["end"])]
    out = chosen.assign(excerpt=pd.Series(excerpts, index=chosen.index, dtype=object))
    return out[columns].reset_index(drop=True)
