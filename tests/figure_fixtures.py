"""Figure test helpers: hand-made derived tables and an overlap check independent of the package's."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot
import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.text import Text

from integrating import conceptual_model, contract, plotting

MECH = list(contract.MECHANISMS)
STAKE = ["physicians", "nurses", "medical_assistants", "front_desk"]
WIDTHS = {"85mm": plotting.ONE_COLUMN, "175mm": plotting.TWO_COLUMNS}
MM_PER_POINT = 25.4 / 72


def pdf_width_mm(path) -> float:
    """Page width of a PDF from its MediaBox (points to millimetres)."""
    import re

    box = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", path.read_bytes())
    assert box, f"{path}: no MediaBox"
    return (float(box.group(3)) - float(box.group(1))) * MM_PER_POINT


def clinic_tables(n=8):
    """n clinics; shares i/(n-1) rising with the id; group: share >= 0.5; 5 documents each.

    The mechanism table has the layout of mechanism_matrix.csv and mechanism_rates.csv."""
    ids = [f"K{i:02d}" for i in range(n)]
    share = np.round(np.linspace(0, 1, n), 6)
    group = np.where(share >= 0.5, "more", "less")
    seg = pd.DataFrame({"clinic_id": ids, "n_changes": 4, "n_implemented": (share * 4).round().astype(int),
                        "implementation_share": share, "group": group})
    mm = pd.DataFrame({"clinic_id": ids, "group": group, "implementation_share": share, "n_documents": 5})
    for k, c in enumerate(MECH):
        mm[c] = [(i + k) % 3 for i in range(n)]
    con = pd.DataFrame({"clinic_id": ids, "group": group})
    for k, c in enumerate(STAKE):
        con[c] = [(i * (k + 1)) % 2 for i in range(n)]
    return seg, mm, con


def comparison_table():
    return pd.DataFrame({
        "code": MECH, "label": [plotting.MECHANISM_LABELS[c] for c in MECH], "measure": "documents per 10",
        "mean_more": [5.25, 3.125, 4.0, 2.0], "mean_less": [2.5, 3.0, 1.25, 2.2],
        "difference": [2.75, 0.125, 2.75, -0.2], "effect_size": [1.314, 0.05, 0.9, -0.1],
        "test": "exact permutation test, difference in means, two-sided",
        "statistic": [2.75, 0.125, 2.75, -0.2], "p_value": [0.0123, 0.81, 0.07, 0.6],
        "verdict": ["strongly", "not", "weakly", "not"], "n_more": 4, "n_less": 4,
    })


def survey_tables():
    grp = pd.DataFrame({"group": ["less", "more"], "n_clinics": [4, 4], "mean_change": [-0.081, 0.074],
                        "ci_low": [-0.15, 0.01], "ci_high": [-0.01, 0.13], "sd_change": [0.06, 0.08]})
    eff = pd.DataFrame({"analysis": ["student_t", "welch_t"], "estimate": [0.155, 0.155], "statistic": [2.6, 2.5],
                        "df": [6, 5.8], "p_value": [0.0214, 0.026], "ci_low": [0.03, 0.02], "ci_high": [0.27, 0.28],
                        "n_more": [4, 4], "n_less": [4, 4],
                        "test": ["Student t-test, two-sided", "Welch t-test, two-sided"]})
    return grp, eff


def evidence_kwargs(n=8):
    seg, _, con = clinic_tables(n)
    grp, eff = survey_tables()
    return dict(clinic_segments=seg, mechanism_comparison=comparison_table(), stakeholder_connections=con,
                survey_group_change=grp, survey_effects=eff)


def _area(a, b):
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0.5 and h > 0.5 else 0.0


def _within(a, b, tol=0.5):
    return a.x0 >= b.x0 - tol and a.x1 <= b.x1 + tol and a.y0 >= b.y0 - tol and a.y1 <= b.y1 + tol


def _dense(points, step=1.0):
    out = [points[:1]]
    for p, q in zip(points[:-1], points[1:]):
        n = max(int(np.hypot(*(q - p)) / step), 1)
        out.append(p + (q - p) * np.linspace(0, 1, n + 1)[1:, None])
    return np.vstack(out)


def overlaps(fig, m=None):
    """Every overlap between the drawn boxes, labels and arrows (window extents from the renderer)."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = {p.get_gid(): p.get_window_extent(r) for p in fig.findobj(FancyBboxPatch)
             if (p.get_gid() or "").startswith("box-")}
    boxes.update({a.patch.get_gid(): a.get_window_extent(r) for a in fig.axes if (a.patch.get_gid() or "").startswith("box-")})
    frames = {p.get_gid(): p.get_window_extent(r) for p in fig.findobj(FancyBboxPatch)
              if (p.get_gid() or "").startswith("frame-")}
    texts = [(t.get_gid() or "figure", t.get_window_extent(r)) for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and (t.get_gid() or t in fig.texts)]
    legends = [lg for lg in fig.legends]
    found = []
    everything = list(boxes.items()) + list(frames.items()) + texts
    for gid, b in everything:
        if not _within(b, fig.bbox):
            found.append(f"{gid} outside the figure")
    names = sorted(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if _area(boxes[a], boxes[b]):
                found.append(f"{a} x {b}")
    for i, (ga, a) in enumerate(texts):
        for gb, b in texts[i + 1:]:
            if _area(a, b):
                found.append(f"{ga} x {gb}")
        owner = ga.split("-", 1)[-1]
        for gb, b in boxes.items():
            mine = gb.split("-", 1)[1] == owner
            if mine and not _within(a, b):
                found.append(f"{ga} not inside {gb}")
            if not mine and _area(a, b) and not any(lg.get_window_extent(r) == b for lg in legends):
                found.append(f"{ga} x {gb}")
    if m is not None:
        for g in m.groups:
            frame = frames[f"frame-{g.id}"]
            for n in m.nodes:
                box = boxes[f"box-{n.id}"]
                if n.id in g.members and not _within(box, frame):
                    found.append(f"box-{n.id} not inside frame-{g.id}")
                if n.id not in g.members and _area(box, frame):
                    found.append(f"box-{n.id} x frame-{g.id}")
        for (ga, a) in texts:
            owner = ga.split("-", 1)[-1]
            for gf, f in frames.items():
                inside_member = any(owner in g.members for g in m.groups if f"frame-{g.id}" == gf)
                if ga.startswith("title-") and gf.endswith(owner):
                    if not _within(a, f):
                        found.append(f"{ga} not inside {gf}")
                elif not inside_member and _area(a, f):
                    found.append(f"{ga} x {gf}")
    for arrow in fig.findobj(FancyArrowPatch):
        src, tgt = arrow.get_gid().split("-", 1)[1].split("-")
        ends = {src, tgt}
        if m is not None:
            ends |= {x for g in m.groups if g.id in ends for x in g.members}
        path = arrow.get_transform().transform_path(arrow.get_path())
        pts = np.vstack([_dense(np.asarray(p)) for p in path.to_polygons(closed_only=False)])
        shapes = {**boxes, **frames}
        for gid, b in list(shapes.items()) + texts:
            if gid.split("-", 1)[-1] in ends and not gid.startswith(("text-", "note-", "title-", "elabel-")):
                continue
            if m is not None and gid.startswith("frame-") and any(
                    gid == f"frame-{g.id}" and ends & set(g.members) for g in m.groups):
                continue
            inside = ((pts[:, 0] > b.x0 + 0.5) & (pts[:, 0] < b.x1 - 0.5)
                      & (pts[:, 1] > b.y0 + 0.5) & (pts[:, 1] < b.y1 - 0.5))
            if inside.any():
                found.append(f"{arrow.get_gid()} x {gid}")
    return found


def write_model(tmp_path, data, name="m.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def base_data():
    return yaml.safe_load(conceptual_model.MODEL_FILE.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def style():
    """The compendium's style with the default settings; rcParams and settings restored afterwards."""
    saved = plotting.SETTINGS
    with matplotlib.rc_context():
        plotting.use_style(formats=("svg", "pdf", "png"), dpi=600, font_size=8, one_column_mm=85,
                           two_columns_mm=175, extra_formats=())
        yield
    plotting.SETTINGS = saved
    matplotlib.pyplot.close("all")
