"""Atomic, deterministic writing of derived tables, texts and figures.

Everything is written to a temporary file in the target folder and renamed into place, so a crash
or a failed validation never leaves a half-written file or destroys the previous good output.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: Significant digits kept for floats in derived tables: stable across platforms, far beyond the data's precision.
FLOAT_FORMAT = "%.10g"


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


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def save_figure(fig, stem, *, formats=None, dpi: int | None = None, caption: str | None = None) -> list[Path]:
    """Save ``fig`` as ``stem.<format>`` for each format, at the figure's own size, without timestamps.

    Formats and raster resolution default to the configured ones (:data:`integrating.plotting.SETTINGS`:
    SVG, PDF and PNG at 600 dpi unless configured otherwise; TIFF is LZW-compressed, EPS is
    Encapsulated PostScript). The page is never cropped to the drawn content (no tight bounding box),
    so a figure made at 85 or 175 mm is that wide in every file; a figure laid out by constrained
    layout is laid out once and frozen first (:func:`integrating.plotting.freeze_layout`).
    SVG ids are fixed by ``svg.hashsalt``, PDF, SVG and EPS carry no creation date and PNG no software
    tag, so two runs give identical bytes. A caption, when given, is written to ``stem.txt``.

    A figure that has not changed is not rendered again: when SVG is among the formats, it is drawn
    first, and if it equals the SVG already there, and the other files are those this function wrote
    from it with the same settings (a hidden ``.<stem>.render.json`` beside them records their SHA-256),
    they are kept as they are. The SVG holds every mark, text outline and embedded image of the
    figure, so the same SVG at the same resolution, style and matplotlib version gives the same files.
    The fonts' subsets embedded in PDF and EPS files are kept beside them for the next render
    (:mod:`integrating.font_subsets`).
    """
    import re
    import warnings
    from io import BytesIO

    from . import font_subsets, plotting

    settings = plotting.SETTINGS
    formats = settings.all_formats() if formats is None else tuple(formats)
    dpi = settings.dpi if dpi is None else dpi
    unknown = [f for f in formats if f not in plotting.FORMATS]
    if unknown:
        raise ValueError(f"figure format(s) {unknown}: expected some of {', '.join(plotting.FORMATS)}")
    plotting.freeze_layout(fig)
    stem = Path(stem)
    written = []
    options = {
        "svg": {"metadata": {"Date": None, "Creator": None}},
        "pdf": {"metadata": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None}},
        "png": {"metadata": {"Software": None}},
        "tiff": {"pil_kwargs": {"compression": "tiff_lzw"}},
        "eps": {},
    }
    # With SVG and another format, what was made from the same SVG is kept (see above).
    rendered = _Rendered(stem, fig, formats, dpi, options["svg"]) if "svg" in formats and len(formats) > 1 else None
    for fmt in formats:
        target = stem.with_suffix(f".{fmt}")
        if rendered is not None and rendered.done(fmt):
            written.append(target)
            continue
        with atomic_path(target) as tmp, font_subsets.kept(stem.parent / font_subsets.FOLDER):
            if fmt == "eps":
                buffer = BytesIO()
                with warnings.catch_warnings():  # PostScript has no transparency: drawn opaque, as documented
                    warnings.filterwarnings("ignore", message="The PostScript backend does not support transparency")
                    fig.savefig(buffer, format="eps", dpi=dpi)
                tmp.write_bytes(re.sub(rb"%%CreationDate: [^\n]*\n", b"", buffer.getvalue(), count=1))
            else:
                fig.savefig(tmp, format=fmt, dpi=dpi, **options[fmt])
        written.append(target)
    if rendered is not None:
        rendered.remember()
    if caption is not None:
        written.append(write_text(stem.with_suffix(".txt"), caption.strip() + "\n"))
    return written


class _Rendered:
    """The files of one figure and what they were rendered from (see :func:`save_figure`)."""

    def __init__(self, stem: Path, fig, formats, dpi: int, svg_options: dict):
        from io import BytesIO

        import matplotlib

        buffer = BytesIO()
        fig.savefig(buffer, format="svg", dpi=dpi, **svg_options)
        self.svg = buffer.getvalue()
        self.stem, self.formats = stem, tuple(formats)
        style = json.dumps({k: repr(v) for k, v in sorted(matplotlib.rcParams.items())})
        self.source = {"svg": hashlib.sha256(self.svg).hexdigest(), "dpi": dpi, "matplotlib": matplotlib.__version__,
                       "style": hashlib.sha256(style.encode()).hexdigest()}
        self.path = stem.with_name(f".{stem.name}.render.json")
        try:
            before = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            before = {}
        self.unchanged = before.get("source") == self.source and _sha256(stem.with_suffix(".svg")) == self.source["svg"]
        self.files = before.get("files", {}) if self.unchanged else {}

    def done(self, fmt: str) -> bool:
        """Whether ``stem.<fmt>`` needs no rendering: the SVG (written here, if it changed), or a file
        made from this same SVG."""
        target = self.stem.with_suffix(f".{fmt}")
        if fmt == "svg":
            if not self.unchanged:
                write_bytes(target, self.svg)
            return True
        return self.unchanged and self.files.get(fmt) is not None and _sha256(target) == self.files[fmt]

    def remember(self) -> None:
        files = {fmt: _sha256(self.stem.with_suffix(f".{fmt}")) for fmt in self.formats if fmt != "svg"}
        write_json(self.path, {"source": self.source, "files": files})


def _sha256(path) -> str | None:
    """:func:`sha256`, or None for a file that is not there."""
    try:
        return sha256(path)
    except OSError:
        return None
