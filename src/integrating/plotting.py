"""Shared figure style: colour-blind-safe palette, fixed SVG ids, and the synthetic-data label."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import matplotlib
import matplotlib.pyplot as plt

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
ONE_COLUMN = 85 * MM
TWO_COLUMNS = 175 * MM


def use_style() -> None:
    """Apply the compendium's figure style; call once per notebook (idempotent)."""
    plt.rcParams.update(
        {
            "svg.hashsalt": "integrating",  # fixed SVG element ids: byte-identical reruns
            "svg.fonttype": "path",  # text as paths: renders the same anywhere
            "pdf.fonttype": 42,  # TrueType fonts embedded in PDFs
            "font.family": "DejaVu Sans",
            "font.size": 8,
            "axes.titlesize": 9,
            "axes.labelsize": 8,
            "xtick.labelsize": 7,
            "ytick.labelsize": 7,
            "legend.fontsize": 7,
            "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.dpi": 100,
            "savefig.dpi": 300,
        }
    )


def label_synthetic(fig, synthetic: bool) -> None:
    """Stamp 'SYNTHETIC DATA' on a figure drawn from the synthetic study."""
    if synthetic:
        fig.text(0.995, 0.005, "SYNTHETIC DATA", ha="right", va="bottom", fontsize=6, color="#666666",
                 fontweight="bold")


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


def preview(fig, dpi: int = 150):
    """The figure as a PNG for display in a notebook (the written files are the outputs)."""
    from io import BytesIO

    from IPython.display import Image

    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return Image(data=buffer.getvalue(), format="png")
