"""The study's reportable numbers, named, in one file: ``data/derived/values.csv``.

Every number the manuscript prints (counts, shares, group means, test statistics, p-values, kappa,
effect sizes, robustness shares) is computed here from the derived tables the notebooks wrote and
the raw data's descriptor, and written with its name, value, unit, the rounding the manuscript
applies and its source. The manuscript (:mod:`integrating.manuscript`) reads nothing else for its
text, so the number in the text is the number in this file.

Columns of values.csv:

* ``name``: dotted name used by the manuscript templates (``survey.student_t.p``).
* ``value``: the unrounded number (``%.10g``), a text, or ``not computable: <reason>`` when the data
  cannot support the analysis (for example no survey, a single coder, one group only).
* ``unit``: what the number counts or measures (``clinics``, ``documents per 10``, ``p``, ...).
* ``rounding``: how the manuscript prints it: ``integer``, ``decimals:N``, ``percent:N`` (a share
  printed as a percentage), ``p:N`` (N decimals; below 10^-N printed as "< 0.0..1"), or ``text``.
  Decimals are rounded half away from zero, as in the claims check.
* ``source``: the derived table and column (or descriptor field, or parameter) it comes from.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from . import io
from .derived import read_derived
from .errors import IntegratingError, ValuesError

COLUMNS = ["name", "value", "unit", "rounding", "source"]
NOT_COMPUTABLE = "not computable: "
ROUNDING = re.compile(r"integer|text|(?:decimals|percent|p):\d")
#: The survey analyses of survey_effects.csv (integrating.survey.ANALYSES) and their names in Table 3.
SURVEY_ANALYSES = {
    "student_t": "Student t-test (primary)",
    "welch_t": "Welch t-test",
    "permutation_exact": "Exact permutation test",
    "mann_whitney": "Mann-Whitney U test (Hodges-Lehmann shift)",
    "mixed_anova_interaction": "Mixed ANOVA, group x wave interaction",
    "mixedlm_interaction": "Linear mixed model, group x wave interaction",
    "hedges_g": "Hedges g (effect size)",
}


@dataclass(frozen=True)
class Value:
    name: str
    value: object  # float, int, str, or None when not computable
    unit: str
    rounding: str
    source: str
    reason: str = ""  # why it is not computable (empty when it is)

    @property
    def computable(self) -> bool:
        return not self.reason

    def cell(self) -> str:
        """The ``value`` cell of values.csv."""
        if not self.computable:
            return NOT_COMPUTABLE + self.reason
        if self.rounding == "text":
            return str(self.value)
        if self.rounding == "integer":
            return str(int(self.value))
        return io.FLOAT_FORMAT % float(self.value)

    def text(self) -> str:
        """The value as the manuscript prints it (its rounding applied)."""
        if not self.computable:
            return "not computable"
        return format_value(self.value, self.rounding)


def _round_half_up(x: float, decimals: int) -> Decimal:
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def format_value(value, rounding: str) -> str:
    """Print ``value`` with a rounding rule of values.csv (see the module's docstring)."""
    kind, _, digits = rounding.partition(":")
    if kind == "text":
        return str(value)
    x = float(value)
    if not math.isfinite(x):
        raise ValuesError(f"value {value!r} is not a finite number (rounding {rounding})")
    if kind == "integer":
        return str(int(_round_half_up(x, 0)))
    n = int(digits)
    if kind == "decimals":
        out = _round_half_up(x, n)
        return str(abs(out) if out == 0 else out)  # no "-0.00"
    if kind == "percent":
        return str(_round_half_up(100 * x, n))
    if kind == "p":
        if x < 10 ** -n:
            return "< " + str(Decimal(1).scaleb(-n))
        return str(_round_half_up(x, n))
    raise ValuesError(f"unknown rounding {rounding!r}; expected integer, text, decimals:N, percent:N or p:N")


# ----------------------------------------------------------------------------------------------
# Computing the values


class _Collector:
    def __init__(self):
        self.values: list[Value] = []

    def add(self, name, value, unit, rounding, source):
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            self.none(name, unit, rounding, source, "the value is missing in the table")
            return
        self.values.append(Value(name, value, unit, rounding, source))

    def none(self, name, unit, rounding, source, reason):
        self.values.append(Value(name, None, unit, rounding, source, reason=reason))


class _Missing(IntegratingError):
    """A table or row an analysis needs is absent (turned into not-computable values)."""


def _table(derived_dir: Path, name: str) -> pd.DataFrame:
    path = Path(derived_dir) / f"{name}.csv"
    if not path.is_file():
        raise _Missing(f"{path.name} was not written (the analysis did not run on these data)")
    df = read_derived(path, name)
    if df.empty:
        raise _Missing(f"{path.name} has no rows")
    return df


def _number(x):
    if x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x):
        return None
    return float(x)


