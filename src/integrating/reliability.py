"""Case-by-source inventory and inter-coder reliability of the double-coded subset (notebook 01)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .coders import document_coders
from .errors import AnalysisError

#: Resampling weights (replicates x documents) held in memory at once by the bootstrap.
BOOTSTRAP_ELEMENTS = 1 << 21
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


def double_coded_documents(documents: pd.DataFrame, coded_segments: pd.DataFrame, coders: tuple[str, str]) -> np.ndarray:
    """The reliability sample of a pair of coders: the documents both coded, sorted.

    Who coded a document is :func:`integrating.coders.document_coders`: the ``coders`` column of
    documents.csv where given, else the coders with a segment in it plus the study's primary coder. A
    coder of the pair who coded a document but applied no code there counts every code as absent.
    """
    a, b = coders
    pairs = document_coders(documents, coded_segments)
    by = pairs.groupby("coder")["document_id"].unique()
    both = np.intersect1d(by.get(a, []), by.get(b, []))
    if both.size == 0:
        raise AnalysisError(f"coders '{a}' and '{b}' have no document in common; reliability needs double-coded documents")
    return np.sort(both)


def presence_matrix(coded_segments: pd.DataFrame, codes: list[str], coders: tuple[str, str],
                    documents: pd.DataFrame | None = None) -> pd.DataFrame:
    """Document x code presence (0/1) for each of two coders, on their reliability sample
    (:func:`double_coded_documents`; without ``documents``, the documents that have segments).

    Index: (document_id, code); columns: the two coders.
    """
    a, b = coders
    if documents is None:
        documents = pd.DataFrame({"document_id": np.sort(coded_segments["document_id"].unique())})
    both = double_coded_documents(documents, coded_segments, coders)
    seg = coded_segments.loc[coded_segments["coder"].isin(coders), ["document_id", "coder", "code"]]
    present = seg.loc[seg["document_id"].isin(both)].drop_duplicates().assign(present=1)
    grid = pd.MultiIndex.from_product([both, codes], names=["document_id", "code"])
    if present.empty:
        return pd.DataFrame(0, index=grid, columns=[a, b])
    wide = present.pivot_table(index=["document_id", "code"], columns="coder", values="present", aggfunc="max")
    return wide.reindex(index=grid, columns=[a, b]).fillna(0).astype(int)


def double_coders(coded_segments: pd.DataFrame, documents: pd.DataFrame | None = None) -> tuple[str, str]:
    """The pair of coders who share the most documents (:func:`integrating.coders.document_coders`)."""
    if documents is None:
        documents = pd.DataFrame({"document_id": np.sort(coded_segments["document_id"].unique())})
    pairs = document_coders(documents, coded_segments)
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


def binary_agreement(n00, n01, n10, n11) -> tuple[np.ndarray, np.ndarray]:
    """Cohen's kappa and Krippendorff's alpha (nominal) of two coders on binary units, from the counts
    of the four (a, b) outcomes; vectorised (NaN where only one category occurs).

    kappa = (p_o - p_e) / (1 - p_e); alpha = 1 - (2N - 1) (n01 + n10) / (n_0 n_1), with n_0, n_1 the
    numbers of 0 and 1 values over both coders (Krippendorff's coincidence-matrix form for two coders
    and no missing values).
    """
    n00, n01, n10, n11 = (np.asarray(v, dtype="float64") for v in (n00, n01, n10, n11))
    n = n00 + n01 + n10 + n11
    with np.errstate(invalid="ignore", divide="ignore"):
        po = (n00 + n11) / n
        pe = ((n00 + n01) * (n00 + n10) + (n10 + n11) * (n01 + n11)) / n**2
        kappa = (po - pe) / (1 - pe)
        zeros, ones = 2 * n00 + n01 + n10, 2 * n11 + n01 + n10
        alpha = 1 - (2 * n - 1) * (n01 + n10) / (zeros * ones)
    one_category = (zeros == 0) | (ones == 0)
    return np.where(one_category, np.nan, kappa), np.where(one_category, np.nan, alpha)


def bootstrap_intervals(matrix: pd.DataFrame, codes: list[str], *, replicates: int = 2000, seed: int = 0,
                        confidence: float = 0.95) -> pd.DataFrame:
    """Percentile bootstrap CIs of kappa and alpha per code and overall, resampling documents.

    Each replicate draws as many of the reliability sample's documents as it holds, with replacement
    (a document keeps all its (document, code) units together): ``integers(0, n_documents)`` of
    ``numpy.random.default_rng(seed)``, a row of draws per replicate; kappa and alpha are
    :func:`binary_agreement` of the replicate's counts. Replicates where a statistic is undefined
    (one category only) are left out of its interval; ``n_replicates_defined`` counts the others.
    """
    if replicates < 1:
        raise AnalysisError(f"reliability_bootstrap is {replicates!r}; expected an integer >= 1")
    docs = matrix.index.get_level_values("document_id").unique()
    a, b = matrix.columns
    # per document and code: indicator of each outcome (a, b) in 00, 01, 10, 11
    outcome = (2 * matrix[a] + matrix[b]).to_numpy().reshape(len(docs), len(codes))
    onehot = np.stack([(outcome == k) for k in range(4)], axis=-1).astype("float64")  # docs x codes x 4
    rng = np.random.default_rng(seed)
    n_docs = len(docs)
    step = max(1, BOOTSTRAP_ELEMENTS // max(n_docs, 1))  # replicates drawn at once: bounded memory

    def weights(r: int) -> np.ndarray:  # times each document is drawn, per replicate (r x documents)
        drawn = rng.integers(0, n_docs, size=(r, n_docs)) + n_docs * np.arange(r)[:, None]
        return np.bincount(drawn.ravel(), minlength=r * n_docs).reshape(r, n_docs).astype("float64")

    counts = np.concatenate([np.einsum("rd,dck->rck", weights(min(step, replicates - start)), onehot)
                             for start in range(0, replicates, step)])  # replicates x codes x 4
    counts = np.concatenate([counts, counts.sum(axis=1, keepdims=True)], axis=1)  # overall = all units
    kappa, alpha = binary_agreement(*np.moveaxis(counts, -1, 0))
    lo_q, hi_q = 50 * (1 - confidence), 50 * (1 + confidence)
    rows = []
    for j, code in enumerate([*codes, "overall"]):
        row = {"code": code}
        for name, values in (("kappa", kappa[:, j]), ("alpha", alpha[:, j])):
            ok = values[np.isfinite(values)]
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = (
                (float(np.percentile(ok, lo_q)), float(np.percentile(ok, hi_q))) if ok.size else (np.nan, np.nan))
            row[f"n_replicates_defined_{name}"] = int(ok.size)
        rows.append(row)
    return pd.DataFrame(rows)


def reliability_table(coded_segments: pd.DataFrame, codebook: pd.DataFrame, coders=None, *,
                      documents: pd.DataFrame | None = None, replicates: int = 2000, seed: int = 0,
                      confidence: float = 0.95) -> pd.DataFrame:
    """Per code and overall: percent agreement, Cohen's kappa, Krippendorff's alpha (nominal), with
    document-level percentile bootstrap CIs of kappa and alpha (:func:`bootstrap_intervals`).

    The unit is (document, code): whether each coder applied the code anywhere in the document, on the
    pair's reliability sample (:func:`double_coded_documents`). ``overall`` pools all (document, code)
    units. Undefined statistics (a code neither or both coders always used) are left empty and flagged
    in ``note``.
    """
    coders = coders or double_coders(coded_segments, documents)
    codes = codebook.sort_values(["category", "code"])["code"].tolist()
    matrix = presence_matrix(coded_segments, codes, coders, documents)
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
    ci = bootstrap_intervals(matrix, codes, replicates=replicates, seed=seed, confidence=confidence)
    out = out.merge(ci[["code", "kappa_ci_low", "kappa_ci_high", "alpha_ci_low", "alpha_ci_high"]], on="code",
                    how="left", validate="one_to_one")
    out["ci_method"] = (f"{confidence * 100:g}% percentile bootstrap over documents, {replicates} replicates "
                        f"(seed {seed})")
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
    if {"kappa_ci_low", "kappa_ci_high"} <= set(per_code.columns):
        k = per_code["cohen_kappa"].to_numpy(dtype="float64")
        ax.errorbar(k, y, xerr=[k - per_code["kappa_ci_low"].to_numpy(dtype="float64"),
                                per_code["kappa_ci_high"].to_numpy(dtype="float64") - k],
                    fmt="none", ecolor="#000000", elinewidth=0.6, capsize=1.5, label="kappa bootstrap CI")
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
