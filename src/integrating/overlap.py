"""The overlap check of drawn figures: every text, box and arrow measured by the renderer, no two colliding."""

from __future__ import annotations

from matplotlib.path import Path as MplPath
from matplotlib.transforms import Bbox, BboxBase

from .errors import AnalysisError

TEXT_ROLES = ("text", "note", "title", "elabel", "stamp")
SHAPE_ROLES = ("box", "frame")


def drawn_extents(fig) -> list[dict]:
    """Every identified artist of a drawn figure with its display extent (or path, for arrows).

    Artists are identified by their gid, ``<role>-<owner>``: box, frame, text, note, title, elabel
    and arrow (owner ``<from>-<to>``).
    """
    fig.draw_without_rendering()  # positions and extents, without painting pixels
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


def warn_layout(fig) -> list[str]:
    """Report every overlap found by :func:`layout_problems` as a :class:`LayoutWarning` (the figure is
    still written: real labels must never stop a run); returns the problems."""
    import warnings

    from .errors import LayoutWarning

    problems = layout_problems(fig)
    for problem in problems:
        warnings.warn(f"figure layout: {problem}", LayoutWarning, stacklevel=2)
    return problems


def check_layout(fig) -> None:
    """Raise :class:`AnalysisError` listing every overlap found by :func:`layout_problems`."""
    problems = layout_problems(fig)
    if problems:
        raise AnalysisError("the drawn figure has overlaps: " + "; ".join(problems)
                            + " (change the model file's labels or layers, or draw wider)")


# --- any matplotlib figure -----------------------------------------------------------------------

from .plotting import ON_DATA  # noqa: E402  (a text on the data on purpose)


def _drawn_ticklabels(axis) -> list:
    try:
        ticks = axis._update_ticks()  # the ticks drawn (inside the view limits)
    except AttributeError:  # pragma: no cover - older or newer matplotlib
        ticks = axis.get_major_ticks() + axis.get_minor_ticks()
    return [lab for t in ticks for lab in (t.label1, t.label2) if lab.get_visible() and t.get_visible()]


def _texts(fig) -> list[dict]:
    """Every visible, non-empty text of the figure with its role: figure, title, label, tick, offset,
    annotation (inside an axes) or legend (a legend as a whole)."""
    items = []

    def add(artist, role, ax=None):
        if artist is not None and artist.get_visible() and artist.get_text().strip():
            items.append({"artist": artist, "role": role, "ax": ax})

    for t in fig.texts:
        add(t, "figure")
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for title in (ax.title, ax._left_title, ax._right_title):
            add(title, "title", ax)
        for t in ax.texts:
            add(t, "annotation", ax)
        if ax.axison:
            for axis in (ax.xaxis, ax.yaxis):
                if not axis.get_visible():
                    continue
                add(axis.label, "label", ax)
                add(axis.offsetText, "offset", ax)
                for t in _drawn_ticklabels(axis):
                    add(t, "tick", ax)
    return items


def _legends(fig) -> list:
    legends = [ax.get_legend() for ax in fig.axes if ax.get_visible() and ax.get_legend() is not None]
    return [lg for lg in legends + list(fig.legends) if lg.get_visible()]


def _name(item) -> str:
    artist = item["artist"]
    return f"{item['role']} {artist.get_text()!r}" if hasattr(artist, "get_text") else item["role"]


def _data_shapes(ax, renderer) -> list[tuple[str, object]]:
    """The data drawn in an axes, as (description, points or Bbox) in display units."""
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.image import AxesImage
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    import numpy as np

    shapes = []
    for artist in ax.get_children():
        if not artist.get_visible() or artist is ax.patch or artist in ax.spines.values():
            continue
        if isinstance(artist, Line2D):
            path = artist.get_transform().transform_path(artist.get_path())
            points = np.vstack([_dense(np.asarray(p)) for p in path.to_polygons(closed_only=False) if len(p)]) \
                if len(path.vertices) else np.empty((0, 2))
            shapes.append((f"line {artist.get_label()!r}", points))
        elif isinstance(artist, PathCollection):
            offsets = artist.get_offset_transform().transform(artist.get_offsets())
            shapes.append(("points", np.asarray(offsets)))
        elif isinstance(artist, LineCollection):
            segs = [artist.get_transform().transform(np.asarray(s)) for s in artist.get_segments() if len(s)]
            shapes.append(("lines", np.vstack([_dense(s) for s in segs]) if segs else np.empty((0, 2))))
        elif isinstance(artist, (Patch, AxesImage)):
            box = artist.get_window_extent(renderer)
            if box.width > 0 and box.height > 0:
                shapes.append(("bar" if isinstance(artist, Patch) else "image", box))
    return shapes


