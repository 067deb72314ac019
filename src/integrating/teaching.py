"""The teaching course: each exercise's self-check, which marks a student's answers without showing them.

An exercise notebook (``notebooks/teaching/``) asks questions about the study; its self-check cell
calls one ``check_*`` function of this module with the student's answers. The function computes the
expected answers from the data and the notebook's parameters, compares them (exact answers by a
SHA-256 fingerprint of their normalised form, numbers within a range) and prints, per question,
"RIGHT", "NOT YET" (naming the question) or "not answered yet", then one verdict; it never prints
an expected value. The notebooks define no function: everything they call beyond the analysis
modules lives here; :mod:`integrating.teaching_packs` writes the student and teacher packs
(``make teaching``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import paths
from .dependencies import parameters_cell
from .errors import AnalysisError, TeachingError

NOT_ANSWERED = "not answered yet"
NOT_COMPUTABLE = "not computable"
#: A written interpretation needs at least this many words to count as written.
MIN_WORDS = 8
EXERCISE_DIR = paths.NOTEBOOKS / "teaching"


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    minutes: int
    session: int


#: The course, in the order of the teacher's guide (docs/teaching.md): session, then position.
EXERCISES = (
    Exercise("04_coding_practice", "Code excerpts with the codebook and compare coders", 40, 1),
    Exercise("05_case_ordered_matrix", "From coded segments to the case-ordered matrix and its verdict", 35, 1),
    Exercise("02_recode_mechanism", "Recode a mechanism and watch the distinguishing table", 25, 1),
    Exercise("01_segmentation_threshold", "Move the segmentation cut-off and predict the survey result", 30, 2),
    Exercise("06_survey_critically", "Read the survey result critically: which test, which unit", 40, 2),
    Exercise("03_design_power", "Design a study with enough power", 30, 2),
)


def data_folder(folder) -> Path:
    """The folder as given when it exists (or is absolute), else relative to the compendium's root.

    JupyterLab starts a notebook in its own folder: ``data/raw`` then means the pack's copy in the
    student pack and the compendium's ``data/raw`` in ``notebooks/teaching``.
    """
    folder = Path(folder)
    return folder if folder.is_absolute() or folder.exists() else paths.ROOT / folder


# --- marking -------------------------------------------------------------------------------------


def _normalise(value):
    """Canonical form of an exact answer: bools stay bools, whole numbers become int, text is lower-cased
    with ``_`` and runs of spaces made one space."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return int(value) if value.is_integer() else round(value, 12)
    if isinstance(value, str):
        return " ".join(value.replace("_", " ").lower().split())
    return repr(value)


