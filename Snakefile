# The study's pipeline. Snakemake decides what to run (in parallel, locally or on a cluster);
# papermill executes each notebook with its parameters from config.yaml. Every rule declares its
# notebook, the package modules it uses, the parameters and the data it reads, so an edit to any of
# them reruns exactly what depends on it. See README.md ("How the pipeline works").
import sys
from pathlib import Path

from integrating import config as study_config

configfile: str(Path(workflow.basedir) / "config.yaml")
study_config.check(config, source="config (config.yaml and --config overrides)")

include: "workflow/rules/common.smk"
include: "workflow/rules/paper.smk"
include: "workflow/rules/study.smk"
include: "workflow/rules/power.smk"


rule all:
    input:
        ALL_OUTPUTS,
        VALUES,
    default_target: True
