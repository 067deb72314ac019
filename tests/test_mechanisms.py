"""Cross-case comparison: meta-matrix, group comparison, stakeholder connections, sensitivity,
excerpts; hand-worked small cases and independent computations (brute force, scipy, pingouin)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pingouin
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from integrating import coders, mechanisms
from integrating.errors import AnalysisError

MECH = ["engaging_groups", "bridging_communication", "sensemaking", "negotiating"]
STAKEHOLDERS = ["front_desk", "nurses", "physicians"]
BARRIERS = ["fragmentation", "lack_of_time"]


def make_segments() -> pd.DataFrame:
    """clinic_segments of six clinics: B, F, C implemented more; A, D, E less (E has no documents)."""
    return pd.DataFrame({
        "clinic_id": list("ABCDEF"),
        "n_changes": np.array([3, 2, 4, 1, 0, 3], dtype="int64"),
        "n_implemented": np.array([1, 2, 2, 0, 0, 2], dtype="int64"),
        "implementation_share": [1 / 3, 1.0, 0.5, 0.0, 0.0, 2 / 3],
        "group": ["less", "more", "more", "less", "less", "more"],
    })


def make_documents() -> pd.DataFrame:
    docs = {"A": ["a1", "a2"], "B": ["b1", "b2", "b3", "b4"], "C": ["c1"], "D": ["d1", "d2"], "F": ["f1", "f2"]}
    rows = [(d, c) for c, ds in docs.items() for d in ds]
    return pd.DataFrame(rows, columns=["document_id", "clinic_id"]).assign(source_type="field_note")


def make_coded() -> pd.DataFrame:
    rows = [
        ("b1", "engaging_groups", "k1", 0, 10), ("b1", "engaging_groups", "k2", 2, 12),
        ("b1", "physicians", "k1", 5, 20), ("b1", "nurses", "k1", 8, 9), ("b1", "sensemaking", "k1", 30, 40),
        ("b2", "engaging_groups", "k1", 0, 5), ("b2", "nurses", "k1", 5, 10),  # touching, not overlapping
        ("b3", "negotiating", "k1", 0, 10), ("b3", "lack_of_time", "k1", 0, 10),
        ("c1", "engaging_groups", "k1", 0, 10), ("c1", "bridging_communication", "k1", 0, 50),
        ("c1", "physicians", "k1", 40, 60), ("c1", "nurses", "k1", 45, 46),
        ("a1", "sensemaking", "k1", 0, 5), ("a1", "physicians", "k1", 0, 5),
        ("a2", "fragmentation", "k1", 3, 8),
        ("f1", "engaging_groups", "k1", 1, 4), ("f2", "engaging_groups", "k1", 0, 2),
    ]
    seg = pd.DataFrame(rows, columns=["document_id", "code", "coder", "start", "end"])
    seg.insert(0, "segment_id", [f"s{i:02d}" for i in range(len(seg))])
    seg[["start", "end"]] = seg[["start", "end"]].astype("int64")
    return seg


def matrix_and_rates():
    return mechanisms.mechanism_matrix(make_segments(), make_documents(), make_coded(), MECH)


# --- meta-matrix ------------------------------------------------------------------------------------


def test_mechanism_matrix_hand_worked():
    matrix, rates = matrix_and_rates()
    assert list(matrix.columns) == ["clinic_id", "group", "implementation_share", "n_documents", *MECH]
    assert list(rates.columns) == list(matrix.columns)
    assert matrix["clinic_id"].tolist() == ["B", "F", "C", "A", "D", "E"]  # case order
    m = matrix.set_index("clinic_id")
    assert m["n_documents"].to_dict() == {"B": 4, "F": 2, "C": 1, "A": 2, "D": 2, "E": 0}
    # b1 is double-coded for engaging_groups: one document
    assert m["engaging_groups"].to_dict() == {"B": 2, "F": 2, "C": 1, "A": 0, "D": 0, "E": 0}
    assert m["bridging_communication"].to_dict() == {"B": 0, "F": 0, "C": 1, "A": 0, "D": 0, "E": 0}
    assert m["sensemaking"].to_dict() == {"B": 1, "F": 0, "C": 0, "A": 1, "D": 0, "E": 0}
    assert m["negotiating"].to_dict() == {"B": 1, "F": 0, "C": 0, "A": 0, "D": 0, "E": 0}
    r = rates.set_index("clinic_id")
    assert r["engaging_groups"].to_dict() == {"B": 5.0, "F": 10.0, "C": 10.0, "A": 0.0, "D": 0.0, "E": 0.0}
    assert r["sensemaking"].to_dict() == {"B": 2.5, "F": 0.0, "C": 0.0, "A": 5.0, "D": 0.0, "E": 0.0}
    assert matrix[MECH].dtypes.eq("int64").all() and rates[MECH].dtypes.eq("float64").all()
    assert not rates.isna().any().any()


def test_matrix_against_brute_force():
    docs, coded = make_documents(), make_coded()
    matrix, _ = matrix_and_rates()
    for _, row in matrix.iterrows():
        clinic_docs = set(docs.loc[docs["clinic_id"].eq(row["clinic_id"]), "document_id"])
        for code in MECH:
            expected = len({d for d, c in zip(coded["document_id"], coded["code"]) if c == code and d in clinic_docs})
            assert row[code] == expected


def test_matrix_with_no_coded_segments_at_all():
    matrix, rates = mechanisms.mechanism_matrix(make_segments(), make_documents(), make_coded().iloc[0:0], MECH)
    assert matrix[MECH].eq(0).all().all() and rates[MECH].eq(0).all().all()


# --- comparison ---------------------------------------------------------------------------------------


def brute_force_p(x, y):
    """Two-sided exact permutation p of the mid-rank sum, by enumerating every relabeling: twice the
    smaller one-sided p, at most 1."""
    pooled = np.concatenate([x, y])
    ranks = stats.rankdata(pooled)
    n, n1 = len(pooled), len(x)
    observed = ranks[:n1].sum()
    sums = np.array([ranks[list(subset)].sum() for subset in itertools.combinations(range(n), n1)])
    return min(1.0, 2 * min(np.mean(sums <= observed + 1e-9), np.mean(sums >= observed - 1e-9)))


def test_compare_groups_hand_worked():
    _, rates = matrix_and_rates()
    labels = {c: c.replace("_", " ").capitalize() for c in MECH}
    comp = mechanisms.compare_groups(rates, MECH, labels=labels)
    assert list(comp.columns) == mechanisms.COMPARISON_COLUMNS
    assert comp["code"].tolist() == MECH
    eg = comp.set_index("code").loc["engaging_groups"]
    # E has no documents and is left out: more = B 5, F 10, C 10; less = A 0, D 0
    assert (eg["n_more"], eg["n_less"]) == (3, 2)
    assert eg["mean_more"] == pytest.approx(25 / 3) and eg["mean_less"] == 0
    assert eg["difference"] == pytest.approx(25 / 3)
    # pooled SD = sqrt((2 * 25/3 + 0) / 3); d = (25/3) / SD; J = 1 - 3 / 11
    g = (25 / 3) / math.sqrt(50 / 9) * (1 - 3 / 11)
    assert eg["effect_size"] == pytest.approx(g, rel=1e-12)
    # mid-ranks 3, 4.5, 4.5 vs 1.5, 1.5: U = 12 - 6 = 6; 1 of the C(5, 3) = 10 relabelings has a rank
    # sum >= 12, all have one <= 12: p = 2 x 1/10
    assert eg["statistic"] == 6 and eg["p_value"] == pytest.approx(0.2, abs=1e-12)
    assert eg["test"].startswith(mechanisms.EXACT_TEST) and "Holm adjustment across the 4 codes" in eg["test"]
    # an effect size alone never makes a verdict: g >= 0.8 but p = 0.2
    assert eg["verdict"] == mechanisms.NOT
    np.testing.assert_array_equal(comp["p_holm"], multipletests(comp["p_value"], method="holm")[1])
    assert eg["label"] == "Engaging groups" and eg["measure"] == "documents per 10"
    neg = comp.set_index("code").loc["negotiating"]  # more: 2.5, 0, 0; less: 0, 0
    assert neg["mean_more"] == pytest.approx(2.5 / 3)
    assert not comp.drop(columns=["effect_size"]).isna().any().any()


def test_compare_groups_against_independent_computations():
    rng = np.random.default_rng(11)
    n_more, n_less = 6, 5
    values = rng.integers(0, 5, size=(n_more + n_less, 3)).astype(float)  # many ties
    table = pd.DataFrame(values, columns=["x", "y", "z"]).assign(group=["more"] * n_more + ["less"] * n_less)
    comp = mechanisms.compare_groups(table, ["x", "y", "z"])
    for code in ["x", "y", "z"]:
        a = table.loc[table["group"].eq("more"), code].to_numpy()
        b = table.loc[table["group"].eq("less"), code].to_numpy()
        row = comp.set_index("code").loc[code]
        assert row["p_value"] == pytest.approx(brute_force_p(a, b), abs=1e-12)
        assert row["statistic"] == pytest.approx(stats.mannwhitneyu(a, b).statistic)
        assert row["effect_size"] == pytest.approx(pingouin.compute_effsize(a, b, eftype="hedges"), rel=1e-10)
        assert row["difference"] == pytest.approx(a.mean() - b.mean())


def test_exact_p_equals_scipy_exact_without_ties():
    rng = np.random.default_rng(3)
    values = rng.permutation(13).astype(float)[:, None]
    table = pd.DataFrame(values, columns=["x"]).assign(group=["more"] * 7 + ["less"] * 6)
    comp = mechanisms.compare_groups(table, ["x"])
    a, b = values[:7, 0], values[7:, 0]
    assert comp["p_value"].iloc[0] == pytest.approx(stats.mannwhitneyu(a, b, method="exact").pvalue, abs=1e-12)


def test_normal_approximation_beyond_max_exact():
    rng = np.random.default_rng(5)
    values = rng.integers(0, 4, size=(40, 2)).astype(float)
    table = pd.DataFrame(values, columns=["x", "y"]).assign(group=["more"] * 20 + ["less"] * 20)
    comp = mechanisms.compare_groups(table, ["x", "y"], max_exact=1000)
    assert comp["test"].str.startswith(mechanisms.ASYMPTOTIC_TEST).all()
    for code in ["x", "y"]:
        a, b = table.loc[:19, code], table.loc[20:, code]
        expected = stats.mannwhitneyu(a, b, method="asymptotic", use_continuity=True).pvalue
        assert comp.set_index("code").loc[code, "p_value"] == pytest.approx(expected, rel=1e-12)


def test_constant_and_separated_columns():
    table = pd.DataFrame({
        "zero": [0.0] * 5,
        "sep": [2.0, 2.0, 2.0, 1.0, 1.0],
        "group": ["more"] * 3 + ["less"] * 2,
    })
    comp = mechanisms.compare_groups(table, ["zero", "sep"]).set_index("code")
    assert comp.loc["zero", "p_value"] == 1.0 and comp.loc["zero", "effect_size"] == 0.0
    assert comp.loc["zero", "difference"] == 0.0 and comp.loc["zero", "verdict"] == mechanisms.NOT
    assert comp.loc["sep", "effect_size"] == np.inf
    assert comp.loc["sep", "p_value"] == pytest.approx(0.2)  # 2 x (1 of C(5, 3) = 10), two-sided
    assert comp.loc["sep", "p_holm"] == pytest.approx(0.4)  # family of two: 2 x 0.2, then max with 1.0
    assert comp.loc["sep", "verdict"] == mechanisms.NOT  # separated groups, but adjusted p 0.4


def test_verdict_rule():
    v = mechanisms.verdicts(
        difference=[1, 1, 1, -1, -1, 0],
        p_adjusted=[0.01, 0.07, 0.5, 0.01, 0.5, 0.01],
    ).tolist()
    assert v == [mechanisms.STRONG, mechanisms.WEAK, mechanisms.NOT, mechanisms.NOT, mechanisms.NOT, mechanisms.NOT]
    either = mechanisms.verdicts([-1, -1, 1], [0.01, 0.07, 0.5], direction="either").tolist()
    assert either == [mechanisms.STRONG, mechanisms.WEAK, mechanisms.NOT]
    less = mechanisms.verdicts([-1, 1], [0.01, 0.01], direction="less").tolist()
    assert less == [mechanisms.STRONG, mechanisms.NOT]
    boundary = mechanisms.verdicts([1, 1, 1], [0.05, 0.10, np.nan]).tolist()
    assert boundary == [mechanisms.WEAK, mechanisms.NOT, mechanisms.NOT]
    with pytest.raises(AnalysisError, match="unknown direction"):
        mechanisms.verdicts([1], [0.1], direction="up")


def test_holm_family_decides_the_verdicts():
    """The verdicts follow statsmodels' Holm-adjusted p of the family; by hand, raw p 0.01, 0.02, 0.03,
    0.04 (each < 0.05) become 0.04, 0.06, 0.06, 0.06: one strongly and three weakly distinguishing."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(10, 4)), columns=list("abcd")).assign(group=["more"] * 5 + ["less"] * 5)
    comp = mechanisms.compare_groups(table, list("abcd"))
    np.testing.assert_array_equal(comp["p_holm"], multipletests(comp["p_value"], method="holm")[1])
    expected = mechanisms.verdicts(comp["difference"], multipletests(comp["p_value"], method="holm")[1])
    assert comp["verdict"].tolist() == expected.tolist()
    v = mechanisms.verdicts([1, 1, 1, 1], stats_holm([0.01, 0.02, 0.03, 0.04]))
    assert v.tolist() == [mechanisms.STRONG, mechanisms.WEAK, mechanisms.WEAK, mechanisms.WEAK]