def _dense(points, step: float = 1.0):
    import numpy as np

    points = np.asarray(points, dtype=float)
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) < 2:
        return points.reshape(-1, 2)
    out = [points[:1]]
    for p, q in zip(points[:-1], points[1:]):
        n = min(max(int(np.hypot(*(q - p)) / step), 1), 10_000)
        out.append(p + (q - p) * np.linspace(0, 1, n + 1)[1:, None])
    return np.vstack(out)


def _hits(shape, box: Bbox, tol: float) -> bool:
    if isinstance(shape, BboxBase):
        return _overlap(shape, box, tol)
    pts = shape
    return bool(len(pts) and ((pts[:, 0] > box.x0 + tol) & (pts[:, 0] < box.x1 - tol)
                              & (pts[:, 1] > box.y0 + tol) & (pts[:, 1] < box.y1 - tol)).any())


def figure_problems(fig, *, min_size: float | None = None, tol: float = 0.5) -> list[str]:
    """Layout problems of any drawn matplotlib figure (empty list: none), measured by the renderer:

    * a text smaller than ``min_size`` points (default :data:`integrating.plotting.MIN_FONT_SIZE`);
    * a text or legend outside the figure;
    * two texts overlapping, or a text overlapping a legend it is not part of;
    * a figure text (the synthetic-data stamp), title, axis label or tick label on the data area of
      an axes (the frame of an axes with its axis drawn, the drawn data of one without);
    * a legend on the data (lines, points, bars, images) of any axes;
    * a text inside an axes (annotation) on that axes' data, unless it has a gid: :data:`ON_DATA` (a
      value written on its cell or edge on purpose), or a model figure's ``<role>-<owner>`` (its place
      in its box is checked by :func:`layout_problems`).
    """
    from . import plotting

    min_size = plotting.MIN_FONT_SIZE if min_size is None else min_size
    fig.draw_without_rendering()  # positions and extents, without painting pixels
    renderer = fig.canvas.get_renderer()
    texts = _texts(fig)
    for t in texts:
        t["bbox"] = t["artist"].get_window_extent(renderer)
    legends = _legends(fig)
    legend_texts = [lt for lg in legends for lt in [*lg.get_texts(), lg.get_title()]
                    if lt.get_visible() and lt.get_text().strip()]
    problems = []
    for t in texts + [{"artist": lt, "role": "legend text"} for lt in legend_texts]:
        size = t["artist"].get_fontsize()
        if size < min_size - 1e-9:
            problems.append(f"{_name(t)} is {size:g} pt; expected at least {min_size:g} pt")
    for t in texts:
        if not _inside(t["bbox"], fig.bbox, tol):
            problems.append(f"{_name(t)} extends outside the figure")
    legend_boxes = [(lg, lg.get_window_extent(renderer)) for lg in legends]
    for lg, box in legend_boxes:
        if not _inside(box, fig.bbox, tol):
            problems.append(f"legend {_legend_name(lg)} extends outside the figure")
    for k, a in enumerate(texts):
        for b in texts[k + 1:]:
            if _overlap(a["bbox"], b["bbox"], tol):
                problems.append(f"{_name(a)} overlaps {_name(b)}")
        for lg, box in legend_boxes:
            if _overlap(a["bbox"], box, tol):
                problems.append(f"{_name(a)} overlaps legend {_legend_name(lg)}")
    for k, (lg, box) in enumerate(legend_boxes):
        for lg2, box2 in legend_boxes[k + 1:]:
            if _overlap(box, box2, tol):
                problems.append(f"legend {_legend_name(lg)} overlaps legend {_legend_name(lg2)}")
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        shapes = _data_shapes(ax, renderer)
        area = [("axes area", ax.bbox)] if ax.axison else shapes
        for t in texts:
            if t["role"] == "annotation":
                if t["ax"] is ax and not t["artist"].get_gid():
                    problems += [f"{_name(t)} lies on the {what}" for what, s in shapes
                                 if _hits(s, t["bbox"], tol)][:1]
            elif not (t["role"] in ("tick", "offset") and t["ax"] is ax):
                problems += [f"{_name(t)} lies on the {what} of axes {_axes_name(ax)}" for what, s in area
                             if _hits(s, t["bbox"], tol)][:1]
        for lg, box in legend_boxes:
            problems += [f"legend {_legend_name(lg)} lies on the {what} of axes {_axes_name(ax)}"
                         for what, s in shapes if _hits(s, box, tol)][:1]
    return problems


def _legend_name(legend) -> str:
    return repr([t.get_text() for t in legend.get_texts()][:3])


def _axes_name(ax) -> str:
    title = ax.get_title() or ax.get_title(loc="left") or ax.get_ylabel() or ax.get_xlabel()
    return repr(title.replace("\n", " ")) if title else f"#{ax.figure.axes.index(ax)}"


def check_figure(fig) -> None:
    """Raise :class:`AnalysisError` listing every problem found by :func:`figure_problems`."""
    problems = figure_problems(fig)
    if problems:
        raise AnalysisError("the drawn figure has layout problems: " + "; ".join(problems))
