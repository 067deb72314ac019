"""Shared figure style: the seaborn theme, colour-blind-safe palette, fixed SVG ids, exact column widths,
the configured formats and resolution, and the synthetic-data label."""

from __future__ import annotations

from dataclasses import dataclass, replace

import matplotlib
import matplotlib.pyplot as plt

from .errors import ConfigError, LayoutWarning  # noqa: F401  (LayoutWarning: see finish)
from .rounding import round_half_away

#: Okabe-Ito palette (colour-blind safe). Groups keep the same colour in every figure.
OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"]
GROUP_COLORS = {"more": "#0072B2", "less": "#D55E00"}
GROUP_LABELS = {"more": "implemented more", "less": "implemented less"}
MECHANISMS = ["engaging_groups", "bridging_communication", "sensemaking", "negotiating"]
MECHANISM_LABELS = {
    "engaging_groups": "Engaging groups",
    "bridging_communication": "Bridging communication",
    "sensemaking": "Sensemaking",
    "negotiating": "Negotiating",
}
MM = 1 / 25.4  # inches per millimetre
ONE_COLUMN = 85 * MM  # default widths; the configured ones: width("one"), width("two")
TWO_COLUMNS = 175 * MM
#: Smallest text at final size (points); the overlap check (integrating.overlap.figure_problems) enforces it.
MIN_FONT_SIZE = 6.0
#: Height (points) of the strip kept free at the bottom of a figure for the synthetic-data stamp.
STAMP_STRIP = 11.0
STAMP_TEXT = "SYNTHETIC DATA"
STAMP_GID = "stamp-synthetic"
#: gid of a text written on the data on purpose (a heatmap cell's value, an edge's weight): the overlap
#: check (integrating.overlap.figure_problems) lets it lie on the data.
ON_DATA = "on-data"
FORMATS = ("svg", "pdf", "png", "tiff", "eps")


@dataclass(frozen=True)
class FigureSettings:
    """How figures are written: formats, raster resolution, base font size and column widths (mm).

    ``extra_formats`` are written besides ``formats`` (the figure pack's format, for one)."""

    formats: tuple[str, ...] = ("svg", "pdf", "png")
    dpi: int = 600
    font_size: float = 8.0
    one_column_mm: float = 85.0
    two_columns_mm: float = 175.0
    extra_formats: tuple[str, ...] = ()

    def all_formats(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.formats, *self.extra_formats)))


SETTINGS = FigureSettings()


def configure(*, formats=None, dpi=None, font_size=None, one_column_mm=None, two_columns_mm=None,
              extra_formats=None) -> FigureSettings:
    """Set the figure settings of this process (keys left as None keep their value); checked here."""
    global SETTINGS
    changes = {k: v for k, v in dict(formats=formats, dpi=dpi, font_size=font_size, one_column_mm=one_column_mm,
                                     two_columns_mm=two_columns_mm, extra_formats=extra_formats).items()
               if v is not None}
    for key in ("formats", "extra_formats"):
        if key in changes:
            value = (changes[key],) if isinstance(changes[key], str) else tuple(changes[key])
            unknown = [f for f in value if f not in FORMATS]
            if unknown or (key == "formats" and not value):
                raise ConfigError(f"figure format(s) {unknown or value!r}: expected a non-empty list of "
                                  f"{', '.join(FORMATS)}")
            changes[key] = value
    settings = replace(SETTINGS, **changes)
    if settings.dpi < 72:
        raise ConfigError(f"figure dpi is {settings.dpi}; expected at least 72")
    if settings.font_size - 1 < MIN_FONT_SIZE:
        raise ConfigError(f"base font size is {settings.font_size} pt; expected at least {MIN_FONT_SIZE + 1:g} "
                          f"(tick labels are 1 pt smaller and no text may be under {MIN_FONT_SIZE:g} pt)")
    if not 20 <= settings.one_column_mm <= settings.two_columns_mm:
        raise ConfigError(f"column widths {settings.one_column_mm:g} and {settings.two_columns_mm:g} mm: expected "
                          "20 mm <= one column <= two columns")
    SETTINGS = settings
    return settings


#: config.yaml's figure keys and the :func:`configure` argument each sets.
CONFIG_KEYS = {"figure_formats": "formats", "figure_dpi": "dpi", "figure_font_size": "font_size",
               "figure_width_one_column_mm": "one_column_mm", "figure_width_two_columns_mm": "two_columns_mm"}


def config_settings(cfg: dict) -> dict:
    """The :func:`configure` arguments given by a config's figure keys (the pack's format as an extra format)."""
    out = {arg: cfg[key] for key, arg in CONFIG_KEYS.items() if key in cfg}
    if "figure_pack_format" in cfg:
        out["extra_formats"] = [cfg["figure_pack_format"]]
    return out


def width(columns: str = "one") -> float:
    """The configured width in inches of a one-column (``"one"``) or two-column (``"two"``) figure."""
    if columns not in ("one", "two"):
        raise ValueError(f"figure width {columns!r}: expected 'one' or 'two'")
    return (SETTINGS.one_column_mm if columns == "one" else SETTINGS.two_columns_mm) * MM


