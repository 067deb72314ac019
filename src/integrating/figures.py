"""The study's figures in the order of the paper: which are the paper's numbered figures, their titles,
and the figure pack for the manuscript (``make figures``).

:data:`FIGURES` is the one place that orders the figures (data, segmentation, mechanisms, model,
survey, robustness): the main figures are numbered 1, 2, ..., the others S1, S2, ... (supplementary),
each in the order of the list. Edit the list to change what the paper shows.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from . import io
from .errors import AnalysisError

SECTIONS = ("data", "segmentation", "mechanisms", "model", "survey", "robustness")


@dataclass(frozen=True)
class Figure:
    stem: str  # file name in figures/ without the extension
    section: str  # one of SECTIONS
    title: str  # short human title
    main: bool = False  # a numbered figure of the paper (else supplementary)
    number: int | None = None  # 1, 2, ... for main figures (set below)
    supplement: int | None = None  # 1, 2, ... for supplementary figures (set below)

    @property
    def label(self) -> str:
        """'Figure 3' or 'Figure S2'."""
        return f"Figure {self.number}" if self.main else f"Figure S{self.supplement}"

    @property
    def file_stem(self) -> str:
        """The name in the figure pack: Figure_3, Figure_S2."""
        return self.label.replace(" ", "_")


_FIGURES = [
    Figure("inventory", "data", "Documents per clinic by source"),
    Figure("coding_reliability", "data", "Inter-coder agreement per code"),
    Figure("implementation_trajectories", "segmentation", "Implementation over the study and the clinics in case order",
           main=True),
    Figure("mechanism_heatmap", "mechanisms", "Case-ordered meta-matrix of the integrating mechanisms", main=True),
    Figure("mechanism_comparison", "mechanisms", "Integrating mechanisms in clinics that implemented more and less",
           main=True),
    Figure("barrier_comparison", "mechanisms", "Barriers in clinics that implemented more and less"),
    Figure("stakeholder_connections", "mechanisms", "Stakeholder groups reached by the mechanisms, per clinic"),
    Figure("stakeholder_networks", "mechanisms", "Stakeholder groups brought together by the mechanisms", main=True),
    Figure("conceptual_model", "model", "The conceptual model of integrating", main=True),
    Figure("conceptual_model_1col", "model", "The conceptual model of integrating (one column)"),
    Figure("evidenced_model", "model", "The conceptual model with the study's evidence", main=True),
    Figure("clinic_small_multiples", "model", "Integrating in each clinic"),
    Figure("survey_interaction", "survey", "Patient ratings before and after, by group"),
    Figure("survey_change_by_group", "survey", "Change in patient ratings by group", main=True),
    Figure("survey_permutation", "survey", "Permutation distribution of the survey effect"),
    Figure("survey_forest", "survey", "Every analysis of the survey effect"),
    Figure("segmentation_sensitivity", "robustness", "Sensitivity of the verdicts to the segmentation cut-off"),
    Figure("multiverse_curve", "robustness", "Specification curve of the survey effect"),
    Figure("multiverse_choices", "robustness", "Which analysis choices matter"),
    Figure("power", "robustness", "Power of a study like this one"),
]


def _numbered(figures: list[Figure]) -> tuple[Figure, ...]:
    out, main, supp = [], 0, 0
    for f in figures:
        if f.section not in SECTIONS:
            raise ValueError(f"figure {f.stem}: section {f.section!r}; expected one of {', '.join(SECTIONS)}")
        if f.main:
            main += 1
            out.append(Figure(f.stem, f.section, f.title, True, number=main))
        else:
            supp += 1
            out.append(Figure(f.stem, f.section, f.title, False, supplement=supp))
    return tuple(out)


#: Every figure of the study, in the paper's order, numbered.
FIGURES = _numbered(_FIGURES)
BY_STEM = {f.stem: f for f in FIGURES}


def main_figures() -> list[Figure]:
    """The paper's numbered figures, Figure 1 first."""
    return [f for f in FIGURES if f.main]


def supplementary_figures() -> list[Figure]:
    """The other figures, Figure S1 first."""
    return [f for f in FIGURES if not f.main]


def write_pack(figures_dir, out_dir, fmt: str) -> list[Path]:
    """Copy the figures of ``figures_dir`` in format ``fmt`` to ``out_dir`` as Figure_1.<fmt>, ...,
    Figure_S1.<fmt>, ... with ``captions.txt`` (label, title and caption of each: main figures, then
    supplementary).

    A main figure missing is an error naming it; a missing supplementary figure (e.g. ``power``
    before ``make power``) is left out and named in the captions file. Files of an earlier pack
    that are no longer part of it are removed.
    """
    figures_dir, out_dir = Path(figures_dir), Path(out_dir)
    missing_main = [f"{f.stem}.{fmt}" for f in FIGURES if f.main and not (figures_dir / f"{f.stem}.{fmt}").is_file()]
    if missing_main:
        raise AnalysisError(
            f"{figures_dir}: the paper's figure(s) {', '.join(missing_main)} not found; run the study with "
            f"'{fmt}' among the figure formats (config keys figure_formats or figure_pack_format) first")
    out_dir.mkdir(parents=True, exist_ok=True)
    written, lines, absent = [], [], []
    for f in [*main_figures(), *supplementary_figures()]:
        source = figures_dir / f"{f.stem}.{fmt}"
        if not source.is_file():
            absent.append(f.stem)
            continue
        target = out_dir / f"{f.file_stem}.{fmt}"
        with io.atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
        written.append(target)
        caption_file = figures_dir / f"{f.stem}.txt"
        caption = caption_file.read_text(encoding="utf-8").strip() if caption_file.is_file() else ""
        lines.append(f"{f.label}. {f.title}.\n{caption}\n(file {target.name}; source figures/{f.stem})\n")
    if absent:
        lines.append("Not in this pack (not produced by this run): " + ", ".join(absent) + ".\n")
    captions = io.write_text(out_dir / "captions.txt", "\n".join(lines))
    keep = {p.name for p in written} | {captions.name}
    for old in out_dir.glob("Figure_*"):
        if old.name not in keep:
            old.unlink()
    return written + [captions]
