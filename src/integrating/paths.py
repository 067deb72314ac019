"""The project's folders as pathlib objects; nothing else in the package hard-codes a path."""

from __future__ import annotations

import os
from pathlib import Path

#: Repository root (overridable for tests and out-of-tree runs with INTEGRATING_ROOT).
ROOT = Path(os.environ.get("INTEGRATING_ROOT", Path(__file__).resolve().parents[2]))
CONFIG = ROOT / "config.yaml"
CONFIG_SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
NOTEBOOKS = ROOT / "notebooks"
DATA = ROOT / "data"
RAW = DATA / "raw"
DERIVED = DATA / "derived"
FIGURES = ROOT / "figures"
REPORTS = ROOT / "reports"
EXECUTED_NOTEBOOKS = REPORTS / "notebooks"
PROVENANCE = REPORTS / "provenance"
DOCS = ROOT / "docs"
