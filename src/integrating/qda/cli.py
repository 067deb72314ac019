"""Command-line entry points: ``import-qda``, ``export-qda`` and ``qda-mapping``.

:func:`register` adds the three subcommands to the compendium's ``integrating`` command; each sets
``func`` to a callable taking the parsed arguments and returning the exit code (0 on success, 1 on
a refusal or error, reported on stderr). ``python -m integrating.qda.cli`` runs them on their own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import IntegratingError
from .safety import DEFAULT_MAX_BYTES, DEFAULT_MAX_MEMBERS, Limits


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _limits(parser) -> None:
    parser.add_argument("--max-members", type=_positive, default=DEFAULT_MAX_MEMBERS, metavar="N",
                        help=f"refuse archives with more members (default {DEFAULT_MAX_MEMBERS})")
    parser.add_argument("--max-bytes", type=_positive, default=DEFAULT_MAX_BYTES, metavar="N",
                        help=f"refuse projects whose uncompressed content exceeds N bytes (default {DEFAULT_MAX_BYTES})")


def _guard(run):
    def wrapped(args) -> int:
        try:
            return run(args)
        except IntegratingError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except OSError as exc:
            print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    return wrapped


@_guard
def run_import(args) -> int:
    from .importer import import_qda

    report = import_qda(
        args.path, args.out, args.mapping, positions=None if args.positions == "auto" else args.positions,
        line_ends=None if args.line_ends == "auto" else args.line_ends, tables_from=args.tables_from,
        limits=Limits(args.max_members, args.max_bytes), overwrite=args.overwrite,
    )
    print("\n".join(report.lines()))
    return 0


@_guard
def run_export(args) -> int:
    out = Path(args.out)
    if out.suffix.lower() in (".csv", ".xlsx"):
        from .spreadsheet import export_spreadsheet

        path, mapping = export_spreadsheet(args.raw_dir, out, args.layout, args.mapping_out)
    elif out.suffix.lower() == ".qdpx":
        from .export import export_qda

        path, mapping = export_qda(args.raw_dir, out, args.mapping_out)
    else:
        print(f"error: --out {out}: expected a .qdpx, .csv or .xlsx file name", file=sys.stderr)
        return 1
    print(f"wrote {path} and {mapping} (import it back with: integrating import-qda {path} --out RAW_DIR --mapping {mapping})")
    return 0


@_guard
def run_mapping(args) -> int:
    from .mapping import template_mapping
    from .refi import read_project

    limits = Limits(args.max_members, args.max_bytes)
    path = Path(args.path)
    if path.suffix.lower() in (".csv", ".xlsx"):
        from .mapping import load_mapping
        from .spreadsheet import read_spreadsheet

        if not args.texts:
            print("error: a spreadsheet needs --texts DIR (the folder of its documents' texts)", file=sys.stderr)
            return 1
        spec = {"format": args.layout, "texts": str(Path(args.texts).resolve()), "unfound": "skip"}
        project = read_spreadsheet(path, load_mapping({"spreadsheet": spec}), limits)
        text = template_mapping(project, {**spec, "unfound": "error"})
    else:
        text = template_mapping(read_project(path, limits))
    sys.stdout.write(text)
    return 0


def register(subparsers) -> None:
    """Add ``import-qda``, ``export-qda`` and ``qda-mapping`` to an argparse subparsers object."""
    p = subparsers.add_parser(
        "import-qda", help="import a REFI-QDA project (.qdpx/.qde) or coded-segment spreadsheet into a raw-data folder",
        description="Turn a REFI-QDA project (.qdpx, .qde or a folder holding one) or a Dedoose/ATLAS.ti "
                    "spreadsheet (.csv, .xlsx) plus a mapping file into a raw-data folder of the contract. "
                    "Nothing is written unless the whole import succeeds.")
    p.add_argument("path", help="the .qdpx, .qde, project folder, .csv or .xlsx to import (only read)")
    p.add_argument("--out", required=True, metavar="RAW_DIR", help="raw-data folder to create")
    p.add_argument("--mapping", required=True, metavar="FILE", help="mapping file (YAML); see qda-mapping")
    p.add_argument("--positions", choices=("auto", "codepoints", "utf16"), default="auto",
                   help="unit of selection positions (default: as the mapping says, else detected)")
    p.add_argument("--line-ends", choices=("auto", "stored", "crlf", "lf"), default="auto",
                   help="how line ends count in selection positions (default: as the mapping says, else detected)")
    p.add_argument("--tables-from", metavar="DIR",
                   help="raw-data folder whose clinics, implementation log and survey tables are copied")
    p.add_argument("--overwrite", action="store_true", help="replace RAW_DIR if it is an existing raw-data folder")
    _limits(p)
    p.set_defaults(func=run_import)

    p = subparsers.add_parser(
        "export-qda", help="export a raw-data folder as a REFI-QDA project (.qdpx) or spreadsheet",
        description="Write a contract data set as a REFI-QDA project (.qdpx) or a Dedoose/ATLAS.ti-style "
                    "spreadsheet (.csv, .xlsx), with the mapping file that imports it back.")
    p.add_argument("raw_dir", metavar="RAW_DIR", help="raw-data folder to export")
    p.add_argument("--out", required=True, metavar="FILE", help="FILE.qdpx, FILE.csv or FILE.xlsx")
    p.add_argument("--mapping-out", metavar="FILE", help="where to write the mapping (default FILE.mapping.yaml)")
    p.add_argument("--layout", choices=("dedoose", "atlasti"), default="dedoose",
                   help="spreadsheet layout for .csv/.xlsx (default dedoose)")
    p.set_defaults(func=run_export)

    p = subparsers.add_parser(
        "qda-mapping", help="print a template mapping for a QDA project or spreadsheet",
        description="Print a mapping file (YAML) for PATH listing all its codes, cases, sets, variables and users.")
    p.add_argument("path", help="the .qdpx, .qde, project folder, .csv or .xlsx")
    p.add_argument("--layout", choices=("dedoose", "atlasti", "columns"), default="dedoose",
                   help="spreadsheet layout (for .csv/.xlsx)")
    p.add_argument("--texts", metavar="DIR", help="folder of the documents' texts (for .csv/.xlsx)")
    _limits(p)
    p.set_defaults(func=run_mapping)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="integrating", description="QDA import and export")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
