"""The conceptual model as data, and the three figures drawn from it.

The model (nodes, groups of nodes, arrows) lives in a small YAML file, by default the packaged
``conceptual_model.yaml``; :func:`load` validates it and names the offending key of every problem.
Nothing about the model is written in the drawing code: editing the file and rerunning notebook 03
changes the figures.

* Figure A, :func:`conceptual_model_plot`: the model as a layered diagram. Layers run left to right
  at two journal columns and top to bottom at one column. Boxes are sized to their wrapped labels,
  arrows are attached to the boxes' edges, and :func:`layout_problems` checks the drawn figure for
  any overlap.
* Figure B, :func:`evidenced_model_data` / :func:`evidenced_model_plot`: the same model with the
  evidence of the derived tables of notebooks 02 and 04 written into the boxes.
* Figure C, :func:`clinic_small_multiples_data` / :func:`clinic_small_multiples_plot`: one small
  panel per clinic showing which mechanisms were enacted and which stakeholder groups connected.

Geometry is computed in points (1/72 inch) in an axes that spans the whole figure, so font sizes
and box sizes share one unit.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath
from matplotlib.transforms import Bbox

from . import io, paths, plotting
from .errors import AnalysisError, IntegratingError

#: The packaged model file (package data).
MODEL_FILE = Path(__file__).with_name("conceptual_model.yaml")

#: Node kinds and their colours (Okabe-Ito; boxes are filled with a light tint, outlined in the colour).
KINDS = {
    "context": "#CC79A7",
    "practice": "#E69F00",
    "mechanism": "#56B4E9",
    "outcome": "#009E73",
    "performance": "#F0E442",
}
#: Evidence that Figure B can write into a node, and the keys each kind takes.
EVIDENCE_KINDS = {
    "mechanism": {"required": ("code",), "optional": ()},
    "implementation": {"required": (), "optional": ()},
    "connections": {"required": (), "optional": ()},
    "survey": {"required": (), "optional": ("analysis",)},
}
DEFAULT_SURVEY_ANALYSIS = "student_t"
GROUPS = ("more", "less")

TOP_KEYS = {"title": False, "caption": False, "nodes": True, "groups": False, "edges": True}
NODE_KEYS = {"id": True, "label": True, "kind": True, "layer": True, "order": False, "evidence": False}
GROUP_KEYS = {"id": True, "label": True, "members": True}
EDGE_KEYS = {"from": True, "to": True, "label": False}
ID_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


class ModelFileError(IntegratingError, ValueError):
    """The model file cannot be read or does not follow its format. ``problems`` lists every finding."""

    def __init__(self, source, problems):
        self.source = str(source)
        self.problems = list(problems)
        head = f"{len(self.problems)} problem(s) in the model file {self.source}:"
        super().__init__("\n".join([head, *("  " + p for p in self.problems)]))


# --- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    kind: str
    layer: int
    order: float
    evidence: dict | None = None


@dataclass(frozen=True)
class Group:
    id: str
    label: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""


@dataclass(frozen=True)
class Model:
    title: str
    caption: str
    nodes: tuple[Node, ...]
    groups: tuple[Group, ...]
    edges: tuple[Edge, ...]
    path: Path | None = None

    def node(self, node_id: str) -> Node:
        return {n.id: n for n in self.nodes}[node_id]

    def group_of(self, node_id: str) -> Group | None:
        for g in self.groups:
            if node_id in g.members:
                return g
        return None

    def layer_of(self, element_id: str) -> int:
        """Layer of a node, or of a group (the layer its members share)."""
        groups = {g.id: g for g in self.groups}
        if element_id in groups:
            element_id = groups[element_id].members[0]
        return self.node(element_id).layer

    @property
    def layers(self) -> list[int]:
        return sorted({n.layer for n in self.nodes})


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _check_keys(entry, where: str, spec: dict, problems: list) -> bool:
    if not isinstance(entry, dict):
        problems.append(f"{where}: expected a mapping with keys {', '.join(spec)}; got {type(entry).__name__}")
        return False
    for key in entry:
        if key not in spec:
            problems.append(f"{where}: unknown key '{key}' (known keys: {', '.join(spec)})")
    for key, required in spec.items():
        if required and key not in entry:
            problems.append(f"{where}: missing key '{key}'")
    return True


def _where(kind: str, i: int, entry) -> str:
    ident = entry.get("id") if isinstance(entry, dict) else None
    return f"{kind}[{i}]" + (f" (id '{ident}')" if isinstance(ident, str) else "")


def _check_evidence(evidence, where: str, problems: list) -> None:
    if not isinstance(evidence, dict):
        problems.append(f"{where}: key 'evidence' must be a mapping such as {{kind: mechanism, code: ...}}")
        return
    kind = evidence.get("kind")
    if kind not in EVIDENCE_KINDS:
        problems.append(f"{where}: key 'evidence.kind' is {kind!r}; expected one of {', '.join(EVIDENCE_KINDS)}")
        return
    spec = EVIDENCE_KINDS[kind]
    for key in evidence:
        if key != "kind" and key not in spec["required"] + spec["optional"]:
            problems.append(f"{where}: unknown key 'evidence.{key}' for evidence kind '{kind}'")
    for key in spec["required"] + spec["optional"]:
        if key in evidence and not _is_text(evidence[key]):
            problems.append(f"{where}: key 'evidence.{key}' must be a non-empty text")
        elif key in spec["required"] and key not in evidence:
            problems.append(f"{where}: missing key 'evidence.{key}' (evidence kind '{kind}' needs it)")


def _check_id_and_label(entry: dict, where: str, seen: dict, problems: list) -> bool:
    """Check a node's or group's ``id`` (well-formed, not used before) and ``label``."""
    ok = True
    ident = entry.get("id")
    if "id" in entry:
        if not isinstance(ident, str) or not ID_PATTERN.match(ident):
            problems.append(f"{where}: key 'id' is {ident!r}; expected letters, digits and _ starting with a letter")
            ok = False
        elif ident in seen:
            problems.append(f"{where}: duplicate id '{ident}' (already used by {seen[ident]})")
            ok = False
        else:
            seen[ident] = where
    if "label" in entry and not _is_text(entry["label"]):
        problems.append(f"{where}: key 'label' must be a non-empty text")
        ok = False
    return ok


def parse(data, source="model") -> Model:
    """Validate the parsed content of a model file and build a :class:`Model`.

    Every problem is collected, each naming its key (``nodes[3] (id 'x'): missing key 'label'``),
    and raised together as one :class:`ModelFileError`.
    """
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ModelFileError(source, ["the file must hold a mapping with keys nodes, edges "
                                      "(and groups, title, caption)"])
    _check_keys(data, "top level", TOP_KEYS, problems)
    for key in ("title", "caption"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"top level: key '{key}' must be a text")

    raw_nodes = data.get("nodes")
    raw_groups = data.get("groups") or []
    raw_edges = data.get("edges")
    if "nodes" in data and (not isinstance(raw_nodes, list) or not raw_nodes):
        problems.append("top level: key 'nodes' must be a non-empty list")
        raw_nodes = []
    if not isinstance(raw_groups, list):
        problems.append("top level: key 'groups' must be a list")
        raw_groups = []
    if "edges" in data and not isinstance(raw_edges, list):
        problems.append("top level: key 'edges' must be a list (possibly empty: edges: [])")
        raw_edges = []
    raw_nodes = raw_nodes or []
    raw_edges = raw_edges or []

    nodes: list[Node] = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(raw_nodes):
        where = _where("nodes", i, entry)
        if not _check_keys(entry, where, NODE_KEYS, problems):
            continue
        ident = entry.get("id")
        ok = _check_id_and_label(entry, where, seen, problems)
        kind = entry.get("kind")
        if "kind" in entry and kind not in KINDS:
            problems.append(f"{where}: unknown kind {kind!r} in key 'kind' (known kinds: {', '.join(KINDS)})")
            ok = False
        layer = entry.get("layer")
        if "layer" in entry and (not _is_int(layer) or layer < 0):
            problems.append(f"{where}: key 'layer' is {layer!r}; expected an integer >= 0")
            ok = False
        order = entry.get("order", i)
        if isinstance(order, bool) or not isinstance(order, (int, float)) or not math.isfinite(order):
            problems.append(f"{where}: key 'order' is {order!r}; expected a number")
            ok = False
        if "evidence" in entry:
            _check_evidence(entry["evidence"], where, problems)
        if ok and all(k in entry for k, req in NODE_KEYS.items() if req):
            nodes.append(Node(ident, entry["label"].strip(), kind, layer, float(order),
                              dict(entry["evidence"]) if isinstance(entry.get("evidence"), dict) else None))

    node_ids = {n.id for n in nodes}
    # Ids declared by entries that have other problems: already reported, so not "unknown" below.
    declared_nodes = set(seen)
    layer = {n.id: n.layer for n in nodes}
    groups: list[Group] = []
    member_of: dict[str, str] = {}
    for i, entry in enumerate(raw_groups):
        where = _where("groups", i, entry)
        if not _check_keys(entry, where, GROUP_KEYS, problems):
            continue
        ident = entry.get("id")
        ok = _check_id_and_label(entry, where, seen, problems)
        members = entry.get("members")
        if "members" in entry:
            if not isinstance(members, list) or not members:
                problems.append(f"{where}: key 'members' must be a non-empty list of node ids")
                ok = False
            else:
                for m in members:
                    if m not in declared_nodes:
                        problems.append(f"{where}: key 'members' names unknown node {m!r}")
                        ok = False
                    elif m not in node_ids:
                        ok = False
                    elif m in member_of:
                        problems.append(f"{where}: node '{m}' is already a member of group '{member_of[m]}'")
                        ok = False
                if ok:
                    layers = sorted({layer[m] for m in members})
                    if len(layers) > 1:
                        problems.append(f"{where}: key 'members' spans layers {layers}; "
                                        "members of a group share one layer")
                        ok = False
        if ok and all(k in entry for k, req in GROUP_KEYS.items() if req):
            for m in members:
                member_of[m] = ident
            groups.append(Group(ident, entry["label"].strip(), tuple(members)))

    group_layer = {g.id: layer[g.members[0]] for g in groups}
    known = {**layer, **group_layer}
    edges: list[Edge] = []
    pairs = set()
    for i, entry in enumerate(raw_edges):
        where = f"edges[{i}]"
        if not _check_keys(entry, where, EDGE_KEYS, problems):
            continue
        ok = True
        for key in ("from", "to"):
            if key in entry and entry[key] not in seen:
                problems.append(f"{where}: key '{key}' names unknown node {entry[key]!r} "
                                f"(known nodes and groups: {', '.join(sorted(seen))})")
                ok = False
            elif key in entry and entry[key] not in known:
                ok = False  # declared by an entry with a problem of its own
        label = entry.get("label", "")
        if label is None or not isinstance(label, str):
            problems.append(f"{where}: key 'label' must be a text")
            ok = False
        if not ok or "from" not in entry or "to" not in entry:
            continue
        src, tgt = entry["from"], entry["to"]
        if (src, tgt) in pairs:
            problems.append(f"{where}: duplicate edge from '{src}' to '{tgt}'")
            continue
        if known[tgt] <= known[src]:
            problems.append(f"{where}: goes from '{src}' (layer {known[src]}) to '{tgt}' (layer {known[tgt]}); "
                            "an arrow must point to a later layer")
            continue
        pairs.add((src, tgt))
        edges.append(Edge(src, tgt, label.strip()))

    if problems:
        raise ModelFileError(source, problems)
    return Model(
        title=str(data.get("title", "")).strip(),
        caption=" ".join(str(data.get("caption", "")).split()),
        nodes=tuple(nodes),
        groups=tuple(groups),
        edges=tuple(edges),
    )


def load(model_file=None) -> Model:
    """Read and validate a model file (default: the packaged ``conceptual_model.yaml``)."""
    path = Path(model_file) if model_file else MODEL_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelFileError(path, [f"cannot be read: {exc.strerror or exc}"]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ModelFileError(path, [f"is not valid YAML: {exc}"]) from exc
    model = parse(data, source=path)
    return Model(model.title, model.caption, model.nodes, model.groups, model.edges, path)


def conceptual_model_data(model: Model) -> pd.DataFrame:
    """The model as a table: one row per node, group and edge (what Figure A draws)."""
    rows = [
        {"element": "node", "id": n.id, "label": n.label, "kind": n.kind, "layer": n.layer,
         "group": (model.group_of(n.id).id if model.group_of(n.id) else ""), "source": "", "target": ""}
        for n in model.nodes
    ]
    rows += [
        {"element": "group", "id": g.id, "label": g.label, "kind": "", "layer": model.layer_of(g.id),
         "group": "", "source": "", "target": ""}
        for g in model.groups
    ]
    rows += [
        {"element": "edge", "id": f"{e.source}-{e.target}", "label": e.label, "kind": "",
         "layer": model.layer_of(e.source), "group": "", "source": e.source, "target": e.target}
        for e in model.edges
    ]
    return pd.DataFrame(rows, columns=["element", "id", "label", "kind", "layer", "group", "source", "target"])


# --- text measurement and wrapping -------------------------------------------------------------

FONT = "DejaVu Sans"
LABEL_SIZE = 7.0
NOTE_SIZE = 6.0
TITLE_SIZE = 7.0
EDGE_SIZE = 6.5
LINESPACING = 1.2
TEXT_COLOR = "#1A1A1A"
NOTE_COLOR = "#333333"
ARROW_COLOR = "#333333"
#: Texts are measured at the screen and the print resolution; the larger extent is kept, since
#: glyph hinting rounds line heights differently at each.
MEASURE_DPIS = (100, 300)
#: Added to every measured extent (points).
MEASURE_SLACK = 1.0


@dataclass(frozen=True)
class TextStyle:
    size: float = LABEL_SIZE
    weight: str = "normal"
    style: str = "normal"
    color: str = TEXT_COLOR

    def kwargs(self) -> dict:
        return {"fontsize": self.size, "fontweight": self.weight, "fontstyle": self.style,
                "fontfamily": FONT, "color": self.color, "linespacing": LINESPACING}


LABEL_STYLE = TextStyle()
NOTE_STYLE = TextStyle(size=NOTE_SIZE, color=NOTE_COLOR)
TITLE_STYLE = TextStyle(size=TITLE_SIZE, weight="bold")
EDGE_STYLE = TextStyle(size=EDGE_SIZE, style="italic", color=ARROW_COLOR)


@lru_cache(maxsize=4)
def _measure_figure(dpi: int) -> Figure:
    fig = Figure(dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


@lru_cache(maxsize=8192)
def text_extent(text: str, style: TextStyle = LABEL_STYLE) -> tuple[float, float]:
    """Width and height (points) of ``text`` as drawn, plus a small slack."""
    if not text:
        return 0.0, 0.0
    width = height = 0.0
    for dpi in MEASURE_DPIS:
        fig = _measure_figure(dpi)
        artist = fig.text(0, 0, text, **style.kwargs())
        box = artist.get_window_extent(fig.canvas.get_renderer())
        artist.remove()
        width, height = max(width, box.width * 72 / dpi), max(height, box.height * 72 / dpi)
    return width + MEASURE_SLACK, height + MEASURE_SLACK


def longest_word(text: str, style: TextStyle = LABEL_STYLE) -> float:
    words = text.split()
    return max((text_extent(w, style)[0] for w in words), default=0.0)


def wrap(text: str, width: float, style: TextStyle = LABEL_STYLE) -> str:
    """Break ``text`` at spaces so that each line is at most ``width`` points wide ("\\n" forces a break).

    A single word wider than ``width`` stays on its own line; callers size boxes from
    :func:`longest_word` so that this does not happen.
    """
    lines = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split():
            candidate = f"{current} {word}" if current else word
            if not current or text_extent(candidate, style)[0] <= width:
                current = candidate
            else:
                lines.append(current)
                current = word
        lines.append(current)
    return "\n".join(lines)


# --- layout ------------------------------------------------------------------------------------

PAD_X = 4.0  # text to box edge, left and right (points)
PAD_Y = 3.5  # text to box edge, top and bottom
NOTE_SEP = 2.5  # label to evidence notes
NODE_GAP = 6.0  # between boxes of one group
GROUP_PAD = 5.0  # member boxes to group frame
TITLE_PAD = 3.0  # group title to frame top and to the first member
BLOCK_GAP = 10.0  # between blocks (groups or lone nodes) of one layer
MARGIN = 3.0
EDGE_PAD = 3.0  # edge label to its arrow
MIN_GAP_HORIZONTAL = 20.0
MIN_GAP_VERTICAL = 16.0
EDGE_WRAP_HORIZONTAL = 40.0
EDGE_WRAP_VERTICAL = 90.0
SINGLE_MAX_FRACTION = 0.62  # widest lone box at one column, share of the width
HORIZONTAL_FROM_MM = 120.0  # "auto" draws layers left to right from this width on
STAMP_ROOM = 9.0  # free strip at the bottom of data figures for the "SYNTHETIC DATA" stamp


@dataclass(frozen=True)
class Rect:
    x0: float
    y0: float
    w: float
    h: float

    @property
    def x1(self) -> float:
        return self.x0 + self.w

    @property
    def y1(self) -> float:
        return self.y0 + self.h

    @property
    def center(self) -> tuple[float, float]:
        return self.x0 + self.w / 2, self.y0 + self.h / 2

    def shifted(self, dy: float) -> "Rect":
        return Rect(self.x0, self.y0 + dy, self.w, self.h)


@dataclass
class Placed:
    """A text placed at (x, y): its top-centre (``ha="center", va="top"``) unless ha/va say otherwise."""

    text: str
    style: TextStyle
    x: float
    y: float
    ha: str = "center"
    va: str = "top"
    gid: str = ""

    def rect(self) -> Rect:
        w, h = text_extent(self.text, self.style)
        x0 = {"center": self.x - w / 2, "left": self.x, "right": self.x - w}[self.ha]
        y0 = {"top": self.y - h, "center": self.y - h / 2, "bottom": self.y}[self.va]
        return Rect(x0, y0, w, h)

    def shifted(self, dy: float) -> "Placed":
        return Placed(self.text, self.style, self.x, self.y + dy, self.ha, self.va, self.gid)


@dataclass
class Layout:
    """Geometry of a model drawing, in points with the origin at the bottom left."""

    width: float
    height: float
    orientation: str
    boxes: dict[str, Rect] = field(default_factory=dict)
    frames: dict[str, Rect] = field(default_factory=dict)
    texts: list[Placed] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _blocks(model: Model, layer: int) -> list[tuple[str | None, list[Node]]]:
    """The layer's blocks in order: (group id, members) or (None, [lone node])."""
    index = {n.id: i for i, n in enumerate(model.nodes)}
    nodes = sorted((n for n in model.nodes if n.layer == layer), key=lambda n: (n.order, index[n.id]))
    blocks, done = [], set()
    for n in nodes:
        group = model.group_of(n.id)
        if group is None:
            blocks.append((None, [n]))
        elif group.id not in done:
            done.add(group.id)
            blocks.append((group.id, [m for m in nodes if m.id in group.members]))
    return blocks


