"""The synthetic study: a complete, contract-conforming data set of any size, from one seed.

Everything here is invented. Texts are short template notes in which each coded passage really
describes its code; they are never quotes from real people. The generator mirrors the published
design (clinics observed over 15 months through field notes, meeting minutes and interviews; a
majority of clinics implementing more; the four integrating mechanisms coded more often where more
was implemented; pre/post patient surveys on a 5-point scale).

Randomness is drawn from independent streams keyed by (seed, purpose) and, for implementation logs,
texts and codings, by clinic or document, so one part of the data does not shift when another part
changes, and the bundled data are reproduced byte for byte.

Calibration (docs/synthetic-study.md): clinic-level survey changes are drawn from normal
distributions around the published group means; patient responses are then nudged, one answer at a
time, until each clinic's mean composite change equals its drawn change. The default seed is the
first seed from ``CALIBRATION_START`` whose draw reproduces the published rounding at 16 clinics
(``integrating synth --calibrate`` repeats the search). Other seeds give other, honest results.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from . import contract, io
from .errors import SynthError

#: Seed of the bundled study: the first seed from CALIBRATION_START that `calibrate()` accepts.
DEFAULT_SEED = 237
DEFAULT_CLINICS = 16
MONTHS = 15
START_DATE = date(2014, 1, 1)
SHARE_MORE = 9 / 16  # share of clinics that implement more, as published (9 of 16)
CALIBRATION_START = 1
#: Published summary the default seed is calibrated to (Kerrissey et al. 2017).
PUBLISHED = {"mean_change_more": 0.07, "mean_change_less": -0.08, "p_student": 0.02}
#: Spread of clinic-level composite change within a group (points on the 5-point scale).
CHANGE_SD = 0.11

CODERS = ("coder_a", "coder_b")
STAKEHOLDERS = {
    "physicians": ["the physicians", "the doctors", "two of the physicians"],
    "nurses": ["the nurses", "the nursing staff", "the nurse care managers"],
    "medical_assistants": ["the medical assistants", "the MAs"],
    "front_desk": ["the front desk staff", "the receptionists"],
    "managers": ["the clinic manager", "the practice manager"],
}
SOURCE_PREFIX = {"field_note": "FN", "meeting_minutes": "MM", "interview": "IV"}

CODEBOOK = [
    ("engaging_groups", "Engaging groups", "mechanism",
     "The manager involves stakeholder groups in defining and shaping the improvement work."),
    ("bridging_communication", "Bridging communication", "mechanism",
     "The manager carries information between groups that otherwise do not talk to one another."),
    ("sensemaking", "Sensemaking", "mechanism",
     "The manager helps groups interpret the change and how it fits their work and goals."),
    ("negotiating", "Negotiating", "mechanism",
     "The manager brokers trade-offs between groups' interests to reach a shared goal."),
    ("lack_of_time", "Lack of time", "barrier",
     "Staff or providers report having no time for improvement work."),
    ("fragmentation", "Fragmentation", "barrier",
     "Stakeholder groups work apart, in silos, with separate routines and goals."),
    ("physicians", "Physicians", "stakeholder", "Passage refers to the clinic's physicians."),
    ("nurses", "Nurses", "stakeholder", "Passage refers to nurses or nurse care managers."),
    ("medical_assistants", "Medical assistants", "stakeholder", "Passage refers to medical assistants."),
    ("front_desk", "Front desk", "stakeholder", "Passage refers to front desk or reception staff."),
    ("managers", "Managers", "stakeholder", "Passage refers to clinic or practice managers."),
    ("change_progress", "Change progress", "implementation",
     "Passage reports progress of an improvement change."),
    ("patient_experience", "Patient experience", "other",
     "Passage refers to patients' experience of care."),
]

# Passage templates: {a} and {b} are stakeholder phrases; each passage is one coded sentence.
TEMPLATES = {
    "engaging_groups": [
        "The manager invited {a} and {b} to plan the new workflow together.",
        "At the huddle the manager asked {a} what the change should look like for them.",
        "The manager set up a working group in which {a} and {b} drafted the goal side by side.",
        "Before deciding, the manager met {a} to hear their ideas for the project.",
    ],
    "bridging_communication": [
        "The manager carried the concerns of {a} to {b} and reported back the next day.",
        "Because {a} rarely see {b}, the manager relayed the updates between them.",
        "The manager posted a summary so that {a} knew what {b} had agreed.",
        "The manager translated the request of {a} into terms {b} could act on.",
    ],
    "sensemaking": [
        "The manager explained to {a} why the change mattered for their patients.",
        "The manager helped {a} see how the new process fit the work of {b}.",
        "When {a} were confused by the data, the manager walked through what it meant.",
        "The manager framed the project for {a} as a way to make their day easier.",
    ],
    "negotiating": [
        "The manager worked out a compromise so that {a} gave up one slot and {b} took the calls.",
        "The manager bargained with {a} over who would own the follow-up step.",
        "The manager traded schedule time with {a} in exchange for help from {b}.",
        "After a disagreement, the manager brokered an agreement between {a} and {b}.",
    ],
    "lack_of_time": [
        "{A} said there was simply no time for the improvement work this month.",
        "The meeting was cut short because {a} had to get back to a full schedule.",
        "{A} complained that the project added tasks to days that were already full.",
    ],
    "fragmentation": [
        "{A} and {b} work in separate areas and hardly ever talk about the project.",
        "Each group kept its own routine; {a} did not know what {b} were doing.",
        "{A} described the clinic as a set of silos with separate goals.",
    ],
    "change_progress": [
        "The team reported that the new reminder process was now used every day.",
        "The pilot of the new intake form was extended to all rooms.",
        "The planned change to the call schedule stalled for another month.",
    ],
    "patient_experience": [
        "Several patients at the desk remarked on the shorter wait this week.",
        "A patient said the follow-up call made her feel looked after.",
    ],
}
FILLER = [
    "The clinic was busy with the usual morning visits.",
    "The waiting room was full by nine o'clock.",
    "The agenda also covered the holiday rota and supplies.",
    "A new hire started at the front of the clinic this week.",
    "The café across the street was mentioned as a place for the team lunch.",
    "Weather delayed two staff members in the morning.",
    "The room assignments for next month were posted on the board.",
    "The team reviewed the supply order before the meeting ended.",
]
INTERVIEW_QUESTIONS = [
    "How did the improvement work go in your clinic?",
    "Who was involved when the change was planned?",
    "What got in the way?",
    "How did the groups in the clinic work together?",
]
ROLES = ["manager", "physician", "nurse", "medical assistant", "front desk"]
SURVEY_ITEMS = [
    ("q1", "The staff treated me with courtesy and respect.", False, True),
    ("q2", "My provider explained things in a way that was easy to understand.", False, True),
    ("q3", "I got an appointment as soon as I needed one.", False, True),
    ("q4", "The clinic followed up with me about my test results.", False, True),
    ("q5", "The staff worked together as a team to care for me.", False, True),
    ("q6", "I had to wait too long to be seen.", True, True),
    ("q7", "I would have preferred a visit at another time of day.", False, False),
]


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng([seed, *key])


# ----------------------------------------------------------------------------------------------
# Clinics and their implementation of improvement changes


def clinic_ids(n: int) -> list[str]:
    width = max(2, len(str(n)))
    return [f"C{i:0{width}d}" for i in range(1, n + 1)]


def assign_groups(seed: int, n: int) -> np.ndarray:
    """True for the clinics that will implement more (exactly round(9/16 * n) of them)."""
    n_more = int(math.floor(SHARE_MORE * n + 0.5))
    more = np.zeros(n, dtype=bool)
    more[_rng(seed, 0).permutation(n)[:n_more]] = True
    return more


def make_clinics(seed: int, ids: list[str]) -> pd.DataFrame:
    rng = _rng(seed, 1)
    n = len(ids)
    providers = rng.integers(3, 15, n)
    return pd.DataFrame(
        {
            "clinic_id": ids,
            "clinic_label": [f"Synthetic clinic {i}" for i in ids],
            "n_providers": providers,
            "n_staff": providers * 2 + rng.integers(2, 10, n),
            "panel_size": providers * rng.integers(900, 1600, n),
            "setting": rng.choice(["urban", "suburban", "rural"], n, p=[0.5, 0.3, 0.2]),
        }
    )


def make_implementation_log(seed: int, ids: list[str], more: np.ndarray, months: int = MONTHS) -> pd.DataFrame:
    """Status events of each clinic's changes; shares >= 0.5 exactly for the 'more' clinics."""
    rows = []
    for c, (cid, is_more) in enumerate(zip(ids, more)):
        rng = _rng(seed, 2, c)
        n_changes = int(rng.integers(4, 9))
        cut = math.ceil(0.5 * n_changes)  # smallest count with share >= 0.5
        n_impl = int(rng.integers(cut, n_changes + 1)) if is_more else int(rng.integers(0, cut))
        implemented = np.zeros(n_changes, dtype=bool)
        implemented[rng.permutation(n_changes)[:n_impl]] = True
        for k in range(n_changes):
            change = f"{cid}-CH{k + 1:02d}"
            # Changes are planned in the first half of the study and take a few months to land.
            planned = int(rng.integers(1, max(2, months // 2)))
            started = int(rng.integers(planned + 1, min(planned + 4, months - 1) + 1))
            rows += [(cid, change, planned, "planned"), (cid, change, started, "started")]
            last = min(started + 6, months)
            if implemented[k]:
                rows.append((cid, change, int(rng.integers(started + 1, last + 1)), "implemented"))
            elif rng.random() < 0.4:
                rows.append((cid, change, int(rng.integers(started + 1, last + 1)), "abandoned"))
    return pd.DataFrame(rows, columns=["clinic_id", "change_id", "month", "status"])


# ----------------------------------------------------------------------------------------------
# Documents, texts and coded segments


@dataclass
class _Doc:
    document_id: str
    clinic_id: str
    source_type: str
    date: date
    participant_role: str
    text: str
    segments: list  # (code, start, end)


def _phrase(rng, groups, exclude=None) -> tuple[str, str]:
    codes = [c for c in groups if c != exclude]
    code = codes[int(rng.integers(len(codes)))]
    options = STAKEHOLDERS[code]
    return code, options[int(rng.integers(len(options)))]


def _passage(rng, code: str, groups) -> tuple[str, list]:
    """One coded sentence: its text and its segments relative to the sentence start."""
    templates = TEMPLATES[code]
    template = templates[int(rng.integers(len(templates)))]
    code_a, phrase_a = _phrase(rng, groups)
    code_b, phrase_b = _phrase(rng, groups, exclude=code_a)
    text = template
    spans = []
    for placeholder, phrase, scode in (("{A}", phrase_a[0].upper() + phrase_a[1:], code_a), ("{a}", phrase_a, code_a),
                                       ("{b}", phrase_b, code_b)):
        pos = text.find(placeholder)
        if pos >= 0:
            text = text[:pos] + phrase + text[pos + len(placeholder):]
            spans = [(c, s + (len(phrase) - len(placeholder)) if s > pos else s,
                      e + (len(phrase) - len(placeholder)) if e > pos else e) for c, s, e in spans]
            spans.append((scode, pos, pos + len(phrase)))
    manager = text.find("the manager")
    if manager < 0:
        manager = text.find("The manager")
    if manager >= 0:
        spans.append(("managers", manager, manager + len("the manager")))
    return text, [(code, 0, len(text))] + spans


def _document(rng, clinic_id, source_type, number, day, is_more, propensity, groups) -> _Doc:
    doc_id = f"{clinic_id}-{SOURCE_PREFIX[source_type]}{number:02d}"
    title = source_type.replace("_", " ").upper()
    role = ROLES[int(rng.integers(len(ROLES)))] if source_type == "interview" else ""
    header = f"SYNTHETIC {title} (invented for teaching; not a real record) | {clinic_id} | {day.isoformat()}\n\n"
    # Which codes this document will contain: mechanisms are likelier where more was implemented.
    codes = [m for m in contract.MECHANISMS if rng.random() < propensity[m]]
    barrier_p = 0.25 if is_more else 0.45
    codes += [b for b in ("lack_of_time", "fragmentation") if rng.random() < barrier_p]
    codes += [c for c in ("change_progress", "patient_experience") if rng.random() < 0.3]
    codes = list(rng.permutation(codes)) if codes else []
    n_filler = int(rng.integers(1, 4))
    pieces = [("filler", FILLER[int(i)]) for i in rng.choice(len(FILLER), n_filler, replace=False)]
    for code in codes:
        pieces.insert(int(rng.integers(len(pieces) + 1)), ("code", code))

    text = header
    segments = []
    q = 0
    for kind, value in pieces:
        if source_type == "interview":
            text += f"Interviewer: {INTERVIEW_QUESTIONS[q % len(INTERVIEW_QUESTIONS)]}\nRespondent: "
            q += 1
        if kind == "code":
            sentence, spans = _passage(rng, value, groups)
            segments += [(c, len(text) + s, len(text) + e) for c, s, e in spans]
        else:
            sentence = value
        text += sentence + ("\n" if source_type == "interview" else " ")
    return _Doc(doc_id, clinic_id, source_type, day, role, text.rstrip() + "\n", segments)


def make_documents(seed: int, ids: list[str], more: np.ndarray, months: int = MONTHS,
                   start: date = START_DATE) -> list[_Doc]:
    end = (pd.Timestamp(start) + pd.DateOffset(months=months) - pd.Timedelta(days=1)).date()
    span = (end - start).days
    docs = []
    for c, (cid, is_more) in enumerate(zip(ids, more)):
        rng = _rng(seed, 3, c)
        base = 0.5 if is_more else 0.22
        propensity = {m: float(np.clip(base + rng.normal(0, 0.08), 0.05, 0.9)) for m in contract.MECHANISMS}
        counts = {"field_note": int(rng.integers(8, 15)), "meeting_minutes": int(rng.integers(5, 11)),
                  "interview": int(rng.integers(3, 7))}
        # Fragmentation: where less was implemented, the manager's work reaches fewer groups.
        staff = [c for c in STAKEHOLDERS if c != "managers"]
        groups = staff if is_more else sorted(rng.choice(staff, int(rng.integers(2, len(staff))), replace=False))
        for source_type, k in counts.items():
            days = np.sort(rng.integers(0, span + 1, k))
            for number, offset in enumerate(days, start=1):
                day = start + timedelta(days=int(offset))
                docs.append(_document(rng, cid, source_type, number, day, is_more, propensity, groups))
    return docs


def make_segments(seed: int, docs: list[_Doc]) -> pd.DataFrame:
    """Coder A codes every document; coder B double-codes a reliability subset, imperfectly."""
    rows = []
    for d, doc in enumerate(docs):
        rows += [(doc.document_id, code, CODERS[0], s, e) for code, s, e in doc.segments]
        rng = _rng(seed, 4, d)
        if rng.random() >= 0.2:  # about one document in five is double-coded
            continue
        for code, s, e in doc.segments:
            if rng.random() < 0.15:  # coder B misses this passage
                continue
            if rng.random() < 0.1 and code in contract.MECHANISMS:  # ... or reads another mechanism
                code = contract.MECHANISMS[int(rng.integers(len(contract.MECHANISMS)))]
            shift_s = int(rng.integers(0, 3)) if e - s > 6 else 0
            shift_e = int(rng.integers(0, 3)) if e - s > 6 else 0
            rows.append((doc.document_id, code, CODERS[1], s + shift_s, e - shift_e))
        if rng.random() < 0.4:  # coder B sees a mechanism in an uncoded stretch
            code = contract.MECHANISMS[int(rng.integers(len(contract.MECHANISMS)))]
            rows.append((doc.document_id, code, CODERS[1], 0, min(40, len(doc.text))))
    seg = pd.DataFrame(rows, columns=["document_id", "code", "coder", "start", "end"])
    width = max(6, len(str(len(seg))))
    seg.insert(0, "segment_id", [f"S{i:0{width}d}" for i in range(1, len(seg) + 1)])
    return seg


# ----------------------------------------------------------------------------------------------
# Patient surveys


def survey_items() -> pd.DataFrame:
    return pd.DataFrame(
        [(item, text, 1, 5, rev, comp) for item, text, rev, comp in SURVEY_ITEMS],
        columns=["item", "text", "scale_min", "scale_max", "reverse", "in_composite"],
    )


def target_changes(seed: int, more: np.ndarray) -> np.ndarray:
    """Clinic-level composite change drawn around the published group means."""
    rng = _rng(seed, 5)
    mean = np.where(more, PUBLISHED["mean_change_more"], PUBLISHED["mean_change_less"])
    return mean + rng.normal(0.0, CHANGE_SD, len(more))


def make_survey(seed: int, ids: list[str], more: np.ndarray) -> pd.DataFrame:
    """Patient responses whose clinic mean composite change equals :func:`target_changes`."""
    rng = _rng(seed, 6)
    items = survey_items()
    n_clinics = len(ids)
    comp_items = items.loc[items["in_composite"]]
    reverse = comp_items["reverse"].to_numpy()
    k = len(comp_items)
    # Respondents per clinic and wave, realistic for clinic patient-experience surveys.
    n_resp = rng.integers(70, 121, size=(n_clinics, 2))
    clinic = np.repeat(np.arange(n_clinics), n_resp.sum(axis=1))
    wave_post = np.concatenate([np.repeat([0, 1], n_resp[c]) for c in range(n_clinics)]).astype(bool)
    n = clinic.size
    baseline = rng.normal(3.9, 0.2, n_clinics)
    person = rng.normal(0.0, 0.55, n)
    latent = baseline[clinic] + person
    raw = np.clip(np.rint(latent[:, None] + rng.normal(0.0, 0.6, (n, k))), 1, 5)
    values = np.where(reverse, 6 - raw, raw)  # answers as given: reversed items run the other way
    extra = np.clip(np.rint(3 + rng.normal(0, 1, n)), 1, 5)
    # Missing answers: a few cells at random, and a few respondents who skipped most items.
    values[rng.random((n, k)) < 0.03] = np.nan
    skipped = rng.random(n) < 0.02
    values[skipped, : k - 2] = np.nan

    _nudge_to_targets(rng, values, items, clinic, wave_post, target_changes(seed, more))

    df = pd.DataFrame({"response_id": [f"R{i:07d}" for i in range(1, n + 1)],
                       "clinic_id": np.asarray(ids)[clinic], "wave": np.where(wave_post, "post", "pre")})
    for j, item in enumerate(comp_items["item"]):
        df[item] = pd.array(values[:, j], dtype="Int64")
    df["q7"] = pd.array(extra, dtype="Int64")
    df["age_group"] = rng.choice(["18-34", "35-54", "55-74", "75+"], n, p=[0.25, 0.35, 0.3, 0.1])
    return df[["response_id", "clinic_id", "wave", *items["item"], "age_group"]]


def _scored(values: np.ndarray, items: pd.DataFrame) -> pd.DataFrame:
    """Composite scores of answer arrays, by the analyses' own definition (:mod:`integrating.survey`)."""
    from .survey import composite_scores

    comp_items = items.loc[items["in_composite"]]
    frame = pd.DataFrame(values, columns=comp_items["item"].tolist())
    frame.insert(0, "wave", "pre")
    frame.insert(0, "clinic_id", "")
    frame.insert(0, "response_id", "")
    return composite_scores(frame, comp_items)


def _nudge_to_targets(rng, values, items, clinic, wave_post, targets) -> None:
    """Move post-wave answers one scale point at a time until each clinic's change hits its target."""
    scored = _scored(values, items)
    comp, answered = scored["composite"].to_numpy(), scored["n_answered"].to_numpy()
    valid = scored["included"].to_numpy()
    reverse = items.loc[items["in_composite"], "reverse"].to_numpy()
    for c, target in enumerate(targets):
        pre = valid & (clinic == c) & ~wave_post
        post_idx = np.flatnonzero(valid & (clinic == c) & wave_post)
        gap = target - (comp[post_idx].mean() - comp[pre].mean())
        direction = 1 if gap > 0 else -1
        # Cells that can move the composite in the needed direction (reversed items move the other way).
        cell_dir = np.where(reverse, -direction, direction)
        sub = values[post_idx]
        movable = ~np.isnan(sub) & (sub + cell_dir >= 1) & (sub + cell_dir <= 5)
        rows, cols = np.nonzero(movable)
        order = rng.permutation(rows.size)
        rows, cols = rows[order], cols[order]
        # Each moved cell shifts the clinic mean by 1 / (answered items * valid responses).
        step = 1.0 / (answered[post_idx][rows] * post_idx.size)
        reach = np.cumsum(step)
        take = int(np.argmin(np.abs(reach - abs(gap)))) + 1 if abs(gap) > step.min() / 2 else 0
        take = min(take, rows.size)
        sub[rows[:take], cols[:take]] += cell_dir[cols[:take]]
        values[post_idx] = sub


# ----------------------------------------------------------------------------------------------
# The whole data set


def generate(seed: int = DEFAULT_SEED, clinics: int = DEFAULT_CLINICS, months: int = MONTHS) -> dict:
    """All tables (DataFrames), texts and study properties of one synthetic study."""
    if clinics < 2:
        raise SynthError(f"--clinics must be at least 2 (got {clinics}): a study compares two groups")
    ids = clinic_ids(clinics)
    more = assign_groups(seed, clinics)
    docs = make_documents(seed, ids, more, months)
    documents = pd.DataFrame(
        {
            "document_id": [d.document_id for d in docs],
            "clinic_id": [d.clinic_id for d in docs],
            "source_type": [d.source_type for d in docs],
            "date": [d.date.isoformat() for d in docs],
            "participant_role": [d.participant_role for d in docs],
            "text_path": [f"documents/{d.document_id}.txt" for d in docs],
        }
    )
    codebook = pd.DataFrame(CODEBOOK, columns=["code", "label", "category", "definition"])
    study = {
        "months": months,
        "start_date": START_DATE.isoformat(),
        "synthetic": True,
        "description": (
            f"SYNTHETIC study generated by `integrating synth --seed {seed} --clinics {clinics}`: "
            "invented clinics, texts, codings and survey responses that follow the design of "
            "Kerrissey et al. (2017). Not real data; no text is a quote from a real person."
        ),
    }
    return {
        "study": study,
        "clinics": make_clinics(seed, ids),
        "documents": documents,
        "codebook": codebook,
        "coded_segments": make_segments(seed, docs),
        "implementation_log": make_implementation_log(seed, ids, more, months),
        "survey_items": survey_items(),
        "survey_responses": make_survey(seed, ids, more),
        "texts": {f"documents/{d.document_id}.txt": d.text for d in docs},
    }


def write(data: dict, out_dir) -> Path:
    """Write a generated study as a raw-data folder, replacing ``out_dir`` only when complete."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        io.write_json(tmp / contract.DESCRIPTOR_NAME, contract.template_descriptor(data["study"]))
        for name in contract.TABLES:
            df = data[name]
            if name == "survey_items":
                df = df.assign(reverse=df["reverse"].map({True: "true", False: "false"}),
                               in_composite=df["in_composite"].map({True: "true", False: "false"}))
            io.write_table(df, tmp / f"{name}.csv")
        (tmp / "documents").mkdir()
        for rel, text in data["texts"].items():
            (tmp / rel).write_text(text, encoding="utf-8", newline="\n")
        io.write_text(tmp / "README.md", _readme(data["study"]))
        if out_dir.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            backup.rmdir()
            out_dir.rename(backup)
            tmp.rename(out_dir)
            shutil.rmtree(backup)
        else:
            tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out_dir


def _readme(study: dict) -> str:
    return (
        "# SYNTHETIC data (not real)\n\n"
        f"{study['description']}\n\n"
        "The files follow the raw data contract (docs/data-contract.md); `datapackage.json` describes "
        "every table. Regenerate with the command above; `integrating validate` checks the folder.\n"
    )


def survey_summary(data: dict) -> dict:
    """Group mean changes and Student t p-value of a generated study, computed by the analyses'
    own functions with the default parameters (used to calibrate the default seed)."""
    from . import segmentation, stats, survey

    clinics = data.get("clinics", pd.DataFrame({"clinic_id": sorted(data["survey_responses"]["clinic_id"].unique())}))
    groups = segmentation.clinic_segments(clinics, data["implementation_log"], months=data.get("study", {}).get("months", MONTHS))
    scored = survey.composite_scores(data["survey_responses"], data["survey_items"])
    table = survey.clinic_change(scored, groups).table
    means = table.groupby("group")["change"].mean()
    return {
        "mean_change_more": float(means["more"]),
        "mean_change_less": float(means["less"]),
        "p_student": float(stats.student_t(table["change"], table["group"]).p_value),
    }


def reproduces_published(summary: dict) -> bool:
    """Whether the summary rounds to the published values, by the claims check's rounding rule."""
    from .rounding import round_half_away

    return all(float(round_half_away(summary[k], 2)) == PUBLISHED[k] for k in PUBLISHED)


def calibrate(start: int = CALIBRATION_START, clinics: int = DEFAULT_CLINICS, limit: int = 100000) -> int:
    """First seed from ``start`` whose survey reproduces the published rounding."""
    ids = clinic_ids(clinics)
    for seed in range(start, start + limit):
        more = assign_groups(seed, clinics)
        data = {
            "survey_items": survey_items(),
            "survey_responses": make_survey(seed, ids, more),
            "implementation_log": make_implementation_log(seed, ids, more),
        }
        if reproduces_published(survey_summary(data)):
            return seed
    raise SynthError(f"no seed in [{start}, {start + limit}) reproduces the published summary")
