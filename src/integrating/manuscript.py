"""The manuscript (Methods and Results) built from the study's named values: ``make paper``.

The text is a Jinja2 template of Markdown (``src/integrating/manuscript/manuscript.md.j2``) whose
every number and every result-dependent word comes from ``data/derived/values.csv``
(:mod:`integrating.values`); Tables 1-3 are filled from the same values and written as CSV beside the
manuscript. A value name the template asks for that values.csv lacks stops the build with that
name. Pandoc (bundled by the ``pypandoc-binary`` wheel) writes the DOCX, the HTML and the Typst
source; Typst (the ``typst`` wheel) typesets the PDF with its own bundled fonts.

Outputs in ``paper/``: manuscript.md (the rendered text), manuscript.docx, manuscript.html
(self-contained), manuscript.typ and manuscript.pdf, table1.csv-table3.csv and the figures used
(figures/*.png). Reruns give byte-identical files: the dates inside the DOCX and the PDF are the
study's start date.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

import jinja2
import pandas as pd

from . import io
from .errors import ManuscriptError
from .values import Value, read

TEMPLATES = Path(__file__).with_name("manuscript")
MAIN_TEMPLATE = "manuscript.md.j2"
FORMATS = ("docx", "pdf", "html")
#: Figures of the manuscript, in their order: (stem in figures/, short name used by the template).
FIGURES = (("conceptual_model", "model"), ("mechanism_comparison", "mechanisms"),
           ("survey_change_by_group", "survey"), ("segmentation_sensitivity", "sensitivity"),
           ("multiverse_curve", "multiverse"))
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|$~^@])")


def md_escape(text: str) -> str:
    """Escape Markdown's special characters in a text value (test names hold '*', '|', '<')."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


class Cell:
    """One value as a template uses it: printed with its rounding, compared by its printed number."""

    def __init__(self, value: Value):
        self._v = value

    @property
    def name(self) -> str:
        return self._v.name

    @property
    def computable(self) -> bool:
        return self._v.computable

    @property
    def reason(self) -> str:
        return md_escape(self._v.reason)

    @property
    def text(self) -> str:
        """The printed value, unescaped (table cells, CSV)."""
        return self._v.text()

    @property
    def number(self) -> float:
        """The number as printed (rounded), so that words agree with the digits beside them."""
        if not self.computable or self._v.rounding == "text":
            raise ManuscriptError(f"value {self.name!r} is not a computable number; the template must test "
                                  f"'.computable' first")
        printed = self._v.text().lstrip("< ")
        return float(printed) / (100 if self._v.rounding.startswith("percent") else 1)

    @property
    def raw(self) -> float:
        """The unrounded number (for a comparison with a threshold, as the analysis made it)."""
        self.number  # noqa: B018 - the same check
        return float(self._v.value)

    @property
    def magnitude(self) -> str:
        """The printed value without its sign ("fell by 0.08")."""
        return md_escape(self._v.text().lstrip("-"))

    @property
    def p(self) -> str:
        """A p-value after "p": "= 0.02" or "< 0.001"."""
        text = self._v.text()
        return md_escape(text if text.startswith("<") else "= " + text)

    def __str__(self) -> str:
        return md_escape(self._v.text())


class Values:
    """The values of values.csv by name; an unknown name stops the build, naming it and the template."""

    def __init__(self, values: dict[str, Value], source="values.csv"):
        self._values = values
        self._source = source
        self.used: set[str] = set()

    def __getitem__(self, name: str) -> Cell:
        if name not in self._values:
            raise ManuscriptError(f"the manuscript template asks for value {name!r}, which {self._source} "
                                  "does not have; add it to integrating.values or correct the template")
        self.used.add(name)
        return Cell(self._values[name])

    def __getattr__(self, name):  # v.name in a template is a mistake for v["name"]
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def has(self, name: str) -> bool:
        return name in self._values

    def items(self, name: str) -> list[str]:
        """A list value ("a; b; c") as a list (mechanism codes, clinic ids)."""
        cell = self[name]
        return [] if not cell.computable else [x for x in cell.text.split("; ") if x]


# ----------------------------------------------------------------------------------------------
# Tables


def _cell(v: Values, name: str, missing: str = "–") -> str:
    cell = v[name]
    return cell.text if cell.computable else missing


