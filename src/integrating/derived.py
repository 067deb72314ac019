"""The registry of derived tables: the columns each table must have, and reading a table through it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .contract import GROUPS
from .errors import AnalysisError

#: Columns each derived table must have (agreed with notebooks 02 and 04).
DERIVED_COLUMNS = {
    "clinic_segments": ["clinic_id", "n_changes", "n_implemented", "implementation_share", "group"],
    "mechanism_matrix": ["clinic_id", "group", "implementation_share", "n_documents"],
    "mechanism_rates": ["clinic_id", "group", "implementation_share", "n_documents"],
    "mechanism_comparison": ["code", "label", "measure", "mean_more", "mean_less", "difference", "effect_size",
                             "test", "statistic", "p_value", "verdict", "n_more", "n_less"],
    "stakeholder_connections": ["clinic_id", "group"],
    "survey_group_change": ["group", "n_clinics", "mean_change", "ci_low", "ci_high", "sd_change"],
    "survey_effects": ["analysis", "estimate", "statistic", "df", "p_value", "ci_low", "ci_high",
                       "n_more", "n_less", "test"],
}
_TEXT_COLUMNS = ("clinic_id", "group", "code", "label", "measure", "test", "verdict", "analysis", "document_id")



def derived_paths(derived_dir, names) -> dict[str, Path]:
    return {name: Path(derived_dir) / f"{name}.csv" for name in names}


def read_derived(path, name: str | None = None) -> pd.DataFrame:
    """Read a derived table, checking that it exists and has its agreed columns."""
    path = Path(path)
    name = name or path.stem
    if not path.is_file():
        raise AnalysisError(f"derived table {path} not found; run the notebook that writes {path.name} first")
    df = pd.read_csv(path, dtype={c: str for c in _TEXT_COLUMNS}, keep_default_na=False,
                     na_values=[""], encoding="utf-8")
    require_columns(df, name, path)
    return df


def require_columns(df: pd.DataFrame, name: str, where=None) -> None:
    missing = [c for c in DERIVED_COLUMNS.get(name, []) if c not in df.columns]
    if missing:
        raise AnalysisError(f"{where or name + '.csv'}: missing column(s) {', '.join(missing)}; "
                            f"expected {', '.join(DERIVED_COLUMNS[name])}")


def check_groups(df: pd.DataFrame, name: str) -> None:
    bad = sorted(set(df["group"].dropna()) - set(GROUPS))
    if bad or df["group"].isna().any():
        raise AnalysisError(f"{name}.csv: column 'group' has value(s) {bad or ['(empty)']}; expected more or less")
