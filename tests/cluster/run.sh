#!/usr/bin/env bash
# `make cluster-test`: the power workflow through the SLURM profile on a real, throw-away,
# single-node SLURM cluster on this machine, compared byte for byte with a local run.
#
#  1. Installs Debian's slurm-wlm and munge when a command is missing (as root, or through sudo).
#  2. Starts munged, slurmctld and slurmd on this machine, each from a file written in a temporary
#     folder (munge key, slurm.conf with free ports, state and logs); nothing under /etc is read or
#     written. No accounting database: AccountingStorageType=accounting_storage/none, so `sacct`
#     answers "Slurm accounting storage is disabled" and the executor plugin is told to follow its
#     jobs with `squeue` (--slurm-status-command squeue; MinJobAge keeps finished jobs visible).
#  3. Runs the power grid of tests/cluster/grid.yaml twice, each in its own copy of the compendium
#     (the files git tracks, plus untracked ones it does not ignore), so the user's data/derived,
#     figures and reports are untouched: locally (--cores 2) and through
#     --profile workflow/profiles/slurm, where every shard is an sbatch job, sent to the partition
#     'test' (not the default 'main') with --set-resources, as README.md tells users to name theirs.
#  4. Checks that every shard job went through SLURM and finished there (COMPLETED in partition
#     'test'), and that power.csv and every shard table are byte-identical between the two runs.
#  5. Stops the daemons it started, by their process ids, whatever happened (trap on EXIT).
#
# On success the temporary folder is removed; on failure it is kept and its path printed (daemon
# logs in log/, the two copies in local/ and cluster/). CLUSTER_TEST_KEEP=1 keeps it in any case.
#
# Two settings exist only because this cluster's slurm.conf is not at the standard place:
#  - SLURM_CONF points the client commands (sbatch, squeue, scontrol, sinfo) at it;
#  - inside a job, the plugin's job step removes SLURM_* variables before calling `srun`, so bin/srun
#    in the temporary folder, first on PATH, sets SLURM_CONF and runs the real srun. On a real
#    cluster slurm.conf is at /etc/slurm (or fetched from slurmctld) and neither is needed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$ROOT/.venv/bin
GRID=$ROOT/tests/cluster/grid.yaml
START=$(date +%s)

