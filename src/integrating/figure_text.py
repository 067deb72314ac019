"""Figure text measured and wrapped in points, so boxes and panels are sized to their labels.

Geometry is computed in points (1/72 inch) in an axes that spans the whole figure, so font sizes and
box sizes share one unit; text is measured with the Agg renderer at two resolutions and the larger
extent kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

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


def shorten(text: str, width: float, style: TextStyle = LABEL_STYLE) -> str:
    """``text`` cut at the end (with an ellipsis) so that it is at most ``width`` points wide on one line."""
    if text_extent(text, style)[0] <= width:
        return text
    words = text.split()
    while len(words) > 1 and text_extent(" ".join(words) + "\u2026", style)[0] > width:
        words.pop()
    short = " ".join(words)
    while len(short) > 1 and text_extent(short + "\u2026", style)[0] > width:
        short = short[:-1]
    return short.rstrip(" ,;:-") + "\u2026"


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
