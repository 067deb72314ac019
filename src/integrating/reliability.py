"""Case-by-source inventory and inter-coder reliability of the double-coded subset."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import AnalysisError

SOURCE_COLUMNS = {"field_note": "n_field_notes", "meeting_minutes": "n_meeting_minutes", "interview": "n_interviews"}


def inventory_data(clinics: pd.DataFrame, documents: pd.DataFrame, coded_segments: pd.DataFrame,
                   survey_responses: pd.DataFrame) -> pd.DataFrame:
    """Per clinic: documents by source type, coded segments, survey responses per wave (the methods table)."""
    ids = clinics["clinic_id"].sort_values().reset_index(drop=True)
    docs = pd.crosstab(documents["clinic_id"], documents["source_type"]).reindex(
        index=ids, columns=list(SOURCE_COLUMNS), fill_value=0).rename(columns=SOURCE_COLUMNS)
    seg_clinic = coded_segments["document_id"].map(documents.set_index("document_id")["clinic_id"])
    segs = seg_clinic.value_counts().reindex(ids, fill_value=0).rename("n_coded_segments")
    waves = pd.crosstab(survey_responses["clinic_id"], survey_responses["wave"]).reindex(
        index=ids, columns=["pre", "post"], fill_value=0).rename(columns={"pre": "n_responses_pre", "post": "n_responses_post"})
    out = pd.concat([docs, segs, waves], axis=1).reset_index(names="clinic_id")
    out.insert(1, "n_documents", out[list(SOURCE_COLUMNS.values())].sum(axis=1))
    return out.astype({c: "int64" for c in out.columns if c != "clinic_id"})


def inventory_plot(data: pd.DataFrame, ax) -> None:
    """Stacked bars of documents per clinic by source type."""
    from .plotting import OKABE_ITO

    bottom = np.zeros(len(data))
    for color, (source, col) in zip(OKABE_ITO, SOURCE_COLUMNS.items()):
        ax.bar(data["clinic_id"], data[col], bottom=bottom, color=color, label=source.replace("_", " "))
        bottom += data[col].to_numpy()
    ax.set_xlabel("Clinic")
    ax.set_ylabel("Documents")
    ax.tick_params(axis="x", rotation=90)
    ax.legend(frameon=False, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), borderaxespad=0.2)


def presence_matrix(coded_segments: pd.DataFrame, codes: list[str], coders: tuple[str, str]) -> pd.DataFrame:
    """Document x code presence (0/1) for each of two coders, on the documents both coded.

    Index: (document_id, code); columns: the two coders.
    """
    a, b = coders
    seg = coded_segments.loc[coded_segments["coder"].isin(coders), ["document_id", "coder", "code"]]
    docs_by = seg.groupby("coder")["document_id"].unique()
    both = np.intersect1d(docs_by.get(a, []), docs_by.get(b, []))
    if both.size == 0:
        raise AnalysisError(f"coders '{a}' and '{b}' have no document in common; reliability needs double-coded documents")
    present = seg.loc[seg["document_id"].isin(both)].drop_duplicates().assign(present=1)
    grid = pd.MultiIndex.from_product([np.sort(both), codes], names=["document_id", "code"])
    wide = present.pivot_table(index=["document_id", "code"], columns="coder", values="present", aggfunc="max")
    return wide.reindex(index=grid, columns=[a, b]).fillna(0).astype(int)


def double_coders(coded_segments: pd.DataFrame) -> tuple[str, str]:
    """The pair of coders who share the most documents."""
    pairs = coded_segments[["document_id", "coder"]].drop_duplicates()
    joined = pairs.merge(pairs, on="document_id")
    joined = joined[joined["coder_x"] < joined["coder_y"]]
    if joined.empty:
        raise AnalysisError("no document is coded by two coders; reliability needs a double-coded subset")
    top = joined.groupby(["coder_x", "coder_y"]).size().sort_index().idxmax()
    return top[0], top[1]


def _agreement(x: np.ndarray, y: np.ndarray) -> dict:
    import krippendorff
    from statsmodels.stats.inter_rater import cohens_kappa

    table = np.zeros((2, 2))
    np.add.at(table, (x, y), 1)
    n = len(x)
    observed = np.trace(table) / n
    if len(np.unique(np.concatenate([x, y]))) < 2:
        kappa = alpha = np.nan  # one category only: chance-corrected agreement is undefined
    else:
        kappa = float(cohens_kappa(table, return_results=False))
        alpha = float(krippendorff.alpha(reliability_data=np.vstack([x, y]), level_of_measurement="nominal"))
    return {"n_units": n, "n_present_a": int(x.sum()), "n_present_b": int(y.sum()),
            "percent_agreement": 100 * observed, "cohen_kappa": kappa, "krippendorff_alpha": alpha}


def reliability_table(coded_segments: pd.DataFrame, codebook: pd.DataFrame, coders=None) -> pd.DataFrame:
    """Per code and overall: percent agreement, Cohen's kappa, Krippendorff's alpha (nominal).

    The unit is (document, code): whether each coder applied the code anywhere in the document.
    ``overall`` pools all (document, code) units. Undefined statistics (a code neither or both
    coders always used) are left empty and flagged in ``note``.
    """
    coders = coders or double_coders(coded_segments)
    codes = codebook.sort_values(["category", "code"])["code"].tolist()
    matrix = presence_matrix(coded_segments, codes, coders)
    rows = []
    cat = codebook.set_index("code")["category"]
    for code in codes:
        sub = matrix.xs(code, level="code")
        rows.append({"code": code, "category": cat[code], **_agreement(sub.iloc[:, 0].to_numpy(), sub.iloc[:, 1].to_numpy())})
    rows.append({"code": "overall", "category": "all", **_agreement(matrix.iloc[:, 0].to_numpy(), matrix.iloc[:, 1].to_numpy())})
    out = pd.DataFrame(rows)
    out.insert(2, "coder_a", coders[0])
    out.insert(3, "coder_b", coders[1])
    out["n_documents"] = matrix.index.get_level_values(0).nunique()
    out["note"] = np.where(out["cohen_kappa"].isna(), "undefined: only one category observed", "")
    return out


def reliability_plot(data: pd.DataFrame, ax, *, labels: dict | None = None) -> None:
    """Per code: Cohen's kappa (bars) and Krippendorff's alpha (points), the codes named by ``labels``
    (the codebook's labels; the id when a code has none); the overall kappa as a dashed line. The
    legend sits above the axes, clear of the bars and the line."""
    labels = labels or {}
    per_code = data[data["code"] != "overall"].sort_values(["cohen_kappa", "code"], kind="mergesort")
    names = [labels.get(c, c) for c in per_code["code"]]
    y = np.arange(len(per_code))
    ax.barh(y, per_code["cohen_kappa"].fillna(0), color="#0072B2", height=0.7, label="Cohen's kappa")
    ax.scatter(per_code["krippendorff_alpha"], y, color="#E69F00", edgecolor="white", linewidth=0.4, zorder=3,
               s=14, label="Krippendorff's alpha")
    overall = data.loc[data["code"] == "overall", "cohen_kappa"].iloc[0]
    ax.axvline(overall, color="#000000", lw=0.8, ls="--", label=f"overall kappa {overall:.2f}")
    ax.set_yticks(y, names)
    ax.set_ylim(-0.6, len(per_code) - 0.4)
    ax.set_xlim(min(0, float(np.nanmin(per_code["cohen_kappa"]))) if per_code["cohen_kappa"].notna().any() else 0, 1)
    ax.set_xlabel("Agreement\n(document-level code presence)")
    handles, names = ax.get_legend_handles_labels()
    order = sorted(range(len(names)), key=lambda i: ["Cohen's kappa", "Krippendorff's alpha"].index(names[i])
                   if names[i] in ("Cohen's kappa", "Krippendorff's alpha") else 2)
    ax.legend([handles[i] for i in order], [names[i] for i in order], frameon=False, loc="lower left",
              bbox_to_anchor=(0, 1.0), ncols=1, borderaxespad=0.2, handlelength=1.4)
