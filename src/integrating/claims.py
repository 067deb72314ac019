"""Claims check (notebook 05): do the derived tables reproduce the published numbers?

``claims.yaml`` (package data) lists each published number with the sentence it comes from, where
the reproduced value is read (a derived table, column and row selector; the raw descriptor; the data
inventory), the paper's rounding rule and a tolerance, and the internal-consistency checks of the
derived tables in the style of statcheck (p recomputed from t and df) and GRIM (means achievable
from integer answers). :func:`check` evaluates them all into the rows of ``claims_check.csv``.

The reproduced value of a claim is computed from its inputs only; the published value is read
afterwards, solely to compare. A missing or malformed input makes that claim fail with the reason;
it never stops the check. docs/claims.md documents every rule.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import io
from .errors import ClaimsFailed, ClaimsFileError, IntegratingError  # noqa: F401  (raised by the claims check)
from .rounding import round_half_away

CLAIMS_FILE = Path(__file__).with_name("claims.yaml")
KINDS = ("count", "equal", "rounded")
MEASURES = ("n_rows", "n_unique", "values", "value", "positive_columns")
COLUMNS = ["claim_id", "description", "published", "reproduced", "tolerance", "status",
           "kind", "rule", "source", "reason"]
SUMMARY_COLUMNS = ["kind", "n_checks", "n_pass", "n_fail", "failing", "n_not_checkable", "not_checkable"]
#: A claim is not checkable when the table it is recomputed from was not written: the analysis was
#: not computable on these data (the notebook says why). It is not a pass.
PASS, FAIL, NOT_CHECKABLE = "pass", "fail", "not checkable"
#: Significant digits of floats in the derived tables (integrating.io.FLOAT_FORMAT, "%.10g").
SIGNIFICANT_DIGITS = int(re.fullmatch(r"%\.(\d+)g", io.FLOAT_FORMAT).group(1))
#: Relative error of a float64 mean of a few thousand numbers, far above the actual one.
FLOAT_SLACK = 1e-12


class _MissingInput(IntegratingError):
    """An input of one claim is absent or unusable; the claim fails with this reason (never leaves this module)."""


class _NotComputed(_MissingInput):
    """What a claim needs was not computed on these data (a table not written, a group too small): not checkable."""


@dataclass(frozen=True)
class Claim:
    id: str
    description: str
    source: str
    reported_as: str
    published: object
    kind: str
    origin: dict
    tolerance: float = 0.0
    decimals: int | None = None


@dataclass(frozen=True)
class Check:
    id: str
    check: str
    description: str
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ClaimsFile:
    paper: dict
    claims: list[Claim]
    checks: list[Check]


# ----------------------------------------------------------------------------------------------
# The claims file


def load_claims(path=None) -> ClaimsFile:
    """Read and check the claims file (the package's ``claims.yaml`` by default)."""
    path = Path(path or CLAIMS_FILE)
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    problems, claims, checks, seen = [], [], [], set()
    for i, c in enumerate(doc.get("claims") or []):
        where = f"{path.name}: claim {i + 1} ({c.get('id', 'no id')})"
        missing = [k for k in ("id", "description", "source", "published", "kind", "from") if k not in c]
        if missing:
            problems.append(f"{where} lacks {', '.join(missing)}")
            continue
        if c["id"] in seen:
            problems.append(f"{where}: id is used twice")
        seen.add(c["id"])
        if c["kind"] not in KINDS:
            problems.append(f"{where}: kind {c['kind']!r}; expected one of {', '.join(KINDS)}")
        origin = c["from"]
        if not isinstance(origin, dict) or ("table" in origin) == ("descriptor" in origin):
            problems.append(f"{where}: 'from' needs exactly one of 'table' or 'descriptor'")
        elif "table" in origin and origin.get("measure") not in MEASURES:
            problems.append(f"{where}: measure {origin.get('measure')!r}; expected one of {', '.join(MEASURES)}")
        elif origin.get("measure") in ("n_unique", "values", "value") and "column" not in origin:
            problems.append(f"{where}: measure {origin['measure']} needs 'column'")
        elif origin.get("measure") == "positive_columns" and not isinstance(origin.get("columns"), dict):
            problems.append(f"{where}: measure positive_columns needs 'columns' (label: column)")
        decimals = (c.get("rounding") or {}).get("decimals")
        if c["kind"] == "rounded" and not isinstance(decimals, int):
            problems.append(f"{where}: kind rounded needs rounding.decimals (an integer)")
        claims.append(Claim(id=str(c["id"]), description=str(c["description"]), source=str(c["source"]).strip(),
                            reported_as=str(c.get("reported_as", c["published"])), published=c["published"],
                            kind=c["kind"], origin=origin, tolerance=float(c.get("tolerance", 0) or 0),
                            decimals=decimals))
    for i, c in enumerate(doc.get("checks") or []):
        where = f"{path.name}: check {i + 1} ({c.get('id', 'no id')})"
        if not {"id", "check", "description"} <= set(c):
            problems.append(f"{where} needs id, check and description")
            continue
        if c["check"] not in CHECKS:
            problems.append(f"{where}: unknown check {c['check']!r}; expected one of {', '.join(sorted(CHECKS))}")
        if c["id"] in seen:
            problems.append(f"{where}: id is used twice")
        seen.add(c["id"])
        options = {k: v for k, v in c.items() if k not in ("id", "check", "description")}
        checks.append(Check(id=str(c["id"]), check=c["check"], description=" ".join(str(c["description"]).split()),
                            options=options))
    if problems:
        raise ClaimsFileError("\n".join(problems))
    return ClaimsFile(paper=dict(doc.get("paper") or {}), claims=claims, checks=checks)


def claims_table(claims: ClaimsFile) -> pd.DataFrame:
    """The claims file as a table: id, the paper's sentence, the number as reported, its origin, the rule."""
    return pd.DataFrame(
        {"claim_id": [c.id for c in claims.claims],
         "source_sentence": [" ".join(c.source.split()) for c in claims.claims],
         "reported_as": [c.reported_as for c in claims.claims],
         "reproduced_from": [describe_origin(c.origin) for c in claims.claims],
         "rule": [_rule(c) for c in claims.claims]}
    )


# ----------------------------------------------------------------------------------------------
# Reading inputs (never raising out of a claim: _MissingInput becomes a failing row)


def _read(derived_dir, table: str, *, as_text: bool = False) -> pd.DataFrame:
    path = Path(derived_dir) / table
    if not path.is_file():
        raise _NotComputed(f"{path} was not written (its analysis is not computable on these data; the "
                          "notebook that writes it says why)")
    try:
        if as_text:
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise _MissingInput(f"{path} cannot be read as CSV: {exc}") from None


def _need(df: pd.DataFrame, table: str, columns) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise _MissingInput(f"{table} lacks column(s) {', '.join(missing)}; it has {', '.join(map(str, df.columns))}")


def _select(df: pd.DataFrame, table: str, where: dict | None) -> pd.DataFrame:
    if not where:
        return df
    _need(df, table, where)
    mask = np.ones(len(df), dtype=bool)
    for col, allowed in where.items():
        allowed = allowed if isinstance(allowed, list) else [allowed]
        mask &= df[col].astype(str).isin([str(a) for a in allowed]).to_numpy()
    return df.loc[mask]


def _where_text(where: dict | None) -> str:
    if not where:
        return ""
    parts = []
    for col, allowed in where.items():
        if isinstance(allowed, list):
            parts.append(f"{col} in ({', '.join(map(str, allowed))})")
        else:
            parts.append(f"{col} = {allowed}")
    return " where " + " and ".join(parts)


def describe_origin(origin: dict) -> str:
    """Where a claim's reproduced value comes from, in words (the ``source`` column)."""
    if "descriptor" in origin:
        return f"raw datapackage.json: {origin['descriptor']}"
    table, measure = origin["table"], origin["measure"]
    where = _where_text(origin.get("where"))
    if measure == "n_rows":
        return f"{table}: number of rows{where}"
    if measure == "n_unique":
        return f"{table}: distinct {origin['column']}{where}"
    if measure == "values":
        return f"{table}: the set of {origin['column']}{where}"
    if measure == "value":
        return f"{table}: {origin['column']}{where}"
    cols = ", ".join(f"{label} ({col})" for label, col in origin["columns"].items())
    return f"{table}: source types with documents: {cols}"


def _descriptor_value(raw_dir, key: str):
    path = Path(raw_dir) / "datapackage.json"
    if not path.is_file():
        raise _MissingInput(f"{path} not found")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise _MissingInput(f"{path} is not valid JSON: {exc}") from None
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise _MissingInput(f"{path} has no key {key}")
        value = value[part]
    return value


def reproduce(claim: Claim, derived_dir, raw_dir):
    """The reproduced value of ``claim``, from its inputs only (the published value is not read).

    Raises :class:`_MissingInput` with the reason when an input is absent or does not allow the value.
    """
    origin = claim.origin
    if "descriptor" in origin:
        return _descriptor_value(raw_dir, origin["descriptor"])
    table, measure = origin["table"], origin["measure"]
    df = _read(derived_dir, table)
    if measure == "positive_columns":
        columns = origin["columns"]
        _need(df, table, columns.values())
        sums = df[list(columns.values())].apply(pd.to_numeric, errors="coerce").fillna(0).sum()
        return [label for label, col in columns.items() if sums[col] > 0]
    rows = _select(df, table, origin.get("where"))
    if measure == "n_rows":
        return int(len(rows))
    _need(df, table, [origin["column"]])
    if measure == "n_unique":
        return int(rows[origin["column"]].nunique())
    if measure == "values":
        return sorted(rows[origin["column"]].dropna().astype(str).unique())
    # measure == "value": exactly one row
    if len(rows) != 1:
        raise _MissingInput(f"{len(rows)} rows of {table} match{_where_text(origin.get('where'))}; expected exactly 1")
    value = rows[origin["column"]].iloc[0]
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise _MissingInput(f"{table}: {origin['column']} is {value!r}, not a number") from None
    if not math.isfinite(value):
        raise _MissingInput(f"{table}: {origin['column']} is missing (empty){_where_text(origin.get('where'))}")
    return value


# ----------------------------------------------------------------------------------------------
# Comparing


def _fmt_number(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(value).lower()
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return io.FLOAT_FORMAT % value
    return str(value)


def _fmt(value) -> str:
    if isinstance(value, (list, tuple, set)):
        return "; ".join(sorted(map(str, value)))
    return _fmt_number(value)


def _rule(claim: Claim) -> str:
    if claim.kind == "rounded":
        rule = f"rounded to {claim.decimals} decimals (half away from zero)"
        return rule + (f", within {claim.tolerance:g}" if claim.tolerance else "")
    if claim.kind == "count":
        return "integer, exact" if not claim.tolerance else f"integer, within {claim.tolerance:g}"
    return "equal (as a set)" if isinstance(claim.published, list) else "equal"


def compare(claim: Claim, reproduced) -> tuple[str, str, str]:
    """(status, reproduced as reported, reason) of a claim given its reproduced value."""
    published = claim.published
    if claim.kind == "rounded":
        shown = round_half_away(reproduced, claim.decimals)
        ok = abs(float(shown) - float(published)) <= claim.tolerance + 1e-12
        text = _signed(claim, shown)
        reason = "" if ok else f"unrounded {_fmt_number(float(reproduced))}"
        return (PASS if ok else FAIL), text, reason
    if claim.kind == "count":
        try:
            ok = abs(int(reproduced) - int(published)) <= claim.tolerance
        except (TypeError, ValueError):
            return FAIL, _fmt(reproduced), f"reproduced value {reproduced!r} is not an integer"
        reason = "" if ok else f"differs by {int(reproduced) - int(published):+d}"
        return (PASS if ok else FAIL), str(int(reproduced)), reason
    if isinstance(published, list):
        want, got = set(map(str, published)), set(map(str, reproduced if isinstance(reproduced, list) else [reproduced]))
        ok = want == got
        reason = "" if ok else "; ".join(
            part for part in (f"missing: {', '.join(sorted(want - got))}" if want - got else "",
                              f"not published: {', '.join(sorted(got - want))}" if got - want else "") if part)
        return (PASS if ok else FAIL), _fmt(sorted(got)), reason
    ok = str(reproduced) == str(published)
    return (PASS if ok else FAIL), _fmt(reproduced), "" if ok else f"reproduced {reproduced!r}; published {published!r}"


def _signed(claim: Claim, value: Decimal) -> str:
    """A rounded value written as the paper writes it: with its sign when the paper shows one."""
    return f"{value:+f}" if str(claim.reported_as).lstrip().startswith(("+", "-")) else f"{value:f}"


def _published_text(claim: Claim) -> str:
    if claim.kind == "rounded":
        return _signed(claim, Decimal(str(claim.published)).quantize(Decimal(1).scaleb(-claim.decimals)))
    return _fmt(claim.published)


def check_claim(claim: Claim, derived_dir, raw_dir) -> dict:
    """One row of claims_check.csv for a published claim."""
    row = {"claim_id": claim.id, "description": claim.description, "published": _published_text(claim),
           "tolerance": _fmt_number(claim.tolerance) if claim.kind != "equal" else "",
           "kind": claim.kind, "rule": _rule(claim), "source": describe_origin(claim.origin)}
    try:
        value = reproduce(claim, derived_dir, raw_dir)
    except _MissingInput as exc:
        return {**row, "reproduced": "", "status": _status(exc), "reason": f"not computable: {exc}"}
    status, shown, reason = compare(claim, value)
    return {**row, "reproduced": shown, "status": status, "reason": reason}


# ----------------------------------------------------------------------------------------------
# Internal-consistency checks: each returns one or more rows


def _close(a: float, b: float, rtol: float) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= rtol * max(abs(a), abs(b), 1.0)


def _row(check: Check, suffix: str, description: str, reported, recomputed, ok: bool, source: str,
         reason: str = "", tolerance=None) -> dict:
    tol = check.options.get("tolerance", "") if tolerance is None else tolerance
    return {"claim_id": check.id + (f".{suffix}" if suffix else ""), "description": description,
            "published": _fmt_number(reported), "reproduced": _fmt_number(recomputed),
            "tolerance": _fmt_number(float(tol)) if tol != "" else "", "status": PASS if ok else FAIL,
            "kind": "consistency", "rule": check.description, "source": source, "reason": "" if ok else reason}


def _status(problem) -> str:
    return NOT_CHECKABLE if isinstance(problem, _NotComputed) else FAIL


def _fail_row(check: Check, reason, suffix: str = "") -> dict:
    """A consistency check that could not be made: failing, or not checkable when a table is absent."""
    return {"claim_id": check.id + (f".{suffix}" if suffix else ""), "description": check.description,
            "published": "", "reproduced": "", "tolerance": _fmt_number(float(check.options["tolerance"]))
            if "tolerance" in check.options else "", "status": _status(reason), "kind": "consistency",
            "rule": check.description, "source": "", "reason": f"not computable: {reason}"}


def _effect_row(effects: pd.DataFrame, analysis: str) -> pd.Series:
    rows = effects.loc[effects["analysis"].astype(str).eq(analysis)]
    if len(rows) != 1:
        raise _MissingInput(f"{len(rows)} rows of survey_effects.csv have analysis = {analysis}; expected exactly 1")
    return rows.iloc[0]


def _group_rows(groups: pd.DataFrame) -> dict[str, pd.Series]:
    _need(groups, "survey_group_change.csv", ["group", "n_clinics", "mean_change", "sd_change"])
    out = {}
    for g in ("more", "less"):
        rows = groups.loc[groups["group"].astype(str).eq(g)]
        if len(rows) != 1:
            raise _MissingInput(f"{len(rows)} rows of survey_group_change.csv have group = {g}; expected exactly 1")
        out[g] = rows.iloc[0]
    return out


def p_from_t(check: Check, derived_dir, raw_dir) -> list[dict]:
    """statcheck: p = 2 * P(T_df > |t|) (scipy.stats.t) for each listed analysis of survey_effects.csv."""
    from scipy import stats

    rtol = float(check.options.get("tolerance", 1e-6))
    rows = []
    for analysis in check.options.get("analyses", ["student_t"]):
        try:
            effects = _read(derived_dir, "survey_effects.csv")
            _need(effects, "survey_effects.csv", ["analysis", "statistic", "df", "p_value"])
            r = _effect_row(effects, analysis)
            t, df, p = float(r["statistic"]), float(r["df"]), float(r["p_value"])
            if not (math.isfinite(t) and math.isfinite(df) and df > 0):
                raise _MissingInput(f"survey_effects.csv: {analysis} has statistic {t!r} and df {df!r}; "
                                   "expected a finite t and df > 0")
        except _MissingInput as exc:
            rows.append(_fail_row(check, exc, analysis))
            continue
        recomputed = float(2 * stats.t.sf(abs(t), df))
        ok = _close(p, recomputed, rtol)
        rows.append(_row(check, analysis, f"p of {analysis} (reported) vs 2·P(T_{df:g} > |{t:.4g}|) (recomputed)",
                         p, recomputed, ok, "survey_effects.csv: statistic, df, p_value",
                         f"p_value {p:.10g} but t = {t:.10g} with df = {df:g} gives p = {recomputed:.10g}"))
    return rows


def t_from_group_summary(check: Check, derived_dir, raw_dir) -> list[dict]:
    """Student t from the group summaries: (m1 - m2) / (s_p * sqrt(1/n1 + 1/n2)), df = n1 + n2 - 2."""
    rtol = float(check.options.get("tolerance", 1e-6))
    try:
        g = _group_rows(_read(derived_dir, "survey_group_change.csv"))
        effects = _read(derived_dir, "survey_effects.csv")
        _need(effects, "survey_effects.csv", ["analysis", "statistic", "df"])
        r = _effect_row(effects, "student_t")
    except _MissingInput as exc:
        return [_fail_row(check, exc)]
    n1, n2 = float(g["more"]["n_clinics"]), float(g["less"]["n_clinics"])
    m1, m2 = float(g["more"]["mean_change"]), float(g["less"]["mean_change"])
    s1, s2 = float(g["more"]["sd_change"]), float(g["less"]["sd_change"])
    if n1 < 2 or n2 < 2:
        return [_fail_row(check, _NotComputed(f"groups have {n1:g} and {n2:g} clinics; a t statistic needs at least "
                                             "2 per group"))]
    pooled = math.sqrt(((n1 - 1) * s1 ** 2 + (n2 - 1) * s2 ** 2) / (n1 + n2 - 2))
    t = (m1 - m2) / (pooled * math.sqrt(1 / n1 + 1 / n2)) if pooled > 0 else float("nan")
    t_rep, df_rep = float(r["statistic"]), float(r["df"])
    ok = _close(t_rep, t, rtol) and df_rep == n1 + n2 - 2
    reason = (f"statistic {t_rep:.10g}, df {df_rep:g}; the group summaries give t = {t:.10g}, "
              f"df = {n1 + n2 - 2:g}")
    return [_row(check, "", "Student t (reported) vs t from group n, mean and SD (recomputed)", t_rep, t, ok,
                 "survey_effects.csv student_t; survey_group_change.csv", reason)]


def estimate_is_difference(check: Check, derived_dir, raw_dir) -> list[dict]:
    """The Student t estimate equals mean_more - mean_less, and its n_more/n_less the groups' n_clinics."""
    rtol = float(check.options.get("tolerance", 1e-8))
    try:
        g = _group_rows(_read(derived_dir, "survey_group_change.csv"))
        effects = _read(derived_dir, "survey_effects.csv")
        _need(effects, "survey_effects.csv", ["analysis", "estimate", "n_more", "n_less"])
        r = _effect_row(effects, "student_t")
    except _MissingInput as exc:
        return [_fail_row(check, exc)]
    diff = float(g["more"]["mean_change"]) - float(g["less"]["mean_change"])
    est = float(r["estimate"])
    same_n = (float(r["n_more"]) == float(g["more"]["n_clinics"])
              and float(r["n_less"]) == float(g["less"]["n_clinics"]))
    ok = _close(est, diff, rtol) and same_n
    reason = (f"estimate {est:.10g} (n {r['n_more']:g}/{r['n_less']:g}); mean_change more - less = {diff:.10g} "
              f"(n {g['more']['n_clinics']:g}/{g['less']['n_clinics']:g})")
    return [_row(check, "", "Student t estimate (reported) vs mean_change more - less (recomputed)", est, diff, ok,
                 "survey_effects.csv student_t; survey_group_change.csv", reason)]


def group_mean_change(check: Check, derived_dir, raw_dir) -> list[dict]:
    """Per group: n_clinics, mean_change and sd_change of survey_group_change.csv vs the clinic table."""
    rtol = float(check.options.get("tolerance", 1e-8))
    try:
        groups = _read(derived_dir, "survey_group_change.csv")
        _need(groups, "survey_group_change.csv", ["group", "n_clinics", "mean_change", "sd_change"])
        clinics = _read(derived_dir, "survey_clinic_change.csv")
        _need(clinics, "survey_clinic_change.csv", ["clinic_id", "group", "change"])
    except _MissingInput as exc:
        return [_fail_row(check, exc, grp) for grp in check.options.get("groups", ["more", "less"])]
    stats_by = clinics.groupby(clinics["group"].astype(str))["change"].agg(["size", "mean", "std"])
    rows = []
    for grp in check.options.get("groups", ["more", "less"]):
        rep = groups.loc[groups["group"].astype(str).eq(grp)]
        if len(rep) != 1:
            rows.append(_fail_row(check, f"{len(rep)} rows of survey_group_change.csv have group = {grp}; "
                                         "expected exactly 1", grp))
            continue
        rep = rep.iloc[0]
        n, m, sd = (stats_by.loc[grp, ["size", "mean", "std"]] if grp in stats_by.index else (0, np.nan, np.nan))
        ok_n = float(rep["n_clinics"]) == float(n)
        ok_m = _close(float(rep["mean_change"]), float(m), rtol)
        sd_rep = float(rep["sd_change"])
        ok_sd = (_close(sd_rep, float(sd), rtol)) or (n < 2 and not math.isfinite(sd_rep))
        reason = (f"survey_group_change.csv: n {rep['n_clinics']:g}, mean {float(rep['mean_change']):.10g}, "
                  f"SD {sd_rep:.10g}; survey_clinic_change.csv: n {int(n)}, mean {float(m):.10g}, SD {float(sd):.10g}")
        rows.append(_row(check, grp, f"mean change of '{grp}' (reported) vs mean of its clinics' change (recomputed)",
                         float(rep["mean_change"]), float(m), ok_n and ok_m and ok_sd,
                         "survey_group_change.csv; survey_clinic_change.csv", reason))
    return rows


def clinic_change_arithmetic(check: Check, derived_dir, raw_dir) -> list[dict]:
    """Each clinic's change equals mean_post - mean_pre."""
    rtol = float(check.options.get("tolerance", 1e-8))
    try:
        clinics = _read(derived_dir, "survey_clinic_change.csv")
        _need(clinics, "survey_clinic_change.csv", ["clinic_id", "mean_pre", "mean_post", "change"])
    except _MissingInput as exc:
        return [_fail_row(check, exc)]
    diff = clinics["mean_post"].to_numpy(float) - clinics["mean_pre"].to_numpy(float)
    change = clinics["change"].to_numpy(float)
    bad = ~(np.abs(diff - change) <= rtol * np.maximum(np.maximum(np.abs(diff), np.abs(change)), 1.0))
    ids = clinics.loc[bad, "clinic_id"].astype(str).tolist()
    return [_row(check, "", "clinics whose change is not mean_post - mean_pre", 0, len(ids), not ids,
                 "survey_clinic_change.csv", f"clinic(s) {', '.join(ids)}")]


# --- GRIM ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrimDesign:
    """What a composite can be: a mean of k integer answers, 1 <= k <= n_items, within [low, high]."""

    n_items: int
    low: float
    high: float

    @property
    def denominator(self) -> int:
        """L = lcm(1..n_items): every response's composite is a multiple of 1/L."""
        return reduce(math.lcm, range(1, self.n_items + 1), 1)


def grim_design(raw_dir) -> GrimDesign:
    """The composite's design from ``raw_dir/survey_items.csv`` (items with in_composite true)."""
    path = Path(raw_dir) / "survey_items.csv"
    if not path.is_file():
        raise _NotComputed(f"{path} not found: the study has no survey (the check needs the number of composite items)")
    items = pd.read_csv(path, dtype=str, keep_default_na=False)
    _need(items, "survey_items.csv", ["item", "scale_min", "scale_max", "in_composite"])
    comp = items.loc[items["in_composite"].str.strip().str.lower().eq("true")]
    if comp.empty:
        raise _MissingInput("survey_items.csv has no item with in_composite = true")
    lo, hi = pd.to_numeric(comp["scale_min"]), pd.to_numeric(comp["scale_max"])
    return GrimDesign(n_items=len(comp), low=float(lo.min()), high=float(hi.max()))


def half_units(texts) -> np.ndarray:
    """Half the last unit of each number written with SIGNIFICANT_DIGITS digits (io.FLOAT_FORMAT).

    "%.10g" drops trailing zeros, so "4.25" stands for 4.250000000: the precision is that of 10
    significant digits, or finer when the text shows more digits. Vectorised over a sequence of texts.
    """
    s = pd.Series(texts, dtype=object).astype(str).str.strip().str.lower()
    parts = s.str.extract(r"^[+-]?\d*(?:\.(?P<dec>\d*))?(?:e(?P<exp>[+-]?\d+))?$")
    exponent = pd.to_numeric(parts["exp"], errors="coerce").fillna(0).to_numpy(float)
    decimals = parts["dec"].fillna("").astype(str).str.len().to_numpy(float)
    shown = exponent - decimals
    m = np.abs(pd.to_numeric(s, errors="coerce").to_numpy(float))
    with np.errstate(divide="ignore", invalid="ignore"):
        sig = np.where(m > 0, np.floor(np.log10(m)) - (SIGNIFICANT_DIGITS - 1), -(SIGNIFICANT_DIGITS + 10))
    return 0.5 * 10.0 ** np.minimum(shown, sig)


def grim(means, n, design: GrimDesign) -> pd.DataFrame:
    """GRIM test of reported means (texts as written in the table) of n responses each, vectorised.

    The sum of n composites is a multiple of 1/L (L = lcm(1..n_items)), so mean * n * L must lie
    within n * L * (rounding error of the mean) of an integer. Returns ``verdict`` (consistent,
    inconsistent, skipped) and ``detail`` per mean. Skipped when n < 1, or when that window reaches
    0.5 (every value at the table's precision is achievable: the test cannot discriminate).
    """
    texts = pd.Series(means, dtype=object).astype(str).str.strip()
    n = pd.to_numeric(pd.Series(n, dtype=object), errors="coerce").to_numpy(float)
    m = pd.to_numeric(texts, errors="coerce").to_numpy(float)
    grains = n * design.denominator
    window = grains * (half_units(texts) + np.abs(m) * FLOAT_SLACK)
    x = m * grains
    distance = np.abs(x - np.rint(x))
    finite = np.isfinite(m) & np.isfinite(n)
    outside = finite & ((m < design.low - 1e-9) | (m > design.high + 1e-9))
    no_n = np.isfinite(n) & (n < 1)
    coarse = finite & ~outside & ~no_n & (window >= 0.5)
    ok = finite & ~outside & ~no_n & ~coarse & (distance <= window)
    verdict = np.select([no_n, ~finite, outside, coarse, ok],
                        ["skipped", "inconsistent", "inconsistent", "skipped", "consistent"], "inconsistent")
    n_text = pd.Series(n).map(lambda v: f"{v:g}")
    detail = np.select(
        [no_n, ~finite, outside, coarse, ok],
        ["n = " + n_text,
         "mean " + texts + " or n " + n_text + " is not a number",
         "mean " + texts + f" outside the scale {design.low:g}..{design.high:g}",
         "n * L = " + pd.Series(grains).map(lambda v: f"{v:g}") + ": every mean at this precision is achievable",
         ""],
        "mean " + texts + " * " + n_text + f" * {design.denominator} = " + pd.Series(x).map(lambda v: f"{v:.6f}")
        + " is not within " + pd.Series(window).map(lambda v: f"{v:.2e}") + " of an integer",
    )
    return pd.DataFrame({"verdict": verdict, "detail": detail})


def grim_clinic_means(check: Check, derived_dir, raw_dir) -> list[dict]:
    """GRIM on mean_pre/n_pre and mean_post/n_post of every clinic in survey_clinic_change.csv."""
    try:
        design = grim_design(raw_dir)
        clinics = _read(derived_dir, "survey_clinic_change.csv", as_text=True)
        _need(clinics, "survey_clinic_change.csv", ["clinic_id", "n_pre", "n_post", "mean_pre", "mean_post"])
    except _MissingInput as exc:
        return [_fail_row(check, exc)]
    parts = []
    for wave in ("pre", "post"):
        res = grim(clinics[f"mean_{wave}"], clinics[f"n_{wave}"], design)
        res.insert(0, "unit", clinics["clinic_id"].astype(str).to_numpy() + f" {wave}")
        parts.append(res)
    res = pd.concat(parts, ignore_index=True)
    labelled = res["unit"] + np.where(res["detail"].eq(""), "", " (" + res["detail"] + ")")
    bad = labelled[res["verdict"].eq("inconsistent")].tolist()
    skipped = labelled[res["verdict"].eq("skipped")].tolist()
    checked = int(res["verdict"].ne("skipped").sum())
    row = _row(check, "", f"clinic wave means inconsistent with integer answers (of {checked} checked, "
                          f"{len(skipped)} skipped; composite of {design.n_items} items, L = {design.denominator})",
               0, len(bad), not bad, "survey_clinic_change.csv; raw survey_items.csv", "; ".join(bad), tolerance="")
    if skipped and not bad:
        row["reason"] = "skipped: " + "; ".join(skipped)
    return [row]


CHECKS = {
    "p_from_t": p_from_t,
    "t_from_group_summary": t_from_group_summary,
    "estimate_is_difference": estimate_is_difference,
    "group_mean_change": group_mean_change,
    "clinic_change_arithmetic": clinic_change_arithmetic,
    "grim_clinic_means": grim_clinic_means,
}


# ----------------------------------------------------------------------------------------------
# The whole check


def check(derived_dir, raw_dir, claims: ClaimsFile | None = None) -> pd.DataFrame:
    """``claims_check.csv``: one row per published claim, then one per consistency check (file order)."""
    claims = claims or load_claims()
    rows = [check_claim(c, derived_dir, raw_dir) for c in claims.claims]
    for c in claims.checks:
        try:
            rows.extend(CHECKS[c.check](c, derived_dir, raw_dir))
        except (KeyError, ValueError, TypeError) as exc:  # malformed table: a failing row, not a crash
            rows.append(_fail_row(c, f"{type(exc).__name__}: {exc}"))
    return pd.DataFrame(rows, columns=COLUMNS).astype(str)


def inputs(derived_dir, raw_dir, claims: ClaimsFile | None = None) -> list[Path]:
    """The input files the check reads that exist (for the provenance record)."""
    claims = claims or load_claims()
    names = {c.origin["table"] for c in claims.claims if "table" in c.origin}
    if claims.checks:
        names |= {"survey_effects.csv", "survey_group_change.csv", "survey_clinic_change.csv"}
    files = [Path(derived_dir) / n for n in sorted(names)]
    raw = [Path(raw_dir) / "datapackage.json", Path(raw_dir) / "survey_items.csv"]
    return [p for p in files + raw if p.is_file()]


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """``claims_summary.csv``: per kind (published claims, consistency checks) and in total."""
    published = table["kind"].ne("consistency")
    parts = [("published", table[published]), ("consistency", table[~published]), ("all", table)]
    rows = []
    for kind, part in parts:
        failing = part.loc[part["status"].eq(FAIL), "claim_id"].tolist()
        unchecked = part.loc[part["status"].eq(NOT_CHECKABLE), "claim_id"].tolist()
        rows.append((kind, len(part), int(part["status"].eq(PASS).sum()), len(failing), "; ".join(failing),
                     len(unchecked), "; ".join(unchecked)))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def failures(table: pd.DataFrame) -> list[str]:
    """Each claim not reproduced (failing or not checkable) as "id: description (published X, reproduced Y; reason)"."""
    bad = table.loc[table["status"].isin([FAIL, NOT_CHECKABLE])]
    return [f"{r.claim_id}: {r.description} (published {r.published or '-'}, reproduced {r.reproduced or '-'}"
            f"{'; ' + r.reason if r.reason else ''})" for r in bad.itertuples()]


def enforce(table: pd.DataFrame, fail_on_claims: bool) -> str:
    """A one-line verdict; raises :class:`ClaimsFailed` naming every failing claim when asked to."""
    failing = failures(table)
    n_unchecked = int(table["status"].eq(NOT_CHECKABLE).sum())
    verdict = (f"{int(table['status'].eq(PASS).sum())} of {len(table)} claims and checks pass"
               + (f"; {len(failing) - n_unchecked} fail" if len(failing) > n_unchecked else "")
               + (f"; {n_unchecked} not checkable on these data" if n_unchecked else ""))
    if failing and fail_on_claims:
        raise ClaimsFailed(f"{len(failing)} claim(s) not reproduced (fail_on_claims is true):\n"
                           + "\n".join(f"  {line}" for line in failing))
    return verdict
