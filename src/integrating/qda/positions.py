"""Position units of coded selections, and their conversion to the contract's code-point offsets.

The contract counts 0-based Unicode code points in the text as read with universal newlines
(every CRLF or lone CR becomes LF). QDA programs count differently: REFI-QDA specifies characters
(code points) of the stored text, but some programs count UTF-16 code units (characters outside the
Basic Multilingual Plane, such as many emoji, count twice) and some count every line end as CRLF
(two units) whatever the stored text holds. A *scheme* is one (unit, line_ends) pair:

* unit ``codepoints`` or ``utf16``;
* line_ends ``stored`` (as in the stored text), ``crlf`` (each line end counts as two) or ``lf``
  (each line end counts as one).

With ``auto``, every scheme is tried on the whole project: a scheme is *feasible* when every
selection boundary lies inside its text and on a unit boundary (not inside a surrogate pair or a
CRLF pair); among feasible schemes that disagree, the one whose boundaries split fewest words wins,
ties going to the first in :data:`SCHEMES` (the REFI-QDA default first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ImportQDAError

UNITS = ("codepoints", "utf16")
LINE_ENDS = ("stored", "crlf", "lf")
SCHEMES = tuple((u, l) for l in LINE_ENDS for u in UNITS)


def normalize_newlines(text: str) -> str:
    """The text as the contract reads it: CRLF and lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


@dataclass
class TextUnits:
    """Cumulative unit counts of one stored text, for every scheme."""

    text: str  # the stored text (byte-order mark removed)

    def __post_init__(self):
        cp = _codepoints(self.text)
        n = len(cp)
        is_cr = cp == 13
        is_lf = cp == 10
        next_lf = np.zeros(n, bool)
        next_lf[:-1] = is_lf[1:]
        prev_cr = np.zeros(n, bool)
        prev_cr[1:] = is_cr[:-1]
        cr_pair = is_cr & next_lf  # CR of a CRLF pair
        lone_end = (is_lf & ~prev_cr) | (is_cr & ~next_lf)
        self.length = n
        self._norm = _cum(1 - cr_pair.astype(np.int64))
        cr_pair = cr_pair.astype(np.int64)
        lone_end = lone_end.astype(np.int64)
        wide = (cp > 0xFFFF).astype(np.int64)
        self._widths = {}
        for unit in UNITS:
            base = 1 + wide if unit == "utf16" else np.ones(n, dtype=np.int64)
            self._widths[(unit, "stored")] = base
            self._widths[(unit, "crlf")] = base + lone_end
            self._widths[(unit, "lf")] = base - cr_pair
        self._cum = {}

    def cum(self, scheme) -> np.ndarray:
        if scheme not in self._cum:
            self._cum[scheme] = _cum(self._widths[scheme])
        return self._cum[scheme]

    def convert(self, scheme, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map positions counted in ``scheme`` to normalized code points; also return which were valid."""
        cum = self.cum(scheme)
        positions = np.asarray(positions, dtype=np.int64)
        k = np.searchsorted(cum, positions, side="left")
        kc = np.minimum(k, len(cum) - 1)
        valid = (positions >= 0) & (k < len(cum)) & (cum[kc] == positions)
        return self._norm[kc], valid


def _cum(widths) -> np.ndarray:
    out = np.zeros(len(widths) + 1, dtype=np.int64)
    np.cumsum(widths, out=out[1:])
    return out


def _inside_word_count(normalized: str, positions: np.ndarray) -> int:
    """How many of ``positions`` (normalized code points) fall between two word characters."""
    if len(positions) == 0 or not normalized:
        return 0
    cp = _codepoints(normalized)
    uniq, inverse = np.unique(cp, return_inverse=True)
    word = np.array([chr(c).isalnum() for c in uniq.tolist()], dtype=bool)[inverse]
    p = positions[(positions > 0) & (positions < len(cp))]
    return int(np.count_nonzero(word[p - 1] & word[p]))


def choose_scheme(texts: dict, selections: dict, unit: str = "auto", line_ends: str = "auto"):
    """Pick the scheme of a project's selection positions.

    ``texts`` maps a source key to its stored text; ``selections`` maps the same key to a pair of
    integer arrays (starts, ends). Returns ``(scheme, details, converted)``: details holds the
    word-split score of each competing scheme and whether the choice was a tie; converted maps each
    key to its (starts, ends) in normalized code points. When no allowed scheme fits, returns
    ``(None, failures, None)``, failures mapping each scheme to the (key, index) of its first misfit.
    """
    if unit not in ("auto",) + UNITS:
        raise ImportQDAError(f"position unit {unit!r} is unknown; expected auto, codepoints or utf16")
    if line_ends not in ("auto",) + LINE_ENDS:
        raise ImportQDAError(f"line_ends {line_ends!r} is unknown; expected auto, stored, crlf or lf")
    allowed = [s for s in SCHEMES if unit in ("auto", s[0]) and line_ends in ("auto", s[1])]
    units = {key: TextUnits(texts[key]) for key in selections}
    feasible, failures, results = [], {}, {}
    for scheme in allowed:
        converted, ok = {}, True
        for key, (starts, ends) in selections.items():
            s, vs = units[key].convert(scheme, starts)
            e, ve = units[key].convert(scheme, ends)
            bad = ~(vs & ve) | (s >= e)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                failures[scheme] = (key, i)
                ok = False
                break
            converted[key] = (s, e)
        if ok:
            feasible.append(scheme)
            results[scheme] = converted
    if not feasible:
        return None, failures, None
    # Keep one scheme per distinct result (schemes that agree on this project are equivalent).
    distinct = []
    for scheme in feasible:
        if not any(_same(results[scheme], results[d]) for d in distinct):
            distinct.append(scheme)
    if len(distinct) == 1:
        return feasible[0], {}, results[feasible[0]]
    scores = {}
    for scheme in distinct:
        splits = 0
        for key, (s, e) in results[scheme].items():
            normalized = normalize_newlines(texts[key])
            splits += _inside_word_count(normalized, np.concatenate([s, e]))
        scores[scheme] = splits
    best = min(scores.values())
    winners = [s for s in distinct if scores[s] == best]
    return winners[0], {"scores": scores, "ambiguous": len(winners) > 1}, results[winners[0]]


def _same(a: dict, b: dict) -> bool:
    return all(np.array_equal(a[k][0], b[k][0]) and np.array_equal(a[k][1], b[k][1]) for k in a)


def describe(scheme) -> str:
    unit, ends = scheme
    unit_text = "Unicode code points" if unit == "codepoints" else "UTF-16 code units"
    ends_text = {"stored": "line ends as stored", "crlf": "every line end counted as CRLF",
                 "lf": "every line end counted as one"}[ends]
    return f"{unit_text}, {ends_text}"
