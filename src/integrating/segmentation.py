"""Case segmentation: which clinics implemented "more" and which "less".

A clinic's **implementation share** is the number of its distinct changes (``change_id`` within the
clinic) whose latest status at or before the final study month is ``implemented``, divided by its
number of distinct changes. Within one month, events keep the order of the implementation log: the
later row is the later event. A clinic without any change has share 0.

Three rules split the clinics (the paper does not publish its exact rule):

* ``share``: ``more`` when share >= ``threshold``;
* ``median``: ``more`` when share >= the median share of all clinics;
* ``count``: ``more`` when the number of implemented changes >= ``count_threshold``.

Every function takes DataFrames (the typed tables of :mod:`integrating.contract`) and parameters,
so that other analyses can call them in-process.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .contract import GROUPS
from .errors import AnalysisError

RULES = ("share", "median", "count")
#: Shares within this distance below a cut-off count as reaching it (guards against cut-offs such as
#: 0.1 * 3 = 0.30000000000000004; distinct shares k/n differ by far more).
TOLERANCE = 1e-9

SEGMENT_COLUMNS = ["clinic_id", "n_changes", "n_implemented", "implementation_share", "group"]


def _check_clinics(clinics: pd.DataFrame) -> None:
    if len(clinics) == 0:
        raise AnalysisError("the clinics table has no rows; segmentation needs at least one clinic")


def _window(implementation_log: pd.DataFrame, months: int | None) -> pd.DataFrame:
    """Status events up to the final study month, in (clinic, change, month, log order) order."""
    log = implementation_log[["clinic_id", "change_id", "month", "status"]]
    if months is not None:
        if int(months) < 1:
            raise AnalysisError(f"the study has {months} months; expected at least 1")
        log = log[log["month"].le(int(months))]
    # mergesort is stable: events of one month keep their order in the log.
    return log.sort_values(["clinic_id", "change_id", "month"], kind="mergesort")


def latest_status(implementation_log: pd.DataFrame, months: int | None = None) -> pd.DataFrame:
    """One row per change of each clinic: ``clinic_id``, ``change_id`` and its latest ``status``.

    The latest status is the one of the last event at or before month ``months`` (all events when
    ``months`` is None); a change whose events all fall after that month has status NA.
    """
    changes = (
        implementation_log[["clinic_id", "change_id"]]
        .drop_duplicates()
        .sort_values(["clinic_id", "change_id"], kind="mergesort")
    )
    last = _window(implementation_log, months).drop_duplicates(["clinic_id", "change_id"], keep="last")
    out = changes.merge(last[["clinic_id", "change_id", "status"]], on=["clinic_id", "change_id"], how="left")
    return out.reset_index(drop=True)


def assign_groups(
    table: pd.DataFrame,
    rule: str = "share",
    threshold: float = 0.5,
    count_threshold: int = 3,
) -> pd.Series:
    """The group (``more``/``less``) of each row of a table with ``implementation_share`` and ``n_implemented``."""
    if rule not in RULES:
        raise AnalysisError(f"unknown segmentation rule {rule!r}; expected one of {', '.join(RULES)}")
    share = table["implementation_share"].to_numpy(dtype="float64")
    if rule == "share":
        if not 0 <= threshold <= 1:
            raise AnalysisError(f"implementation threshold {threshold!r} is outside 0..1")
        more = share >= threshold - TOLERANCE
    elif rule == "median":
        if len(share) == 0:
            raise AnalysisError("the median rule needs at least one clinic")
        more = share >= np.median(share) - TOLERANCE
    else:
        if count_threshold < 0:
            raise AnalysisError(f"implemented-count threshold {count_threshold!r} is negative; expected >= 0")
        more = table["n_implemented"].to_numpy(dtype="int64") >= count_threshold
    return pd.Series(np.where(more, "more", "less"), index=table.index, name="group", dtype=object)


def clinic_segments(
    clinics: pd.DataFrame,
    implementation_log: pd.DataFrame,
    *,
    months: int | None = None,
    rule: str = "share",
    threshold: float = 0.5,
    count_threshold: int = 3,
) -> pd.DataFrame:
    """``clinic_segments.csv``: one row per clinic of ``clinics``, sorted by ``clinic_id``.

    Columns: clinic_id, n_changes, n_implemented, implementation_share, group. Log rows of clinics
    not in ``clinics`` are ignored; a clinic without changes has n_changes 0 and share 0.
    """
    _check_clinics(clinics)
    status = latest_status(implementation_log, months)
    per_clinic = (
        status.assign(implemented=status["status"].eq("implemented").fillna(False).astype("int64"))
        .groupby("clinic_id", sort=True)
        .agg(n_changes=("change_id", "size"), n_implemented=("implemented", "sum"))
    )
    out = pd.DataFrame({"clinic_id": clinics["clinic_id"].astype(object)})
    out = out.merge(per_clinic, left_on="clinic_id", right_index=True, how="left")
    out[["n_changes", "n_implemented"]] = out[["n_changes", "n_implemented"]].fillna(0).astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        share = out["n_implemented"] / out["n_changes"].where(out["n_changes"] > 0)
    out["implementation_share"] = share.fillna(0.0).astype("float64")
    out["group"] = assign_groups(out, rule, threshold, count_threshold)
    out = out.sort_values("clinic_id", kind="mergesort").reset_index(drop=True)
    return out[SEGMENT_COLUMNS]


def case_order(segments: pd.DataFrame) -> pd.DataFrame:
    """Segments in case order: implementation share descending, then clinic_id."""
    return segments.sort_values(
        ["implementation_share", "clinic_id"], ascending=[False, True], kind="mergesort"
    ).reset_index(drop=True)


def group_sizes(segments: pd.DataFrame) -> dict[str, int]:
    counts = segments["group"].value_counts()
    return {g: int(counts.get(g, 0)) for g in GROUPS}


# --- figures ---------------------------------------------------------------------------------


def trajectories_data(
    implementation_log: pd.DataFrame, segments: pd.DataFrame, months: int
) -> pd.DataFrame:
    """Cumulative share implemented per clinic and study month.

    One row per clinic of ``segments`` and month 1..``months``: clinic_id, group, month,
    n_changes, n_implemented (changes whose latest status by that month is ``implemented``),
    implementation_share. At the final month it equals the clinic's implementation share.
    """
    months = int(months)
    if months < 1:
        raise AnalysisError(f"the study has {months} months; expected at least 1")
    log = _window(implementation_log, months)
    log = log[log["clinic_id"].isin(segments["clinic_id"])]
    last = log.drop_duplicates(["clinic_id", "change_id", "month"], keep="last")
    month_range = pd.RangeIndex(1, months + 1, name="month")
    wide = (
        last.pivot(index=["clinic_id", "change_id"], columns="month", values="status")
        .reindex(columns=month_range)
        .ffill(axis=1)
    )
    implemented = wide.eq("implemented").groupby(level="clinic_id").sum()
    implemented = implemented.reindex(index=segments["clinic_id"], fill_value=0)
    long = implemented.stack().rename("n_implemented").reset_index()
    long.columns = ["clinic_id", "month", "n_implemented"]
    long = long.merge(segments[["clinic_id", "group", "n_changes"]], on="clinic_id", how="left")
    n = long["n_changes"].where(long["n_changes"] > 0)
    long["implementation_share"] = (long["n_implemented"] / n).fillna(0.0).astype("float64")
    long["month"] = long["month"].astype("int64")
    long["n_implemented"] = long["n_implemented"].astype("int64")
    cols = ["clinic_id", "group", "month", "n_changes", "n_implemented", "implementation_share"]
    return long[cols].sort_values(["clinic_id", "month"], kind="mergesort").reset_index(drop=True)


def trajectories_plot(data: pd.DataFrame, ax, *, threshold: float | None = None) -> None:
    """One step line per clinic, coloured by group; the share cut-off as a dashed line. The legend goes
    above the figure's axes (a figure legend: the group colours hold for every panel), clear of the lines."""
    from . import plotting

    for group in GROUPS:
        sub = data[data["group"].eq(group)]
        if sub.empty:
            continue
        pivot = sub.pivot(index="month", columns="clinic_id", values="implementation_share")
        ax.step(pivot.index, pivot.to_numpy(), where="post", color=plotting.GROUP_COLORS[group], alpha=0.35,
                linewidth=0.8)
        ax.step(pivot.index, pivot.mean(axis=1), where="post", color=plotting.GROUP_COLORS[group], linewidth=2.2,
                label=f"{plotting.GROUP_LABELS[group]}: clinics (thin), mean (thick)")
    if threshold is not None:
        ax.axhline(threshold, color="#444444", linestyle="--", linewidth=0.8, label=f"cut-off {threshold:g}")
    months = int(data["month"].max()) if len(data) else 1
    ax.set_xlim(1, months)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("Study month")
    ax.set_ylabel("Share of changes implemented")
    ax.figure.legend(*ax.get_legend_handles_labels(), loc="outside upper center", ncols=3, frameon=False)


def case_order_data(segments: pd.DataFrame) -> pd.DataFrame:
    """Clinics in case order with their rank (1 = highest implementation share)."""
    out = case_order(segments)
    out.insert(0, "rank", np.arange(1, len(out) + 1, dtype="int64"))
    return out


def case_order_plot(data: pd.DataFrame, ax, *, threshold: float | None = None) -> None:
    """Horizontal bars of implementation share coloured by group, clinics top to bottom in case order,
    each annotated with implemented/all changes."""
    from . import plotting

    y = np.arange(len(data))
    colors = data["group"].map(plotting.GROUP_COLORS).tolist()
    ax.barh(y, data["implementation_share"], color=colors, height=0.75)
    for yi, (k, n) in enumerate(zip(data["n_implemented"], data["n_changes"])):
        ax.text(1.01, yi, f"{k}/{n}", va="center", ha="left", fontsize=6, transform=ax.get_yaxis_transform())
    if threshold is not None:
        ax.axvline(threshold, color="#444444", linestyle="--", linewidth=0.8)
    ax.set_yticks(y, data["clinic_id"])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("Implementation share (final month)")
