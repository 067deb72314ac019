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


# --- the reliability sample and bootstrap intervals ------------------------------------------------


def test_binary_agreement_equals_statsmodels_and_krippendorff():
    import krippendorff
    from statsmodels.stats.inter_rater import cohens_kappa

    rng = np.random.default_rng(1)
    for _ in range(30):
        n = int(rng.integers(5, 60))
        x = (rng.random(n) < rng.uniform(0.1, 0.9)).astype(int)
        y = np.where(rng.random(n) < 0.8, x, 1 - x)
        if np.unique(np.r_[x, y]).size < 2:
            continue
        counts = [np.sum((x == a) & (y == b)) for a, b in ((0, 0), (0, 1), (1, 0), (1, 1))]
        kappa, alpha = reliability.binary_agreement(*counts)
        table = np.array(counts, float).reshape(2, 2)
        assert kappa == pytest.approx(cohens_kappa(table, return_results=False), rel=1e-12)
        assert alpha == pytest.approx(krippendorff.alpha(reliability_data=np.vstack([x, y]),
                                                         level_of_measurement="nominal"), rel=1e-12)
    assert np.isnan(reliability.binary_agreement(5, 0, 0, 0)).all()


def _documents(ids, coders=None):
    docs = pd.DataFrame({"document_id": ids})
    if coders is not None:
        docs["coders"] = coders
    return docs


def test_a_document_the_primary_coder_coded_without_any_code_is_in_the_sample():
    """ann (the primary coder, most documents) codes everything; bob double-codes D1-D3 and is the only
    one to code m1 in D3: without a coders list, D3 is double-coded with ann's m1 absent."""
    seg = _segments([("D1", "m1", "ann"), ("D1", "m1", "bob"), ("D2", "m2", "ann"), ("D2", "m2", "bob"),
                     ("D3", "m1", "bob"), ("D4", "m1", "ann"), ("D5", "m2", "ann")])
    docs = _documents(["D1", "D2", "D3", "D4", "D5"])
    assert reliability.double_coded_documents(docs, seg, ("ann", "bob")).tolist() == ["D1", "D2", "D3"]
    codebook = pd.DataFrame({"code": ["m1", "m2"], "category": ["mechanism", "mechanism"]})
    table = reliability.reliability_table(seg, codebook, documents=docs, replicates=50).set_index("code")
    assert table.loc["m1", "n_units"] == 3 and table.loc["m1", "n_present_a"] == 1
    assert table.loc["m1", "n_present_b"] == 2
    # an explicit list says ann did not code D3 (and bob coded D4 without finding anything)
    listed = _documents(["D1", "D2", "D3", "D4", "D5"], ["ann;bob", "ann; bob", "bob", "ann;bob", np.nan])
    assert reliability.double_coded_documents(listed, seg, ("ann", "bob")).tolist() == ["D1", "D2", "D4"]
    # two coders with one document each: neither is taken to have coded everything
    with pytest.raises(AnalysisError, match="no document"):
        reliability.double_coders(_segments([("D1", "m1", "ann"), ("D2", "m1", "bob")]))


def test_bootstrap_intervals_equal_a_loop_over_replicates_and_are_seeded(monkeypatch):
    rng = np.random.default_rng(8)
    pairs = []
    for d in range(25):
        for code in ("m1", "m2"):
            a = rng.random() < 0.5
            b = a if rng.random() < 0.8 else not a
            pairs += [(f"D{d:02d}", code, "ann")] * a + [(f"D{d:02d}", code, "bob")] * b
        pairs += [(f"D{d:02d}", "anchor", "ann"), (f"D{d:02d}", "anchor", "bob")]
    seg = _segments(pairs)
    codes = ["anchor", "m1", "m2"]
    matrix = reliability.presence_matrix(seg, codes, ("ann", "bob"))
    got = reliability.bootstrap_intervals(matrix, codes, replicates=80, seed=4).set_index("code")
    # the same replicates, drawn and scored one at a time with statsmodels and krippendorff
    docs = matrix.index.get_level_values(0).unique()
    drawn = np.random.default_rng(4).integers(0, len(docs), size=(80, len(docs)))  # documents drawn, per replicate
    for code in ("m1", "m2", "overall"):
        sub = matrix if code == "overall" else matrix.xs(code, level="code", drop_level=False)
        kappas = []
        for row in drawn:
            keep = docs[row]
            rows = pd.concat([sub.xs(d, level="document_id", drop_level=False) for d in keep])
            kappas.append(reliability._agreement(rows["ann"].to_numpy(), rows["bob"].to_numpy())["cohen_kappa"])
        kappas = np.array(kappas)
        kappas = kappas[np.isfinite(kappas)]
        assert got.loc[code, "kappa_ci_low"] == pytest.approx(np.percentile(kappas, 2.5), rel=1e-10)
        assert got.loc[code, "kappa_ci_high"] == pytest.approx(np.percentile(kappas, 97.5), rel=1e-10)
    assert np.isnan(got.loc["anchor", "kappa_ci_low"])  # one category: undefined in every replicate
    again = reliability.bootstrap_intervals(matrix, codes, replicates=80, seed=4)
    pd.testing.assert_frame_equal(got.reset_index(), again)
    # replicates drawn in chunks of 7 (memory bound): the same stream, the same intervals
    monkeypatch.setattr(reliability, "BOOTSTRAP_ELEMENTS", 7 * len(docs))
    pd.testing.assert_frame_equal(reliability.bootstrap_intervals(matrix, codes, replicates=80, seed=4), again)
    with pytest.raises(AnalysisError, match="reliability_bootstrap"):
        reliability.bootstrap_intervals(matrix, codes, replicates=0)
