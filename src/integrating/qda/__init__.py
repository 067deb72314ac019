"""Bringing coded qualitative data in from QDA software, and sending the compendium's data out.

* :func:`import_qda` turns a REFI-QDA project (``.qdpx``, ``.qde``) or a coded-segment spreadsheet
  (Dedoose excerpts, ATLAS.ti quotations, CSV or XLSX) plus a mapping file into a raw-data folder
  of the contract;
* :func:`export_qda` writes a contract data set as a ``.qdpx`` with the mapping that imports it back;
* :func:`template_mapping` drafts a mapping file for a project;
* :func:`export_spreadsheet` writes coded segments in the spreadsheet layouts the importer reads.

docs/bring-your-own-data.md walks from an NVivo or ATLAS.ti project to a full rerun.
"""

from .export import export_qda
from .importer import ImportReport, import_qda, write_raw
from .mapping import load_mapping, template_mapping
from .refi import read_project
from .safety import Limits
from .spreadsheet import export_spreadsheet, read_spreadsheet

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