def table1(v: Values) -> pd.DataFrame:
    """Table 1: each clinic by group, documents by source, changes planned and implemented, responses per wave."""
    cols = ["n_field_notes", "n_meeting_minutes", "n_interviews", "n_changes", "n_implemented",
            "n_responses_pre", "n_responses_post"]
    header = ["Group", "Clinic", "Field notes", "Meeting minutes", "Interviews", "Changes planned",
              "Changes implemented", "Responses before", "Responses after"]
    rows = []
    ids = v.items("clinic.ids")
    for group, label in (("more", "More"), ("less", "Less")):
        for cid in ids:
            if v["clinic." + cid + ".group"].text == group:
                rows.append([label, cid] + [_cell(v, f"clinic.{cid}.{c}") for c in cols])
        if v.has(f"seg.{group}.n_field_notes"):
            rows.append([label, "All"] + [_cell(v, f"seg.{group}.{c}") for c in cols])
    return pd.DataFrame(rows, columns=header)


def table2(v: Values, show_excerpts: bool) -> pd.DataFrame:
    """Table 2: the mechanisms by group with rates, test, p, Holm-adjusted p, verdict (and an excerpt)."""
    header = ["Mechanism", "More", "Less", "Difference", "U", "p", "Holm p",
              "Verdict"] + (["Illustrative excerpt"] if show_excerpts else [])
    rows = []
    for code in v.items("mech.codes"):
        m = f"mech.{code}."
        row = [v[m + "label"].text] + [_cell(v, m + k) for k in ("mean_more", "mean_less", "difference",
                                                                 "statistic", "p", "p_holm")]
        row.append(v[m + "verdict"].text)
        if show_excerpts:
            row.append(_cell(v, m + "excerpt", missing="(no excerpt)"))
        rows.append(row)
    return pd.DataFrame(rows, columns=header)


def table3(v: Values) -> pd.DataFrame:
    """Table 3: the patient-experience analyses of the difference in mean change, more - less."""
    level = v["param.confidence_level"].text
    header = ["Analysis", "Estimate", f"{level}% CI", "Statistic", "df", "p"]
    rows = []
    for a in ("student_t", "welch_t", "permutation_exact", "mann_whitney", "mixed_anova_interaction",
              "mixedlm_interaction", "hedges_g"):
        s = f"survey.{a}."
        if not v[s + "test"].computable:
            rows.append([v[s + "label"].text, "not computable", "", "", "", ""])
            continue
        ci = (f"{v[s + 'ci_low'].text} to {v[s + 'ci_high'].text}"
              if v[s + "ci_low"].computable and v[s + "ci_high"].computable else "–")
        rows.append([v[s + "label"].text, _cell(v, s + "estimate"), ci, _cell(v, s + "statistic"),
                     _cell(v, s + "df"), _cell(v, s + "p")])
    return pd.DataFrame(rows, columns=header)


_NUMERIC_CELL = re.compile(r"(?:< )?-?\d+(?:\.\d+)?(?: to -?\d+(?:\.\d+)?)?|–|not computable|")


def pipe_table(df: pd.DataFrame, caption: str) -> str:
    """A Markdown pipe table (a real table in DOCX, HTML and PDF) with its caption; numbers right-aligned."""
    def row(cells):
        return "| " + " | ".join(md_escape(c) if c else " " for c in cells) + " |"

    numeric = [bool(len(df)) and all(_NUMERIC_CELL.fullmatch(str(x)) for x in df[col]) for col in df.columns]
    # A long table is set to the text width with column widths in proportion to these dashes (pandoc's
    # pipe tables): the longest cell or the header's longest word (whichever is longer), from 10 to 40.
    widths = [min(40, max([len(str(x)) for x in df[col]] + [max(len(w) for w in str(col).split()) + 2, 10]))
              for col in df.columns]
    align = ["-" * (w - 1) + ":" if n else "-" * w for n, w in zip(numeric, widths)]
    lines = [row(df.columns), "|" + "|".join(align) + "|"] + [row(r) for r in df.astype(str).to_numpy()]
    return "\n".join(lines) + f"\n\n: {caption}\n"


# ----------------------------------------------------------------------------------------------
# Rendering


def environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                              autoescape=False, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


def render(values: dict[str, Value], *, show_excerpts: bool = False, figures: dict[str, str] | None = None,
           source="values.csv") -> tuple[str, dict[str, pd.DataFrame]]:
    """The manuscript's Markdown and its three tables from the values (no file is written)."""
    v = Values(values, source)
    tables = {"table1": table1(v), "table2": table2(v, show_excerpts), "table3": table3(v)}
    try:
        text = environment().get_template(MAIN_TEMPLATE).render(
            v=v, tables=tables, pipe_table=pipe_table, show_excerpts=show_excerpts, figures=figures or {},
            md=md_escape)
    except jinja2.UndefinedError as exc:
        raise ManuscriptError(f"manuscript template: {exc}") from None
    return text, tables


def _figures(figures_dir: Path | None, out: Path) -> dict[str, str]:
    """Copy the manuscript's figures (PNG) next to it; ``{short name: relative path}`` of those found."""
    found = {}
    fig_out = out / "figures"
    for stem, short in FIGURES:
        src = Path(figures_dir) / f"{stem}.png" if figures_dir else None
        if src is not None and src.is_file():
            fig_out.mkdir(parents=True, exist_ok=True)
            with io.atomic_path(fig_out / src.name) as tmp:
                shutil.copyfile(src, tmp)
            found[short] = f"figures/{src.name}"
    return found


def _epoch(values: dict[str, Value]) -> int:
    """The fixed date written into the DOCX and PDF: the study's start date (else 1 January 2000)."""
    start = values.get("study.start_date")
    try:
        day = date.fromisoformat(str(start.value)) if start is not None and start.computable else date(2000, 1, 1)
    except ValueError:
        day = date(2000, 1, 1)
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())


@contextmanager
def _source_date(epoch: int):
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


def _pandoc(text: str, to: str, outputfile: Path | None, resource_dir: Path, extra=()):
    import pypandoc

    args = ["--resource-path", str(resource_dir), *extra]
    try:
        return pypandoc.convert_text(text, to, format="markdown", extra_args=args,
                                     outputfile=str(outputfile) if outputfile else None)
    except (RuntimeError, OSError) as exc:
        raise ManuscriptError(f"pandoc could not write {to}: {exc}") from None


def build(values_path, out="paper", *, figures_dir="figures", show_excerpts: bool = False,
          formats=FORMATS) -> list[Path]:
    """Write the manuscript and its tables to ``out``; return the files written."""
    values_path, out = Path(values_path), Path(out)
    values = read(values_path)
    out.mkdir(parents=True, exist_ok=True)
    figures = _figures(Path(figures_dir) if figures_dir else None, out)
    text, tables = render(values, show_excerpts=show_excerpts, figures=figures, source=str(values_path))
    written = [io.write_text(out / "manuscript.md", text)]
    for name, df in tables.items():
        written.append(io.write_table(df, out / f"{name}.csv"))
    epoch = _epoch(values)
    with _source_date(epoch):
        if "docx" in formats:
            with io.atomic_path(out / "manuscript.docx") as tmp:
                _pandoc(text, "docx", tmp, out)
            written.append(out / "manuscript.docx")
        if "html" in formats:
            with io.atomic_path(out / "manuscript.html") as tmp:
                _pandoc(text, "html5", tmp, out, ["--standalone", "--embed-resources",
                                                  "--metadata", "pagetitle=Manuscript"])
            written.append(out / "manuscript.html")
        if "pdf" in formats:
            typ = _pandoc(text, "typst", None, out,
                          ["--standalone", "--include-in-header", str(TEMPLATES / "typst-header.typ")])
            written.append(io.write_text(out / "manuscript.typ", typ))
            written.append(_typst(out / "manuscript.typ", out / "manuscript.pdf", epoch))
    return written


def _typst(source: Path, pdf: Path, epoch: int) -> Path:
    import typst

    try:
        data = typst.compile(str(source), root=str(source.parent), ignore_system_fonts=True, timestamp=epoch)
    except Exception as exc:  # typst raises its own TypstError (not importable in every version)
        raise ManuscriptError(f"typst could not typeset {source}: {exc}") from None
    return io.write_bytes(pdf, data)