def stats_holm(p):
    return multipletests(p, method="holm")[1]


def test_primary_coder_counts_a_code_once_per_document():
    coded = pd.concat([make_coded(), pd.DataFrame({
        "segment_id": ["x1", "x2"], "document_id": ["b2", "d1"], "code": ["sensemaking", "negotiating"],
        "coder": ["k2", "k2"], "start": [0, 0], "end": [5, 5]})], ignore_index=True)
    docs = make_documents()
    # k1 has segments in 8 documents, k2 in three (b1, b2, d1): k1 is the study's primary coder, taken
    # to have coded every document without a coders list, and the primary coder of each
    assert set(coders.primary_coders(docs, coded)) == {"k1"}
    m_primary, _ = mechanisms.mechanism_matrix(make_segments(), docs, coded, MECH)
    m_union, _ = mechanisms.mechanism_matrix(make_segments(), docs, coded, MECH, coders="union")
    p, u = m_primary.set_index("clinic_id"), m_union.set_index("clinic_id")
    assert (p.loc["B", "sensemaking"], u.loc["B", "sensemaking"]) == (1, 2)  # b2's sensemaking is k2's only
    assert (p.loc["D", "negotiating"], u.loc["D", "negotiating"]) == (0, 1)  # d1: k1 coded it, found nothing
    assert p.loc["B", "engaging_groups"] == u.loc["B", "engaging_groups"] == 2  # b1 double-coded: once
    # an explicit list of each document's coders: d1 coded by k2 alone
    listed = docs.assign(coders=np.where(docs["document_id"].eq("d1"), "k2", ""))
    listed["coders"] = listed["coders"].replace("", np.nan)
    assert coders.primary_coders(listed, coded)["d1"] == "k2"
    m, _ = mechanisms.mechanism_matrix(make_segments(), listed, coded, MECH)
    assert m.set_index("clinic_id").loc["D", "negotiating"] == 1
    with pytest.raises(AnalysisError, match="mechanism_coders is 'all'"):
        mechanisms.mechanism_matrix(make_segments(), docs, coded, MECH, coders="all")