def compute(derived_dir="data/derived", raw_dir="data/raw", *, parameters: dict | None = None) -> list[Value]:
    """Every named value of the study, from the derived tables, the descriptor and the parameters."""
    derived_dir, raw_dir = Path(derived_dir), Path(raw_dir)
    p = dict(parameters or {})
    c = _Collector()
    _study(c, raw_dir)
    _parameters(c, p)
    _inventory(c, derived_dir)
    _segments(c, derived_dir)
    _clinics(c, derived_dir)
    _reliability(c, derived_dir)
    _mechanisms(c, derived_dir)
    _survey(c, derived_dir)
    _robustness(c, derived_dir)
    _claims(c, derived_dir)
    names = [v.name for v in c.values]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValuesError(f"value name(s) computed twice: {', '.join(dup)}")
    claims_path = derived_dir / "claims_check.csv"
    if claims_path.is_file():
        problems = disagreements_with_claims({v.name: v for v in c.values}, pd.read_csv(
            claims_path, dtype=str, keep_default_na=False, encoding="utf-8"))
        if problems:
            raise ValuesError(f"{claims_path}: the values disagree with the claims check: {'; '.join(problems)}")
    return c.values


#: Claims of claims.yaml whose reproduced number the manuscript prints, and the value that prints it.
CLAIM_VALUES = {"n_clinics": "seg.all.n_clinics", "study_months": "study.months", "n_more": "seg.more.n_clinics",
                "n_less": "seg.less.n_clinics", "change_more": "survey.more.mean_change",
                "change_less": "survey.less.mean_change", "p_change": "survey.student_t.p"}


def disagreements_with_claims(values: dict[str, Value], claims: pd.DataFrame) -> list[str]:
    """Claims whose reproduced number (claims_check.csv) differs from the value the manuscript prints.

    The number in the text is the number checked: a value printed as "< 0.01" agrees with a reproduced
    number below 0.01. Claims the check could not reproduce, and values not computable, are skipped."""
    problems = []
    rows = {r["claim_id"]: r for r in claims.to_dict("records")} if "claim_id" in claims.columns else {}
    for claim_id, name in CLAIM_VALUES.items():
        row, value = rows.get(claim_id), values.get(name)
        if row is None or value is None or not value.computable:
            continue
        try:
            reproduced = float(str(row.get("reproduced", "")))
        except ValueError:
            continue  # not reproduced (the claims check says why)
        printed = value.text()
        agree = (reproduced < float(printed[2:])) if printed.startswith("<") else reproduced == float(printed)
        if not agree:
            problems.append(f"{claim_id} reproduced {row['reproduced']}, value {name} prints {printed}")
    return problems


def _study(c: _Collector, raw_dir: Path) -> None:
    path = raw_dir / "datapackage.json"
    src = f"raw {path.name}: study."
    try:
        study = json.loads(path.read_text(encoding="utf-8")).get("study", {})
    except (OSError, ValueError) as exc:
        raise ValuesError(f"{path}: cannot read the data set's descriptor ({exc})") from exc
    c.add("study.synthetic", "yes" if study.get("synthetic") is True else "no", "", "text", src + "synthetic")
    c.add("study.months", int(study["months"]) if "months" in study else None, "months", "integer", src + "months")
    c.add("study.start_date", str(study.get("start_date", "")) or None, "date", "text", src + "start_date")


