"""The raw data contract (version 1): its descriptor and typed loading of a contract-conforming data set.

``data/raw/datapackage.json`` (a Frictionless Data Package) is the single source of truth for the
tables; :mod:`integrating.validate` checks a data set against it, and :func:`load` reads a data set
that passed into typed DataFrames. docs/data-contract.md documents every rule.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

import pandas as pd

CONTRACT_VERSION = "1.0.0"
DESCRIPTOR_NAME = "datapackage.json"
TEMPLATE = Path(__file__).with_name(DESCRIPTOR_NAME)
TABLES = (
    "clinics",
    "documents",
    "codebook",
    "coded_segments",
    "implementation_log",
    "survey_items",
    "survey_responses",
)
MECHANISMS = ("engaging_groups", "bridging_communication", "sensemaking", "negotiating")
SOURCE_TYPES = ("field_note", "meeting_minutes", "interview")
WAVES = ("pre", "post")
#: The two groups of clinics compared throughout: implemented more, implemented less.
GROUPS = ("more", "less")
#: A two-group comparison needs at least this many clinics in each group.
MIN_CLINICS_PER_GROUP = 2
STATUSES = ("planned", "started", "implemented", "abandoned")
CATEGORIES = ("mechanism", "barrier", "stakeholder", "implementation", "other")


def optional_tables() -> tuple[str, ...]:
    """Tables the contract lets a data set leave out (``"required": false`` in the descriptor).

    An optional table may be absent or hold a header only; both mean the data were not collected
    (docs/data-contract.md). The survey's two tables go together.
    """
    resources = template_descriptor()["resources"]
    return tuple(r["name"] for r in resources if r.get("required", True) is False)


def template_descriptor(study: dict | None = None) -> dict:
    """The contract's descriptor, with the ``study`` property replaced by ``study`` when given."""
    descriptor = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    if study is not None:
        descriptor["study"] = copy.deepcopy(study)
    return descriptor


def read_descriptor(raw_dir) -> dict:
    return json.loads((Path(raw_dir) / DESCRIPTOR_NAME).read_text(encoding="utf-8"))


def read_csv_raw(path, float_columns=()) -> pd.DataFrame:
    """Read a contract CSV as text: only an empty cell is missing ("N/A" stays a value to be judged).
    ``float_columns`` are parsed as numbers by the CSV reader instead (columns already validated)."""
    dtype = defaultdict(lambda: str, dict.fromkeys(float_columns, "float64")) if float_columns else str
    return pd.read_csv(path, dtype=dtype, keep_default_na=False, na_values=[""], encoding="utf-8")


@dataclass(frozen=True)
class StudyInfo:
    months: int
    start_date: date
    synthetic: bool
    description: str = ""

    @property
    def end_date(self) -> date:
        """Last day of the study window (start + months, exclusive end minus one day)."""
        end = pd.Timestamp(self.start_date) + pd.DateOffset(months=self.months) - pd.Timedelta(days=1)
        return end.date()

    @classmethod
    def from_descriptor(cls, descriptor: dict) -> "StudyInfo":
        s = descriptor["study"]
        return cls(
            months=int(s["months"]),
            start_date=date.fromisoformat(s["start_date"]),
            synthetic=bool(s["synthetic"]),
            description=str(s.get("description", "")),
        )


@dataclass
class Study:
    """A loaded data set: one typed DataFrame per contract table, plus the study properties."""

    raw_dir: Path
    info: StudyInfo
    clinics: pd.DataFrame
    documents: pd.DataFrame
    codebook: pd.DataFrame
    coded_segments: pd.DataFrame
    implementation_log: pd.DataFrame
    survey_items: pd.DataFrame
    survey_responses: pd.DataFrame
    _texts: dict = field(default_factory=dict, repr=False)
    #: Optional tables this data set does not have (absent, or a header only): empty DataFrames above.
    absent: tuple = ()

    @property
    def items(self) -> list[str]:
        return self.survey_items["item"].tolist()

    @cached_property
    def mechanism_codes(self) -> list[str]:
        """Mechanism codes in the contract's canonical order, then any further mechanism codes."""
        extra = self.codebook.loc[self.codebook["category"].eq("mechanism"), "code"]
        return list(MECHANISMS) + sorted(set(extra) - set(MECHANISMS))

    def codes_of(self, category: str) -> list[str]:
        return sorted(self.codebook.loc[self.codebook["category"].eq(category), "code"])

    def text(self, document_id: str) -> str:
        """The document's text (read once, cached)."""
        if document_id not in self._texts:
            rel = self.documents.loc[self.documents["document_id"].eq(document_id), "text_path"].iloc[0]
            self._texts[document_id] = (self.raw_dir / rel).read_text(encoding="utf-8")
        return self._texts[document_id]

    def files(self) -> list[Path]:
        """Every file of the data set (descriptor, tables, texts): the inputs a provenance record hashes."""
        tables = [self.raw_dir / DESCRIPTOR_NAME] + [self.raw_dir / f"{t}.csv" for t in TABLES
                                                     if (self.raw_dir / f"{t}.csv").is_file()]
        return tables + sorted(self.raw_dir / p for p in self.documents["text_path"])


def _bool(series: pd.Series) -> pd.Series:
    return series.str.strip().str.lower().map({"true": True, "false": False}).astype(bool)


def load(raw_dir) -> Study:
    """Read a data set that passed :func:`integrating.validate.validate` into typed DataFrames."""
    raw_dir = Path(raw_dir)
    info = StudyInfo.from_descriptor(read_descriptor(raw_dir))
    descriptor = template_descriptor()
    fields = {r["name"]: [f["name"] for f in r["schema"]["fields"]] for r in descriptor["resources"]}
    optional = optional_tables()
    t = {}
    for name in TABLES:  # the survey's items before its responses, whose answers are read as numbers
        path = raw_dir / f"{name}.csv"
        if name in optional and not path.is_file():  # not collected: an empty table with the contract's columns
            t[name] = pd.DataFrame({f: pd.Series(dtype=object) for f in fields[name]})
        else:
            answers = t["survey_items"]["item"].tolist() if name == "survey_responses" else ()
            t[name] = read_csv_raw(path, float_columns=answers)
    absent = tuple(name for name in optional if t[name].empty)

    clinics = t["clinics"]
    for col in ("n_providers", "n_staff", "panel_size"):
        if col in clinics:
            clinics[col] = pd.to_numeric(clinics[col]).astype("Int64")

    documents = t["documents"]
    documents["date"] = pd.to_datetime(documents["date"], format="%Y-%m-%d")

    segments = t["coded_segments"]
    segments[["start", "end"]] = segments[["start", "end"]].astype("int64")

    log = t["implementation_log"]
    log["month"] = log["month"].astype("int64")

    items = t["survey_items"]
    items[["scale_min", "scale_max"]] = items[["scale_min", "scale_max"]].astype("int64")
    items["reverse"] = _bool(items["reverse"])
    items["in_composite"] = _bool(items["in_composite"])

    responses = t["survey_responses"]
    # Item answers as float64 with NaN for missing: the analyses are vectorised numpy arithmetic.
    for item in items["item"]:
        responses[item] = responses[item].astype("float64")  # an item with no response table is empty

    return Study(
        raw_dir=raw_dir,
        info=info,
        clinics=clinics.sort_values("clinic_id", kind="mergesort").reset_index(drop=True),
        documents=documents,
        codebook=t["codebook"],
        coded_segments=segments,
        implementation_log=log,
        survey_items=items,
        survey_responses=responses,
        absent=absent,
    )