def _contents(model: Model, notes: dict[str, list[str]] | None) -> dict[str, list[tuple[str, TextStyle]]]:
    """Each node's texts: its label, then its note lines (if any) as one block."""
    notes = notes or {}
    return {n.id: [(n.label, LABEL_STYLE)] + ([("\n".join(notes[n.id]), NOTE_STYLE)] if notes.get(n.id) else [])
            for n in model.nodes}


def _min_text_width(parts) -> float:
    return max(longest_word(text, style) for text, style in parts)


def _wrapped(parts, width):
    return [(wrap(text, width, style), style) for text, style in parts]


def _content_height(wrapped) -> float:
    heights = [text_extent(text, style)[1] for text, style in wrapped]
    return sum(heights) + NOTE_SEP * (len(heights) - 1)


def _place_contents(layout: Layout, node_id: str, rect: Rect, wrapped) -> None:
    cx, cy = rect.center
    y = cy + _content_height(wrapped) / 2
    for k, (text, style) in enumerate(wrapped):
        role = "text" if k == 0 else "note"
        h = text_extent(text, style)[1]
        # Centred in its slot: the measuring slack falls evenly above and below the text.
        layout.texts.append(Placed(text, style, cx, y - h / 2, va="center", gid=f"{role}-{node_id}"))
        y -= h + NOTE_SEP


