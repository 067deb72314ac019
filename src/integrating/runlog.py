"""The run's console log: Snakemake's full log goes to a file; the console gets one line per step and a summary.

``make run`` and ``make verify`` call ``python -m integrating.runlog [snakemake options]``. The wrapper
runs Snakemake unchanged, writes everything it prints to ``reports/logs/run.log``, and prints a line
per finished step (rule, status, seconds), the messages of the compendium's own commands (validation
problems, the notebook cell that failed), and at the end a summary: claims passed out of checked (and
not checkable), analyses not computable, the report's path and the run time. On failure the actionable
message is printed last. Snakemake's own log stays available in ``.snakemake/log/`` as usual.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import time
from pathlib import Path

LOG = Path("reports/logs/run.log")
REPORT = Path("reports/index.html")
CLAIMS_SUMMARY = Path("data/derived/claims_summary.csv")
CLAIMS_CHECK = Path("data/derived/claims_check.csv")
NOT_COMPUTABLE = Path("data/derived/not_computable.csv")

_JOB = re.compile(r"^(?:local)?rule (\w+):$")
_JOBID = re.compile(r"^\s+jobid: (\d+)$")
_FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")
_ERROR = re.compile(r"^Error in rule (\w+):$")
#: Lines that are Snakemake's own bookkeeping (kept in the log file, not shown). The compendium's own
#: commands indent by two spaces at most; Snakemake's job and error blocks by four.
_SNAKEMAKE = re.compile(
    r"^(\[\w{3} \w{3} +\d+ [\d:]+ \d{4}\]|\s+\w[\w ]*: |Assuming |host: |Building DAG|Using shell|Provided |"
    r"Rules claiming|Job stats|job +count|-+ +-+|\w+ +\d+$|total +\d+|Select jobs|Execute \d+ jobs|"
    r"Finished jobid|\d+ of \d+ steps|(local)?rule \w+:|Complete log|Shutting down|Exiting because|"
    r"Error in rule|RuleException|CalledProcessError|WorkflowError|Removing output files|Waiting at most|"
    r"Will exit after|Reasons:|Some jobs were|If you |Rules with |This was a dry-run|Nothing to be done|"
    r"\s+\(check individual|\s+input files updated|\s+set of input files|\s+Missing output|\s+Code has changed|"
    r"\s+Params have changed|\s+Updated input|\s+Forced|\s+\w+(, \w+)*$|File \"|\s+File \"|Traceback|\s*$|"
    r"Command '|At least one job|Trying to restore|Storing output|Touching output|Waiting for|Config file |"
    r"    )"
)


def _console(line: str) -> None:
    print(line, flush=True)


def _rows(path: Path) -> list[dict]:
    # The csv module, not pandas: this wrapper starts with every `make run` and should start fast.
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _summary(started: float) -> list[str]:
    lines = []
    summary = {row["kind"]: row for row in _rows(CLAIMS_SUMMARY)}
    if "all" in summary:
        row = summary["all"]
        text = f"claims: {row['n_pass']} of {row['n_checks']} reproduced"
        unchecked = sum(r["status"] == "not checkable" for r in _rows(CLAIMS_CHECK))
        if unchecked:
            text += f", {unchecked} not checkable"
        if int(row["n_fail"]):
            text += f"; not reproduced: {row['failing']}"
        lines.append(text)
    if NOT_COMPUTABLE.is_file():
        lines.append(f"analyses not computable on these data: {len(_rows(NOT_COMPUTABLE))} (see the report)")
    if REPORT.is_file():
        lines.append(f"report: {REPORT.resolve()}")
    lines.append(f"run time: {time.monotonic() - started:.1f} s; full log: {LOG}")
    return lines


def run(argv: list[str]) -> int:
    """Run Snakemake with ``argv``; return its exit code."""
    started = time.monotonic()
    LOG.parent.mkdir(parents=True, exist_ok=True)
    rules, began, current, failed, messages = {}, {}, None, [], []
    cmd = [sys.executable, "-m", "snakemake", *argv]
    with open(LOG, "w", encoding="utf-8") as log, subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        for raw in proc.stdout:
            log.write(raw)
            line = raw.rstrip("\n")
            if m := _JOB.match(line):
                current = m.group(1)
            elif (m := _JOBID.match(line)) and current:
                rules[m.group(1)] = current
                began[m.group(1)] = time.monotonic()
            elif m := _FINISHED.match(line):
                jobid, rule = m.groups()
                if rule != "all":
                    seconds = time.monotonic() - began.get(jobid, started)
                    _console(f"  ok      {rule:<22} {seconds:6.1f} s")
            elif (m := _ERROR.match(line)) and m.group(1) not in failed:
                failed.append(m.group(1))
                _console(f"  FAILED  {m.group(1)}")
            elif line.startswith("Nothing to be done"):
                _console("  nothing to rerun: every output is up to date")
            elif not _SNAKEMAKE.match(line):
                if re.search(r"problem|failed|error|expected|traceback|not |cannot", line, re.I) or line.startswith("  "):
                    messages.append(line)
                else:
                    _console(f"  {line}")
        code = proc.wait()
    if code == 0:
        for line in _summary(started):
            _console(line)
        return 0
    _console(f"run failed in step {', '.join(failed) or '(before any step)'} after "
             f"{time.monotonic() - started:.1f} s; full log: {LOG}")
    for line in messages[-40:] or ["(no message from the step; see the full log)"]:
        _console(line)
    return code


def main(argv=None) -> int:
    return run(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
