"""Figure A: the layered diagram of the conceptual model, its layout and its overlaps."""

from __future__ import annotations

import hashlib

import pytest
from figure_fixtures import (  # style: autouse, the compendium's figure style
    style,  # noqa: F401
    MECH,
    WIDTHS,
    base_data,
    overlaps,
    write_model,
)
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.text import Text

from integrating import (
    conceptual_model,
    diagram,
    overlap,
    plotting,
    provenance,
)
from integrating.errors import AnalysisError


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_figure_a_has_no_overlaps(width):
    m = conceptual_model.load()
    fig = diagram.conceptual_model_plot(m, width)
    assert fig.get_size_inches()[0] == pytest.approx(width)
    assert overlaps(fig, m) == []
    assert overlap.layout_problems(fig) == []
    drawn = {t.get_gid(): t.get_text() for t in fig.findobj(Text) if t.get_gid()}
    for n in m.nodes:  # every label drawn, only re-wrapped
        assert " ".join(drawn[f"text-{n.id}"].split()) == n.label
    for g in m.groups:
        assert " ".join(drawn[f"title-{g.id}"].split()) == g.label


def test_layers_run_left_to_right_at_two_columns_and_downward_at_one():
    m = conceptual_model.load()
    wide, narrow = diagram.layout(m, plotting.TWO_COLUMNS), diagram.layout(m, plotting.ONE_COLUMN)
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
    m = conceptual_model.load()
    fig = diagram.conceptual_model_plot(m, plotting.TWO_COLUMNS)
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
    m = conceptual_model.load()
    fig = diagram.conceptual_model_plot(m, plotting.TWO_COLUMNS)
    label = next(t for t in fig.findobj(Text) if t.get_gid() == "elabel-unity_of_effort-implementation")
    box = next(p for p in fig.findobj(FancyBboxPatch) if p.get_gid() == "box-implementation")
    label.set_position((box.get_x() + box.get_width() / 2, box.get_y() + 2))
    assert any("elabel-unity_of_effort-implementation" in p for p in overlaps(fig, m))
    assert any("elabel-unity_of_effort-implementation" in p for p in overlap.layout_problems(fig))
    with pytest.raises(AnalysisError, match="overlaps"):
        overlap.check_layout(fig)
    box.set_x(box.get_x() - 60)  # shove a box into its neighbour's column
    assert any("box-implementation" in p for p in overlap.layout_problems(fig))


def test_editing_the_model_file_changes_figure_a(tmp_path):
    data = base_data()
    data["nodes"][-1]["label"] = "Performance: patient-reported experience of care"
    data["nodes"].append({"id": "sustainment", "label": "Sustained change", "kind": "outcome", "layer": 5})
    data["edges"].append({"from": "performance", "to": "sustainment", "label": "supports"})
    path = write_model(tmp_path, data)
    m = conceptual_model.load(path)
    for width in WIDTHS.values():
        fig = diagram.conceptual_model_plot(m, width)
        assert overlaps(fig, m) == []
        texts = [t.get_text() for t in fig.findobj(Text)]
        assert any("patient-reported" in t for t in texts) and "Sustained change" in texts
    original = diagram.conceptual_model_plot(conceptual_model.load(), plotting.TWO_COLUMNS)
    edited = diagram.conceptual_model_plot(m, plotting.TWO_COLUMNS)
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
    m = conceptual_model.load(write_model(tmp_path, data))
    for width in WIDTHS.values():
        fig = diagram.conceptual_model_plot(m, width)
        assert overlap.layout_problems(fig) == []
        assert overlaps(fig, m) == []


def test_too_narrow_a_figure_is_an_analysis_error(tmp_path):
    with pytest.raises(AnalysisError, match="too narrow"):
        diagram.layout(conceptual_model.load(), 40 / 25.4, orientation="horizontal")


def test_figure_a_is_byte_identical_across_runs(tmp_path):
    digests = []
    for k in range(2):
        run = provenance.Run("03_conceptual_model", {}, tmp_path / f"prov{k}")
        m = conceptual_model.load()
        written = run.figure(diagram.conceptual_model_plot(m, plotting.TWO_COLUMNS), tmp_path / f"r{k}" / "conceptual_model",
                             caption=diagram.conceptual_model_caption(m))
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in written})
    assert digests[0] == digests[1]
    assert set(digests[0]) == {f"conceptual_model.{x}" for x in ("svg", "pdf", "png", "txt")}
    assert b"<text" not in (tmp_path / "r0" / "conceptual_model.svg").read_bytes()  # text as paths


def test_export_readme_figure_writes_only_the_given_svg(tmp_path):
    target = tmp_path / "img" / "conceptual_model.svg"
    assert diagram.export_readme_figure(target=target) == target
    first = target.read_bytes()
    diagram.export_readme_figure(target=target)
    assert target.read_bytes() == first and first.startswith(b"<?xml")
    assert sorted(p.name for p in target.parent.iterdir()) == ["conceptual_model.svg"]
