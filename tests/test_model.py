"""The conceptual model file, its layout, and Figures A, B and C (hand-made derived tables)."""

from __future__ import annotations

import hashlib
import json
import re
import time

import matplotlib
import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.text import Text

from integrating import contract, model, paths, plotting, provenance
from integrating.errors import AnalysisError

WIDTHS = {"85mm": plotting.ONE_COLUMN, "175mm": plotting.TWO_COLUMNS}
MECH = list(contract.MECHANISMS)
STAKE = ["physicians", "nurses", "medical_assistants", "front_desk"]


@pytest.fixture(autouse=True)
def style():
    with matplotlib.rc_context():
        plotting.use_style()
        yield


# --- hand-made derived tables (the agreed columns of notebooks 02 and 04) -----------------------


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


# --- an independent overlap check on the rendered figure ------------------------------------------


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


# --- the model file ------------------------------------------------------------------------------


def test_packaged_model_loads_with_the_four_mechanisms_in_one_group():
    m = model.load()
    assert m.path == model.MODEL_FILE and model.MODEL_FILE.is_file()
    mech = [n.id for n in m.nodes if n.kind == "mechanism"]
    assert mech == MECH
    assert [n.evidence["code"] for n in m.nodes if n.kind == "mechanism"] == MECH
    integrating = {g.id: g for g in m.groups}["integrating"]
    assert list(integrating.members) == MECH
    assert m.caption and "abstract" in m.caption
    table = model.conceptual_model_data(m)
    assert list(table["element"].value_counts().sort_index()) == [len(m.edges), len(m.groups), len(m.nodes)]