def _edge_labels(model: Model, wrap_width: float) -> dict[tuple[str, str], str]:
    out = {}
    for e in model.edges:
        if e.label:
            out[(e.source, e.target)] = wrap(e.label, max(wrap_width, longest_word(e.label, EDGE_STYLE)), EDGE_STYLE)
    return out


def _gaps(model: Model, labels: dict, rank: dict, axis: int, minimum: float) -> list[float]:
    """Space between consecutive layers: enough for the widest (axis 0) or tallest (axis 1) edge label."""
    gaps = [minimum] * max(len(rank) - 1, 0)
    for e in model.edges:
        a, b = rank[model.layer_of(e.source)], rank[model.layer_of(e.target)]
        if b == a + 1 and (e.source, e.target) in labels:
            need = text_extent(labels[(e.source, e.target)], EDGE_STYLE)[axis] + 2 * EDGE_PAD
            gaps[a] = max(gaps[a], need)
    return gaps


def anchors(orientation: str, source: Rect, target: Rect) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where an arrow leaves its source and meets its target: the middles of the facing sides.

    Between adjacent layers the arrow then stays within the gap between them, clear of every box.
    """
    if orientation == "horizontal":
        return (source.x1, source.y0 + source.h / 2), (target.x0, target.y0 + target.h / 2)
    return (source.x0 + source.w / 2, source.y0), (target.x0 + target.w / 2, target.y1)


def _rects_overlap(a: Rect, b: Rect, tol: float = 0.25) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > tol and min(a.y1, b.y1) - max(a.y0, b.y0) > tol


def _segment_hits(p, q, r: Rect) -> bool:
    """Whether the segment p-q passes through the rectangle (sampled every half point)."""
    n = max(int(math.hypot(q[0] - p[0], q[1] - p[1]) * 2), 1)
    t = np.linspace(0, 1, n + 1)
    x, y = p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])
    return bool(np.any((x > r.x0) & (x < r.x1) & (y > r.y0) & (y < r.y1)))


LABEL_POSITIONS = (0.5, 0.35, 0.65, 0.2, 0.8)


def _place_edge_labels(layout: Layout, model: Model, labels: dict, rank: dict, layer_span: dict) -> None:
    """Put each edge label beside its arrow, at the first of a few positions along it (and on either
    side) that is clear of the other arrows, every box and frame, and the labels placed so far."""
    shapes = {**layout.boxes, **layout.frames}
    segments = {(e.source, e.target): anchors(layout.orientation, shapes[e.source], shapes[e.target])
                for e in model.edges}
    taken = [t.rect() for t in layout.texts if t.gid.startswith("title-")]
    horizontal = layout.orientation == "horizontal"
    for e in model.edges:
        text = labels.get((e.source, e.target))
        if not text:
            continue
        p, q = segments[(e.source, e.target)]
        w, h = text_extent(text, EDGE_STYLE)
        ra, rb = rank[model.layer_of(e.source)], rank[model.layer_of(e.target)]
        axis = 0 if horizontal else 1  # the axis along which the layers follow each other
        size = w if horizontal else h
        if rb == ra + 1:  # stay within the gap between the two layers
            # horizontal: source column's right edge to target column's left edge;
            # vertical: source band's bottom to target band's top
            ends = (layer_span[ra][1], layer_span[rb][0]) if horizontal else (layer_span[ra][0], layer_span[rb][1])
            lo, hi = sorted(ends)
        else:
            lo, hi = sorted((p[axis], q[axis]))
        if hi - lo < size:
            lo = hi = (lo + hi) / 2
        else:
            lo, hi = lo + size / 2, hi - size / 2
        candidates = []
        for t in LABEL_POSITIONS:
            c = min(max(p[axis] + t * (q[axis] - p[axis]), lo), hi)
            span = (c - size / 2, c + size / 2)
            d = q[axis] - p[axis]
            ends = [p[1 - axis] + ((v - p[axis]) / d if d else 0.5) * (q[1 - axis] - p[1 - axis]) for v in span]
            low, high = min(ends), max(ends)
            for side in (1, -1):
                if horizontal:
                    y0 = high + EDGE_PAD if side > 0 else low - EDGE_PAD - h
                    placed = Placed(text, EDGE_STYLE, c, y0, "center", "bottom", f"elabel-{e.source}-{e.target}")
                else:
                    x0 = high + EDGE_PAD if side > 0 else low - EDGE_PAD - w
                    placed = Placed(text, EDGE_STYLE, x0, c, "left", "center", f"elabel-{e.source}-{e.target}")
                candidates.append(placed)
        chosen = candidates[0]
        for placed in candidates:
            r = placed.rect()
            if (r.x0 >= 0 and r.x1 <= layout.width
                    and not any(_rects_overlap(r, o) for o in list(shapes.values()) + taken)
                    and not any(_segment_hits(*seg, r) for key, seg in segments.items()
                                if key != (e.source, e.target))):
                chosen = placed
                break
        taken.append(chosen.rect())
        layout.texts.append(chosen)


def _too_narrow(what: str, need: float, have: float, width_pt: float) -> AnalysisError:
    return AnalysisError(
        f"the figure is too narrow for the model: {what} needs {need:.0f} pt but gets {have:.0f} pt at a "
        f"width of {width_pt / 72 * 25.4:.0f} mm; shorten the longest word, use fewer nodes in that "
        "layer, or draw wider"
    )


def _column(blocks, contents, group_labels, col: float):
    """One layer drawn as a column ``col`` points wide: its height and its stacked blocks.

    A group's frame spans the column and its boxes are inset by GROUP_PAD; a lone box spans the column.
    """
    stack = []  # (group id, block height, [(node, wrapped, box height)], wrapped title)
    for gid, members in blocks:
        inner = col - 2 * GROUP_PAD if gid else col
        wrapped = [_wrapped(contents[n.id], inner - 2 * PAD_X) for n in members]
        hs = [_content_height(w) + 2 * PAD_Y for w in wrapped]
        if gid:
            h_box = max(hs)
            title = wrap(group_labels[gid], col - 2 * TITLE_PAD, TITLE_STYLE)
            title_h = text_extent(title, TITLE_STYLE)[1]
            frame_h = 2 * TITLE_PAD + title_h + len(members) * h_box + (len(members) - 1) * NODE_GAP + GROUP_PAD
            stack.append((gid, frame_h, [(n, w, h_box) for n, w in zip(members, wrapped)], title))
        else:
            stack.append((None, hs[0], [(members[0], wrapped[0], hs[0])], None))
    return sum(s[1] for s in stack) + BLOCK_GAP * (len(stack) - 1), stack


def _column_widths(blocks, contents, group_labels, measure) -> float:
    """Width a column needs so that ``measure(text, style)`` of every text fits."""
    need = 0.0
    for gid, members in blocks:
        words = max(measure(text, style) for n in members for text, style in contents[n.id]) + 2 * PAD_X
        if gid:
            need = max(need, words + 2 * GROUP_PAD, measure(group_labels[gid], TITLE_STYLE) + 2 * TITLE_PAD)
        else:
            need = max(need, words)
    return need


def _one_line(text: str, style: TextStyle) -> float:
    return max(text_extent(line, style)[0] for line in text.split("\n"))


def _layout_horizontal(model: Model, width_pt: float, contents) -> Layout:
    layers = model.layers
    rank = {layer: i for i, layer in enumerate(layers)}
    labels = _edge_labels(model, EDGE_WRAP_HORIZONTAL)
    gaps = _gaps(model, labels, rank, 0, MIN_GAP_HORIZONTAL)
    avail = width_pt - 2 * MARGIN - sum(gaps)
    blocks = [_blocks(model, layer) for layer in layers]
    group_labels = {g.id: g.label for g in model.groups}

    # Column widths: each column first gets what its longest word needs; the rest goes, a little
    # at a time, where it saves the most height (the sum of the columns' heights plus the tallest
    # one counted again, so that neither one tall narrow box nor the figure's height dominates).
    need = [_column_widths(b, contents, group_labels, longest_word) for b in blocks]
    full = [max(n, _column_widths(b, contents, group_labels, _one_line)) for n, b in zip(need, blocks)]
    left = avail - sum(need)
    if left < 0:
        raise _too_narrow("the columns' longest words", sum(need), avail, width_pt)
    widths = list(need)

    def height(i, w):
        return _column(blocks[i], contents, group_labels, w)[0]

    heights = [height(i, w) for i, w in enumerate(widths)]
    step = max(left / 200, 0.5)
    look = 4 * LABEL_SIZE  # a word's width: wrapping only changes when a word moves up a line
    while left > 1e-9:
        best, best_gain = None, 0.0
        for i in range(len(layers)):
            if widths[i] >= full[i] - 1e-9:
                continue
            d = min(look, left, full[i] - widths[i])
            trial = heights[:i] + [height(i, widths[i] + d)] + heights[i + 1:]
            gain = (sum(heights) + max(heights) - sum(trial) - max(trial)) / d
            if gain > best_gain + 1e-9:
                best, best_gain = i, gain
        if best is None:
            break
        d = min(step, left, full[best] - widths[best])
        widths[best] += d
        left -= d
        heights[best] = height(best, widths[best])
    widths = [w + left / len(layers) for w in widths]

    layout = Layout(width_pt, 0.0, "horizontal")
    columns, x = [], MARGIN
    for i, b in enumerate(blocks):
        total, stack = _column(b, contents, group_labels, widths[i])
        columns.append((x, widths[i], stack, total))
        x += widths[i] + (gaps[i] if i < len(gaps) else 0.0)

    height = max(c[3] for c in columns) + 2 * MARGIN
    layer_span = {}
    for i, (x0, col, stack, total) in enumerate(columns):
        layer_span[i] = (x0, x0 + col)
        y_top = height / 2 + total / 2
        for gid, block_h, members, title in stack:
            if gid:
                layout.frames[gid] = Rect(x0, y_top - block_h, col, block_h)
                layout.texts.append(Placed(title, TITLE_STYLE, x0 + col / 2, y_top - TITLE_PAD, gid=f"title-{gid}"))
                y = y_top - 2 * TITLE_PAD - text_extent(title, TITLE_STYLE)[1]
                for n, wrapped, h in members:
                    rect = Rect(x0 + GROUP_PAD, y - h, col - 2 * GROUP_PAD, h)
                    layout.boxes[n.id] = rect
                    _place_contents(layout, n.id, rect, wrapped)
                    y -= h + NODE_GAP
            else:
                n, wrapped, h = members[0]
                rect = Rect(x0, y_top - h, col, h)
                layout.boxes[n.id] = rect
                _place_contents(layout, n.id, rect, wrapped)
            y_top -= block_h + BLOCK_GAP
    layout.height = height
    layout.edges = list(model.edges)
    _place_edge_labels(layout, model, labels, rank, layer_span)
    return layout


def _layout_vertical(model: Model, width_pt: float, contents) -> Layout:
    layers = model.layers
    rank = {layer: i for i, layer in enumerate(layers)}
    labels = _edge_labels(model, EDGE_WRAP_VERTICAL)
    gaps = _gaps(model, labels, rank, 1, MIN_GAP_VERTICAL)
    avail = width_pt - 2 * MARGIN
    single_max = SINGLE_MAX_FRACTION * avail
    group_labels = {g.id: g.label for g in model.groups}

    bands = []  # per layer: list of blocks (gid, block_w, block_h, cells, title, box_w, ncols)
    for layer in layers:
        blocks = _blocks(model, layer)
        weights = [len(members) for _, members in blocks]
        room = avail - BLOCK_GAP * (len(blocks) - 1)
        band = []
        for (gid, members), weight in zip(blocks, weights):
            alloc = room * weight / sum(weights)
            need = max(_min_text_width(contents[n.id]) for n in members) + 2 * PAD_X
            if gid is None:
                box_w = min(alloc, max(single_max, need))
                if box_w < need:
                    raise _too_narrow(f"node '{members[0].id}'", need, box_w, width_pt)
                wrapped = _wrapped(contents[members[0].id], box_w - 2 * PAD_X)
                h = _content_height(wrapped) + 2 * PAD_Y
                band.append((None, box_w, h, [(members[0], wrapped)], None, box_w, 1, h))
                continue
            inner = alloc - 2 * GROUP_PAD
            ncols = next((k for k in range(len(members), 0, -1)
                          if (inner - (k - 1) * NODE_GAP) / k >= need), 0)
            if ncols == 0:
                raise _too_narrow(f"group '{gid}'", need + 2 * GROUP_PAD, alloc, width_pt)
            ncols = math.ceil(len(members) / math.ceil(len(members) / ncols))  # balanced rows: 2 + 2, not 3 + 1
            box_w = min((inner - (ncols - 1) * NODE_GAP) / ncols, max(single_max, need))
            frame_w = ncols * box_w + (ncols - 1) * NODE_GAP + 2 * GROUP_PAD
            title_need = longest_word(group_labels[gid], TITLE_STYLE) + 2 * TITLE_PAD
            if title_need > frame_w:
                frame_w = title_need
                if frame_w > alloc:
                    raise _too_narrow(f"the title of group '{gid}'", title_need, alloc, width_pt)
            title = wrap(group_labels[gid], frame_w - 2 * TITLE_PAD, TITLE_STYLE)
            wrapped = [_wrapped(contents[n.id], box_w - 2 * PAD_X) for n in members]
            h = max(_content_height(w) for w in wrapped) + 2 * PAD_Y
            rows = math.ceil(len(members) / ncols)
            frame_h = 2 * TITLE_PAD + text_extent(title, TITLE_STYLE)[1] + rows * h + (rows - 1) * NODE_GAP + GROUP_PAD
            band.append((gid, frame_w, frame_h, list(zip(members, wrapped)), title, box_w, ncols, h))
        bands.append(band)

    band_h = [max(b[2] for b in band) for band in bands]
    height = 2 * MARGIN + sum(band_h) + sum(gaps)
    layout = Layout(width_pt, height, "vertical")
    layer_span = {}
    top = height - MARGIN
    for i, band in enumerate(bands):
        layer_span[i] = (top - band_h[i], top)
        total_w = sum(b[1] for b in band) + BLOCK_GAP * (len(band) - 1)
        x = (width_pt - total_w) / 2
        for gid, block_w, block_h, cells, title, box_w, ncols, h in band:
            y_top = top  # blocks hang from the top of their band: arrows into the band end level
            if gid is None:
                n, wrapped = cells[0]
                rect = Rect(x, y_top - h, box_w, h)
                layout.boxes[n.id] = rect
                _place_contents(layout, n.id, rect, wrapped)
            else:
                layout.frames[gid] = Rect(x, y_top - block_h, block_w, block_h)
                layout.texts.append(Placed(title, TITLE_STYLE, x + block_w / 2, y_top - TITLE_PAD, gid=f"title-{gid}"))
                y0 = y_top - 2 * TITLE_PAD - text_extent(title, TITLE_STYLE)[1]
                for k, (n, wrapped) in enumerate(cells):
                    row, col = divmod(k, ncols)
                    in_row = min(ncols, len(cells) - row * ncols)
                    row_w = in_row * box_w + (in_row - 1) * NODE_GAP
                    bx = x + (block_w - row_w) / 2 + col * (box_w + NODE_GAP)
                    rect = Rect(bx, y0 - row * (h + NODE_GAP) - h, box_w, h)
                    layout.boxes[n.id] = rect
                    _place_contents(layout, n.id, rect, wrapped)
            x += block_w + BLOCK_GAP
        top -= band_h[i] + (gaps[i] if i < len(gaps) else 0.0)
    layout.edges = list(model.edges)
    _place_edge_labels(layout, model, labels, rank, layer_span)
    return layout


def _fit_height(layout: Layout, bottom: float = 0.0) -> Layout:
    """Grow or shrink the height so that every box, frame and text lies inside the margins
    (plus ``bottom`` points kept free below)."""
    rects = list(layout.boxes.values()) + list(layout.frames.values()) + [t.rect() for t in layout.texts]
    lo = min(r.y0 for r in rects) - bottom
    hi = max(r.y1 for r in rects)
    dy = MARGIN - lo
    layout.boxes = {k: r.shifted(dy) for k, r in layout.boxes.items()}
    layout.frames = {k: r.shifted(dy) for k, r in layout.frames.items()}
    layout.texts = [t.shifted(dy) for t in layout.texts]
    layout.height = hi - lo + 2 * MARGIN
    return layout


def layout(model: Model, width: float = plotting.TWO_COLUMNS, *, orientation: str = "auto",
           notes: dict[str, list[str]] | None = None) -> Layout:
    """Compute the drawing of ``model`` at ``width`` inches.

    ``orientation`` "horizontal" puts layers in columns, left to right; "vertical" in rows, top to
    bottom (a layer's group wraps into a grid when its boxes do not fit side by side); "auto" picks
    horizontal from 120 mm on (and vertical when the columns would be too narrow). ``notes`` adds
    lines of smaller text under a node's label (Figure B).
    """
    auto = orientation == "auto"
    if auto:
        orientation = "horizontal" if width * 25.4 >= HORIZONTAL_FROM_MM else "vertical"
    if orientation not in ("horizontal", "vertical"):
        raise ValueError(f"orientation must be 'auto', 'horizontal' or 'vertical'; got {orientation!r}")
    contents = _contents(model, notes)
    width_pt = width * 72
    if orientation == "horizontal":
        try:
            result = _layout_horizontal(model, width_pt, contents)
        except AnalysisError:
            if not auto:
                raise
            result = _layout_vertical(model, width_pt, contents)  # too many layers for columns
    else:
        result = _layout_vertical(model, width_pt, contents)
    return _fit_height(result)


# --- drawing -----------------------------------------------------------------------------------


def _mix(color: str, other: str, amount: float) -> tuple[float, float, float]:
    a, b = np.array(to_rgb(color)), np.array(to_rgb(other))
    return tuple(float(v) for v in (1 - amount) * a + amount * b)


def _blank_figure(width_pt: float, height_pt: float):
    fig = Figure(figsize=(width_pt / 72, height_pt / 72))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width_pt)
    ax.set_ylim(0, height_pt)
    ax.set_axis_off()
    return fig, ax


def draw(model: Model, lay: Layout) -> Figure:
    """Draw a computed layout: boxes (FancyBboxPatch), arrows attached to them (FancyArrowPatch)."""
    fig, ax = _blank_figure(lay.width, lay.height)
    patches = {}
    for gid, r in lay.frames.items():
        kinds = {model.node(m).kind for g in model.groups if g.id == gid for m in g.members}
        color = KINDS[kinds.pop()] if len(kinds) == 1 else "#999999"
        patch = FancyBboxPatch((r.x0, r.y0), r.w, r.h, boxstyle="round,pad=0,rounding_size=4",
                               facecolor=_mix(color, "#FFFFFF", 0.88), edgecolor=_mix(color, "#000000", 0.25),
                               linewidth=0.7, linestyle=(0, (3, 1.5)), zorder=1, gid=f"frame-{gid}")
        ax.add_patch(patch)
        patches[gid] = patch
    for node_id, r in lay.boxes.items():
        color = KINDS[model.node(node_id).kind]
        patch = FancyBboxPatch((r.x0, r.y0), r.w, r.h, boxstyle="round,pad=0,rounding_size=3",
                               facecolor=_mix(color, "#FFFFFF", 0.62), edgecolor=_mix(color, "#000000", 0.3),
                               linewidth=0.9, zorder=2, gid=f"box-{node_id}")
        ax.add_patch(patch)
        patches[node_id] = patch
    for e in lay.edges:
        a, b = patches[e.source], patches[e.target]
        ra = lay.boxes.get(e.source) or lay.frames[e.source]
        rb = lay.boxes.get(e.target) or lay.frames[e.target]
        pos_a, pos_b = anchors(lay.orientation, ra, rb)
        arrow = FancyArrowPatch(posA=pos_a, posB=pos_b, patchA=a, patchB=b, shrinkA=1.5, shrinkB=1.5,
                                arrowstyle="-|>", mutation_scale=7, linewidth=0.9, color=ARROW_COLOR,
                                zorder=3, gid=f"arrow-{e.source}-{e.target}")
        ax.add_patch(arrow)
    for t in lay.texts:
        ax.text(t.x, t.y, t.text, ha=t.ha, va=t.va, multialignment="center" if t.ha == "center" else "left",
                zorder=4, gid=t.gid, **t.style.kwargs())
    return fig


def conceptual_model_plot(model: Model, width: float = plotting.TWO_COLUMNS, *, orientation: str = "auto") -> Figure:
    """Figure A: the conceptual model at ``width`` inches (plotting.ONE_COLUMN or TWO_COLUMNS)."""
    return draw(model, layout(model, width, orientation=orientation))


def conceptual_model_caption(model: Model) -> str:
    return model.caption or model.title


def export_readme_figure(model_file=None, target=None) -> Path:
    """Write the README's committed copy of Figure A (``docs/img/conceptual_model.svg``).

    Run by hand after editing the model file; the notebooks never call it, so a pipeline run does
    not touch committed files.
    """
    import matplotlib.pyplot as plt

    target = Path(target) if target else paths.DOCS / "img" / "conceptual_model.svg"
    with plt.rc_context():
        plotting.use_style()
        fig = conceptual_model_plot(load(model_file), plotting.TWO_COLUMNS)
        io.save_figure(fig, target.with_suffix(""), formats=("svg",))
    return target


def preview(fig, dpi: int = 150):
    """The figure as a PNG for display in a notebook (the written files are the outputs)."""
    from io import BytesIO

    from IPython.display import Image

    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return Image(data=buffer.getvalue(), format="png")


# --- overlap check -----------------------------------------------------------------------------

TEXT_ROLES = ("text", "note", "title", "elabel")
SHAPE_ROLES = ("box", "frame")


def drawn_extents(fig) -> list[dict]:
    """Every identified artist of a drawn figure with its display extent (or path, for arrows).

    Artists are identified by their gid, ``<role>-<owner>``: box, frame, text, note, title, elabel
    and arrow (owner ``<from>-<to>``).
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    items = []
    # Texts placed on the figure without a gid (e.g. the synthetic-data stamp) count as free texts.
    for artist in fig.texts:
        if not artist.get_gid() and artist.get_visible() and artist.get_text().strip():
            items.append({"role": "text", "owner": "", "gid": f"figure text {artist.get_text()!r}",
                          "bbox": artist.get_window_extent(renderer)})
    for artist in fig.findobj(lambda a: bool(a.get_gid()) and a.get_visible()):
        role, _, owner = artist.get_gid().partition("-")
        if role in TEXT_ROLES and not artist.get_text().strip():
            continue
        if role in TEXT_ROLES or role in SHAPE_ROLES:
            items.append({"role": role, "owner": owner, "gid": artist.get_gid(),
                          "bbox": artist.get_window_extent(renderer)})
        elif role == "arrow":
            path = artist.get_transform().transform_path(artist.get_path())
            # The shaft and the head as separate polylines (a compound path's CLOSEPOLY placeholder
            # vertex would otherwise count as a point of the arrow).
            parts = [MplPath(p) for p in path.to_polygons(closed_only=False)]
            items.append({"role": role, "owner": owner, "gid": artist.get_gid(), "parts": parts,
                          "bbox": path.get_extents()})
    return items


def _overlap(a: Bbox, b: Bbox, tol: float) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > tol and min(a.y1, b.y1) - max(a.y0, b.y0) > tol


def _inside(a: Bbox, b: Bbox, tol: float) -> bool:
    return a.x0 >= b.x0 - tol and a.x1 <= b.x1 + tol and a.y0 >= b.y0 - tol and a.y1 <= b.y1 + tol


def layout_problems(fig, tol: float = 0.5) -> list[str]:
    """Overlaps in a drawn figure (empty list: none); see :func:`drawn_extents` for the gids.

    Boxes never overlap; a frame holds a box entirely or not at all; a text lies inside its own box
    or frame and clear of every other box, text and arrow; an arrow crosses no box or frame other
    than its ends (and what holds or is held by them); everything lies inside the figure.
    """
    items = drawn_extents(fig)
    shapes = [i for i in items if i["role"] in SHAPE_ROLES]
    texts = [i for i in items if i["role"] in TEXT_ROLES]
    arrows = [i for i in items if i["role"] == "arrow"]
    fig_box = fig.bbox
    problems = []
    for i in shapes + texts:
        if not _inside(i["bbox"], fig_box, tol):
            problems.append(f"{i['gid']} extends outside the figure")
    for k, a in enumerate(shapes):
        for b in shapes[k + 1:]:
            if not _overlap(a["bbox"], b["bbox"], tol):
                continue
            if a["role"] == "box" and b["role"] == "box":
                problems.append(f"{a['gid']} overlaps {b['gid']}")
            elif not (_inside(a["bbox"], b["bbox"], tol) or _inside(b["bbox"], a["bbox"], tol)):
                problems.append(f"{a['gid']} partly overlaps {b['gid']}")
    for k, t in enumerate(texts):
        for s in shapes:
            if s["owner"] == t["owner"]:  # ids are unique across nodes and groups: its own box or frame
                if not _inside(t["bbox"], s["bbox"], tol):
                    problems.append(f"{t['gid']} sticks out of {s['gid']}")
            elif _overlap(t["bbox"], s["bbox"], tol):
                if s["role"] == "box" or not _inside(t["bbox"], s["bbox"], tol):
                    problems.append(f"{t['gid']} overlaps {s['gid']}")
        for u in texts[k + 1:]:
            if _overlap(t["bbox"], u["bbox"], tol):
                problems.append(f"{t['gid']} overlaps {u['gid']}")
    for a in arrows:
        ends = [s for s in shapes if s["owner"] in a["owner"].split("-")]
        for s in shapes:
            exempt = any(_inside(s["bbox"], e["bbox"], tol) or _inside(e["bbox"], s["bbox"], tol) for e in ends)
            if not exempt and any(p.intersects_bbox(s["bbox"], filled=False) for p in a["parts"]):
                problems.append(f"{a['gid']} crosses {s['gid']}")
        for t in texts:
            if any(p.intersects_bbox(t["bbox"], filled=False) for p in a["parts"]):
                problems.append(f"{a['gid']} crosses {t['gid']}")
    return problems


def check_layout(fig) -> None:
    """Raise :class:`AnalysisError` listing every overlap found by :func:`layout_problems`."""
    problems = layout_problems(fig)
    if problems:
        raise AnalysisError("the drawn figure has overlaps: " + "; ".join(problems)
                            + " (change the model file's labels or layers, or draw wider)")


# --- derived tables ----------------------------------------------------------------------------

#: Columns each derived table must have (agreed with notebooks 02 and 04).
DERIVED_COLUMNS = {
    "clinic_segments": ["clinic_id", "n_changes", "n_implemented", "implementation_share", "group"],
    "mechanism_matrix": ["clinic_id", "group", "implementation_share", "n_documents"],
    "mechanism_rates": ["clinic_id", "group", "implementation_share", "n_documents"],
    "mechanism_comparison": ["code", "label", "measure", "mean_more", "mean_less", "difference", "effect_size",
                             "test", "statistic", "p_value", "verdict", "n_more", "n_less"],
    "stakeholder_connections": ["clinic_id", "group"],
    "survey_group_change": ["group", "n_clinics", "mean_change", "ci_low", "ci_high", "sd_change"],
    "survey_effects": ["analysis", "estimate", "statistic", "df", "p_value", "ci_low", "ci_high",
                       "n_more", "n_less", "test"],
}
#: Derived tables each evidence kind reads.
EVIDENCE_SOURCES = {
    "mechanism": ["mechanism_comparison"],
    "implementation": ["clinic_segments"],
    "connections": ["stakeholder_connections"],
    "survey": ["survey_group_change", "survey_effects"],
}
SMALL_MULTIPLES_TABLES = ["mechanism_rates", "stakeholder_connections"]
_TEXT_COLUMNS = ("clinic_id", "group", "code", "label", "measure", "test", "verdict", "analysis", "document_id")


def evidence_tables(model: Model) -> list[str]:
    """Names of the derived tables Figure B needs for this model's evidence."""
    kinds = {n.evidence["kind"] for n in model.nodes if n.evidence}
    return [t for t in DERIVED_COLUMNS if any(t in EVIDENCE_SOURCES[k] for k in kinds)]


def derived_paths(derived_dir, names) -> dict[str, Path]:
    return {name: Path(derived_dir) / f"{name}.csv" for name in names}


def read_derived(path, name: str | None = None) -> pd.DataFrame:
    """Read a derived table, checking that it exists and has its agreed columns."""
    path = Path(path)
    name = name or path.stem
    if not path.is_file():
        raise AnalysisError(f"derived table {path} not found; run the notebook that writes {path.name} first")
    df = pd.read_csv(path, dtype={c: str for c in _TEXT_COLUMNS}, keep_default_na=False,
                     na_values=[""], encoding="utf-8")
    _require_columns(df, name, path)
    return df


def _require_columns(df: pd.DataFrame, name: str, where=None) -> None:
    missing = [c for c in DERIVED_COLUMNS.get(name, []) if c not in df.columns]
    if missing:
        raise AnalysisError(f"{where or name + '.csv'}: missing column(s) {', '.join(missing)}; "
                            f"expected {', '.join(DERIVED_COLUMNS[name])}")


def _check_groups(df: pd.DataFrame, name: str) -> None:
    bad = sorted(set(df["group"].dropna()) - set(GROUPS))
    if bad or df["group"].isna().any():
        raise AnalysisError(f"{name}.csv: column 'group' has value(s) {bad or ['(empty)']}; expected more or less")


# --- Figure B: the evidenced model ---------------------------------------------------------------

EVIDENCE_COLUMNS = ["node", "evidence", "source", "measure", "group", "value", "n", "test", "verdict"]


def _group_means(df: pd.DataFrame, values: pd.Series, node: str, evidence: str, source: str, measure: str):
    """Mean of ``values`` per group (only groups that have clinics), as evidence rows."""
    stats = values.groupby(df["group"]).agg(["mean", "size"]).reindex(list(GROUPS)).dropna()
    return [
        {"node": node, "evidence": evidence, "source": source, "measure": measure, "group": g,
         "value": float(row["mean"]), "n": int(row["size"]), "test": "", "verdict": ""}
        for g, row in stats.iterrows()
    ]


def evidenced_model_data(model: Model, *, clinic_segments=None, mechanism_comparison=None,
                         stakeholder_connections=None, survey_group_change=None, survey_effects=None) -> pd.DataFrame:
    """Every number Figure B writes into the model, one row each, with the derived table it comes from.

    Columns: node, evidence (kind), source (table file), measure, group (more/less, or empty for
    between-group quantities), value, n (clinics behind the value), test (exact name, for p-values
    and effect sizes), verdict. Rows follow the model's node order. Values that the tables leave
    empty (e.g. a p-value that could not be computed) are left out rather than written as NaN.
    """
    tables = {"clinic_segments": clinic_segments, "mechanism_comparison": mechanism_comparison,
              "stakeholder_connections": stakeholder_connections, "survey_group_change": survey_group_change,
              "survey_effects": survey_effects}
    for name in evidence_tables(model):
        if tables[name] is None:
            raise AnalysisError(f"the model's evidence needs {name}.csv; pass it as {name}=...")
        _require_columns(tables[name], name)
    rows: list[dict] = []
    for node in model.nodes:
        ev = node.evidence
        if not ev:
            continue
        kind = ev["kind"]
        if kind == "mechanism":
            comp = tables["mechanism_comparison"]
            hit = comp[comp["code"].eq(ev["code"])]
            if len(hit) != 1:
                raise AnalysisError(f"mechanism_comparison.csv has {len(hit)} row(s) for code '{ev['code']}' "
                                    f"(node '{node.id}'); expected exactly one (codes: {', '.join(comp['code'])})")
            r = hit.iloc[0]
            base = {"node": node.id, "evidence": kind, "source": "mechanism_comparison.csv",
                    "verdict": str(r["verdict"]) if pd.notna(r["verdict"]) else ""}
            for measure, group, value, n, test in [
                ("mean", "more", r["mean_more"], r["n_more"], ""),
                ("mean", "less", r["mean_less"], r["n_less"], ""),
                ("difference", "", r["difference"], r["n_more"] + r["n_less"], ""),
                ("effect_size", "", r["effect_size"], r["n_more"] + r["n_less"], "Hedges g"),
                ("p_value", "", r["p_value"], r["n_more"] + r["n_less"], r["test"]),
            ]:
                if pd.notna(value):
                    rows.append({**base, "measure": measure if measure != "mean" else f"mean ({r['measure']})",
                                 "group": group, "value": float(value), "n": int(n), "test": str(test)})
        elif kind == "implementation":
            seg = tables["clinic_segments"]
            _check_groups(seg, "clinic_segments")
            rows += _group_means(seg, seg["implementation_share"].astype(float), node.id, kind,
                                 "clinic_segments.csv", "mean implementation share")
        elif kind == "connections":
            con = tables["stakeholder_connections"]
            _check_groups(con, "stakeholder_connections")
            codes = [c for c in con.columns if c not in ("clinic_id", "group")]
            connected = (con[codes].astype(float) > 0).sum(axis=1) if codes else pd.Series(0, index=con.index)
            rows += _group_means(con, connected.astype(float), node.id, kind, "stakeholder_connections.csv",
                                 "mean stakeholder groups connected per clinic")
            rows.append({"node": node.id, "evidence": kind, "source": "stakeholder_connections.csv",
                         "measure": "stakeholder groups coded", "group": "", "value": float(len(codes)),
                         "n": len(con), "test": "", "verdict": ""})
        elif kind == "survey":
            grp, eff = tables["survey_group_change"], tables["survey_effects"]
            _check_groups(grp, "survey_group_change")
            analysis = ev.get("analysis", DEFAULT_SURVEY_ANALYSIS)
            for g in GROUPS:
                hit = grp[grp["group"].eq(g)]
                if len(hit) > 1:
                    raise AnalysisError(f"survey_group_change.csv has {len(hit)} rows for group '{g}'; expected one")
                if len(hit) and pd.notna(hit["mean_change"].iloc[0]):
                    rows.append({"node": node.id, "evidence": kind, "source": "survey_group_change.csv",
                                 "measure": "mean change", "group": g, "value": float(hit["mean_change"].iloc[0]),
                                 "n": int(hit["n_clinics"].iloc[0]), "test": "", "verdict": ""})
            hit = eff[eff["analysis"].eq(analysis)]
            if len(hit) != 1:
                raise AnalysisError(f"survey_effects.csv has {len(hit)} row(s) for analysis '{analysis}' "
                                    f"(node '{node.id}', key 'evidence.analysis'); expected one "
                                    f"(analyses: {', '.join(eff['analysis'].astype(str))})")
            r = hit.iloc[0]
            if pd.notna(r["p_value"]):
                n = sum(int(r[c]) for c in ("n_more", "n_less") if pd.notna(r[c]))
                rows.append({"node": node.id, "evidence": kind, "source": "survey_effects.csv",
                             "measure": "p_value", "group": "", "value": float(r["p_value"]), "n": n,
                             "test": str(r["test"]), "verdict": ""})
    out = pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)
    out["n"] = out["n"].astype("int64")
    out["value"] = out["value"].astype("float64")
    return out