def test_compare_groups_errors():
    _, rates = matrix_and_rates()
    one_less = rates[rates["clinic_id"].ne("A")]  # less: D (E has no documents)
    with pytest.raises(AnalysisError, match="group 'less' has 1 clinic"):
        mechanisms.compare_groups(one_less, MECH)
    with pytest.raises(AnalysisError, match="no column"):
        mechanisms.compare_groups(rates, ["unknown_code"])
    assert mechanisms.compare_groups(rates, []).columns.tolist() == mechanisms.COMPARISON_COLUMNS


def test_barrier_comparison():
    _, rates = mechanisms.mechanism_matrix(make_segments(), make_documents(), make_coded(), BARRIERS)
    comp = mechanisms.compare_groups(rates, BARRIERS, direction="either").set_index("code")
    assert comp.loc["lack_of_time", "mean_more"] == pytest.approx(2.5 / 3)
    assert comp.loc["fragmentation", "mean_less"] == pytest.approx(2.5)


# --- stakeholders -----------------------------------------------------------------------------------------


def test_stakeholder_connections_hand_worked():
    conn = mechanisms.stakeholder_connections(make_segments(), make_documents(), make_coded(), MECH, STAKEHOLDERS)
    assert list(conn.columns) == ["clinic_id", "group", *STAKEHOLDERS]
    c = conn.set_index("clinic_id")
    assert c["physicians"].to_dict() == {"A": 1, "B": 2, "C": 1, "D": 0, "E": 0, "F": 0}
    assert c["nurses"].to_dict() == {"A": 0, "B": 2, "C": 1, "D": 0, "E": 0, "F": 0}
    assert c["front_desk"].eq(0).all()