def fingerprint(value) -> str:
    """SHA-256 of the normalised answer, typed (``True`` and ``1`` differ, ``6`` and ``6.0`` do not)."""
    norm = _normalise(value)
    return hashlib.sha256(json.dumps([type(norm).__name__, norm]).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Question:
    """One question of a self-check: the student's answer and what it is compared with.

    ``expected`` is reduced at once to a fingerprint (exact questions) or a range (``tolerance``
    given: right when |answer - expected| <= tolerance) and is never shown.
    """

    label: str
    answer: Any
    expected: Any = field(default=None, repr=False, compare=False)
    tolerance: float | None = None
    problem: str | None = None  # set when the answer is malformed: the reason, said instead of "look again"
    written: bool = False        # a written interpretation: counted as answered once it has MIN_WORDS words
    _key: str = field(init=False, repr=False, compare=False)
    _range: tuple | None = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        exact = self.tolerance is None and not self.written
        object.__setattr__(self, "_key", fingerprint(self.expected) if exact else "")
        rng = None
        if self.tolerance is not None:
            rng = (float(self.expected) - self.tolerance, float(self.expected) + self.tolerance)
        object.__setattr__(self, "_range", rng)
        object.__setattr__(self, "expected", None)  # keep only the fingerprint or the range

    def mark(self) -> bool | None:
        """True (right), False (not right) or None (not answered)."""
        if self.answer is None:
            return None
        if self.problem is not None:
            return False
        if self.written:
            return isinstance(self.answer, str) and len(self.answer.split()) >= MIN_WORDS
        if self._range is not None:
            if isinstance(self.answer, (bool, np.bool_)) or not isinstance(self.answer, (int, float, np.number)):
                return False
            value = float(self.answer)
            return bool(math.isfinite(value) and self._range[0] <= value <= self._range[1])
        return fingerprint(self.answer) == self._key

    def line(self, result: bool | None) -> str:
        if result is None:
            return f"... {self.label}: {NOT_ANSWERED}"
        if result and self.written:
            return f"NOTED: {self.label} (not marked automatically: compare it with a partner's and in class)"
        if result:
            return f"RIGHT: {self.label}"
        if self.written:
            return f"NOT YET: {self.label} (write at least {MIN_WORDS} words, as a string)"
        return f"NOT YET: {self.label} ({self.problem or 'look again'})"


def report(questions: list[Question]) -> list[bool | None]:
    """Print one line per question and the verdict; return each question's mark."""
    results = [q.mark() for q in questions]
    for q, r in zip(questions, results):
        print(q.line(r))
    wrong = [q.label for q, r in zip(questions, results) if r is False]
    if all(r is True for r in results):
        print("All right! Discuss your written interpretation with a partner, then in class.")
    elif wrong:
        unanswered = sum(r is None for r in results)
        rest = f"; {unanswered} not answered yet" if unanswered else ""
        print(f"Not right yet: {'; '.join(wrong)}{rest}. Look again at the tables above and try once more.")
    else:
        print("Not answered yet: fill in every answer in the cell above, run it, then run this cell again.")
    return results


def interpretation(text) -> Question:
    return Question("written interpretation", text, written=True)


# --- exercise 01: segmentation threshold ----------------------------------------------------------


def _segments(study, threshold):
    from . import segmentation

    return segmentation.clinic_segments(study.clinics, study.implementation_log, months=study.info.months,
                                        threshold=threshold)


def _threshold_expected(study, new_threshold, composite_min_answered, alpha) -> dict:
    from . import stats, survey

    segments = _segments(study, new_threshold)
    scored = survey.composite_scores(study.survey_responses, study.survey_items, min_answered=composite_min_answered)
    change = survey.clinic_change(scored, segments).table
    out = {"n_more": int(segments["group"].eq("more").sum())}
    try:
        effect = stats.student_t(change["change"], change["group"])
    except AnalysisError:
        return {**out, "computable": False, "positive": NOT_COMPUTABLE, "significant": NOT_COMPUTABLE}
    return {**out, "computable": True, "positive": bool(effect.estimate > 0),
            "significant": bool(effect.p_value < alpha)}


def check_threshold(study, *, new_threshold, composite_min_answered, alpha, n_more, computable, positive,
                    significant, written) -> list:
    """Self-check of exercise 01 (segmentation threshold)."""
    e = _threshold_expected(study, new_threshold, composite_min_answered, alpha)
    return report([
        Question(f"clinics in 'more' at cut-off {new_threshold:g}", n_more, e["n_more"]),
        Question("can the Student t-test be computed", computable, e["computable"]),
        Question("difference still positive (or 'not computable')", positive, e["positive"]),
        Question(f"still p < {alpha:g} (or 'not computable')", significant, e["significant"]),
        interpretation(written),
    ])


# --- exercise 02: recode a mechanism --------------------------------------------------------------


def distinguishing_table(study, segments, coded_segments, codes) -> pd.DataFrame:
    """The distinguishing table of notebook 02 for these coded segments: code, group means, p, verdict."""
    from . import mechanisms

    _, rates = mechanisms.mechanism_matrix(segments, study.documents, coded_segments, codes)
    table = mechanisms.compare_groups(rates, codes, direction="more")
    return table[["code", "mean_more", "mean_less", "p_value", "verdict"]]


def _recode_expected(study, implementation_threshold, merged_code, into_code):
    recoded = study.coded_segments.assign(code=study.coded_segments["code"].replace({merged_code: into_code}))
    codes = [c for c in study.mechanism_codes if c != merged_code]
    after = distinguishing_table(study, _segments(study, implementation_threshold), recoded, codes)
    return recoded, after.set_index("code").loc[into_code, "verdict"]


def check_recoding(study, *, implementation_threshold, merged_code, into_code, recoded_segments, verdict,
                   written) -> list:
    """Self-check of exercise 02 (recode a mechanism)."""
    expected, expected_verdict = _recode_expected(study, implementation_threshold, merged_code, into_code)
    same, problem = None, None
    if recoded_segments is not None:
        if not isinstance(recoded_segments, pd.DataFrame) or "code" not in recoded_segments:
            same, problem = False, "expected a DataFrame like study.coded_segments"
        elif len(recoded_segments) != len(expected):
            same, problem = False, f"it has {len(recoded_segments)} rows; recoding keeps every segment"
        else:
            same = recoded_segments["code"].tolist() == expected["code"].tolist()
    return report([
        Question("recoded segments", same, True, problem=problem),
        Question(f"verdict of {into_code} after the merge", verdict, expected_verdict),
        interpretation(written),
    ])


# --- exercise 03: design power --------------------------------------------------------------------


def check_power(*, share_more, icc, wave_correlation, sd, difference, alpha, target, clinics_100, clinics_400,
                eight_enough, written) -> list:
    """Self-check of exercise 03 (design power): the analytic power of the Student t-test."""
    from . import power

    needed = {m: power.clinics_needed(share_more=share_more, respondents=m, icc=icc, wave_correlation=wave_correlation,
                                      sd=sd, difference=difference, alpha=alpha, target=target) for m in (100, 400)}
    eight = power.make_design(8, share_more, 1000, icc, wave_correlation, sd, difference)
    eight_power = float(power.analytic_power(8, eight.n_more, eight.change_sd, difference, alpha))
    return report([
        Question("clinics needed, 100 respondents (analytic)", clinics_100, needed[100]),
        Question("clinics needed, 400 respondents (analytic)", clinics_400, needed[400]),
        Question("8 clinics with 1,000 respondents reach the target (analytic)", eight_enough,
                 bool(eight_power >= target)),
        interpretation(written),
    ])


# --- exercise 04: coding practice -----------------------------------------------------------------

_SENTENCE = re.compile(r"[^.!?\s][^.!?]*[.!?]")


def coders(study) -> tuple[str, str]:
    """(reference, second): the double-coding pair, the coder with more coded segments first."""
    from . import reliability

    pair = reliability.double_coders(study.coded_segments)
    sizes = study.coded_segments["coder"].value_counts()
    return tuple(sorted(pair, key=lambda c: (-int(sizes.get(c, 0)), c)))


def mechanism_codebook(study) -> pd.DataFrame:
    """The codebook's mechanism codes: code, label, definition."""
    book = study.codebook.set_index("code")
    return book.loc[study.mechanism_codes, ["label", "definition"]].reset_index()


def _sentences(study, document_ids) -> pd.DataFrame:
    rows = []
    for doc in document_ids:
        text = study.text(doc)
        body = text.find("\n\n")
        body = 0 if body < 0 else body + 2  # the first paragraph is the SYNTHETIC header
        for m in _SENTENCE.finditer(text, body):
            rows.append({"document_id": doc, "start": m.start(), "end": m.end(), "text": m.group(0)})
    return pd.DataFrame(rows, columns=["document_id", "start", "end", "text"])


def _units_codes(study, units: pd.DataFrame, coder: str) -> list[list[str]]:
    """Per unit (document_id, start, end): the mechanism codes the coder applied to a span overlapping it."""
    seg = study.coded_segments
    seg = seg[seg["coder"].eq(coder) & seg["code"].isin(study.mechanism_codes)]
    by_doc = {d: g for d, g in seg.groupby("document_id")}
    out = []
    for doc, start, end in zip(units["document_id"], units["start"], units["end"]):
        g = by_doc.get(doc)
        if g is None:
            out.append([])
            continue
        hit = g[(g["start"] < end) & (start < g["end"])]
        out.append([c for c in study.mechanism_codes if c in set(hit["code"])])
    return out


def coding_excerpts(study, n: int = 6, seed: int = 2014) -> pd.DataFrame:
    """A handful of sentences of double-coded documents to code: excerpt_id (E1..), document_id,
    clinic_id, source_type, start, end, text.

    Deterministic for a data set, ``n`` and ``seed``: about half of them carry a mechanism code of
    the reference coder, at least one (when there is one) is coded differently by the two coders,
    the rest carry none; in document order.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise TeachingError(f"n_excerpts is {n!r}; expected an integer >= 2")
    reference, second = coders(study)
    seg = study.coded_segments
    docs_by = seg.groupby("coder")["document_id"].unique()
    both = sorted(set(docs_by[reference]) & set(docs_by[second]))
    units = _sentences(study, both)
    ref, sec = _units_codes(study, units, reference), _units_codes(study, units, second)
    coded = np.array([bool(r) for r in ref])
    differ = np.array([r != s for r, s in zip(ref, sec)])
    rng = np.random.default_rng(seed)
    chosen: list[int] = []

    def take(pool, k):
        pool = [i for i in rng.permutation(np.flatnonzero(pool)) if i not in chosen]
        chosen.extend(int(i) for i in pool[:max(k, 0)])

    take(differ & coded, 1)
    take(coded, (n + 1) // 2 - len(chosen))
    take(~coded, n - len(chosen))
    take(np.ones(len(units), dtype=bool), n - len(chosen))
    if len(chosen) < n:
        raise AnalysisError(f"the double-coded documents hold {len(units)} sentence(s); {n} excerpts requested")
    picked = units.iloc[sorted(chosen, key=lambda i: (units.at[i, "document_id"], units.at[i, "start"]))]
    picked = picked.merge(study.documents[["document_id", "clinic_id", "source_type"]], on="document_id", how="left")
    picked.insert(0, "excerpt_id", [f"E{i}" for i in range(1, len(picked) + 1)])
    return picked[["excerpt_id", "document_id", "clinic_id", "source_type", "start", "end", "text"]]


def coding_problems(study, excerpts: pd.DataFrame, coding) -> list[str]:
    """What makes ``coding`` unusable: it must map every excerpt_id to a list of mechanism codes."""
    if not isinstance(coding, dict):
        return [f"expected a dict {{excerpt_id: [codes]}}, got {type(coding).__name__}"]
    ids = list(excerpts["excerpt_id"])
    problems = [f"{k!r} is not an excerpt (expected one of {', '.join(ids)})" for k in coding if k not in ids]
    problems += [f"{k} has no entry (use [] for no code)" for k in ids if k not in coding]
    valid = set(study.mechanism_codes)
    for k, codes in coding.items():
        codes = [codes] if isinstance(codes, str) else codes
        if not isinstance(codes, (list, tuple, set)):
            problems.append(f"{k}: expected a list of codes, got {type(codes).__name__}")
            continue
        problems += [f"{k}: {c!r} is not a mechanism code of the codebook" for c in codes if c not in valid]
    return problems


def _as_lists(coding) -> dict:
    return {k: sorted({v} if isinstance(v, str) else set(v)) for k, v in coding.items()}


@dataclass(frozen=True)
class CodingComparison:
    agreement: pd.DataFrame      # per pair of codings: n_units, percent agreement, Cohen's kappa, Krippendorff's alpha
    disagreements: pd.DataFrame  # one row per (excerpt, code) on which the codings differ: 1 = applied


def compare_codings(study, excerpts: pd.DataFrame, codings: dict) -> CodingComparison:
    """Agreement of every pair of codings on the excerpts (unit: excerpt x mechanism code, present or
    not), by :func:`integrating.reliability.reliability_table`, and the units on which they differ."""
    from . import reliability

    for name, coding in codings.items():
        problems = coding_problems(study, excerpts, coding)
        if problems:
            raise TeachingError(f"coding {name!r}: {problems[0]}")
    ids = list(excerpts["excerpt_id"])
    rows = []
    for name, coding in codings.items():
        lists = _as_lists(coding)
        for k in ids:  # a placeholder keeps an excerpt without code among the units both coded
            rows += [{"document_id": k, "coder": name, "code": c} for c in [*lists[k], "(none)"]]
    frame = pd.DataFrame(rows)
    book = mechanism_codebook(study).assign(category="mechanism")
    names = list(codings)
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            table = reliability.reliability_table(frame, book, coders=(a, b))
            overall = table[table["code"].eq("overall")].iloc[0]
            pairs.append({"coding": a, "compared_with": b, "n_units": int(overall["n_units"]),
                          "percent_agreement": float(overall["percent_agreement"]),
                          "cohen_kappa": float(overall["cohen_kappa"]),
                          "krippendorff_alpha": float(overall["krippendorff_alpha"])})
    grid = pd.MultiIndex.from_product([ids, study.mechanism_codes], names=["excerpt_id", "code"])
    present = pd.DataFrame({n: [int(c in _as_lists(codings[n])[k]) for k, c in grid] for n in names}, index=grid)
    differ = present[present.nunique(axis=1) > 1].reset_index()
    return CodingComparison(pd.DataFrame(pairs), differ)


def reference_codings(study, excerpts: pd.DataFrame) -> dict[str, dict]:
    """The study's two coders' codings of the excerpts: {coder: {excerpt_id: [codes]}}."""
    return {c: dict(zip(excerpts["excerpt_id"], _units_codes(study, excerpts, c))) for c in coders(study)}


def _coding_expected(study, excerpts) -> dict:
    reference = reference_codings(study, excerpts)[coders(study)[0]]
    empty = {k: [] for k in excerpts["excerpt_id"]}
    row = compare_codings(study, excerpts, {"reference": reference, "no code": empty}).agreement.iloc[0]
    return {"empty_agreement": row["percent_agreement"], "empty_kappa": row["cohen_kappa"]}


def check_coding(study, excerpts, *, my_coding, partner_coding, empty_agreement, empty_kappa, written) -> list:
    """Self-check of exercise 04 (coding practice); with a usable coding, also prints its comparison
    with the reference coder and the partner (the study's second coder when ``partner_coding`` is None)."""
    e = _coding_expected(study, excerpts)
    problems = None if my_coding is None else coding_problems(study, excerpts, my_coding)
    partner_problems = None if partner_coding is None else coding_problems(study, excerpts, partner_coding)
    results = report([
        Question("your coding (every excerpt, codebook codes only)", None if my_coding is None else not problems,
                 True, problem="; ".join(problems) if problems else None),
        Question("percent agreement of a coder who applies no code", empty_agreement, e["empty_agreement"],
                 tolerance=0.5),
        Question("Cohen's kappa of that coder", empty_kappa, e["empty_kappa"], tolerance=0.01),
        interpretation(written),
    ])
    if partner_problems:
        print(f"Your partner's coding cannot be compared: {'; '.join(partner_problems)}")
    if my_coding is not None and not problems:
        reference, second = coders(study)
        codings = reference_codings(study, excerpts)
        partner = partner_coding if partner_coding is not None and not partner_problems else codings[second]
        partner_name = "partner" if partner_coding is not None and not partner_problems else f"partner ({second})"
        comparison = compare_codings(study, excerpts, {"you": my_coding, f"reference ({reference})": codings[reference],
                                                       partner_name: partner})
        print("\nAgreement (unit: excerpt x mechanism code; Cohen's kappa and Krippendorff's alpha, nominal):")
        print(comparison.agreement.round(3).to_string(index=False))
        print("\nWhere the codings differ (1 = code applied):")
        print(comparison.disagreements.to_string(index=False) if len(comparison.disagreements) else "nowhere")
    return results


# --- exercise 05: the case-ordered matrix ---------------------------------------------------------


def remove_clinic_code(study, coded_segments, clinic_id, code) -> pd.DataFrame:
    """The coded segments without the segments of ``code`` in the documents of one clinic."""
    if clinic_id not in set(study.clinics["clinic_id"]):
        raise TeachingError(f"recoded_clinic is {clinic_id!r}; expected a clinic_id of clinics.csv")
    docs = study.documents.loc[study.documents["clinic_id"].eq(clinic_id), "document_id"]
    drop = coded_segments["document_id"].isin(docs) & coded_segments["code"].eq(code)
    return coded_segments.loc[~drop].reset_index(drop=True)


def _matrix_expected(study, implementation_threshold, code, recoded_clinic) -> dict:
    from . import mechanisms

    if code not in study.mechanism_codes:
        raise TeachingError(f"code is {code!r}; expected a mechanism code ({', '.join(study.mechanism_codes)})")
    segments = _segments(study, implementation_threshold)
    codes = study.mechanism_codes
    matrix, rates = mechanisms.mechanism_matrix(segments, study.documents, study.coded_segments, codes)
    before = mechanisms.compare_groups(rates, codes).set_index("code").loc[code]
    recoded = remove_clinic_code(study, study.coded_segments, recoded_clinic, code)
    _, rates_after = mechanisms.mechanism_matrix(segments, study.documents, recoded, codes)
    after = mechanisms.compare_groups(rates_after, codes).set_index("code").loc[code]
    return {"documents": int(matrix.set_index("clinic_id").loc[recoded_clinic, code]),
            "verdict_before": before["verdict"], "verdict_after": after["verdict"],
            "p_after": float(after["p_value"])}


def check_matrix(study, *, implementation_threshold, code, recoded_clinic, documents_with_code, verdict_before,
                 verdict_after, p_after, written) -> list:
    """Self-check of exercise 05 (case-ordered matrix)."""
    e = _matrix_expected(study, implementation_threshold, code, recoded_clinic)
    return report([
        Question(f"documents of {recoded_clinic} coded {code}", documents_with_code, e["documents"]),
        Question(f"cross-case verdict of {code}", verdict_before, e["verdict_before"]),
        Question(f"verdict after recoding {recoded_clinic}", verdict_after, e["verdict_after"]),
        Question("p after recoding (3 decimals)", p_after, e["p_after"], tolerance=0.0006),
        interpretation(written),
    ])


# --- exercise 06: the survey result, critically ---------------------------------------------------

FOUR_TESTS = ("student_t", "welch_t", "permutation_exact", "mixedlm_interaction")


def four_tests(scored, table) -> pd.DataFrame:
    """Student t, Welch t, the exact permutation test and the mixed model on the same data (the rows of
    ``survey_effects.csv`` for these four analyses)."""
    from . import survey

    effects = survey.survey_effects(scored, table)
    return effects[effects["analysis"].isin(FOUR_TESTS)].reset_index(drop=True)


def _survey_expected(study, implementation_threshold, composite_min_answered, alpha) -> dict:
    from . import survey

    segments = _segments(study, implementation_threshold)
    scored = survey.composite_scores(study.survey_responses, study.survey_items, min_answered=composite_min_answered)
    table = survey.clinic_change(scored, segments).table
    effects = four_tests(scored, table).set_index("analysis")
    in_model = scored["included"] & scored["clinic_id"].isin(table["clinic_id"])
    return {"welch_df": float(effects.loc["welch_t", "df"]), "n_responses": int(in_model.sum()),
            "smallest_p": effects["p_value"].idxmin(), "all_significant": bool((effects["p_value"] < alpha).all())}


def check_survey(study, *, implementation_threshold, composite_min_answered, alpha, welch_df, n_responses,
                 smallest_p, all_significant, written) -> list:
    """Self-check of exercise 06 (the survey result, critically)."""
    e = _survey_expected(study, implementation_threshold, composite_min_answered, alpha)
    return report([
        Question("degrees of freedom of the Welch t-test (1 decimal)", welch_df, e["welch_df"], tolerance=0.06),
        Question("responses in the mixed model", n_responses, e["n_responses"]),
        Question("analysis with the smallest p", smallest_p, e["smallest_p"]),
        Question(f"all four give p < {alpha:g}", all_significant, e["all_significant"]),
        interpretation(written),
    ])


# --- answer key -----------------------------------------------------------------------------------


def answer_key(raw_dir=None, exercise_dir=EXERCISE_DIR) -> pd.DataFrame:
    """Every exercise's expected answers with its default parameters on a data set (the teacher's key):
    exercise, question, expected."""
    from . import contract, power

    exercise_dir = Path(exercise_dir)
    rows = []

    def add(name, values):
        rows.extend({"exercise": name, "question": q, "expected": v} for q, v in values.items())

    study = contract.load(data_folder(raw_dir or parameters_cell(exercise_dir / "01_segmentation_threshold.ipynb")
                                      ["raw_dir"]))
    p = parameters_cell(exercise_dir / "01_segmentation_threshold.ipynb")
    add("01_segmentation_threshold", _threshold_expected(study, p["new_threshold"], p["composite_min_answered"],
                                                         p["alpha"]))
    p = parameters_cell(exercise_dir / "02_recode_mechanism.ipynb")
    add("02_recode_mechanism", {"verdict": _recode_expected(study, p["implementation_threshold"], p["merged_code"],
                                                            p["into_code"])[1]})
    p = parameters_cell(exercise_dir / "03_design_power.ipynb")
    design = {k: p[k] for k in ("share_more", "icc", "wave_correlation", "sd", "difference", "alpha", "target")}
    eight = power.make_design(8, p["share_more"], 1000, p["icc"], p["wave_correlation"], p["sd"], p["difference"])
    add("03_design_power", {"clinics_100": power.clinics_needed(respondents=100, **design),
                            "clinics_400": power.clinics_needed(respondents=400, **design),
                            "eight_enough": bool(power.analytic_power(8, eight.n_more, eight.change_sd, p["difference"],
                                                                      p["alpha"]) >= p["target"])})
    p = parameters_cell(exercise_dir / "04_coding_practice.ipynb")
    add("04_coding_practice", _coding_expected(study, coding_excerpts(study, p["n_excerpts"], p["excerpt_seed"])))
    p = parameters_cell(exercise_dir / "05_case_ordered_matrix.ipynb")
    add("05_case_ordered_matrix", _matrix_expected(study, p["implementation_threshold"], p["code"],
                                                   p["recoded_clinic"]))
    p = parameters_cell(exercise_dir / "06_survey_critically.ipynb")
    add("06_survey_critically", _survey_expected(study, p["implementation_threshold"], p["composite_min_answered"],
                                                 p["alpha"]))
    return pd.DataFrame(rows, columns=["exercise", "question", "expected"])