MINUS = "\u2212"


def fmt_number(value: float, decimals: int, signed: bool = False) -> str:
    """``value`` rounded half away from zero (2.25 -> 2.3), with a typographic minus."""
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)
    text = f"{rounded:+f}" if signed and rounded != 0 else f"{rounded:f}"
    return text.replace("-", MINUS)


def fmt_p(p: float) -> str:
    """p-value as journals print it: p = .021, p < .001."""
    if p < 0.001:
        return "p < .001"
    text = fmt_number(p, 3)
    return "p = " + (text[1:] if text.startswith("0") else text)


def _pick(d: pd.DataFrame, measure: str, group: str = ""):
    hit = d[d["measure"].str.startswith(measure) & d["group"].eq(group)]
    return hit.iloc[0] if len(hit) else None


def evidence_notes(model: Model, data: pd.DataFrame) -> dict[str, list[str]]:
    """The lines Figure B writes under each node's label, formatted from :func:`evidenced_model_data`."""
    notes = {}
    for node in model.nodes:
        if not node.evidence:
            continue
        d = data[data["node"].eq(node.id)].fillna({"group": ""})
        kind = node.evidence["kind"]

        def val(measure, group="", decimals=1, signed=False, percent=False):
            r = _pick(d, measure, group)
            if r is None:
                return "n/a"
            if percent:
                return f"{fmt_number(100 * r['value'], 0)}%"
            return fmt_number(r["value"], decimals, signed)

        if kind == "mechanism":
            lines = [f"more {val('mean', 'more')} vs less {val('mean', 'less')}"]
            g, p = _pick(d, "effect_size"), _pick(d, "p_value")
            stats = ", ".join(s for s in [f"g = {fmt_number(g['value'], 2)}" if g is not None else "",
                                          fmt_p(p["value"]) if p is not None else ""] if s)
            if stats:
                lines.append(stats)
            verdict = d["verdict"].iloc[0] if len(d) else ""
            if verdict:  # "strongly" or "strongly distinguishing"
                lines.append(verdict if verdict.endswith("distinguishing") else f"{verdict} distinguishing")
        elif kind == "implementation":
            lines = ["share implemented:",
                     f"more {val('mean', 'more', percent=True)}, less {val('mean', 'less', percent=True)}"]
        elif kind == "connections":
            total = _pick(d, "stakeholder groups coded")
            of = f" (of {fmt_number(total['value'], 0)})" if total is not None else ""
            lines = [f"groups connected per clinic{of}:",
                     f"more {val('mean', 'more')}, less {val('mean', 'less')}"]
        else:  # survey
            p = _pick(d, "p_value")
            lines = ["survey change:",
                     f"more {val('mean change', 'more', 2, True)}, less {val('mean change', 'less', 2, True)}",
                     fmt_p(p["value"]) if p is not None else "p n/a"]
        notes[node.id] = lines
    return notes


