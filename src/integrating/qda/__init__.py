"""Bringing coded qualitative data in from QDA software, and sending the compendium's data out.

* :func:`import_qda` turns a REFI-QDA project (``.qdpx``, ``.qde``) or a coded-segment spreadsheet
  (Dedoose excerpts, ATLAS.ti quotations, CSV or XLSX) plus a mapping file into a raw-data folder
  of the contract;
* :func:`export_qda` writes a contract data set as a ``.qdpx`` with the mapping that imports it back;
* :func:`template_mapping` drafts a mapping file for a project;
* :func:`export_spreadsheet` writes coded segments in the spreadsheet layouts the importer reads.

docs/bring-your-own-data.md walks from an NVivo or ATLAS.ti project to a full rerun.
"""

from importlib import import_module

# Where each public name lives; imported on first use so that `integrating --help` and the
# pipeline's `integrating run-notebook` do not pay for pandas and the XML stack.
_PUBLIC = {
    "export_qda": "export",
    "ImportReport": "importer",
    "import_qda": "importer",
    "write_raw": "importer",
    "load_mapping": "mapping",
    "template_mapping": "mapping",
    "read_project": "refi",
    "Limits": "safety",
    "export_spreadsheet": "spreadsheet",
    "read_spreadsheet": "spreadsheet",
}


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_PUBLIC[name]}", __name__), name)


__all__ = [
    "ImportReport",
    "Limits",
    "export_qda",
    "export_spreadsheet",
    "import_qda",
    "load_mapping",
    "read_project",
    "read_spreadsheet",
    "template_mapping",
    "write_raw",
]
