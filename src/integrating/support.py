"""What a valid data set can support: one record per analysis, computable or not, and why.

A data set that follows the contract may still be too small or too partial for some analyses: one
coder (no reliability), no implementation log (no segmentation), no survey or one wave (no survey
analysis), a group with fewer clinics than a two-group comparison needs, a mechanism code never
applied, a clinic without documents. :func:`capabilities` checks each of these on the data, with the
study parameters that decide the groups, and returns :class:`Capability` records;
``integrating validate`` prints the records that are not computable as warnings (exit 0), and an
analysis that cannot run writes the record's reason where its result would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import contract
from .contract import GROUPS, MIN_CLINICS_PER_GROUP, WAVES
from .errors import AnalysisError

#: The analyses judged, in the order of the notebooks, with the notebook(s) that compute them.
ANALYSES = {
    "inventory": "case-by-source inventory (01)",
    "reliability": "inter-coder reliability (01)",
    "clinic_documents": "coding evidence for every clinic (02, 03)",
    "mechanism_use": "presence of each mechanism (02, 03)",
    "segmentation": "case segmentation by implementation (02)",
    "group_comparison": "distinguishing mechanisms and barriers between groups (02, 03)",
    "survey": "composite scores and clinic change (04)",
    "survey_comparison": "survey effect between groups (04, 05)",
    "robustness": "multiverse of the survey comparison (06)",
}
_LISTED = 10


@dataclass(frozen=True)
class Capability:
    """Whether ``analysis`` (a key of :data:`ANALYSES`) can be computed on the data, and why.

    ``subject`` names the code or clinic a record is about (None for the whole data set); ``reason``
    says why not, or for a computable analysis what it rests on.
    """

    analysis: str
    computable: bool
    reason: str
    subject: str | None = None

    def __str__(self) -> str:
        what = self.analysis + (f" ({self.subject})" if self.subject else "")
        state = "computable" if self.computable else "not computable"
        return f"{what}: {state}: {self.reason}"


def _names(values) -> str:
    values = list(values)
    shown = ", ".join(map(str, values[:_LISTED]))
    return shown + (f" and {len(values) - _LISTED} more" if len(values) > _LISTED else "")


def _reliability(seg: pd.DataFrame) -> Capability:
    coders = sorted(seg["coder"].unique())
    if len(coders) < 2:
        who = f"a single coder ('{coders[0]}')" if coders else "no coder"
        return Capability("reliability", False, f"{who} coded every segment; reliability needs documents coded "
                                                "by two coders")
    per_doc = seg.groupby("document_id")["coder"].nunique()
    double = int(per_doc.ge(2).sum())
    if double == 0:
        return Capability("reliability", False, f"no document is coded by two coders ({len(coders)} coders each "
                                                "coded other documents); reliability needs a double-coded subset")
    return Capability("reliability", True, f"{double} document(s) coded by two coders or more")


def _groups(study, rule: str, threshold: float, count_threshold: int) -> tuple[Capability, pd.Series | None]:
    from .segmentation import clinic_segments

    if study.implementation_log.empty:
        return Capability("segmentation", False, "no implementation log (implementation_log.csv absent or without "
                                                 "rows); the groups 'more' and 'less' cannot be formed"), None
    try:
        seg = clinic_segments(study.clinics, study.implementation_log, months=study.info.months, rule=rule,
                              threshold=threshold, count_threshold=count_threshold)
    except AnalysisError as exc:
        return Capability("segmentation", False, str(exc)), None
    sizes = seg["group"].value_counts()
    return (Capability("segmentation", True, f"{len(seg)} clinics: " + ", ".join(
        f"{int(sizes.get(g, 0))} '{g}'" for g in GROUPS) + f" ({_rule(rule, threshold, count_threshold)})"),
        seg.set_index("clinic_id")["group"])


def _rule(rule: str, threshold: float, count_threshold: int) -> str:
    return {"share": f"rule share, threshold {threshold:g}", "median": "rule median",
            "count": f"rule count, threshold {count_threshold}"}.get(rule, f"rule {rule}")


def _two_groups(analysis: str, groups: pd.Series, clinics, what: str, setting: str) -> Capability:
    """Computable when each group has at least MIN_CLINICS_PER_GROUP of ``clinics``."""
    counts = {g: int(groups.reindex(list(clinics)).eq(g).sum()) for g in GROUPS}
    short = [g for g in GROUPS if counts[g] < MIN_CLINICS_PER_GROUP]
    summary = ", ".join(f"'{g}' {counts[g]}" for g in GROUPS)
    if short:
        return Capability(analysis, False, f"group {' and '.join(repr(g) for g in short)} has fewer than "
                                           f"{MIN_CLINICS_PER_GROUP} clinics {what} ({summary}; {setting}); a "
                                           f"two-group comparison needs at least {MIN_CLINICS_PER_GROUP} in each group")
    return Capability(analysis, True, f"clinics {what}: {summary}")


def capabilities(data, *, rule: str = "share", threshold: float = 0.5, count_threshold: int = 3,
                 min_answered: float = 0.5) -> list[Capability]:
    """One :class:`Capability` per analysis of :data:`ANALYSES` (one per mechanism code for
    ``mechanism_use``), for a raw-data folder or an already loaded :class:`~integrating.contract.Study`
    that follows the contract.

    ``rule``, ``threshold`` and ``count_threshold`` are the segmentation parameters
    (``segmentation_rule``, ``implementation_threshold``, ``implemented_count_threshold`` of
    config.yaml) and ``min_answered`` is ``composite_min_answered``: they decide which clinics form
    the groups and which survey responses count.
    """
    study = data if isinstance(data, contract.Study) else contract.load(Path(data))
    docs, seg = study.documents, study.coded_segments
    out = [Capability("inventory", True, f"{len(docs)} documents of {docs['clinic_id'].nunique()} clinics, "
                                         f"{len(seg)} coded segments")]
    out.append(_reliability(seg))

    without = sorted(set(study.clinics["clinic_id"]) - set(docs["clinic_id"]))
    if without:
        out.append(Capability("clinic_documents", False, f"{len(without)} clinic(s) have no document: "
                                                         f"{_names(without)}; they have no coding evidence"))
    else:
        out.append(Capability("clinic_documents", True, f"every one of the {len(study.clinics)} clinics has documents"))

    used = seg.groupby("code")["document_id"].nunique()
    for code in study.mechanism_codes:
        n = int(used.get(code, 0))
        if n == 0:
            out.append(Capability("mechanism_use", False, f"the mechanism code '{code}' is never applied in "
                                                          "coded_segments.csv", subject=code))
        else:
            out.append(Capability("mechanism_use", True, f"applied in {n} document(s)", subject=code))

    setting = _rule(rule, threshold, count_threshold)
    segmentation, groups = _groups(study, rule, threshold, count_threshold)
    out.append(segmentation)
    if groups is None:
        out.append(Capability("group_comparison", False, "needs the case segmentation: " + segmentation.reason))
    else:
        out.append(_two_groups("group_comparison", groups, sorted(set(docs["clinic_id"])), "with documents", setting))

    survey = _survey(study, min_answered)
    out.append(survey[0])
    if not survey[0].computable:
        comparison = Capability("survey_comparison", False, "needs the survey analysis: " + survey[0].reason)
    elif groups is None:
        comparison = Capability("survey_comparison", False, "needs the case segmentation: " + segmentation.reason)
    else:
        comparison = _two_groups("survey_comparison", groups, survey[1], "with pre and post responses", setting)
    out.append(comparison)
    out.append(Capability("robustness", comparison.computable, comparison.reason))  # it varies that comparison
    return out


def _survey(study, min_answered: float) -> tuple[Capability, list]:
    """The survey record and the clinics with valid responses in both waves."""
    from .survey import composite_scores

    if {"survey_items", "survey_responses"} & set(study.absent):
        return Capability("survey", False, "no patient survey (survey_items.csv and survey_responses.csv absent "
                                           "or without rows)"), []
    try:
        scored = composite_scores(study.survey_responses, study.survey_items, min_answered=min_answered)
    except AnalysisError as exc:
        return Capability("survey", False, str(exc)), []
    valid = scored.loc[scored["included"]]
    waves = [w for w in WAVES if valid["wave"].eq(w).any()]
    if len(waves) < len(WAVES):
        have = f"only the '{waves[0]}' wave has" if waves else "no wave has"
        return Capability("survey", False, f"{have} valid responses; clinic change needs responses in both "
                                           f"waves ({' and '.join(WAVES)})"), []
    per_clinic = valid.groupby("clinic_id")["wave"].nunique()
    both = sorted(per_clinic.index[per_clinic.eq(len(WAVES))])
    if not both:
        return Capability("survey", False, "no clinic has valid responses in both waves"), []
    return Capability("survey", True, f"{len(valid)} valid responses; {len(both)} clinic(s) with both waves"), both


# ----------------------------------------------------------------------------------------------
# In a notebook: run a cell only when the data support its analysis


class Guard:
    """The analyses a notebook's data support, and the ``%%needs`` cell magic that uses them.

    A cell that starts with ``%%needs ANALYSIS [ANALYSIS ...] [--tables T ...] [--figures F ...]
    [--inputs I ...]`` runs only when every analysis named is computable and every input table (in
    the derived folder) exists; otherwise the run records the analysis as not computable with the
    reason (:meth:`integrating.provenance.Run.skip`): the tables the cell writes are removed and its
    figures are replaced by a panel stating the reason. The cell's code stays as it is, and a notebook
    run on data that support everything runs every cell.
    """

    def __init__(self, run, study, **parameters):
        self.run = run
        self.synthetic = bool(study.info.synthetic)
        self.derived = Path(run.parameters.get("derived_dir", "data/derived"))
        self.figures = Path(run.parameters.get("figures_dir", "figures"))
        self.records = {c.analysis: c for c in capabilities(study, **parameters) if c.subject is None}
        _register(self)

    def reason(self, analyses, inputs=()) -> str | None:
        """Why the analyses cannot run (None when they can)."""
        for name in analyses:
            if name not in self.records:
                raise AnalysisError(f"%%needs: unknown analysis '{name}'; expected one of {', '.join(ANALYSES)}")
            if not self.records[name].computable:
                return self.records[name].reason
        missing = [i for i in inputs if not (self.derived / i).is_file()]
        if missing:
            return (f"{', '.join(missing)} {'was' if len(missing) == 1 else 'were'} not written by an earlier step "
                    "(not computable there; its notebook says why)")
        return None

    def allows(self, analyses, *, tables=(), figures=(), inputs=()) -> bool:
        reason = self.reason(analyses, inputs)
        if reason is None:
            return True
        # Named by its analyses, else by what it would have made (a figure of notebook 03).
        name = " + ".join(analyses) or ", ".join(list(figures) or [Path(t).stem for t in tables]) or "inputs"
        self.run.skip(name, reason, tables=[self.derived / t for t in tables],
                      figures=[self.figures / f for f in figures], synthetic=self.synthetic)
        return False


_ACTIVE: list[Guard] = []


def _needs(line: str, cell: str):
    """The ``%%needs`` cell magic (see :class:`Guard`)."""
    import argparse
    import shlex

    from IPython import get_ipython

    parser = argparse.ArgumentParser(prog="%%needs", add_help=False)
    parser.add_argument("analyses", nargs="*")
    for option in ("--tables", "--figures", "--inputs"):
        parser.add_argument(option, nargs="*", default=[])
    args = parser.parse_args(shlex.split(line))
    if not _ACTIVE:
        raise AnalysisError("%%needs: no integrating.support.Guard was made in this notebook")
    if not _ACTIVE[-1].allows(args.analyses, tables=args.tables, figures=args.figures, inputs=args.inputs):
        return None
    # IPython runs the cell as its own (the last expression is displayed); an error in it fails the run.
    get_ipython().run_cell(cell).raise_error()
    return None


def _register(guard: Guard) -> None:
    _ACTIVE[:] = [guard]
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks' kernel
        return
    shell = get_ipython()
    if shell is not None:
        shell.register_magic_function(_needs, magic_kind="cell", magic_name="needs")