say() { printf 'cluster-test: %s\n' "$*"; }
fail() { printf 'cluster-test: FAILED: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
  # slurmd has to run as root (it starts the jobs); everything else follows it.
  command -v sudo >/dev/null 2>&1 || fail "run as root or install sudo: slurmd must run as root"
  exec sudo --preserve-env=PATH,CLUSTER_TEST_KEEP bash "${BASH_SOURCE[0]}" "$@"
fi

[ -x "$BIN/snakemake" ] || fail "$BIN/snakemake not found; run 'make setup' first"
"$BIN/python" -c "import snakemake_executor_plugin_slurm" 2>/dev/null \
  || fail "the SLURM executor plugin is not in $ROOT/.venv; run 'make setup' (requirements.lock has it)"

# --- 1. Debian packages ------------------------------------------------------------------------
missing=0
for cmd in munged mungekey slurmctld slurmd sbatch srun squeue sinfo scontrol; do
  command -v "$cmd" >/dev/null 2>&1 || missing=1
done
if [ "$missing" = 1 ]; then
  say "installing Debian's slurm-wlm and munge"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
  say "installed in $(($(date +%s) - START)) s"
fi
SLURM_VERSION=$(slurmd -V | awk '{print $2}')
PLUGIN_VERSION=$("$BIN/python" -c "from importlib.metadata import version; print(version('snakemake-executor-plugin-slurm'))")
say "SLURM $SLURM_VERSION, snakemake-executor-plugin-slurm $PLUGIN_VERSION"

# --- 2. the cluster, in a temporary folder ----------------------------------------------------------
WORK=$(mktemp -d /tmp/integrating-cluster.XXXXXX)
chmod 755 "$WORK"   # munged wants its socket's folders searchable by everyone
mkdir -p "$WORK"/{munge,run,state,spool,log,bin}
chmod 700 "$WORK/munge"
chmod 755 "$WORK/run"
PIDS=()
RUN_PID=
OK=0

cleanup() {
  local rc=$?
  set +e
  if [ -n "$RUN_PID" ]; then
    # Interrupted during a run: Snakemake cancels its SLURM jobs when it is stopped.
    kill "$RUN_PID" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$RUN_PID" 2>/dev/null
  fi
  if [ "${#PIDS[@]}" -gt 0 ]; then
    # Jobs still queued or running (after a failure) go first, then the daemons, newest first.
    SLURM_CONF=$WORK/slurm.conf scancel --quiet --user root >/dev/null 2>&1
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
      kill "${PIDS[i]}" 2>/dev/null
      for _ in $(seq 50); do kill -0 "${PIDS[i]}" 2>/dev/null || break; sleep 0.1; done
      kill -9 "${PIDS[i]}" 2>/dev/null
      wait "${PIDS[i]}" 2>/dev/null
    done
    say "stopped munged, slurmctld and slurmd (pids ${PIDS[*]})"
  fi
  if [ "$OK" = 1 ] && [ "${CLUSTER_TEST_KEEP:-0}" != 1 ]; then
    rm -rf "$WORK"
  else
    say "kept $WORK (daemon logs in log/, the runs in local/ and cluster/)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mungekey --create --keyfile="$WORK/munge/munge.key"
munged --foreground --force --socket="$WORK/run/munge.socket" --key-file="$WORK/munge/munge.key" \
  --pid-file="$WORK/run/munged.pid" --seed-file="$WORK/munge/munged.seed" \
  --log-file="$WORK/log/munged.log" >"$WORK/log/munged.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$WORK/run/munge.socket" ] && break; sleep 0.1; done
[ -S "$WORK/run/munge.socket" ] || fail "munged did not start: $(cat "$WORK/log/munged.out")"

HOST=$(hostname -s)
# This machine as slurmd sees it: NodeName=<hostname -s> CPUs=.. Boards=.. ... RealMemory=..
NODE=$(slurmd -C | head -n 1)
read -r CTLD_PORT SLURMD_PORT < <("$BIN/python" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
cat >"$WORK/slurm.conf" <<EOF
# Generated by tests/cluster/run.sh: a single-node cluster for one test run.
ClusterName=integrating
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$WORK/run/munge.socket
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/run/slurmctld.pid
SlurmdPidFile=$WORK/run/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
PlugStackConfig=$WORK/plugstack.conf
MailProg=/bin/true
# No cgroups in a container: processes tracked through /proc, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# No accounting database (slurmdbd): sacct cannot answer, squeue follows the jobs.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Finished jobs stay visible to squeue for 10 minutes (the plugin's squeue check needs >= 6 s here).
MinJobAge=600
ReturnToService=2
$NODE NodeAddr=127.0.0.1 State=UNKNOWN
# The run names its partition (as a user does with --set-resources); the default one stays unused.
PartitionName=main Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=test Nodes=$HOST Default=NO MaxTime=INFINITE State=UP
EOF
: >"$WORK/plugstack.conf"
export SLURM_CONF=$WORK/slurm.conf
printf '#!/bin/sh\nSLURM_CONF=%s exec %s "$@"\n' "$SLURM_CONF" "$(command -v srun)" >"$WORK/bin/srun"
chmod 755 "$WORK/bin/srun"
export PATH=$WORK/bin:$PATH

slurmctld -D -f "$SLURM_CONF" >"$WORK/log/slurmctld.out" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >"$WORK/log/slurmd.out" 2>&1 &
PIDS+=($!)
state=
for _ in $(seq 60); do
  state=$(sinfo --noheader --nodes="$HOST" --format=%T 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || fail "node $HOST is '${state:-unknown}', not idle, after 30 s; see $WORK/log"
say "cluster up after $(($(date +%s) - START)) s: node $HOST ($(echo "$NODE" | grep -o 'CPUs=[0-9]*')), partitions 'main' (default) and 'test', ports $CTLD_PORT/$SLURMD_PORT"

# --- 3. the same grid, locally and through the profile ------------------------------------------
copy() {
  mkdir -p "$1"
  if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
      | (cd "$ROOT" && tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$1"
  else
    tar -C "$ROOT" --exclude=./.git --exclude=./.venv --exclude=./.snakemake --exclude=./data/derived \
      --exclude=./figures --exclude=./reports -cf - . | tar -xf - -C "$1"
  fi
}
# A command in folder $1, output to file $2, in the background so that a signal reaches the trap at
# once (and the trap stops the command) instead of after the command ends.
run_in() {
  local dir=$1 log=$2 rc=0
  shift 2
  (cd "$dir" && exec "$@") >"$log" 2>&1 &
  RUN_PID=$!
  wait "$RUN_PID" || rc=$?
  RUN_PID=
  return "$rc"
}
copy "$WORK/local"
copy "$WORK/cluster"

t0=$(date +%s)
# warm_kernels_idle_s=0: the local run's server of warm kernels ends with it (a test leaves nothing running).
run_in "$WORK/local" "$WORK/log/local.txt" "$BIN/snakemake" --cores 2 power --configfile "$GRID" \
  --config warm_kernels_idle_s=0 || fail "local run; see $WORK/log/local.txt"
t1=$(date +%s)
say "local run: $((t1 - t0)) s"

# The profile as a user runs it, naming the partition as README.md shows; the two executor settings
# only fit this test cluster (see above): squeue for the status, and a 2 s wait before the first
# status check instead of 40 s.
run_in "$WORK/cluster" "$WORK/log/cluster.txt" \
  "$BIN/snakemake" --profile workflow/profiles/slurm power --configfile "$GRID" \
  --set-resources power_shard:slurm_partition=test \
  --slurm-status-command squeue --slurm-init-seconds-before-status-checks 2 \
  || fail "run through the SLURM profile; see $WORK/log/cluster.txt"
t2=$(date +%s)
say "run through the SLURM profile: $((t2 - t1)) s"

# --- 4. checks --------------------------------------------------------------------------------------
SHARDS=$(find "$WORK/local/data/derived/power_shards" -maxdepth 1 -name '*.csv' | wc -l)
[ "$SHARDS" -gt 1 ] || fail "the grid has $SHARDS shard(s); expected several"
submitted=$(grep -c 'has been submitted with SLURM jobid' "$WORK/log/cluster.txt" || true)
completed=$(squeue --noheader --states=all --format='%T %P %k' | grep -c '^COMPLETED test rule_power_shard' || true)
[ "$submitted" -eq "$SHARDS" ] || fail "$submitted sbatch submissions for $SHARDS shards"
[ "$completed" -eq "$SHARDS" ] || fail "$completed shard jobs COMPLETED in partition 'test' for $SHARDS shards"
say "$SHARDS shard jobs submitted with sbatch and COMPLETED in SLURM partition 'test'"

cmp "$WORK/local/data/derived/power.csv" "$WORK/cluster/data/derived/power.csv" \
  || fail "power.csv differs between the local run and the run through SLURM"
for f in "$WORK"/local/data/derived/power_shards/*.csv; do
  cmp "$f" "$WORK/cluster/data/derived/power_shards/$(basename "$f")" \
    || fail "shard $(basename "$f") differs between the local run and the run through SLURM"
done
say "power.csv and the $SHARDS shard tables are byte-identical ($(sha256sum "$WORK/local/data/derived/power.csv" | cut -c1-16)...)"

OK=1
say "passed in $(($(date +%s) - START)) s"
