"""Who coded each document (integrating.coders): hand-worked cases."""

from __future__ import annotations

import numpy as np
import pandas as pd

from integrating import coders


def segments(pairs):
    return pd.DataFrame([(f"S{i}", d, "m1", c, 0, 1) for i, (d, c) in enumerate(pairs)],
                        columns=["segment_id", "document_id", "code", "coder", "start", "end"])


def test_listed_coders_split_trim_and_skip_empty_cells():
    docs = pd.DataFrame({"document_id": ["D1", "D2", "D3"], "coders": ["ann; bob", np.nan, "bob;;"]})
    assert coders.listed_coders(docs).values.tolist() == [["D1", "ann"], ["D1", "bob"], ["D3", "bob"]]
    assert coders.listed_coders(docs.drop(columns="coders")).empty


def test_primary_coder_of_the_study_is_unique_or_none():
    assert coders.study_primary_coder(segments([("D1", "ann"), ("D2", "ann"), ("D2", "bob")])) == "ann"
    assert coders.study_primary_coder(segments([("D1", "ann"), ("D2", "bob")])) is None
    assert coders.study_primary_coder(segments([])) is None


def test_document_coders_assume_the_primary_coder_only_where_nothing_is_listed():
    seg = segments([("D1", "ann"), ("D2", "ann"), ("D3", "bob"), ("D4", "ann")])
    docs = pd.DataFrame({"document_id": ["D1", "D2", "D3", "D4", "D5"],
                         "coders": [np.nan, np.nan, "bob", np.nan, np.nan]})
    pairs = coders.document_coders(docs, seg)
    # D3 is listed (bob alone); D5 has no segment but the primary coder ann is taken to have coded it
    assert pairs.values.tolist() == [["D1", "ann"], ["D2", "ann"], ["D3", "bob"], ["D4", "ann"], ["D5", "ann"]]
    assert coders.primary_coders(docs, seg).to_dict() == {"D1": "ann", "D2": "ann", "D3": "bob", "D4": "ann",
                                                           "D5": "ann"}
