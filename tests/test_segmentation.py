"""Segmentation of clinics into "more" and "less": hand-worked small cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from integrating import segmentation
from integrating.errors import AnalysisError

MONTHS = 15


def make_clinics(ids=("A", "B", "C", "D", "E", "F")) -> pd.DataFrame:
    return pd.DataFrame({"clinic_id": list(ids), "n_providers": pd.array([3] * len(ids), dtype="Int64")})


def make_log() -> pd.DataFrame:
    rows = [
        # A: c1 implemented (m5); c2 implemented m3 then abandoned m6; c3 implemented only after the
        # final month -> 1 of 3.
        ("A", "c1", 1, "planned"), ("A", "c1", 2, "started"), ("A", "c1", 5, "implemented"),
        ("A", "c2", 1, "planned"), ("A", "c2", 3, "implemented"), ("A", "c2", 6, "abandoned"),
        ("A", "c3", 2, "started"), ("A", "c3", 16, "implemented"),
        # B: 2 of 2; events listed out of month order.
        ("B", "c2", 10, "implemented"), ("B", "c1", 4, "implemented"), ("B", "c2", 2, "planned"),
        # C: same-month events keep the log order -> c2 implemented, c4 started -> 2 of 4.
        ("C", "c1", 1, "started"), ("C", "c1", 7, "implemented"),
        ("C", "c2", 7, "abandoned"), ("C", "c2", 7, "implemented"),
        ("C", "c3", 3, "planned"),
        ("C", "c4", 2, "implemented"), ("C", "c4", 2, "started"),
        # D: 0 of 1. E: no change at all.
        ("D", "c1", 1, "planned"),
        # F: 2 of 3 (c1 in the final month).
        ("F", "c1", 15, "implemented"), ("F", "c2", 1, "planned"), ("F", "c3", 1, "implemented"),
        # a clinic not in the clinics table is ignored
        ("Z", "c1", 1, "implemented"),
    ]
    log = pd.DataFrame(rows, columns=["clinic_id", "change_id", "month", "status"])
    log["month"] = log["month"].astype("int64")
    return log


EXPECTED = {  # clinic: (n_changes, n_implemented)
    "A": (3, 1), "B": (2, 2), "C": (4, 2), "D": (1, 0), "E": (0, 0), "F": (3, 2),
}


def test_clinic_segments_hand_worked():
    seg = segmentation.clinic_segments(make_clinics(), make_log(), months=MONTHS)
    assert list(seg.columns) == ["clinic_id", "n_changes", "n_implemented", "implementation_share", "group"]
    assert seg["clinic_id"].tolist() == ["A", "B", "C", "D", "E", "F"]
    for _, row in seg.iterrows():
        n, k = EXPECTED[row["clinic_id"]]
        assert (row["n_changes"], row["n_implemented"]) == (n, k)
        assert row["implementation_share"] == pytest.approx(k / n if n else 0.0, abs=0)
    assert seg["group"].tolist() == ["less", "more", "more", "less", "less", "more"]
    assert seg["n_changes"].dtype == "int64" and seg["implementation_share"].dtype == "float64"
    assert not seg.isna().any().any()


def test_events_after_final_month_are_ignored_unless_months_is_none():
    seg = segmentation.clinic_segments(make_clinics(), make_log(), months=None)
    assert seg.set_index("clinic_id").loc["A", "n_implemented"] == 2


def test_latest_status_uses_log_order_within_a_month():
    status = segmentation.latest_status(make_log(), MONTHS).set_index(["clinic_id", "change_id"])["status"]
    assert status[("C", "c2")] == "implemented"
    assert status[("C", "c4")] == "started"
    assert status[("A", "c3")] == "started"
    assert status[("B", "c2")] == "implemented"


@pytest.mark.parametrize(
    "rule, threshold, count, expected_more",
    [
        ("share", 0.5, 3, {"B", "C", "F"}),
        ("share", 0.6, 3, {"B", "F"}),
        ("share", 1 / 3, 3, {"A", "B", "C", "F"}),  # a share equal to the cut-off reaches it
        ("share", 0.1 * 3, 3, {"A", "B", "C", "F"}),
        ("share", 0.0, 3, {"A", "B", "C", "D", "E", "F"}),
        ("share", 1.0, 3, {"B"}),
        ("median", 0.5, 3, {"B", "C", "F"}),  # median of (0, 0, 1/3, 1/2, 2/3, 1) = 5/12
        ("count", 0.5, 2, {"B", "C", "F"}),
        ("count", 0.5, 1, {"A", "B", "C", "F"}),
        ("count", 0.5, 0, {"A", "B", "C", "D", "E", "F"}),
        ("count", 0.5, 3, set()),
    ],
)
def test_rules(rule, threshold, count, expected_more):
    seg = segmentation.clinic_segments(make_clinics(), make_log(), months=MONTHS, rule=rule,
                                       threshold=threshold, count_threshold=count)
    assert set(seg.loc[seg["group"].eq("more"), "clinic_id"]) == expected_more
    assert set(seg.loc[seg["group"].eq("less"), "clinic_id"]) == set("ABCDEF") - expected_more


def test_median_rule_with_ties_puts_the_median_clinics_in_more():
    clinics = make_clinics(("A", "B", "C"))
    log = pd.DataFrame({"clinic_id": ["A", "B", "C"], "change_id": ["x", "x", "x"],
                        "month": np.array([1, 1, 1], dtype="int64"), "status": ["implemented"] * 3})
    seg = segmentation.clinic_segments(clinics, log, months=3, rule="median")
    assert seg["group"].tolist() == ["more", "more", "more"]


def test_empty_log_gives_zero_shares():
    log = make_log().iloc[0:0]
    seg = segmentation.clinic_segments(make_clinics(), log, months=MONTHS)
    assert seg["n_changes"].eq(0).all() and seg["implementation_share"].eq(0).all()
    assert seg["group"].eq("less").all()
    traj = segmentation.trajectories_data(log, seg, MONTHS)
    assert len(traj) == 6 * MONTHS and traj["implementation_share"].eq(0).all()


def test_errors():
    with pytest.raises(AnalysisError, match="no rows"):
        segmentation.clinic_segments(make_clinics(()), make_log(), months=MONTHS)
    with pytest.raises(AnalysisError, match="unknown segmentation rule 'mean'"):
        segmentation.clinic_segments(make_clinics(), make_log(), months=MONTHS, rule="mean")
    with pytest.raises(AnalysisError, match="outside 0..1"):
        segmentation.clinic_segments(make_clinics(), make_log(), months=MONTHS, threshold=1.5)


def test_trajectories_hand_worked():
    seg = segmentation.clinic_segments(make_clinics(), make_log(), months=MONTHS)
    traj = segmentation.trajectories_data(make_log(), seg, MONTHS)
    assert list(traj.columns) == ["clinic_id", "group", "month", "n_changes", "n_implemented",
                                  "implementation_share"]
    assert len(traj) == 6 * MONTHS
    a = traj[traj["clinic_id"].eq("A")]["n_implemented"].tolist()
    assert a == [0, 0, 1, 1, 2] + [1] * 10
    c = traj[traj["clinic_id"].eq("C")]["n_implemented"].tolist()
    assert c == [0] * 6 + [2] * 9
    f = traj[traj["clinic_id"].eq("F")]["n_implemented"].tolist()
    assert f == [1] * 14 + [2]
    # the final month reproduces the segmentation
    final = traj[traj["month"].eq(MONTHS)].set_index("clinic_id")
    pd.testing.assert_series_equal(final["implementation_share"], seg.set_index("clinic_id")["implementation_share"])
    assert (final["group"] == seg.set_index("clinic_id")["group"]).all()


def test_trajectories_against_brute_force():
    rng = np.random.default_rng(7)
    n = 300
    log = pd.DataFrame({
        "clinic_id": rng.choice(list("ABCDEF"), n),
        "change_id": rng.choice(["c1", "c2", "c3", "c4"], n),
        "month": rng.integers(1, MONTHS + 1, n).astype("int64"),
        "status": rng.choice(["planned", "started", "implemented", "abandoned"], n),
    })
    seg = segmentation.clinic_segments(make_clinics(), log, months=MONTHS)
    traj = segmentation.trajectories_data(log, seg, MONTHS).set_index(["clinic_id", "month"])
    for clinic in "ABCDEF":
        events = log[log["clinic_id"].eq(clinic)]
        changes = sorted(set(events["change_id"]))
        for month in (1, 7, MONTHS):
            implemented = 0
            for change in changes:
                status = None
                for _, ev in events.iterrows():  # log order, then the last event of the latest month wins
                    if ev["change_id"] == change and ev["month"] <= month:
                        if status is None or ev["month"] >= status[0]:
                            status = (ev["month"], ev["status"])
                implemented += status is not None and status[1] == "implemented"
            assert traj.loc[(clinic, month), "n_implemented"] == implemented
            expected_share = implemented / len(changes) if changes else 0.0
            assert traj.loc[(clinic, month), "implementation_share"] == pytest.approx(expected_share)


def test_case_order_and_group_sizes():
    seg = segmentation.clinic_segments(make_clinics(), make_log(), months=MONTHS)
    order = segmentation.case_order_data(seg)
    assert order["clinic_id"].tolist() == ["B", "F", "C", "A", "D", "E"]
    assert order["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert segmentation.group_sizes(seg) == {"more": 3, "less": 3}


def test_plots_draw():
    import matplotlib.pyplot as plt

    seg = segmentation.clinic_segments(make_clinics(), make_log(), months=MONTHS)
    fig, (ax1, ax2) = plt.subplots(1, 2)
    segmentation.trajectories_plot(segmentation.trajectories_data(make_log(), seg, MONTHS), ax1, threshold=0.5)
    segmentation.case_order_plot(segmentation.case_order_data(seg), ax2, threshold=0.5)
    assert len(ax1.lines) == 6 + 2 + 1  # clinics, group means, cut-off
    assert len(ax2.patches) == 6
    plt.close(fig)
