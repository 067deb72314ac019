# The study's pipeline. Snakemake decides what to run (in parallel, locally or on a cluster);
# papermill executes each notebook with its parameters from config.yaml. Every rule declares its
# notebook, the package modules it uses, the parameters and the data it reads, so an edit to any of
# them reruns exactly what depends on it. See README.md ("How the pipeline works").
import sys
from pathlib import Path

from integrating import config as study_config
from integrating import kernels

configfile: str(Path(workflow.basedir) / "config.yaml")
study_config.check(config, source="config (config.yaml and --config overrides)")

# A local run starts its server of warm kernels now, so that the imports overlap Snakemake's own start.
if config["warm_kernels"] and workflow.is_main_process and kernels.may_run_notebooks(sys.argv):
    kernels.start(config["warm_kernels_idle_s"])

# What each rule's code depends on is read from the sources (integrating.dependencies); the scans
# are kept in the working folder's .snakemake/ for the next run, under each file's size and time.
from integrating import dependencies

dependencies.keep_scans(".snakemake/integrating/scans.json")

include: "workflow/rules/common.smk"
include: "workflow/rules/paper.smk"
include: "workflow/rules/study.smk"
include: "workflow/rules/power.smk"
include: "workflow/rules/figures.smk"

dependencies.save_scans()


rule all:
    input:
        ALL_OUTPUTS,
        VALUES,
    default_target: True


# The report is never stale: a failed run says so at the top of the report, with the step and the
# message, and marks what is from an earlier run (reports/logs/last_run.json). The server of warm
# kernels (warm_kernels) serves local runs only, and waits warm_kernels_idle_s for the next run.
onstart:
    from integrating import runlog

    runlog.record_start()
    if config["warm_kernels"] and workflow.local_exec and workflow.is_main_process:
        kernels.start(config["warm_kernels_idle_s"])
    else:
        kernels.stop()


onsuccess:
    from integrating import runlog

    kernels.stop()
    runlog.record_end("ok")
    runlog.end_promptly()


onerror:
    from integrating import report, runlog

    kernels.stop()
    runlog.end_promptly()
    last = runlog.record_end("failed", log)
    if any(not step.startswith("power") for step in last["steps"]):
        report.build_site(".", show_excerpts=config["show_excerpts"], raw_dir=RAW, last_run=last)
