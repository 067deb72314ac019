"""The ``integrating`` command: validate, synth, run-notebook, build-site, figure-pack, values, paper,
teaching-packs and the QDA import/export."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _validate(args) -> int:
    from . import validate

    problems = validate.validate(args.raw_dir)
    if problems:
        lines = [f"{args.raw_dir}: {len(problems)} problem(s); the data do not follow the contract:"]
        lines += [f"  {line}" for line in validate.summarise(problems)]
        print("\n".join(lines), file=sys.stderr)
        if args.stamp:  # a step of the pipeline: the report shows the problems
            from . import runlog

            runlog.note_error(lines)
        return 1
    print(f"{args.raw_dir}: valid (data contract {__import__('integrating.contract').contract.CONTRACT_VERSION})")
    from . import support

    params = _study_parameters(args.config)
    warnings = [c for c in support.capabilities(args.raw_dir, **params) if not c.computable]
    for c in warnings:
        print(f"warning: {c}", file=sys.stderr)
    if warnings:
        print(f"{args.raw_dir}: {len(warnings)} warning(s): the data are valid but cannot support the analyses "
              "named above", file=sys.stderr)
    if args.stamp:
        from . import io, provenance

        run = provenance.Run("00_validate", {"raw_dir": str(args.raw_dir)}, Path(args.stamp).parent)
        run.input(Path(args.raw_dir))
        io.write_json(args.stamp, run.record())
    return 0


def _study_parameters(path) -> dict:
    """The parameters that decide the groups and the valid survey responses, from a config file
    (``--config``, else the compendium's config.yaml when it exists, else the defaults)."""
    from . import config, paths

    if path is not None:  # given: checked against the config schema
        c = config.load(path)
    elif paths.CONFIG.is_file():  # the compendium's own, checked by the pipeline (no jsonschema import here)
        import yaml

        c = yaml.safe_load(paths.CONFIG.read_text(encoding="utf-8")) or {}
    else:
        return {}
    keys = {"rule": "segmentation_rule", "threshold": "implementation_threshold",
            "count_threshold": "implemented_count_threshold", "min_answered": "composite_min_answered"}
    return {k: c[name] for k, name in keys.items() if name in c}


def _synth(args) -> int:
    from . import synth

    if args.calibrate:
        print(synth.calibrate(start=args.seed if args.seed is not None else synth.CALIBRATION_START,
                              clinics=args.clinics))
        return 0
    seed = synth.DEFAULT_SEED if args.seed is None else args.seed
    data = synth.generate(seed=seed, clinics=args.clinics)
    synth.write(data, args.out)
    print(f"wrote a SYNTHETIC study (seed {seed}, {args.clinics} clinics) to {args.out}")
    return 0


def _run_notebook(args) -> int:
    from . import runner

    return runner.run(args.notebook, args.output, args.parameters, cwd=args.cwd, site_cache=args.site_cache)


def _build_site(args) -> int:
    from . import report

    if not args.workdir.is_dir():
        raise NotADirectoryError(20, "no such folder (the working folder of a run)", str(args.workdir))
    index = report.build_site(args.workdir, args.show_excerpts, raw_dir=args.raw_dir)
    print(f"report site: {index} (open it in a browser; no server needed)")
    return 0


def _values(args) -> int:
    import json

    from . import values

    written = values.write(values.compute(args.derived_dir, args.raw_dir, parameters=json.loads(args.parameters)),
                           args.out)
    print(f"values: {written}")
    return 0


def _paper(args) -> int:
    from . import manuscript

    written = manuscript.build(args.values, args.out, figures_dir=args.figures_dir,
                               show_excerpts=args.show_excerpts, formats=args.formats)
    print("paper: " + ", ".join(str(p) for p in written))
    return 0


def _teaching_packs(args) -> int:
    from . import teaching_packs

    written = teaching_packs.write_packs(args.out, raw_dir=args.raw_dir, student_only=args.student_only)
    for name, folder in written.items():
        print(f"{name} pack: {folder}")
    return 0


def _figure_pack(args) -> int:
    from . import config, figures

    fmt = args.format or config.load(args.config)["figure_pack_format"]
    written = figures.write_pack(args.figures_dir, args.out, fmt)
    n = sum(1 for p in written if p.name.startswith("Figure_"))
    print(f"figure pack: {n} figures ({fmt}) and {written[-1].name} in {args.out}")
    return 0


def _json_object(text: str) -> str:
    """An argument that must be a JSON object (kept as text)."""
    import json

    try:
        ok = isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        ok = False
    if not ok:
        raise argparse.ArgumentTypeError(f"expected a JSON object such as '{{\"seed\": 1}}', got {text!r}")
    return text


class _Parser(argparse.ArgumentParser):
    """Argument errors in one line (with where to find help), exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="integrating", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("validate", help="check a raw-data folder against the data contract (errors: exit 1); "
                                        "warn about analyses the data cannot support (exit 0)")
    p.add_argument("raw_dir", nargs="?", default="data/raw", type=Path)
    p.add_argument("--stamp", type=Path, help="on success, write a provenance record here")
    p.add_argument("--config", type=Path, default=None,
                   help="study parameters deciding the groups, for the warnings [config.yaml of the compendium]")
    p.set_defaults(func=_validate)

    p = sub.add_parser("synth", help="generate a SYNTHETIC contract-conforming study")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the bundled study's)")
    p.add_argument("--clinics", type=int, default=16, help="number of clinics [16]")
    p.add_argument("--out", type=Path, default=Path("data/raw"), help="output folder [data/raw]")
    p.add_argument("--calibrate", action="store_true",
                   help="print the first seed from --seed whose survey reproduces the published rounding")
    p.set_defaults(func=_synth)

    p = sub.add_parser("run-notebook", help="execute a notebook with papermill (used by the pipeline)")
    p.add_argument("notebook", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("parameters", type=_json_object, help="JSON object of notebook parameters")
    p.add_argument("--cwd", type=Path, default=None)
    p.add_argument("--site-cache", type=Path, default=None,
                   help="also render the executed notebook's report page into this cache (reports/.site-cache/notebooks)")
    p.set_defaults(func=_run_notebook)

    p = sub.add_parser("build-site", help="build the static report site reports/index.html")
    p.add_argument("--workdir", type=Path, default=Path("."), help="working folder of the run [.]")
    p.add_argument("--raw-dir", type=Path, default=Path("data/raw"),
                   help="raw data folder, relative to --workdir unless absolute [data/raw]")
    p.add_argument("--show-excerpts", action=argparse.BooleanOptionalAction, default=False,
                   help="include excerpts of coded texts (only when consent allows) [no]")
    p.set_defaults(func=_build_site)

    p = sub.add_parser("values", help="write the study's named values (data/derived/values.csv) from the derived tables")
    p.add_argument("--derived-dir", type=Path, default=Path("data/derived"), help="derived tables [data/derived]")
    p.add_argument("--raw-dir", type=Path, default=Path("data/raw"), help="raw data (its descriptor) [data/raw]")
    p.add_argument("--parameters", type=_json_object, default="{}",
                   help="JSON object of the study parameters the text reports (from config.yaml) [{}]")
    p.add_argument("--out", type=Path, default=Path("data/derived/values.csv"), help="[data/derived/values.csv]")
    p.set_defaults(func=_values)

    p = sub.add_parser("paper", help="write the manuscript (DOCX, PDF, HTML) and its tables from values.csv")
    p.add_argument("--values", type=Path, default=Path("data/derived/values.csv"), help="[data/derived/values.csv]")
    p.add_argument("--figures-dir", type=Path, default=Path("figures"), help="figures of the run [figures]")
    p.add_argument("--out", type=Path, default=Path("paper"), help="output folder [paper]")
    p.add_argument("--show-excerpts", action=argparse.BooleanOptionalAction, default=False,
                   help="one illustrative excerpt per mechanism in Table 2 (only when consent allows) [no]")
    p.add_argument("--formats", nargs="+", default=["docx", "pdf", "html"], choices=["docx", "pdf", "html"],
                   help="output formats [docx pdf html]")
    p.set_defaults(func=_paper)

    p = sub.add_parser("teaching-packs", help="write the course's student pack and teacher pack")
    p.add_argument("--out", type=Path, default=Path("reports/teaching"),
                   help="folder for student/ and teacher/; replaced only if it holds former packs [reports/teaching]")
    p.add_argument("--raw-dir", type=Path, default=None, help="data for the packs [the bundled data/raw]")
    p.add_argument("--student-only", action="store_true", help="write only the student pack (no execution)")
    p.set_defaults(func=_teaching_packs)

    p = sub.add_parser("figure-pack", help="copy the paper's figures, numbered, with a captions file (make figures)")
    p.add_argument("--figures-dir", type=Path, default=Path("figures"), help="figures of a run [figures]")
    p.add_argument("--out", type=Path, default=Path("reports/figures_pack"), help="pack folder [reports/figures_pack]")
    p.add_argument("--format", choices=["svg", "pdf", "png", "tiff", "eps"], default=None,
                   help="file format [figure_pack_format of the config]")
    p.add_argument("--config", type=Path, default=None, help="config file [config.yaml]")
    p.set_defaults(func=_figure_pack)

    from .qda import cli as qda_cli

    qda_cli.register(sub)
    return parser


# Commands of the pipeline that a run's server of warm processes runs for it (integrating.kernels).
SERVED = ("validate", "run-notebook", "values", "build-site")


def main(argv=None) -> int:
    """Run one command; a user's mistake ends in a message and exit code 2, never a traceback."""
    from . import kernels
    from .errors import IntegratingError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in SERVED and (code := kernels.run_command(argv)) is not None:
        return code
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except IntegratingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path that does not exist or cannot be written
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error:{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