def evidenced_model_plot(model: Model, data: pd.DataFrame, width: float = plotting.TWO_COLUMNS, *,
                         orientation: str = "auto") -> Figure:
    """Figure B: the model with the numbers of :func:`evidenced_model_data` under the labels.

    A strip at the bottom is kept free for :func:`plotting.label_synthetic`'s stamp.
    """
    lay = layout(model, width, orientation=orientation, notes=evidence_notes(model, data))
    return draw(model, _fit_height(lay, bottom=STAMP_ROOM))


def evidenced_model_caption(model: Model, data: pd.DataFrame, synthetic: bool) -> str:
    parts = ["The conceptual model annotated with the study's data"
             + (" (SYNTHETIC data: the numbers illustrate the method, not the published study)." if synthetic else ".")]
    mech = data[data["evidence"].eq("mechanism")]
    if len(mech):
        unit = mech.loc[mech["measure"].str.startswith("mean"), "measure"].str.extract(r"\((.*)\)")[0].dropna()
        tests = sorted(set(mech.loc[mech["measure"].eq("p_value"), "test"]))
        measure = f" ({unit.iloc[0]})" if len(unit) else ""
        parts.append(f"Mechanisms: group means of the coding rate{measure} in clinics that implemented more vs "
                     f"less, standardised difference (Hedges g), p-value ({'; '.join(tests) or 'none'}) and "
                     "verdict, from mechanism_comparison.csv.")
    if data["evidence"].eq("connections").any():
        parts.append("Unity of effort: mean number of stakeholder groups per clinic whose coded segments overlap "
                     "a mechanism-coded segment, from stakeholder_connections.csv.")
    if data["evidence"].eq("implementation").any():
        parts.append("Implementation: mean implementation share per group, from clinic_segments.csv.")
    surv = data[data["evidence"].eq("survey")]
    if len(surv):
        tests = sorted(set(surv.loc[surv["measure"].eq("p_value"), "test"]))
        parts.append("Performance: mean change of the patient-survey composite per group, from "
                     f"survey_group_change.csv; p-value ({'; '.join(tests) or 'not available'}) "
                     "from survey_effects.csv.")
    counts = data.loc[data["group"].isin(GROUPS) & data["evidence"].eq("implementation"), ["group", "n"]]
    if len(counts):
        parts.append("Clinics: " + ", ".join(f"{g} n = {n}" for g, n in counts.itertuples(index=False)) + ".")
    return " ".join(parts)


# --- Figure C: per-clinic small multiples ----------------------------------------------------------

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
    _require_columns(mechanism_rates, "mechanism_rates")
    _require_columns(stakeholder_connections, "stakeholder_connections")
    mr = mechanism_rates
    if mr.empty:
        raise AnalysisError("mechanism_rates.csv has no clinics; expected one row per clinic")
    _check_groups(mr, "mechanism_rates")
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
        fig.canvas.draw()
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


def clinic_small_multiples_caption(data: pd.DataFrame, n_clinics: int, synthetic: bool) -> str:
    shown = data["panel"].nunique()
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
        "(vermillion)."
    )