def _parameters(c: _Collector, p: dict) -> None:
    src = "config.yaml: "
    rule = p.get("segmentation_rule", "share")
    c.add("param.segmentation_rule", rule, "", "text", src + "segmentation_rule")
    c.add("param.implementation_threshold", float(p.get("implementation_threshold", 0.5)), "share", "percent:0",
          src + "implementation_threshold")
    c.add("param.implemented_count_threshold", int(p.get("implemented_count_threshold", 3)), "changes", "integer",
          src + "implemented_count_threshold")
    c.add("param.confidence_level", float(p.get("confidence_level", 0.95)), "share", "percent:0",
          src + "confidence_level")
    c.add("param.distinguishing_p_strong", float(p.get("distinguishing_p_strong", 0.05)), "p", "decimals:2",
          src + "distinguishing_p_strong")
    c.add("param.distinguishing_p_weak", float(p.get("distinguishing_p_weak", 0.10)), "p", "decimals:2",
          src + "distinguishing_p_weak")
    c.add("param.composite_min_answered", float(p.get("composite_min_answered", 0.5)), "share", "percent:0",
          src + "composite_min_answered")


_INVENTORY = {"n_documents": "documents", "n_field_notes": "field notes", "n_meeting_minutes": "meeting minutes",
              "n_interviews": "interviews", "n_coded_segments": "coded passages", "n_responses_pre": "responses",
              "n_responses_post": "responses"}


def _inventory(c: _Collector, d: Path) -> None:
    try:
        inv = _table(d, "inventory")
    except _Missing as exc:
        for col, unit in _INVENTORY.items():
            c.none(f"data.{col}", unit, "integer", f"inventory.csv: sum of {col}", str(exc))
        return
    for col, unit in _INVENTORY.items():
        src = f"inventory.csv: sum of {col}"
        if col not in inv.columns:
            c.none(f"data.{col}", unit, "integer", src, f"inventory.csv has no column {col}")
        else:
            c.add(f"data.{col}", int(pd.to_numeric(inv[col]).fillna(0).sum()), unit, "integer", src)


def _segments(c: _Collector, d: Path) -> None:
    try:
        seg = _table(d, "clinic_segments")
    except _Missing as exc:
        for g in ("all", "more", "less"):
            for key, unit, rnd in (("n_clinics", "clinics", "integer"), ("n_changes", "changes", "integer"),
                                   ("n_implemented", "changes", "integer"),
                                   ("median_share", "share", "percent:0")):
                c.none(f"seg.{g}.{key}", unit, rnd, f"clinic_segments.csv: {key}", str(exc))
        return
    for g in ("all", "more", "less"):
        part = seg if g == "all" else seg[seg["group"] == g]
        where = "" if g == "all" else f" where group = {g}"
        c.add(f"seg.{g}.n_clinics", int(part["clinic_id"].nunique()), "clinics", "integer",
              f"clinic_segments.csv: distinct clinic_id{where}")
        c.add(f"seg.{g}.n_changes", int(part["n_changes"].sum()), "changes", "integer",
              f"clinic_segments.csv: sum of n_changes{where}")
        c.add(f"seg.{g}.n_implemented", int(part["n_implemented"].sum()), "changes", "integer",
              f"clinic_segments.csv: sum of n_implemented{where}")
        src = f"clinic_segments.csv: median of implementation_share{where}"
        if part.empty:
            c.none(f"seg.{g}.median_share", "share", "percent:0", src, f"no clinic is in group {g}")
        else:
            c.add(f"seg.{g}.median_share", _number(part["implementation_share"].median()), "share", "percent:0", src)


#: Columns of Table 1 (clinics by group): inventory.csv then clinic_segments.csv.
CLINIC_COLUMNS = {"n_field_notes": ("inventory", "field notes"), "n_meeting_minutes": ("inventory", "meeting minutes"),
                  "n_interviews": ("inventory", "interviews"), "n_changes": ("clinic_segments", "changes"),
                  "n_implemented": ("clinic_segments", "changes"), "n_responses_pre": ("inventory", "responses"),
                  "n_responses_post": ("inventory", "responses")}