def write_model(tmp_path, data, name="m.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def base_data():
    return yaml.safe_load(model.MODEL_FILE.read_text(encoding="utf-8"))


def _break(data, how):
    nodes, edges, groups = data["nodes"], data["edges"], data["groups"]
    if how == "unknown node in edge":
        edges[1]["to"] = "unity_of_efort"
    elif how == "duplicate id":
        nodes[3]["id"] = "engaging_groups"
    elif how == "missing label":
        del nodes[2]["label"]
    elif how == "unknown kind":
        nodes[0]["kind"] = "barrier"
    elif how == "bad layer":
        nodes[0]["layer"] = "first"
    elif how == "unknown key":
        nodes[0]["colour"] = "red"
    elif how == "group spans layers":
        groups[0]["members"].append("implementation")
    elif how == "backward edge":
        edges.append({"from": "performance", "to": "implementation"})
    elif how == "unknown evidence kind":
        nodes[2]["evidence"] = {"kind": "barriers"}
    elif how == "evidence without code":
        nodes[2]["evidence"] = {"kind": "mechanism"}
    return data


@pytest.mark.parametrize("how, expected", [
    ("unknown node in edge", r"edges\[1\]: key 'to' names unknown node 'unity_of_efort'"),
    ("duplicate id", r"nodes\[3\] \(id 'engaging_groups'\): duplicate id 'engaging_groups'"),
    ("missing label", r"nodes\[2\] \(id 'engaging_groups'\): missing key 'label'"),
    ("unknown kind", r"nodes\[0\] \(id 'groups_apart'\): unknown kind 'barrier' in key 'kind' \(known kinds: context"),
    ("bad layer", r"key 'layer' is 'first'; expected an integer >= 0"),
    ("unknown key", r"nodes\[0\] \(id 'groups_apart'\): unknown key 'colour'"),
    ("group spans layers", r"groups\[0\] \(id 'fragmentation'\): key 'members' spans layers \[0, 3\]"),
    ("backward edge", r"edges\[4\]: goes from 'performance' \(layer 4\) to 'implementation' \(layer 3\)"),
    ("unknown evidence kind", r"key 'evidence.kind' is 'barriers'; expected one of mechanism"),
    ("evidence without code", r"missing key 'evidence.code'"),
])
def test_model_file_problems_name_their_key(tmp_path, how, expected):
    path = write_model(tmp_path, _break(base_data(), how))
    with pytest.raises(model.ModelFileError) as err:
        model.load(path)
    assert str(path) in str(err.value)
    assert re.search(expected, str(err.value)), str(err.value)


def test_every_problem_is_reported_at_once(tmp_path):
    data = base_data()
    for how in ("unknown node in edge", "missing label", "unknown kind"):
        data = _break(data, how)
    with pytest.raises(model.ModelFileError) as err:
        model.load(write_model(tmp_path, data))
    assert len(err.value.problems) == 3


def test_unreadable_model_files(tmp_path):
    with pytest.raises(model.ModelFileError, match="cannot be read"):
        model.load(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes: [a, b\n", encoding="utf-8")
    with pytest.raises(model.ModelFileError, match="not valid YAML"):
        model.load(bad)
    bad.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(model.ModelFileError, match="must hold a mapping"):
        model.load(bad)


# --- Figure A: layout and overlaps ------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_figure_a_has_no_overlaps(width):
    m = model.load()
    fig = model.conceptual_model_plot(m, width)
    assert fig.get_size_inches()[0] == pytest.approx(width)
    assert overlaps(fig, m) == []
    assert model.layout_problems(fig) == []
    drawn = {t.get_gid(): t.get_text() for t in fig.findobj(Text) if t.get_gid()}
    for n in m.nodes:  # every label drawn, only re-wrapped
        assert " ".join(drawn[f"text-{n.id}"].split()) == n.label
    for g in m.groups:
        assert " ".join(drawn[f"title-{g.id}"].split()) == g.label


def test_layers_run_left_to_right_at_two_columns_and_downward_at_one():
    m = model.load()
    wide, narrow = model.layout(m, plotting.TWO_COLUMNS), model.layout(m, plotting.ONE_COLUMN)
    assert (wide.orientation, narrow.orientation) == ("horizontal", "vertical")
    shapes_w = {**wide.boxes, **wide.frames}
    shapes_n = {**narrow.boxes, **narrow.frames}
    for e in m.edges:
        assert shapes_w[e.source].x1 < shapes_w[e.target].x0
        assert shapes_n[e.source].y0 > shapes_n[e.target].y1
    # the one-column layout puts the four mechanisms in a balanced 2 x 2 grid
    ys = sorted({round(narrow.boxes[c].y0, 6) for c in MECH})
    xs = sorted({round(narrow.boxes[c].x0, 6) for c in MECH})
    assert len(ys) == 2 and len(xs) == 2


def test_arrows_are_attached_to_the_boxes_they_join():
    m = model.load()
    fig = model.conceptual_model_plot(m, plotting.TWO_COLUMNS)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    patches = {p.get_gid().split("-", 1)[1]: p for p in fig.findobj(FancyBboxPatch)}
    arrows = fig.findobj(FancyArrowPatch)
    assert len(arrows) == len(m.edges)
    for arrow, e in zip(arrows, m.edges):
        assert arrow.patchA is patches[e.source] and arrow.patchB is patches[e.target]
        path = arrow.get_transform().transform_path(arrow.get_path())
        shaft = path.to_polygons(closed_only=False)[0]
        a, b = patches[e.source].get_window_extent(r), patches[e.target].get_window_extent(r)
        start, tip = shaft[0], shaft[-1]
        gap = 4 * fig.dpi / 72  # shrink (1.5 pt) plus line width, with room to spare
        assert abs(start[0] - a.x1) < gap and a.y0 < start[1] < a.y1
        assert abs(tip[0] - b.x0) < gap and b.y0 < tip[1] < b.y1


def test_the_overlap_checks_can_fail():
    m = model.load()
    fig = model.conceptual_model_plot(m, plotting.TWO_COLUMNS)
    label = next(t for t in fig.findobj(Text) if t.get_gid() == "elabel-unity_of_effort-implementation")
    box = next(p for p in fig.findobj(FancyBboxPatch) if p.get_gid() == "box-implementation")
    label.set_position((box.get_x() + box.get_width() / 2, box.get_y() + 2))
    assert any("elabel-unity_of_effort-implementation" in p for p in overlaps(fig, m))
    assert any("elabel-unity_of_effort-implementation" in p for p in model.layout_problems(fig))
    with pytest.raises(AnalysisError, match="overlaps"):
        model.check_layout(fig)
    box.set_x(box.get_x() - 60)  # shove a box into its neighbour's column
    assert any("box-implementation" in p for p in model.layout_problems(fig))


def test_editing_the_model_file_changes_figure_a(tmp_path):
    data = base_data()
    data["nodes"][-1]["label"] = "Performance: patient-reported experience of care"
    data["nodes"].append({"id": "sustainment", "label": "Sustained change", "kind": "outcome", "layer": 5})
    data["edges"].append({"from": "performance", "to": "sustainment", "label": "supports"})
    path = write_model(tmp_path, data)
    m = model.load(path)
    for width in WIDTHS.values():
        fig = model.conceptual_model_plot(m, width)
        assert overlaps(fig, m) == []
        texts = [t.get_text() for t in fig.findobj(Text)]
        assert any("patient-reported" in t for t in texts) and "Sustained change" in texts
    original = model.conceptual_model_plot(model.load(), plotting.TWO_COLUMNS)
    edited = model.conceptual_model_plot(m, plotting.TWO_COLUMNS)
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    original.savefig(a, format="svg", metadata={"Date": None})
    edited.savefig(b, format="svg", metadata={"Date": None})
    assert a.read_bytes() != b.read_bytes()


def test_other_models_lay_out_without_overlaps(tmp_path):
    data = {
        "nodes": [
            {"id": "a", "label": "A context with a rather long description of the setting", "kind": "context", "layer": 0},
            {"id": "b", "label": "Alpha", "kind": "practice", "layer": 1},
            {"id": "c", "label": "Beta", "kind": "practice", "layer": 1},
            {"id": "d", "label": "Gamma delta epsilon", "kind": "mechanism", "layer": 1},
            {"id": "e", "label": "Lone", "kind": "outcome", "layer": 1, "order": -1},
            {"id": "f", "label": "Outcome", "kind": "performance", "layer": 3},
        ],
        "groups": [{"id": "g", "label": "A group with a title", "members": ["b", "c", "d"]}],
        "edges": [{"from": "a", "to": "g", "label": "shapes"}, {"from": "g", "to": "f", "label": "leads to"},
                  {"from": "a", "to": "e"}],
    }
    m = model.load(write_model(tmp_path, data))
    for width in WIDTHS.values():
        fig = model.conceptual_model_plot(m, width)
        assert model.layout_problems(fig) == []
        assert overlaps(fig, m) == []


def test_too_narrow_a_figure_is_an_analysis_error(tmp_path):
    with pytest.raises(AnalysisError, match="too narrow"):
        model.layout(model.load(), 40 / 25.4, orientation="horizontal")


def test_figure_a_is_byte_identical_across_runs(tmp_path):
    digests = []
    for k in range(2):
        run = provenance.Run("03_conceptual_model", {}, tmp_path / f"prov{k}")
        m = model.load()
        written = run.figure(model.conceptual_model_plot(m, plotting.TWO_COLUMNS), tmp_path / f"r{k}" / "conceptual_model",
                             caption=model.conceptual_model_caption(m))
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in written})
    assert digests[0] == digests[1]
    assert set(digests[0]) == {f"conceptual_model.{x}" for x in ("svg", "pdf", "png", "txt")}
    assert b"<text" not in (tmp_path / "r0" / "conceptual_model.svg").read_bytes()  # text as paths


def test_export_readme_figure_writes_only_the_given_svg(tmp_path):
    target = tmp_path / "img" / "conceptual_model.svg"
    assert model.export_readme_figure(target=target) == target
    first = target.read_bytes()
    model.export_readme_figure(target=target)
    assert target.read_bytes() == first and first.startswith(b"<?xml")
    assert sorted(p.name for p in target.parent.iterdir()) == ["conceptual_model.svg"]


# --- Figure B: the evidenced model --------------------------------------------------------------------


def test_evidenced_model_data_matches_hand_worked_values():
    kw = evidence_kwargs(8)  # shares 0, 1/7, ..., 1: less = first four, more = last four
    data = model.evidenced_model_data(model.load(), **kw)
    assert list(data.columns) == model.EVIDENCE_COLUMNS
    assert not data["value"].isna().any()

    def value(node, measure, group=""):
        hit = data[data["node"].eq(node) & data["measure"].str.startswith(measure) & data["group"].eq(group)]
        assert len(hit) == 1, (node, measure, group)
        return hit.iloc[0]

    assert value("implementation", "mean implementation share", "more")["value"] == pytest.approx((4 + 5 + 6 + 7) / 28)
    assert value("implementation", "mean implementation share", "less")["value"] == pytest.approx((0 + 1 + 2 + 3) / 28)
    assert value("implementation", "mean implementation share", "more")["n"] == 4
    # connections: clinic i connects stakeholder k when i*(k+1) is odd; by hand per clinic:
    per_clinic = [0, 2, 0, 2, 0, 2, 0, 2]
    assert value("unity_of_effort", "mean stakeholder", "less")["value"] == pytest.approx(np.mean(per_clinic[:4]))
    assert value("unity_of_effort", "mean stakeholder", "more")["value"] == pytest.approx(np.mean(per_clinic[4:]))
    assert value("unity_of_effort", "stakeholder groups coded")["value"] == len(STAKE)
    eg = value("engaging_groups", "p_value")
    assert eg["value"] == 0.0123 and eg["test"].startswith("exact permutation") and eg["verdict"] == "strongly"
    assert value("engaging_groups", "mean (documents per 10)", "more")["value"] == 5.25
    assert value("sensemaking", "effect_size")["value"] == 0.9
    assert value("performance", "mean change", "less")["value"] == -0.081
    p = value("performance", "p_value")
    assert p["value"] == 0.0214 and p["test"] == "Student t-test, two-sided" and p["source"] == "survey_effects.csv"


def test_the_survey_analysis_comes_from_the_model_file(tmp_path):
    data = base_data()
    data["nodes"][-1]["evidence"] = {"kind": "survey", "analysis": "welch_t"}
    m = model.load(write_model(tmp_path, data))
    out = model.evidenced_model_data(m, **evidence_kwargs())
    assert out.loc[out["node"].eq("performance") & out["measure"].eq("p_value"), "value"].item() == 0.026
    data["nodes"][-1]["evidence"] = {"kind": "survey", "analysis": "ancova"}
    with pytest.raises(AnalysisError, match=r"0 row\(s\) for analysis 'ancova'.*student_t, welch_t"):
        model.evidenced_model_data(model.load(write_model(tmp_path, data)), **evidence_kwargs())


def test_evidenced_model_data_errors_name_table_and_key():
    m = model.load()
    kw = evidence_kwargs()
    with pytest.raises(AnalysisError, match="needs survey_effects.csv"):
        model.evidenced_model_data(m, **{**kw, "survey_effects": None})
    with pytest.raises(AnalysisError, match=r"0 row\(s\) for code 'negotiating'"):
        model.evidenced_model_data(m, **{**kw, "mechanism_comparison": kw["mechanism_comparison"].iloc[:3]})
    with pytest.raises(AnalysisError, match="clinic_segments.csv: missing column"):
        model.evidenced_model_data(m, **{**kw, "clinic_segments": kw["clinic_segments"].drop(columns="group")})
    bad = kw["clinic_segments"].assign(group="middle")
    with pytest.raises(AnalysisError, match="column 'group' has value"):
        model.evidenced_model_data(m, **{**kw, "clinic_segments": bad})


def test_an_empty_group_and_a_missing_p_value_are_left_out_not_nan():
    m = model.load()
    kw = evidence_kwargs()
    kw["clinic_segments"] = kw["clinic_segments"].assign(group="more")
    kw["stakeholder_connections"] = kw["stakeholder_connections"].assign(group="more")
    kw["survey_group_change"] = kw["survey_group_change"].iloc[1:]
    kw["survey_effects"] = kw["survey_effects"].assign(p_value=np.nan)
    data = model.evidenced_model_data(m, **kw)
    assert not data["value"].isna().any()
    assert not ((data["evidence"] == "implementation") & (data["group"] == "less")).any()
    notes = model.evidence_notes(m, data)
    assert "less n/a" in " ".join(notes["implementation"]) and "p n/a" in notes["performance"]
    assert model.layout_problems(model.evidenced_model_plot(m, data)) == []


NUMBER = re.compile(r"(?<![\w.])([+\u2212-]?\d*\.?\d+)(%?)")


def test_every_number_on_figure_b_comes_from_the_table():
    m = model.load()
    data = model.evidenced_model_data(m, **evidence_kwargs())
    fig = model.evidenced_model_plot(m, data)
    notes = [t for t in fig.findobj(Text) if (t.get_gid() or "").startswith("note-")]
    assert len(notes) == sum(1 for n in m.nodes if n.evidence)
    checked = 0
    for t in notes:
        node = t.get_gid().split("-", 1)[1]
        values = data.loc[data["node"].eq(node), "value"].to_numpy()
        for number, percent in NUMBER.findall(t.get_text()):
            x = float(number.replace("\u2212", "-"))
            decimals = len(number.split(".")[1]) if "." in number else 0
            candidates = values * 100 if percent else values
            assert np.any(np.abs(candidates - x) <= 0.5 * 10 ** -decimals + 1e-9), (node, number, values)
            checked += 1
    assert checked >= 20


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_figure_b_has_no_overlaps_and_the_synthetic_stamp(width):
    m = model.load()
    fig = model.evidenced_model_plot(m, model.evidenced_model_data(m, **evidence_kwargs()), width)
    plotting.label_synthetic(fig, True)
    assert "SYNTHETIC DATA" in [t.get_text() for t in fig.texts]
    assert overlaps(fig, m) == []
    assert model.layout_problems(fig) == []


def test_number_formats():
    assert model.fmt_p(0.0214) == "p = .021"
    assert model.fmt_p(0.0004) == "p < .001"
    assert model.fmt_p(1.0) == "p = 1.000"
    assert model.fmt_number(2.25, 1) == "2.3"  # half away from zero, not to even
    assert model.fmt_number(-0.081, 2, signed=True) == "\u22120.08"
    assert model.fmt_number(0.074, 2, signed=True) == "+0.07"
    assert model.fmt_number(-0.001, 2, signed=True) == "0.00"


# --- Figure C: per-clinic small multiples ------------------------------------------------------------


def test_small_multiples_data_hand_worked():
    _, mm, con = clinic_tables(4)  # shares 0, 1/3, 2/3, 1
    con = con[con["clinic_id"].ne("K01")]  # a clinic absent from the connections: not connected
    clinics = pd.DataFrame({"clinic_id": ["K00", "K03"], "clinic_label": ["North", None]})
    codebook = pd.DataFrame({"code": ["physicians", "negotiating"], "label": ["Doctors", "Bargaining"],
                             "category": ["stakeholder", "mechanism"], "definition": "x"})
    d = model.clinic_small_multiples_data(mm, con, codebook=codebook, clinics=clinics)
    assert list(d.columns) == model.SMALL_COLUMNS
    assert list(d.drop_duplicates("panel")["clinic_id"]) == ["K03", "K02", "K01", "K00"]
    assert list(d.drop_duplicates("panel")["clinic_label"]) == ["K03", "K02", "K01", "North"]
    assert len(d) == 4 * (len(MECH) + len(STAKE))
    k02 = d[d["clinic_id"].eq("K02")].set_index("code")
    assert [k02.loc[c, "value"] for c in MECH] == [2, 0, 1, 2]  # (2 + k) % 3, copied from the rates
    assert [k02.loc[c, "present"] for c in MECH] == [True, False, True, True]
    k03 = d[d["clinic_id"].eq("K03")].set_index("code")
    assert [k03.loc[c, "present"] for c in STAKE] == [True, False, True, False]  # 3*(k+1) odd
    assert [k03.loc[c, "value"] for c in STAKE] == [2.0, 0.0, 2.0, 0.0]  # 1 overlap per 5 documents = 2 per 10
    assert not d.loc[d["clinic_id"].eq("K01") & d["kind"].eq("stakeholder"), "present"].any()
    labels = d.drop_duplicates("code").set_index("code")["label"]
    assert labels["physicians"] == "Doctors" and labels["negotiating"] == "Bargaining"
    assert labels["engaging_groups"] == "Engaging groups" and labels["front_desk"] == "Front desk"
    # a clinic without documents: its connections per 10 documents are 0, not NaN
    con.loc[con["clinic_id"].eq("K00"), STAKE] = 1
    mm.loc[mm["clinic_id"].eq("K00"), "n_documents"] = 0
    d0 = model.clinic_small_multiples_data(mm, con)
    assert not d0["value"].isna().any()
    assert not d0.loc[d0["clinic_id"].eq("K00") & d0["kind"].eq("stakeholder"), "present"].any()


def test_ties_in_share_are_ordered_by_clinic_id_and_the_cap_spreads_evenly():
    _, mm, con = clinic_tables(10)
    mm["implementation_share"] = 0.5
    d = model.clinic_small_multiples_data(mm, con)
    assert list(d.drop_duplicates("panel")["clinic_id"]) == sorted(mm["clinic_id"])
    capped = model.clinic_small_multiples_data(mm, con, max_clinics=4)
    assert list(capped.drop_duplicates("panel")["clinic_id"]) == ["K00", "K03", "K06", "K09"]
    assert "4 of 10 clinics" in model.clinic_small_multiples_caption(capped, 10, True)
    with pytest.raises(AnalysisError, match="no clinics"):
        model.clinic_small_multiples_data(mm.iloc[:0], con)


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_figure_c_has_no_overlaps(width):
    _, mm, con = clinic_tables(11)
    fig = model.clinic_small_multiples_plot(model.clinic_small_multiples_data(mm, con), width)
    plotting.label_synthetic(fig, True)
    assert len(fig.axes) == 11
    assert overlaps(fig) == []
    assert model.layout_problems(fig) == []


def test_figure_c_without_stakeholder_codes():
    _, mm, con = clinic_tables(3)
    fig = model.clinic_small_multiples_plot(model.clinic_small_multiples_data(mm, con[["clinic_id", "group"]]))
    assert model.layout_problems(fig) == []


def test_data_functions_scale_to_1600_clinics():
    _, mm, con = clinic_tables(1600)
    seg = clinic_tables(1600)[0]
    start = time.perf_counter()
    d = model.clinic_small_multiples_data(mm, con, max_clinics=48)
    e = model.evidenced_model_data(model.load(), **{**evidence_kwargs(), "clinic_segments": seg,
                                                     "stakeholder_connections": con})
    assert time.perf_counter() - start < 3
    assert d["panel"].nunique() == 48 and len(e)


# --- derived tables and the notebook ------------------------------------------------------------------


def test_read_derived_checks_file_and_columns(tmp_path):
    with pytest.raises(AnalysisError, match="not found"):
        model.read_derived(tmp_path / "survey_effects.csv")
    seg, _, _ = clinic_tables(3)
    seg.to_csv(tmp_path / "clinic_segments.csv", index=False)
    back = model.read_derived(tmp_path / "clinic_segments.csv")
    assert back["clinic_id"].tolist() == seg["clinic_id"].tolist()
    seg.drop(columns="n_changes").to_csv(tmp_path / "clinic_segments.csv", index=False)
    with pytest.raises(AnalysisError, match="missing column.*n_changes"):
        model.read_derived(tmp_path / "clinic_segments.csv")
    assert model.evidence_tables(model.load()) == ["clinic_segments", "mechanism_comparison",
                                                   "stakeholder_connections", "survey_group_change",
                                                   "survey_effects"]


NOTEBOOK = paths.NOTEBOOKS / "03_conceptual_model.ipynb"


@pytest.mark.skipif(not NOTEBOOK.exists(), reason="notebook not written yet")
def test_notebook_is_thin_clean_and_never_exports_the_readme_copy():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "integrating"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"].get("tags", [])
    assert all(not c["outputs"] and c["execution_count"] is None for c in code)
    source = "\n".join("".join(c["source"]) for c in code)
    assert "export_readme_figure" not in source
    assert "".join(code[-1]["source"]).strip() == "run.finish()"
    params = "".join(code[0]["source"])
    for name in ("raw_dir", "derived_dir", "figures_dir", "provenance_dir", "model_file", "max_clinic_panels"):
        assert re.search(rf"^{name} = ", params, re.M), name
