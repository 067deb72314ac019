"""Font subsets kept between renders of the figures' PDF and EPS files.

Matplotlib embeds a figure's fonts in a PDF (and an EPS) as TrueType subsets (``pdf.fonttype`` 42,
which journals accept, unlike Type 3), each made by fontTools for every file written: about 0.15 s
a font, most of the time a PDF takes to write. A subset depends only on the font file and the
characters drawn (and the versions of matplotlib and fontTools), so :func:`kept` keeps each one in
a hidden folder beside the figures, and a later render with the same font and characters, in this
run or the next, reads it instead. A kept subset is used only when it reads back to its own bytes,
so a figure's files are the same bytes with or without it (tested).
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from functools import lru_cache
from io import BytesIO
from pathlib import Path

#: The hidden folder, beside a figure's files, that holds the subsets.
FOLDER = ".font-subsets"


@lru_cache(maxsize=None)
def _font_digest(fontfile: str, size: int, mtime_ns: int) -> str:
    from .io import sha256

    return sha256(fontfile)


def _font(data: bytes):
    """The subset ``data`` as fontTools reads it (as matplotlib's subsetter opens fonts: nothing
    recalculated on saving)."""
    from fontTools.ttLib import TTFont

    return TTFont(BytesIO(data), recalcBBoxes=False, recalcTimestamp=False)


@contextmanager
def kept(folder):
    """Within the block, matplotlib's font subsets are read from, and kept in, ``folder``."""
    import matplotlib
    from fontTools import version as fonttools_version
    from matplotlib.backends import _backend_pdf_ps as pdf_ps

    from .io import write_bytes

    folder, make = Path(folder), pdf_ps.get_glyphs_subset

    def get_glyphs_subset(fontfile, characters):
        info = os.stat(fontfile)
        what = [matplotlib.__version__, fonttools_version,
                _font_digest(os.fspath(fontfile), info.st_size, info.st_mtime_ns), characters]
        path = folder / f"{hashlib.sha256(json.dumps(what).encode()).hexdigest()[:32]}.ttf"
        try:
            data = path.read_bytes()
            font = _font(data)
            if pdf_ps.font_as_file(font).getvalue() == data:
                return font
        except Exception:  # missing, unreadable or damaged: made again below
            pass
        font = make(fontfile, characters)
        data = pdf_ps.font_as_file(font).getvalue()
        if pdf_ps.font_as_file(_font(data)).getvalue() == data:
            write_bytes(path, data)
        return font

    pdf_ps.get_glyphs_subset = get_glyphs_subset
    try:
        yield
    finally:
        pdf_ps.get_glyphs_subset = make