def _clinics(c: _Collector, d: Path) -> None:
    """Table 1's cells: each clinic's group, documents by source, changes and responses, and group totals."""
    try:
        seg = _table(d, "clinic_segments")
        inv = _table(d, "inventory")
    except _Missing as exc:
        c.none("clinic.ids", "", "text", "clinic_segments.csv: clinic_id", str(exc))
        return
    table = seg.merge(inv, on="clinic_id", how="left", suffixes=("", "_inventory"))
    table = table.sort_values(["group", "clinic_id"], key=lambda s: s.map({"more": 0, "less": 1}).fillna(s)
                              if s.name == "group" else s, kind="mergesort")
    c.add("clinic.ids", "; ".join(table["clinic_id"]), "", "text",
          "clinic_segments.csv: clinic_id, group more first, then by clinic_id")
    for _, row in table.iterrows():
        cid = row["clinic_id"]
        c.add(f"clinic.{cid}.group", row["group"], "", "text", f"clinic_segments.csv: group where clinic_id = {cid}")
        for col, (tab, unit) in CLINIC_COLUMNS.items():
            src = f"{tab}.csv: {col} where clinic_id = {cid}"
            value = _number(row.get(col))
            if value is None:
                c.none(f"clinic.{cid}.{col}", unit, "integer", src, f"{tab}.csv has no {col} for clinic {cid}")
            else:
                c.add(f"clinic.{cid}.{col}", int(value), unit, "integer", src)
    for g in ("more", "less"):
        part = table[table["group"] == g]
        for col, (tab, unit) in CLINIC_COLUMNS.items():
            if col in ("n_changes", "n_implemented"):
                continue  # seg.<group>.n_changes / n_implemented
            c.add(f"seg.{g}.{col}", int(pd.to_numeric(part[col]).fillna(0).sum()) if col in part else None, unit,
                  "integer", f"{tab}.csv: sum of {col} over the clinics of group {g}")


def _reliability(c: _Collector, d: Path) -> None:
    keys = [("kappa", "Cohen kappa", "decimals:2", "cohen_kappa"),
            ("alpha", "Krippendorff alpha", "decimals:2", "krippendorff_alpha"),
            ("agreement", "percent agreement", "decimals:0", "percent_agreement"),
            ("n_documents", "documents", "integer", "n_documents"),
            ("kappa_min", "Cohen kappa", "decimals:2", "cohen_kappa"),
            ("kappa_max", "Cohen kappa", "decimals:2", "cohen_kappa"),
            ("n_codes", "codes", "integer", "code")]
    try:
        rel = _table(d, "coding_reliability")
        overall = rel[rel["code"] == "overall"]
        per_code = rel[rel["code"] != "overall"]
        kappas = pd.to_numeric(per_code["cohen_kappa"], errors="coerce").dropna()
        if overall.empty or kappas.empty:
            raise _Missing("coding_reliability.csv has no two-coder agreement (a single coder coded the texts)")
    except _Missing as exc:
        for key, unit, rnd, col in keys:
            c.none(f"reliability.{key}", unit, rnd, f"coding_reliability.csv: {col}", str(exc))
        return
    row = overall.iloc[0]
    src = "coding_reliability.csv: {} where code = overall"
    c.add("reliability.kappa", _number(row["cohen_kappa"]), "Cohen kappa", "decimals:2", src.format("cohen_kappa"))
    c.add("reliability.alpha", _number(row["krippendorff_alpha"]), "Krippendorff alpha", "decimals:2",
          src.format("krippendorff_alpha"))
    c.add("reliability.agreement", _number(row["percent_agreement"]), "percent agreement", "decimals:0",
          src.format("percent_agreement"))
    c.add("reliability.n_documents", int(row["n_documents"]), "documents", "integer", src.format("n_documents"))
    c.add("reliability.kappa_min", float(kappas.min()), "Cohen kappa", "decimals:2",
          "coding_reliability.csv: smallest cohen_kappa of a code")
    c.add("reliability.kappa_max", float(kappas.max()), "Cohen kappa", "decimals:2",
          "coding_reliability.csv: largest cohen_kappa of a code")
    c.add("reliability.n_codes", int(len(kappas)), "codes", "integer", "coding_reliability.csv: codes with a kappa")


