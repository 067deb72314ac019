"""Who coded each document: the coders of every document and each document's primary coder.

A coder who read a document but applied no code leaves no segment behind, so the coded segments alone
cannot say who coded a document. The optional ``coders`` column of ``documents.csv`` says it
explicitly (coder names separated by ``;``). For a document without it (no column, or an empty
cell), the coders are those with a segment in the document plus the study's primary coder, the coder
with segments in the most documents, who is taken to have coded every document (the usual design: one
coder codes everything, a second one double-codes a subset). docs/data-contract.md states the rule.
"""

from __future__ import annotations

import pandas as pd

#: Separator of coder names in the optional ``coders`` column of documents.csv.
SEPARATOR = ";"
COLUMNS = ["document_id", "coder"]


def listed_coders(documents: pd.DataFrame) -> pd.DataFrame:
    """(document_id, coder) pairs from the optional ``coders`` column; documents with an empty cell
    (or no column) have none."""
    if "coders" not in documents.columns:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    cells = documents[["document_id", "coders"]].dropna()
    pairs = cells.assign(coder=cells["coders"].astype(str).str.split(SEPARATOR)).explode("coder")
    pairs["coder"] = pairs["coder"].str.strip()
    return pairs.loc[pairs["coder"].ne(""), COLUMNS].drop_duplicates().reset_index(drop=True)


def study_primary_coder(coded_segments: pd.DataFrame) -> str | None:
    """The coder with segments in more documents than any other coder; None without segments or when
    two coders share the largest number (no coder is then taken to have coded every document)."""
    pairs = coded_segments[COLUMNS].drop_duplicates()
    if pairs.empty:
        return None
    size = pairs.groupby("coder")["document_id"].nunique().sort_values(ascending=False, kind="mergesort")
    if len(size) > 1 and size.iloc[0] == size.iloc[1]:
        return None
    return str(size.index[0])


def document_coders(documents: pd.DataFrame, coded_segments: pd.DataFrame) -> pd.DataFrame:
    """Every (document_id, coder) pair of a coder who coded the document, sorted.

    Listed in the ``coders`` column: those coders (with any coder who has a segment there). Not
    listed: the coders with a segment in the document, and the study's primary coder
    (:func:`study_primary_coder`).
    """
    seg = coded_segments[COLUMNS].drop_duplicates()
    listed = listed_coders(documents)
    explicit = set(listed["document_id"])
    primary = study_primary_coder(coded_segments)
    rest = documents.loc[~documents["document_id"].isin(explicit), "document_id"]
    assumed = pd.DataFrame({"document_id": rest.to_numpy(dtype=object), "coder": primary}) if primary else None
    out = pd.concat([p for p in (listed, seg, assumed) if p is not None and len(p)], ignore_index=True) \
        if len(listed) or len(seg) else pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    out = out.drop_duplicates().sort_values(COLUMNS, kind="mergesort").reset_index(drop=True)
    return out[COLUMNS]


def primary_coders(documents: pd.DataFrame, coded_segments: pd.DataFrame) -> pd.Series:
    """Each document's primary coder (Series indexed by document_id): of its coders
    (:func:`document_coders`), the one who coded the most documents of the study (ties: first by name)."""
    pairs = document_coders(documents, coded_segments)
    if pairs.empty:
        return pd.Series([], index=pd.Index([], name="document_id", dtype=object), name="coder", dtype=object)
    size = pairs.groupby("coder")["document_id"].nunique()
    ranked = pairs.assign(n=pairs["coder"].map(size)).sort_values(["document_id", "n", "coder"],
                                                                  ascending=[True, False, True], kind="mergesort")
    return ranked.drop_duplicates("document_id").set_index("document_id")["coder"]
