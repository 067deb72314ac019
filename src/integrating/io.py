"""Atomic, deterministic writing of derived tables, texts and figures.

Everything is written to a temporary file in the target folder and renamed into place, so a crash
or a failed validation never leaves a half-written file or destroys the previous good output.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: Significant digits kept for floats in derived tables: stable across platforms, far beyond the data's precision.
FLOAT_FORMAT = "%.10g"
FIGURE_FORMATS = ("svg", "pdf", "png")
PNG_DPI = 300


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    return Path(path)


def write_bytes(path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path, obj) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")


def write_table(df, path, *, sort_by=None) -> Path:
    """Write a DataFrame as CSV with fixed float formatting and row order (byte-identical reruns)."""
    if sort_by is not None:
        df = df.sort_values(sort_by, kind="mergesort").reset_index(drop=True)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return Path(path)


def save_figure(fig, stem, *, formats=FIGURE_FORMATS, caption: str | None = None) -> list[Path]:
    """Save ``fig`` as ``stem.svg``, ``stem.pdf`` and ``stem.png`` (300 dpi) without timestamps.

    SVG ids are fixed by ``svg.hashsalt`` (set in :mod:`integrating.plotting`), PDF and SVG carry no
    creation date, and PNG no software tag, so two runs give identical bytes. A caption, when given,
    is written to ``stem.txt``.
    """
    stem = Path(stem)
    written = []
    metadata = {
        "svg": {"Date": None, "Creator": None},
        "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
        "png": {"Software": None},
    }
    # The tight bounding box is computed once, not once per format (each costs a full draw).
    import matplotlib.pyplot as plt

    bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
    for fmt in formats:
        target = stem.with_suffix(f".{fmt}")
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=PNG_DPI, metadata=metadata.get(fmt), bbox_inches=bbox)
        written.append(target)
    if caption is not None:
        written.append(write_text(stem.with_suffix(".txt"), caption.strip() + "\n"))
    return written