def use_style(**settings) -> None:
    """Apply the compendium's figure style (seaborn theme + fixed ids); call once per notebook (idempotent).

    Keyword arguments are passed to :func:`configure` (formats, dpi, font_size, column widths)."""
    import seaborn as sns

    configure(**settings)
    base = float(SETTINGS.font_size)
    sns.set_theme(context="paper", style="ticks", palette=OKABE_ITO, rc={
        "svg.hashsalt": "integrating",  # fixed SVG element ids: byte-identical reruns
        "svg.fonttype": "path",  # text as paths: renders the same anywhere
        "pdf.fonttype": 42,  # TrueType fonts embedded in PDFs
        "ps.fonttype": 42,
        "font.family": "DejaVu Sans",  # bundled with matplotlib: the same glyphs on every machine
        "font.size": base,
        "axes.titlesize": base + 1,
        "axes.labelsize": base,
        "xtick.labelsize": base - 1,
        "ytick.labelsize": base - 1,
        "legend.fontsize": base - 1,
        "legend.title_fontsize": base - 1,
        "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.linewidth": 0.6,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "figure.dpi": 100,
        "savefig.dpi": SETTINGS.dpi,
        "figure.constrained_layout.h_pad": 2 / 72,
        "figure.constrained_layout.w_pad": 2 / 72,
    })


def new_figure(columns: str = "one", height: float = 2.5, *, nrows: int = 1, ncols: int = 1, **subplots):
    """A figure of the configured column width (``"one"`` or ``"two"``) and ``height`` inches, laid
    out by matplotlib's constrained layout, so that its size is exact whatever it holds.

    Returns ``(fig, axes)`` as :func:`matplotlib.pyplot.subplots` does; ``nrows=0`` returns
    ``(fig, None)`` for plot functions that make their own axes. Finish it with :func:`finish`.
    """
    fig = plt.figure(figsize=(width(columns), height), layout="constrained")
    if nrows == 0:
        return fig, None
    return fig, fig.subplots(nrows, ncols, **subplots)


def finish(fig, synthetic: bool, *, check: bool = True):
    """Lay ``fig`` out at its exact size and stamp it 'SYNTHETIC DATA' when the data are synthetic.

    With constrained layout, a strip of :data:`STAMP_STRIP` points is kept free at the bottom for the
    stamp, so it cannot overlap a label; the layout is then computed and frozen (the saved files keep
    the figure's size and identical bytes between runs). With ``check``, the drawn figure is measured
    (:func:`integrating.overlap.figure_problems`) and every problem found is reported as a
    :class:`LayoutWarning` (shown in the executed notebook). Returns ``fig``.
    """
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    engine = fig.get_layout_engine()
    constrained = isinstance(engine, ConstrainedLayoutEngine)
    if synthetic and constrained:
        strip = STAMP_STRIP / 72 / fig.get_figheight()
        engine.set(rect=(0, strip, 1, 1 - strip))
    label_synthetic(fig, synthetic)
    freeze_layout(fig)
    if check:
        import warnings

        from .overlap import figure_problems

        for problem in figure_problems(fig):
            warnings.warn(f"figure layout: {problem}", LayoutWarning, stacklevel=2)
    return fig


def freeze_layout(fig) -> None:
    """Run the figure's layout engine to convergence and keep the positions it found."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        for _ in range(2):  # the second pass settles positions that depend on the first
            fig.draw_without_rendering()
        fig.set_layout_engine("none")


def label_synthetic(fig, synthetic: bool) -> None:
    """Stamp 'SYNTHETIC DATA' in the bottom-right corner of a figure drawn from the synthetic study
    (figures made by :func:`new_figure` keep that strip free when finished by :func:`finish`)."""
    if synthetic and not any(t.get_gid() == STAMP_GID for t in fig.texts):
        pad = 1.5 / 72  # inches
        fig.text(1 - pad / fig.get_figwidth(), pad / fig.get_figheight(), STAMP_TEXT, ha="right", va="bottom",
                 fontsize=MIN_FONT_SIZE, color="#666666", fontweight="bold", gid=STAMP_GID)


MINUS = "\u2212"


def fmt_number(value: float, decimals: int, signed: bool = False) -> str:
    """``value`` rounded half away from zero (2.25 -> 2.3), with a typographic minus."""
    rounded = round_half_away(value, decimals)
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


def preview(fig, dpi: int = 150):
    """The figure as a PNG for display in a notebook (the written files are the outputs)."""
    from io import BytesIO

    from IPython.display import Image

    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return Image(data=buffer.getvalue(), format="png")


def not_computable_figure(analysis: str, reason: str, *, synthetic: bool = False):
    """A one-column panel that says why a figure is not drawn (the data cannot support its analysis)."""
    import textwrap

    lines = textwrap.wrap(f"Not computable on these data ({analysis}): {reason}", 58, break_long_words=False)
    fig, ax = new_figure("one", 0.5 + 0.14 * len(lines))
    ax.set_axis_off()
    ax.text(0.5, 0.5, "\n".join(lines), ha="center", va="center", fontsize=MIN_FONT_SIZE + 1, color="#5f6368",
            transform=ax.transAxes, gid="not-computable")
    return finish(fig, synthetic, check=False)


def short_labels(labels: dict, max_chars: int = 26) -> dict:
    """Labels for figures: each longer than ``max_chars`` cut at a word (with an ellipsis); real codebooks
    have long labels, and a figure must lay them out, never stop. :func:`label_key` spells them out."""
    out = {}
    for key, label in labels.items():
        label = str(label)
        if len(label) <= max_chars:
            out[key] = label
            continue
        cut = label[: max_chars - 1].rsplit(" ", 1)[0] if " " in label[: max_chars - 1] else label[: max_chars - 1]
        out[key] = cut.rstrip(" ,;:-") + "\u2026"
    return out


def label_key(labels: dict, short: dict) -> str:
    """A caption sentence giving the labels :func:`short_labels` shortened in full ("" when none was)."""
    pairs = [f"{short[k]} = {labels[k]}" for k in labels if k in short and short[k] != str(labels[k])]
    return (" Shortened labels in full: " + "; ".join(pairs) + ".") if pairs else ""