def holm(p_values) -> list[float]:
    """Holm's step-down adjusted p-values (statsmodels.stats.multitest.multipletests, method 'holm')."""
    from statsmodels.stats.multitest import multipletests

    return [float(x) for x in multipletests(list(p_values), method="holm")[1]]


def _mechanisms(c: _Collector, d: Path) -> None:
    src = "mechanism_comparison.csv"
    try:
        mech = _table(d, "mechanism_comparison")
    except _Missing as exc:
        for name, unit, rnd in (("mech.codes", "", "text"), ("mech.n", "mechanisms", "integer"),
                                ("mech.n_distinguishing", "mechanisms", "integer"), ("mech.test", "", "text"),
                                ("mech.measure", "", "text")):
            c.none(name, unit, rnd, src, str(exc))
        return
    codes = list(mech["code"])
    excerpts, excerpts_reason = None, ""
    try:
        excerpts = _table(d, "mechanism_excerpts")
    except _Missing as exc:
        excerpts_reason = str(exc)
    c.add("mech.codes", "; ".join(codes), "", "text", f"{src}: code, in the table's order")
    c.add("mech.n", len(codes), "mechanisms", "integer", f"{src}: rows")
    distinguishing = mech["verdict"].isin(["strongly distinguishing", "weakly distinguishing"])
    c.add("mech.n_distinguishing", int(distinguishing.sum()), "mechanisms", "integer",
          f"{src}: rows where verdict is strongly or weakly distinguishing")
    c.add("mech.n_strongly", int((mech["verdict"] == "strongly distinguishing").sum()), "mechanisms", "integer",
          f"{src}: rows where verdict is strongly distinguishing")
    tests = sorted(set(mech["test"].dropna()))
    c.add("mech.test", "; ".join(tests) or None, "", "text", f"{src}: test")
    measures = sorted(set(mech["measure"].dropna()))
    c.add("mech.measure", "; ".join(measures) or None, "", "text", f"{src}: measure")
    p = pd.to_numeric(mech["p_value"], errors="coerce")
    tested = p.notna()
    adjusted = pd.Series(float("nan"), index=mech.index)
    if tested.any():
        adjusted[tested] = holm(p[tested])
    for i, row in mech.iterrows():
        code = row["code"]
        where = f"{src}: {{}} where code = {code}"
        c.add(f"mech.{code}.label", row["label"], "", "text", where.format("label"))
        c.add(f"mech.{code}.mean_more", _number(row["mean_more"]), row["measure"], "decimals:1",
              where.format("mean_more"))
        c.add(f"mech.{code}.mean_less", _number(row["mean_less"]), row["measure"], "decimals:1",
              where.format("mean_less"))
        c.add(f"mech.{code}.difference", _number(row["difference"]), row["measure"], "decimals:1",
              where.format("difference"))
        c.add(f"mech.{code}.effect_size", _number(row["effect_size"]), "standardised difference", "decimals:2",
              where.format("effect_size"))
        u = _number(row["statistic"])
        c.add(f"mech.{code}.statistic", u, "U", "integer" if u is not None and u.is_integer() else "decimals:1",
              where.format("statistic"))
        c.add(f"mech.{code}.p", _number(row["p_value"]), "p", "p:3", where.format("p_value"))
        c.add(f"mech.{code}.p_holm", _number(adjusted[i]), "p", "p:3",
              f"{src}: p_value where code = {code}, Holm-adjusted over the {int(tested.sum())} mechanisms "
              "(statsmodels multipletests, method holm)")
        c.add(f"mech.{code}.verdict", row["verdict"], "", "text", where.format("verdict"))
        ex = excerpts[excerpts["code"] == code] if excerpts is not None else excerpts
        if ex is None or ex.empty:
            c.none(f"mech.{code}.excerpt", "", "text", f"mechanism_excerpts.csv: excerpt where code = {code}",
                   excerpts_reason if ex is None else f"mechanism_excerpts.csv has no excerpt of {code}")
        else:
            c.add(f"mech.{code}.excerpt", " ".join(str(ex.iloc[0]["excerpt"]).split()), "", "text",
                  f"mechanism_excerpts.csv: first excerpt where code = {code}")


