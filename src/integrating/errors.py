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


class ModelFileError(IntegratingError, ValueError):
    """The conceptual-model file cannot be read or does not follow its format. ``problems`` lists every finding."""

    def __init__(self, source, problems):
        self.source = str(source)
        self.problems = list(problems)
        head = f"{len(self.problems)} problem(s) in the model file {self.source}:"
        super().__init__("\n".join([head, *("  " + p for p in self.problems)]))


class ClaimsFileError(IntegratingError):
    """The claims file is malformed (unknown kind or measure, missing field)."""


class ClaimsFailed(IntegratingError):
    """Published numbers were not reproduced (raised when ``fail_on_claims`` is true)."""


class SynthError(IntegratingError):
    """A synthetic study cannot be generated or calibrated with the settings given."""


class TeachingError(IntegratingError):
    """A teaching answer or pack request that cannot be used as given (the message says what is expected)."""


class LayoutWarning(IntegratingError, UserWarning):
    """A drawn figure has a text, legend or stamp on another text or on the data (a warning, not an error:
    the figure is still written; see integrating.plotting.finish)."""


class ValuesError(IntegratingError):
    """values.csv is missing or malformed, or the values disagree with the claims check."""


class ManuscriptError(IntegratingError):
    """The manuscript cannot be built: a template asks for a value values.csv lacks, or a tool failed."""