def test_stakeholder_network_hand_worked():
    net = mechanisms.stakeholder_network_data(make_segments(), make_documents(), make_coded(), MECH, STAKEHOLDERS)
    assert list(net.columns) == ["group", "kind", "source", "target", "n_clinics", "clinics_in_group"]
    nodes = net[net["kind"].eq("node")].set_index(["group", "source"])["n_clinics"].to_dict()
    assert nodes == {("more", "front_desk"): 0, ("more", "nurses"): 2, ("more", "physicians"): 2,
                     ("less", "front_desk"): 0, ("less", "nurses"): 0, ("less", "physicians"): 1}
    edges = net[net["kind"].eq("edge")]
    assert edges[["group", "source", "target", "n_clinics"]].values.tolist() == [["more", "nurses", "physicians", 2]]
    assert net["clinics_in_group"].eq(3).all()


def test_no_stakeholder_codes():
    conn = mechanisms.stakeholder_connections(make_segments(), make_documents(), make_coded(), MECH, [])
    assert list(conn.columns) == ["clinic_id", "group"] and len(conn) == 6
    net = mechanisms.stakeholder_network_data(make_segments(), make_documents(), make_coded(), MECH, [])
    assert len(net) == 0


# --- sensitivity ------------------------------------------------------------------------------------------


