import numpy as np
import pandas as pd
import pytest

from integrating import reliability
from integrating.errors import AnalysisError


def _segments(pairs):
    """Coded segments from (document, code, coder) triples."""
    rows = [(f"S{i}", d, c, coder, 0, 1) for i, (d, c, coder) in enumerate(pairs)]
    return pd.DataFrame(rows, columns=["segment_id", "document_id", "code", "coder", "start", "end"])


def _hand_kappa(table):
    table = np.asarray(table, float)
    n = table.sum()
    po = np.trace(table) / n
    pe = (table.sum(0) * table.sum(1)).sum() / n**2
    return (po - pe) / (1 - pe)


def _hand_alpha(x, y):
    """Krippendorff's alpha, nominal, two coders, no missing: from the coincidence matrix."""
    values = np.concatenate([x, y])
    n = values.size
    cats = np.unique(values)
    o = np.zeros((cats.size, cats.size))
    for a, b in zip(x, y):
        i, j = np.searchsorted(cats, a), np.searchsorted(cats, b)
        o[i, j] += 1
        o[j, i] += 1
    nc = o.sum(1)
    do = (o.sum() - np.trace(o))
    de = (n * n - (nc**2).sum()) / (n - 1)
    return 1 - do / de


def test_kappa_matches_a_hand_worked_example():
    # 50 units: both yes 20, a yes/b no 5, a no/b yes 10, both no 15 -> kappa = 0.4 (textbook example)
    x = np.array([1] * 20 + [1] * 5 + [0] * 10 + [0] * 15)
    y = np.array([1] * 20 + [0] * 5 + [1] * 10 + [0] * 15)
    res = reliability._agreement(x, y)
    assert res["cohen_kappa"] == pytest.approx(0.4)
    assert res["percent_agreement"] == pytest.approx(70.0)
    assert res["krippendorff_alpha"] == pytest.approx(_hand_alpha(x, y))


def test_reliability_table_against_independent_computation():
    rng = np.random.default_rng(3)
    docs = [f"D{i}" for i in range(30)]
    pairs = []
    truth = {}
    for d in docs:
        for code in ("m1", "m2"):
            a = rng.random() < 0.5
            b = a if rng.random() < 0.8 else not a
            truth[(d, code)] = (int(a), int(b))
            if a:
                pairs.append((d, code, "ann"))
            if b:
                pairs.append((d, code, "bob"))
        pairs.append((d, "anchor", "ann"))  # every document is coded by both coders
        pairs.append((d, "anchor", "bob"))
    codebook = pd.DataFrame({"code": ["m1", "m2", "anchor"], "category": ["mechanism", "mechanism", "other"]})
    table = reliability.reliability_table(_segments(pairs), codebook).set_index("code")
    for code in ("m1", "m2"):
        x = np.array([truth[(d, code)][0] for d in docs])
        y = np.array([truth[(d, code)][1] for d in docs])
        ct = pd.crosstab(x, y).to_numpy()
        assert table.loc[code, "cohen_kappa"] == pytest.approx(_hand_kappa(ct))
        assert table.loc[code, "krippendorff_alpha"] == pytest.approx(_hand_alpha(x, y))
        assert table.loc[code, "percent_agreement"] == pytest.approx(100 * (x == y).mean())
    assert table.loc["anchor", "note"].startswith("undefined")
    assert table.loc["overall", "n_units"] == 90


def test_no_double_coding_is_a_clear_error():
    seg = _segments([("D1", "m1", "ann"), ("D2", "m1", "bob")])
    with pytest.raises(AnalysisError, match="no document"):
        reliability.double_coders(seg)


def test_inventory_counts_every_clinic_including_empty_ones():
    clinics = pd.DataFrame({"clinic_id": ["A", "B"]})
    documents = pd.DataFrame({"document_id": ["d1", "d2"], "clinic_id": ["A", "A"],
                              "source_type": ["interview", "field_note"]})
    seg = _segments([("d1", "m1", "ann"), ("d1", "m2", "ann"), ("d2", "m1", "ann")])
    resp = pd.DataFrame({"clinic_id": ["A", "A", "B"], "wave": ["pre", "post", "post"]})
    inv = reliability.inventory_data(clinics, documents, seg, resp).set_index("clinic_id")
    assert inv.loc["A"].to_dict() == {"n_documents": 2, "n_field_notes": 1, "n_meeting_minutes": 0, "n_interviews": 1,
                                      "n_coded_segments": 3, "n_responses_pre": 1, "n_responses_post": 1}
    assert inv.loc["B", "n_documents"] == 0 and inv.loc["B", "n_responses_post"] == 1