def _survey(c: _Collector, d: Path) -> None:
    try:
        change = _table(d, "survey_group_change")
        for g in ("more", "less"):
            if not (change["group"] == g).any():
                raise _Missing(f"survey_group_change.csv has no row for group {g}")
    except _Missing as exc:
        for g in ("more", "less"):
            for key, rnd in (("n_clinics", "integer"), ("mean_change", "decimals:2"), ("ci_low", "decimals:2"),
                             ("ci_high", "decimals:2")):
                c.none(f"survey.{g}.{key}", "clinics" if key == "n_clinics" else "points", rnd,
                       f"survey_group_change.csv: {key} where group = {g}", str(exc))
    else:
        for g in ("more", "less"):
            row = change[change["group"] == g].iloc[0]
            where = f"survey_group_change.csv: {{}} where group = {g}"
            c.add(f"survey.{g}.n_clinics", int(row["n_clinics"]), "clinics", "integer", where.format("n_clinics"))
            for key in ("mean_change", "ci_low", "ci_high"):
                c.add(f"survey.{g}.{key}", _number(row[key]), "points", "decimals:2", where.format(key))
    try:
        eff = _table(d, "survey_effects")
    except _Missing as exc:
        eff = None
        reason = str(exc)
    try:
        excl = _table(d, "survey_exclusions")
        c.add("survey.n_excluded_responses",
              int(pd.to_numeric(excl.loc[excl["unit"] == "response", "n_responses"]).sum()), "responses", "integer",
              "survey_exclusions.csv: sum of n_responses where unit = response")
    except _Missing as exc:
        c.none("survey.n_excluded_responses", "responses", "integer", "survey_exclusions.csv", str(exc))
    for a, label in SURVEY_ANALYSES.items():
        where = f"survey_effects.csv: {{}} where analysis = {a}"
        row = None
        if eff is not None:
            rows = eff[eff["analysis"] == a]
            row = rows.iloc[0] if len(rows) else None
            reason = f"survey_effects.csv has no row for analysis {a}"
        c.add(f"survey.{a}.label", label, "", "text", "integrating.values.SURVEY_ANALYSES")
        for key in ("estimate", "statistic", "df", "p", "ci_low", "ci_high", "test"):
            col = "p_value" if key == "p" else key
            value = None if row is None else (row[col] if key == "test" else _number(row[col]))
            unit = {"df": "degrees of freedom", "p": "p", "test": "", "statistic": "test statistic"}.get(
                key, "Hedges g" if a == "hedges_g" else "points")
            rnd = {"p": "p:2", "test": "text"}.get(key, "decimals:2")
            if key in ("df", "statistic") and value is not None and float(value).is_integer():
                rnd = "integer"  # degrees of freedom of the t-test, U of Mann-Whitney
            elif (key, a) in (("df", "welch_t"), ("statistic", "mann_whitney")):
                rnd = "decimals:1"  # Welch-Satterthwaite df; U with mid-ranks
            if row is None:
                c.none(f"survey.{a}.{key}", unit, rnd, where.format(col), reason)
            elif value is None or (isinstance(value, float) and pd.isna(value)):
                c.none(f"survey.{a}.{key}", unit, rnd, where.format(col), f"{a} reports no {col} (not part of it)")
            else:
                c.add(f"survey.{a}.{key}", value, unit, rnd, where.format(col))