def test_sensitivity_hand_worked():
    _, rates = matrix_and_rates()
    sens = mechanisms.segmentation_sensitivity(make_segments(), rates, MECH, [0.6, 0.3, 0.5, 0.7, 1.0, 0.5])
    assert list(sens.columns) == ["threshold", "n_more", "n_less", "n_changed", *MECH]
    assert sens["threshold"].tolist() == [0.3, 0.5, 0.6, 0.7, 1.0]
    assert sens["n_more"].tolist() == [4, 3, 2, 1, 1]
    assert sens["n_changed"].tolist() == [1, 0, 1, 2, 2]
    s = sens.set_index("threshold")
    # 0.3: the less group keeps D only (E has no documents); 0.7: one clinic in more
    assert (s.loc[0.3, MECH] == mechanisms.NOT_COMPUTABLE).all()
    assert (s.loc[0.7, MECH] == mechanisms.NOT_COMPUTABLE).all()
    reference = mechanisms.compare_groups(rates, MECH).set_index("code")["verdict"]
    assert s.loc[0.5, MECH].tolist() == reference.loc[MECH].tolist()
    # 0.6: more = B (5), F (10); less = C (10), A, D (0)
    manual = rates.assign(group=rates["clinic_id"].map({"B": "more", "F": "more"}).fillna("less"))
    assert s.loc[0.6, MECH].tolist() == mechanisms.compare_groups(manual, MECH)["verdict"].tolist()


