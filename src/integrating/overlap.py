"""The overlap check of drawn figures: every text, box and arrow measured by the renderer, no two colliding."""

from __future__ import annotations

from matplotlib.path import Path as MplPath
from matplotlib.transforms import Bbox

from .errors import AnalysisError

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