def _robustness(c: _Collector, d: Path) -> None:
    try:
        sens = _table(d, "segmentation_sensitivity")
        codes = [col for col in sens.columns if col not in ("threshold", "n_more", "n_less", "n_changed")]
        ok = sens[codes].isin(["strongly distinguishing", "weakly distinguishing"]).all(axis=1)
        c.add("robust.n_thresholds", len(sens), "cut-offs", "integer", "segmentation_sensitivity.csv: rows")
        c.add("robust.n_thresholds_all", int(ok.sum()), "cut-offs", "integer",
              "segmentation_sensitivity.csv: rows where every mechanism is strongly or weakly distinguishing")
        c.add("robust.threshold_min", float(sens["threshold"].min()), "share", "percent:0",
              "segmentation_sensitivity.csv: smallest threshold")
        c.add("robust.threshold_max", float(sens["threshold"].max()), "share", "percent:0",
              "segmentation_sensitivity.csv: largest threshold")
    except _Missing as exc:
        for key, unit, rnd in (("n_thresholds", "cut-offs", "integer"), ("n_thresholds_all", "cut-offs", "integer"),
                               ("threshold_min", "share", "percent:0"), ("threshold_max", "share", "percent:0")):
            c.none(f"robust.{key}", unit, rnd, "segmentation_sensitivity.csv", str(exc))
    keys = (("n_specs", "specifications", "integer"), ("share_same_sign", "share", "percent:0"),
            ("share_significant", "share", "percent:0"), ("estimate_median", "points", "decimals:2"),
            ("estimate_min", "points", "decimals:2"), ("estimate_max", "points", "decimals:2"))
    try:
        mv = _table(d, "multiverse_summary")
        rows = mv[(mv["dimension"] == "all") & (mv["choice"] == "all")]
        if rows.empty:
            raise _Missing("multiverse_summary.csv has no row for all specifications")
        row = rows.iloc[0]
        for key, unit, rnd in keys:
            c.add(f"robust.multiverse.{key}", _number(row[key]), unit, rnd,
                  f"multiverse_summary.csv: {key} where dimension = all")
    except _Missing as exc:
        for key, unit, rnd in keys:
            c.none(f"robust.multiverse.{key}", unit, rnd, f"multiverse_summary.csv: {key}", str(exc))


def _claims(c: _Collector, d: Path) -> None:
    try:
        summary = _table(d, "claims_summary")
        rows = summary[summary["kind"] == "all"]
        if rows.empty:
            raise _Missing("claims_summary.csv has no row for all checks")
        row = rows.iloc[0]
        c.add("claims.n_checks", int(row["n_checks"]), "checks", "integer", "claims_summary.csv: n_checks where kind = all")
        c.add("claims.n_pass", int(row["n_pass"]), "checks", "integer", "claims_summary.csv: n_pass where kind = all")
    except _Missing as exc:
        for key in ("n_checks", "n_pass"):
            c.none(f"claims.{key}", "checks", "integer", f"claims_summary.csv: {key}", str(exc))


# ----------------------------------------------------------------------------------------------
# Writing and reading values.csv


def to_frame(values: list[Value]) -> pd.DataFrame:
    return pd.DataFrame([[v.name, v.cell(), v.unit, v.rounding, v.source] for v in values], columns=COLUMNS)


def write(values: list[Value], path) -> Path:
    """Write values.csv atomically, in the order computed (byte-identical between runs)."""
    return io.write_table(to_frame(values), path)


def read(path) -> dict[str, Value]:
    """Read values.csv into ``{name: Value}``; a malformed row stops with its line and column."""
    path = Path(path)
    if not path.is_file():
        raise ValuesError(f"{path} not found; run `make paper` (rule values) to write it")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [col for col in COLUMNS if col not in df.columns]
    if missing:
        raise ValuesError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    out: dict[str, Value] = {}
    for i, row in enumerate(df.itertuples(index=False), start=2):
        where = f"{path}, line {i}"
        if not row.name:
            raise ValuesError(f"{where}, column name: empty; expected a value name")
        if row.name in out:
            raise ValuesError(f"{where}, column name: {row.name!r} appears twice; expected unique names")
        if not ROUNDING.fullmatch(row.rounding):
            raise ValuesError(f"{where}, column rounding: {row.rounding!r}; expected integer, text, decimals:N, "
                              "percent:N or p:N")
        if row.value.startswith(NOT_COMPUTABLE):
            out[row.name] = Value(row.name, None, row.unit, row.rounding, row.source,
                                  reason=row.value[len(NOT_COMPUTABLE):])
            continue
        value: object = row.value
        if row.rounding != "text":
            try:
                value = float(row.value)
            except ValueError:
                raise ValuesError(f"{where}, column value: {row.value!r}; expected a number "
                                  f"(rounding {row.rounding})") from None
        out[row.name] = Value(row.name, value, row.unit, row.rounding, row.source)
    return out
