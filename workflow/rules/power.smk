# Power and design simulation (docs/robustness-and-power.md). Separate from the study run:
#   snakemake --cores all power          (`make power`)
# The grid of designs (config keys power_*) is simulated in independent shards, one design and one
# range of replicates each, then merged into data/derived/power.csv, figures/power.{svg,pdf,png,txt}
# and reports/provenance/power.json. Seeds come from `seed`, the design and the replicate block, never
# from the order of execution: 1 or many shards, 1 or many cores, locally or on a cluster
# (--profile workflow/profiles/slurm) give identical results.
# Self-contained: it needs only `config`, so it can be included after common.smk or on its own.
import json as _power_json
import os as _power_os
import sys as _power_sys
import time as _power_time

from integrating import dependencies as _power_dependencies
from integrating import power as _power

POWER_PYTHON = _power_sys.executable
POWER_SHARD_DIR = "data/derived/power_shards"
POWER_CONFIG = _power.power_config(config)
# An impossible grid (e.g. a design with 1 clinic in a group) stops only the power target, not `make run`.
try:
    POWER_SHARDS = {s.name: s for s in _power.shards(config)}
    POWER_GRID_ERROR = None
except _power.AnalysisError as _power_error:
    POWER_SHARDS, POWER_GRID_ERROR = {}, str(_power_error)
# Package modules the shards and the merge reach (computed from the imports): editing one reruns what
# depends on it. Relative to the working folder, so a moved compendium reruns nothing.
POWER_SHARD_CODE = POWER_MERGE_CODE = _power_dependencies.module_files(["power"], root=".")
# Progress: each shard prints the shards of the grid done and the time left at this run's pace.
_power_os.environ[_power.PROGRESS_ENV] = _power_json.dumps({"start": _power_time.time(), "config": POWER_CONFIG})


def power_shard_files(wildcards):
    if POWER_GRID_ERROR:
        raise ValueError(f"the power grid of config.yaml cannot be simulated: {POWER_GRID_ERROR}")
    return [f"{POWER_SHARD_DIR}/{name}.csv" for name in POWER_SHARDS]


localrules: power, power_merge


rule power_shard:
    input:
        code=POWER_SHARD_CODE,
    output:
        f"{POWER_SHARD_DIR}/{{shard}}.csv",
    log:
        f"{POWER_SHARD_DIR}/logs/{{shard}}.json",
    wildcard_constraints:
        shard="[^/]+",
    params:
        spec=lambda wc: _power_json.dumps(POWER_SHARDS[wc.shard].spec(), sort_keys=True),
    shell:
        "{POWER_PYTHON} -m integrating.power shard {params.spec:q} {output:q} --log {log:q}"


# The provenance record is the merge's only declared output (as for the notebooks): a failed merge
# keeps the previous good table and figure.
rule power_merge:
    input:
        shards=power_shard_files,
        code=POWER_MERGE_CODE,
    output:
        "reports/provenance/power.json",
    params:
        # the power keys and the figure keys (formats, resolution, font size, widths)
        cfg=_power_json.dumps({**POWER_CONFIG, **{k: v for k, v in config.items() if k.startswith("figure_")}},
                              sort_keys=True),
    shell:
        "{POWER_PYTHON} -m integrating.power merge {params.cfg:q} --shard-dir {POWER_SHARD_DIR}"
        " --derived data/derived --figures figures --provenance reports/provenance"


rule power:
    input:
        rules.power_merge.output,
