"""Figure C: one small panel per clinic showing the mechanisms enacted and the stakeholder groups connected."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import plotting
from .contract import GROUPS
from .errors import AnalysisError
from .derived import check_groups, require_columns
from .diagram import MARGIN, STAMP_ROOM, _too_narrow
from .figure_text import TextStyle, shorten, text_extent, wrap
from .plotting import fmt_number

#: The derived tables Figure C reads.
SMALL_MULTIPLES_TABLES = ["mechanism_rates", "stakeholder_connections"]
SMALL_COLUMNS = ["panel", "clinic_id", "clinic_label", "group", "implementation_share", "n_documents", "kind",
                 "code", "label", "row", "value", "present"]


def _code_labels(codes, codebook, defaults=None) -> dict[str, str]:
    labels = dict(defaults or {})
    if codebook is not None and len(codebook):
        labels.update(dict(zip(codebook["code"], codebook["label"])))
    return {c: str(labels.get(c, c.replace("_", " ").capitalize())) for c in codes}


def clinic_small_multiples_data(mechanism_rates: pd.DataFrame, stakeholder_connections: pd.DataFrame, *,
                                codebook: pd.DataFrame | None = None, clinics: pd.DataFrame | None = None,
                                max_clinics: int | None = None) -> pd.DataFrame:
    """One row per clinic and mechanism or stakeholder code: how much, and whether it is present.

    ``value`` is, for a mechanism, the number of the clinic's documents coded with it per 10
    documents (mechanism_rates.csv); for a stakeholder group, the number of mechanism-coded segments
    overlapping a segment of that group (stakeholder_connections.csv) per 10 of the clinic's
    documents (0 when it has none; clinics absent from that table count 0). ``present`` (enacted,
    connected) is ``value > 0``. Clinics are ordered by implementation share (descending), then
    clinic_id; ``panel`` numbers them. With more clinics than ``max_clinics``, that many are kept,
    evenly spaced along the order (first and last included).
    """
    require_columns(mechanism_rates, "mechanism_rates")
    require_columns(stakeholder_connections, "stakeholder_connections")
    mr = mechanism_rates
    if mr.empty:
        raise AnalysisError("mechanism_rates.csv has no clinics; expected one row per clinic")
    check_groups(mr, "mechanism_rates")
    if mr["clinic_id"].duplicated().any():
        raise AnalysisError("mechanism_rates.csv lists clinic(s) "
                            f"{sorted(set(mr.loc[mr['clinic_id'].duplicated(), 'clinic_id']))} more than once")
    mech_codes = list(mr.columns[list(mr.columns).index("n_documents") + 1:])
    stake_codes = [c for c in stakeholder_connections.columns if c not in ("clinic_id", "group")]
    order = mr.assign(_share=mr["implementation_share"].astype(float)).sort_values(
        ["_share", "clinic_id"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    if max_clinics is not None:
        if max_clinics < 1:
            raise AnalysisError(f"max_clinics is {max_clinics}; expected at least 1")
        if len(order) > max_clinics:
            keep = np.unique(np.round(np.linspace(0, len(order) - 1, max_clinics)).astype(int))
            order = order.iloc[keep].reset_index(drop=True)
    order["panel"] = np.arange(len(order), dtype="int64")
    order["n_documents"] = order["n_documents"].astype("int64")

    labels = pd.Series(order["clinic_id"].to_numpy(), index=order["clinic_id"].to_numpy())
    if clinics is not None and "clinic_label" in clinics.columns:
        named = clinics.dropna(subset=["clinic_label"]).set_index("clinic_id")["clinic_label"].astype(str)
        labels.update(named[named.index.isin(labels.index)])
    order["clinic_label"] = order["clinic_id"].map(labels)

    keys = ["panel", "clinic_id", "clinic_label", "group", "implementation_share", "n_documents"]
    mech = order[keys + mech_codes].melt(id_vars=keys, value_vars=mech_codes, var_name="code", value_name="value")
    mech["kind"] = "mechanism"
    mech["value"] = mech["value"].astype(float).fillna(0.0)
    stake = order[keys].merge(stakeholder_connections[["clinic_id", *stake_codes]], on="clinic_id", how="left")
    stake = stake.melt(id_vars=keys, value_vars=stake_codes, var_name="code", value_name="value")
    stake["kind"] = "stakeholder"
    docs = stake["n_documents"].to_numpy(dtype=float)
    counts = stake["value"].astype(float).fillna(0.0).to_numpy()
    stake["value"] = np.divide(10 * counts, docs, out=np.zeros_like(counts), where=docs > 0)
    out = pd.concat([mech, stake], ignore_index=True)
    out["present"] = out["value"] > 0
    rows = {**{c: i for i, c in enumerate(mech_codes)}, **{c: i for i, c in enumerate(stake_codes)}}
    out["row"] = out["code"].map(rows).astype("int64")
    labels_m = _code_labels(mech_codes, codebook, plotting.MECHANISM_LABELS)
    labels_s = _code_labels(stake_codes, codebook)
    out["label"] = np.where(out["kind"].eq("mechanism"), out["code"].map(labels_m), out["code"].map(labels_s))
    out["implementation_share"] = out["implementation_share"].astype(float)
    out = out.sort_values(["panel", "kind", "row"], kind="mergesort").reset_index(drop=True)
    return out[SMALL_COLUMNS]


ROW_LABEL_FRACTION = 0.2  # widest row label, share of the figure's width
ROW_PITCH = 9.0  # points between marker rows
PANEL_MIN_W = 38.0
PANEL_GAP = 7.0
PANEL_ROW_GAP = 8.0
SMALL_LABEL_STYLE = TextStyle(size=6.0)
SMALL_TITLE_STYLE = TextStyle(size=6.0)
MARKER_SIZE = 4.5
LINK_MIN, LINK_MAX = 0.4, 2.2  # line widths (points) of the weakest and the strongest link
X_MECH, X_HUB, X_STAKE = 0.15, 0.5, 0.85


def clinic_small_multiples_plot(data: pd.DataFrame, width: float = plotting.TWO_COLUMNS) -> Figure:
    """Figure C: one panel per clinic, mechanisms (squares, left) linked through the manager's
    integrating (diamond) to stakeholder groups (circles, right); filled and linked when enacted or
    connected, the link the thicker the higher the value per 10 documents. Mechanism names label
    the first panel of each row, stakeholder names the last."""
    if data.empty:
        raise AnalysisError("no clinics to draw")
    width_pt = width * 72
    panels = data.drop_duplicates("panel").sort_values("panel")
    mech = data[data["kind"].eq("mechanism")].drop_duplicates("code").sort_values("row")
    stake = data[data["kind"].eq("stakeholder")].drop_duplicates("code").sort_values("row")
    n_rows_glyph = max(len(mech), len(stake), 1)
    # Link widths scale with the value (per 10 documents), relative to the largest of its kind.
    max_mech = max(float(data.loc[data["kind"].eq("mechanism"), "value"].max()), 0.0) or 1.0
    max_stake = max(float(data.loc[data["kind"].eq("stakeholder"), "value"].max()), 0.0) or 1.0
    # Long codebook labels are shortened to a fifth of the width each side; the caption gives them in full.
    longest = ROW_LABEL_FRACTION * width_pt
    mech = mech.assign(label=[shorten(str(t), longest, SMALL_LABEL_STYLE) for t in mech["label"]])
    stake = stake.assign(label=[shorten(str(t), longest, SMALL_LABEL_STYLE) for t in stake["label"]])
    left_w = max((text_extent(t, SMALL_LABEL_STYLE)[0] for t in mech["label"]), default=0.0) + 3
    right_w = max((text_extent(t, SMALL_LABEL_STYLE)[0] for t in stake["label"]), default=0.0) + 3
    room = width_pt - 2 * MARGIN - left_w - right_w
    ncols = max(1, min(len(panels), int((room + PANEL_GAP) // (PANEL_MIN_W + PANEL_GAP))))
    if room < PANEL_MIN_W:
        raise _too_narrow("the small multiples' row labels and one panel", left_w + right_w + PANEL_MIN_W,
                          width_pt - 2 * MARGIN, width_pt)
    panel_w = min((room - (ncols - 1) * PANEL_GAP) / ncols, 2.2 * PANEL_MIN_W)
    grid_w = left_w + ncols * panel_w + (ncols - 1) * PANEL_GAP + right_w
    x_start = (width_pt - grid_w) / 2 + left_w

    titles = []
    for p in panels.itertuples(index=False):
        head = wrap(str(p.clinic_label), panel_w, SMALL_TITLE_STYLE)
        if head.count("\n") >= 2:  # a long real name: the clinic id, then the name's start
            head = f"{p.clinic_id}\n{shorten(str(p.clinic_label), panel_w, SMALL_TITLE_STYLE)}"
        titles.append(f"{head}\n{fmt_number(100 * p.implementation_share, 0)}% \u00b7 {p.group}")
    title_h = max(text_extent(t, SMALL_TITLE_STYLE)[1] for t in titles)
    glyph_h = n_rows_glyph * ROW_PITCH
    cell_h = title_h + 2 + glyph_h
    grid_rows = math.ceil(len(panels) / ncols)

    handles = [
        Line2D([], [], ls="", marker="s", ms=MARKER_SIZE, mfc="#777777", mec="#777777", label="mechanism enacted"),
        Line2D([], [], ls="", marker="o", ms=MARKER_SIZE, mfc="#777777", mec="#777777",
               label="stakeholder group connected"),
        Line2D([], [], ls="", marker="o", ms=MARKER_SIZE, mfc="white", mec="#999999",
               label="open: not enacted/connected"),
        *[Line2D([], [], color=plotting.GROUP_COLORS[g], lw=1.2, label=plotting.GROUP_LABELS[g]) for g in GROUPS],
        Line2D([], [], color="#777777", lw=LINK_MAX, label="thicker link: more per 10 documents"),
    ]
    fig = Figure(figsize=(width_pt / 72, 2))
    FigureCanvasAgg(fig)
    legend = None
    for ncol in range(len(handles), 0, -1):
        if legend is not None:
            legend.remove()
        legend = fig.legend(handles=handles, loc="upper center", ncols=ncol, frameon=False, fontsize=6,
                            handlelength=1.6, columnspacing=1.2, borderaxespad=0.2)
        fig.draw_without_rendering()
        box = legend.get_window_extent(fig.canvas.get_renderer())
        if box.width * 72 / fig.dpi <= width_pt - 2 * MARGIN:
            break
    legend_h = box.height * 72 / fig.dpi
    height = 2 * MARGIN + legend_h + 4 + grid_rows * cell_h + (grid_rows - 1) * PANEL_ROW_GAP + STAMP_ROOM
    fig.set_size_inches(width_pt / 72, height / 72)
    legend.set_bbox_to_anchor((0.5, 1 - MARGIN / height), transform=fig.transFigure)
    legend.legendPatch.set_gid("box-legend")
    for t in legend.get_texts():
        t.set_gid("text-legend")

    def frac(x, y, w, h):
        return (x / width_pt, y / height, w / width_pt, h / height)

    y_row = lambda k, n: (n_rows_glyph - 1) / 2 - (k - (n - 1) / 2)  # noqa: E731  centred rows, top first
    top = height - MARGIN - legend_h - 4
    for i, p in enumerate(panels.itertuples(index=False)):
        r, c = divmod(i, ncols)
        x0 = x_start + c * (panel_w + PANEL_GAP)
        y_top = top - r * (cell_h + PANEL_ROW_GAP)
        color = plotting.GROUP_COLORS.get(p.group, "#555555")
        fig.text((x0 + panel_w / 2) / width_pt, y_top / height, titles[i], ha="center", va="top",
                 gid=f"text-title{i}", multialignment="center", **{**SMALL_TITLE_STYLE.kwargs(), "color": color})
        ax = fig.add_axes(frac(x0, y_top - cell_h, panel_w, glyph_h))
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.5, n_rows_glyph - 0.5)
        ax.set_axis_off()
        ax.patch.set_visible(True)
        ax.patch.set_facecolor("none")
        ax.patch.set_gid(f"box-panel{i}")
        d = data[data["panel"].eq(p.panel)]
        dm, ds = d[d["kind"].eq("mechanism")], d[d["kind"].eq("stakeholder")]
        ym = y_row(dm["row"].to_numpy(), len(mech))
        ys = y_row(ds["row"].to_numpy(), len(stake))
        hub = (n_rows_glyph - 1) / 2
        for xs, yv, part, top_value in ((X_MECH, ym, dm, max_mech), (X_STAKE, ys, ds, max_stake)):
            present = part["present"].to_numpy()
            if present.any():
                segs = [[(xs, y), (X_HUB, hub)] for y in yv[present]]
                widths = LINK_MIN + (LINK_MAX - LINK_MIN) * part["value"].to_numpy()[present] / top_value
                ax.add_collection(LineCollection(segs, colors=color, linewidths=widths, zorder=1, capstyle="butt"))
        for xs, yv, present, marker in ((X_MECH, ym, dm["present"].to_numpy(), "s"),
                                        (X_STAKE, ys, ds["present"].to_numpy(), "o")):
            ax.plot(np.full(present.sum(), xs), yv[present], ls="", marker=marker, ms=MARKER_SIZE, mfc=color,
                    mec=color, zorder=2)
            ax.plot(np.full((~present).sum(), xs), yv[~present], ls="", marker=marker, ms=MARKER_SIZE,
                    mfc="white", mec="#999999", mew=0.6, zorder=2)
        ax.plot([X_HUB], [hub], ls="", marker="D", ms=MARKER_SIZE, mfc="#333333", mec="#333333", zorder=3)
        first, last = c == 0, (c == ncols - 1 or i == len(panels) - 1)
        gy = lambda y: (y_top - cell_h) + (y + 0.5) / n_rows_glyph * glyph_h  # noqa: E731
        if first:
            for k, lab in enumerate(mech["label"]):
                fig.text((x0 - 2) / width_pt, gy(y_row(k, len(mech))) / height, lab, ha="right", va="center",
                         gid=f"text-mech{i}_{k}", **SMALL_LABEL_STYLE.kwargs())
        if last:
            for k, lab in enumerate(stake["label"]):
                fig.text((x0 + panel_w + 2) / width_pt, gy(y_row(k, len(stake))) / height, lab, ha="left",
                         va="center", gid=f"text-stake{i}_{k}", **SMALL_LABEL_STYLE.kwargs())
    return fig


def shortened_labels(data: pd.DataFrame, width: float = plotting.TWO_COLUMNS) -> dict[str, str]:
    """The row labels and clinic names Figure C shortens at ``width`` inches: shown -> full."""
    longest = ROW_LABEL_FRACTION * width * 72
    labels = data.drop_duplicates("code")["label"].astype(str)
    return {shorten(t, longest, SMALL_LABEL_STYLE): t for t in labels
            if shorten(t, longest, SMALL_LABEL_STYLE) != t}


def clinic_small_multiples_caption(data: pd.DataFrame, n_clinics: int, synthetic: bool,
                                   width: float = plotting.TWO_COLUMNS) -> str:
    shown = data["panel"].nunique()
    short = shortened_labels(data, width)
    key = (" Shortened labels in full: " + "; ".join(f"{s} = {full}" for s, full in short.items()) + "."
           if short else "")
    which = (f"all {shown} clinics" if shown == n_clinics
             else f"{shown} of {n_clinics} clinics, evenly spaced along that order")
    return (
        "How integrating looked in each clinic" + (" (SYNTHETIC data)" if synthetic else "") + ": "
        f"{which}, ordered by implementation share (highest first; title: clinic, share, group). "
        "Squares: mechanisms, filled and linked to the manager's integrating (diamond) when coded in at "
        "least one of the clinic's documents; link width proportional to the documents coded per 10 "
        "documents (mechanism_rates.csv). Circles: stakeholder groups, filled and linked when a "
        "mechanism-coded segment overlaps a segment coding that group in the same document; link width "
        "proportional to such overlaps per 10 documents (stakeholder_connections.csv). Widths are relative "
        "to the largest value of their kind in the figure. Colour: implemented more (blue) or less "
        "(vermillion). A clinic name longer than two lines of a panel is shown as the clinic id and the "
        "name's start (full names in clinic_small_multiples.csv)." + key
    )
