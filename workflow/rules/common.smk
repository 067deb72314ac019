# Shared definitions of the rules: folders, package sources, and how a notebook is run.
import json
import shlex

BASE = Path(workflow.basedir)
SRC = BASE / "src" / "integrating"
NOTEBOOKS = BASE / "notebooks"
RAW = config["raw_dir"]
DERIVED = "data/derived"
FIGURES = "figures"
PROV = "reports/provenance"
EXECUTED = "reports/notebooks"
PYTHON = sys.executable
# The model file is part of the repository: a relative path is taken from the repository root.
if not Path(config["model_file"]).is_absolute():
    config["model_file"] = str(BASE / config["model_file"])
# Modules every notebook imports (through contract, provenance and plotting).
CORE = ["__init__", "paths", "io", "errors", "provenance", "plotting", "contract"]


def package(*modules):
    """Source files of the package modules a rule uses (so editing one reruns its notebooks)."""
    return [str(SRC / f"{m}.py") for m in [*CORE, *modules]]


def raw_tables():
    """The data set's descriptor and the tables the contract's descriptor lists that exist (the
    implementation log and survey are optional; the validation rule reports a missing required table)."""
    contract = json.loads((SRC / "datapackage.json").read_text(encoding="utf-8"))
    paths = [f"{RAW}/datapackage.json"] + [f"{RAW}/{res['path']}" for res in contract["resources"]]
    return [p for p in paths if Path(p).is_file()]


def raw_texts(wildcards=None):
    """The document texts named in documents.csv (each file, so an edit to one text is seen)."""
    import csv

    try:
        with open(f"{RAW}/documents.csv", encoding="utf-8", newline="") as fh:
            paths = [row.get("text_path") for row in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []  # the validation rule reports the problem
    # Only files that exist and stay inside the folder; validation reports the others.
    return sorted(f"{RAW}/{p}" for p in paths if p and ".." not in Path(p).parts and Path(RAW, p).is_file())


def notebook_parameters(*keys):
    """The notebook's parameters: the output folders and the config keys it uses, as shell-quoted JSON."""
    values = {"raw_dir": RAW, "derived_dir": DERIVED, "figures_dir": FIGURES, "provenance_dir": PROV}
    values.update({k: config[k] for k in keys})
    return shlex.quote(json.dumps(values, sort_keys=True))


# The provenance record is the rule's only output: Snakemake deletes the outputs of a job before it
# runs, and the notebooks write their tables and figures atomically, so a failed run keeps the
# previous good tables and figures.
RUN_NOTEBOOK = PYTHON + " -m integrating.cli run-notebook {input.notebook} {log} {params.nb} --cwd ."


# Each notebook job claims one core through this resource: without it this Snakemake starts more
# local jobs than --cores, and the jobs on the critical path slow down.
workflow.global_resources.setdefault("notebook_cores", workflow.resource_settings.cores)