# --- excerpts ---------------------------------------------------------------------------------------------


def test_excerpts_hand_worked():
    texts = {d: f"{d}:" + "".join(chr(0x3b1 + i % 20) for i in range(60)) for d in make_documents()["document_id"]}
    ex = mechanisms.mechanism_excerpts(make_segments(), make_documents(), make_coded(), MECH, 2, texts.__getitem__)
    assert list(ex.columns) == ["code", "clinic_id", "document_id", "segment_id", "excerpt"]
    assert ex[["code", "clinic_id", "document_id"]].values.tolist() == [
        ["engaging_groups", "B", "b1"], ["engaging_groups", "F", "f1"],
        ["bridging_communication", "C", "c1"],
        ["sensemaking", "B", "b1"], ["sensemaking", "A", "a1"],
        ["negotiating", "B", "b3"],
    ]
    first = ex.iloc[0]
    assert first["segment_id"] == "s00" and first["excerpt"] == texts["b1"][0:10]
    assert ex.iloc[1]["excerpt"] == texts["f1"][1:4]
    assert len(mechanisms.mechanism_excerpts(make_segments(), make_documents(), make_coded(), MECH, 0,
                                             texts.__getitem__)) == 0
    # the primary coder (most segments) is preferred over a reliability coder, even at a later offset
    coded = make_coded()
    coded.loc[coded["segment_id"].eq("s00"), "start"] = 4
    coded.loc[coded["segment_id"].eq("s01"), ["start", "coder"]] = [0, "k2"]
    ex = mechanisms.mechanism_excerpts(make_segments(), make_documents(), coded, MECH, 1, texts.__getitem__)
    assert ex.iloc[0]["segment_id"] == "s00" and ex.iloc[0]["excerpt"] == texts["b1"][4:10]


# --- figures ----------------------------------------------------------------------------------------------


def test_figure_data_and_plots():
    import matplotlib.pyplot as plt

    _, rates = matrix_and_rates()
    heat = mechanisms.heatmap_data(rates, MECH)
    assert heat["row"].max() == 5 and len(heat) == 6 * len(MECH)
    assert heat.drop_duplicates("row")["clinic_id"].tolist() == ["B", "F", "C", "A", "D", "E"]
    comp = mechanisms.compare_groups(rates, MECH)
    net = mechanisms.stakeholder_network_data(make_segments(), make_documents(), make_coded(), MECH, STAKEHOLDERS)
    sens = mechanisms.segmentation_sensitivity(make_segments(), rates, MECH, [0.3, 0.5, 0.6])
    fig, axes = plt.subplots(2, 3)
    mechanisms.heatmap_plot(heat, axes[0, 0], value_label="per 10")
    mechanisms.comparison_plot(comp, axes[0, 1])
    mechanisms.network_plot(net, axes[1, :2])
    mechanisms.sensitivity_plot(sens, [axes[0, 2], axes[1, 2]], codes=MECH, configured=0.5)
    plt.close(fig)
    # nothing to draw: no barrier codes, no stakeholder codes
    fig, (ax0, ax1, ax2, ax3) = plt.subplots(1, 4)
    mechanisms.heatmap_plot(mechanisms.heatmap_data(rates, []), ax0, value_label="none")
    mechanisms.comparison_plot(mechanisms.compare_groups(rates, []), ax1)
    mechanisms.network_plot(mechanisms.stakeholder_network_data(make_segments(), make_documents(), make_coded(),
                                                                MECH, []), [ax2, ax3])
    plt.close(fig)
