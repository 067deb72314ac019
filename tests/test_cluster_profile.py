"""The SLURM profile and `make cluster-test` (tests/cluster/run.sh), checked without a cluster.

The run on a real SLURM is `make cluster-test`; these tests catch, in the unit tier, what would
break it before any daemon starts.
"""

import re
import subprocess

import yaml

from integrating import config as study_config
from integrating import paths, power

PROFILE = paths.ROOT / "workflow" / "profiles" / "slurm" / "config.yaml"
SCRIPT = paths.ROOT / "tests" / "cluster" / "run.sh"
GRID = paths.ROOT / "tests" / "cluster" / "grid.yaml"


def test_profile_uses_the_slurm_executor_and_no_site_names():
    profile = yaml.safe_load(PROFILE.read_text())
    assert profile["executor"] == "slurm"
    resources = profile["default-resources"]
    # A partition or account written here would fail on every other cluster; they are set per site.
    assert "slurm_partition" not in resources and "slurm_account" not in resources
    # Snakemake evaluates each value; an empty string is an error, a number is what sbatch needs.
    assert all(isinstance(v, int) and v > 0 for v in resources.values()), resources


def test_cluster_grid_is_a_valid_config_with_several_shards():
    cfg = yaml.safe_load(paths.CONFIG.read_text())
    cfg.update(yaml.safe_load(GRID.read_text()))
    study_config.check(cfg, source="config.yaml + tests/cluster/grid.yaml")
    shards = power.shards(cfg)
    designs = {s.design for s in shards}
    # several sbatch jobs, and each design split in more than one replicate block
    assert len(shards) == 8 and len(designs) == 4
    assert all(sum(s.design == d for s in shards) == 2 for d in designs)


def test_cluster_script_is_valid_bash_and_stops_what_it_starts():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    text = SCRIPT.read_text()
    # commands continued with a backslash count as one line
    started = re.findall(r"^(munged|slurmctld|slurmd) (?:.*\\\n)*.*&$", text, flags=re.M)
    assert sorted(started) == ["munged", "slurmctld", "slurmd"]
    # every daemon's pid is recorded right after it starts, and the EXIT trap kills the recorded pids
    assert text.count("PIDS+=($!)") == 3
    assert "trap cleanup EXIT" in text and 'kill "${PIDS[i]}"' in text
    assert "pkill" not in text and "killall" not in text


def test_cluster_test_is_not_part_of_make_test():
    makefile = (paths.ROOT / "Makefile").read_text()
    test_recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", makefile, flags=re.M).group(1)
    assert "cluster" not in test_recipe
    assert re.search(r"^cluster-test: .*\n\tbash tests/cluster/run.sh$", makefile, flags=re.M)
