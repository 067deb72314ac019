"""The conceptual model drawn as a layered diagram (Figure A): layout of boxes, groups and arrows, and drawing.

Layers run left to right at two journal columns and top to bottom at one column. Boxes are sized to
their wrapped labels and arrows are attached to the boxes' edges; :mod:`integrating.overlap` checks
the drawn figure for any overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from . import io, paths, plotting
from .conceptual_model import KINDS, Edge, Model, Node, load
from .errors import AnalysisError
from .figure_text import ARROW_COLOR, EDGE_STYLE, LABEL_SIZE, LABEL_STYLE, NOTE_STYLE, TITLE_STYLE, TextStyle, longest_word, text_extent, wrap

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
