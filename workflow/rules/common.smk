# Shared definitions of the rules: folders, package sources, and how a notebook is run.
import json
import os
import shlex

from integrating import dependencies, provenance

# Paths inside the compendium are relative to the working folder, so a moved or copied compendium
# reruns nothing.
BASE = Path(os.path.relpath(workflow.basedir))
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


def raw_is_synthetic():
    """Whether the data set's descriptor says synthetic: true (anything else counts as real data)."""
    try:
        study = json.loads(Path(RAW, "datapackage.json").read_text(encoding="utf-8")).get("study", {})
    except (OSError, ValueError):
        return False
    return study.get("synthetic") is True


# Excerpts of the texts: `auto` is decided here, once, from the data (config.excerpts_shown).
config["show_excerpts"] = study_config.excerpts_shown(config["show_excerpts"], raw_is_synthetic())[0]


def notebook(name):
    return NOTEBOOKS / f"{name}.ipynb"


def notebook_code(name):
    """Package sources a notebook reaches through its imports, and the runner that executes it.

    Not what the runner calls to start the kernel or render the notebook's page, nor the command-line
    module that dispatches to it: editing them (say, to add a command) changes no notebook's results,
    and would rerun every notebook."""
    modules = dependencies.module_files(dependencies.notebook_modules(notebook(name)), root=".")
    return sorted({*modules, str(SRC / "runner.py")})


def command_code(*modules):
    """Package sources of an `integrating` command: editing one reruns exactly what depends on it."""
    return dependencies.module_files(["cli", *modules], root=".")


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


def notebook_parameters(name):
    """The notebook's parameters (the names of its `parameters` cell) from the config, as shell-quoted JSON."""
    values = {"raw_dir": RAW, "derived_dir": DERIVED, "figures_dir": FIGURES, "provenance_dir": PROV}
    keys = dependencies.notebook_parameters(notebook(name))
    values.update({k: config[k] for k in keys if k not in values})
    return shlex.quote(json.dumps(values, sort_keys=True))


def rerun_when_outputs_changed(record, also=()):
    """Rerun a step when a file it wrote was deleted or edited since (see provenance.changed_outputs).

    The record is the step's declared output: without it Snakemake reruns the step and everything
    downstream, and the step writes its files again (the files themselves are left as they are)."""
    problems = provenance.changed_outputs(record, also)
    if problems:
        Path(record).unlink()
        print(f"{record}: {'; '.join(problems[:3])}{' ...' if len(problems) > 3 else ''}; the step reruns",
              file=sys.stderr)


for _record in sorted(Path(PROV).glob("[0-9][0-9]_*.json")):
    rerun_when_outputs_changed(_record, [] if _record.stem == "00_validate" else [f"{EXECUTED}/{_record.stem}.ipynb"])
rerun_when_outputs_changed(provenance.SITE_MANIFEST)


# The provenance record is the rule's only output: Snakemake deletes the outputs of a job before it
# runs, and the notebooks write their tables and figures atomically, so a failed run keeps the
# previous good tables and figures.
# Each notebook's page of the report site is rendered as the notebook ends (into the site's cache), so
# the site step, which waits for every notebook, has little left to do.
RUN_NOTEBOOK = (PYTHON + " -m integrating.cli run-notebook {input.notebook} {log} {params.nb} --cwd ."
                " --site-cache reports/.site-cache/notebooks")


# Each notebook job claims one core through this resource: without it this Snakemake starts more
# local jobs than --cores, and the jobs on the critical path slow down.
workflow.global_resources.setdefault("notebook_cores", workflow.resource_settings.cores)
