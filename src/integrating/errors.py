"""One exception type per domain; each message names the file, row, column or key and what was expected."""

from __future__ import annotations


class IntegratingError(Exception):
    """Base class: every error the package raises on purpose."""


class ConfigError(IntegratingError):
    """A study parameter is unknown, of the wrong type or out of range."""


class ContractError(IntegratingError):
    """Raw data do not follow the data contract. ``problems`` lists every finding."""

    def __init__(self, problems):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        head = f"{len(lines)} problem(s) in the raw data:"
        super().__init__("\n".join([head, *("  " + line for line in lines)]))


class AnalysisError(IntegratingError):
    """The data are valid but an analysis cannot be computed (e.g. a group with one clinic)."""


class ImportQDAError(IntegratingError):
    """A QDA project or export cannot be imported safely or completely."""
