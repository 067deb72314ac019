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
#: The last run's status, written by the workflow's onstart/onsuccess/onerror handlers.
LAST_RUN = Path("reports/logs/last_run.json")
#: Messages of the steps that failed in the current run (a step's own output is not in Snakemake's log).
ERRORS = Path("reports/logs/errors.log")
REPORT = Path("reports/index.html")
CLAIMS_SUMMARY = Path("data/derived/claims_summary.csv")
CLAIMS_CHECK = Path("data/derived/claims_check.csv")
PROVENANCE = Path("reports/provenance")

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


def _is_message(line: str) -> bool:
    """A line of the compendium's own commands that says what went wrong (warnings are shown as they come)."""
    if line.startswith("warning:") or re.match(r"\S+: \d+ warning\(s\)", line):
        return False
    return bool(re.search(r"problem|failed|error|expected|traceback|not |cannot", line, re.I)) or line.startswith("  ")


def failure(log_text: str) -> tuple[list[str], list[str]]:
    """The steps that failed and the compendium's own messages, from Snakemake's log of a run."""
    steps, messages = [], []
    for line in log_text.splitlines():
        if (m := _ERROR.match(line)) and m.group(1) not in steps:
            steps.append(m.group(1))
        elif not _SNAKEMAKE.match(line) and _is_message(line):
            messages.append(line)
    return steps, messages[-40:]


def note_error(lines) -> None:
    """Keep a failing step's message for the report (called by the steps themselves)."""
    ERRORS.parent.mkdir(parents=True, exist_ok=True)
    with open(ERRORS, "a", encoding="utf-8") as fh:
        fh.writelines(f"{line}\n" for line in lines)


def record_start() -> None:
    """Note that a run started (the report marks what an unfinished run did not remake)."""
    from .io import write_json

    ERRORS.unlink(missing_ok=True)
    write_json(LAST_RUN, {"status": "running", "started": _now()})


def end_promptly() -> None:
    """Cancel the timers Snakemake's scheduler leaves running (it re-checks its job-rate limit a second
    after each round), so that a run's process ends with its work instead of up to a second later."""
    import threading

    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()


def record_end(status: str, snakemake_log=None) -> dict:
    """Note how the run ended; on failure with the steps that failed and their messages."""
    from .io import write_json

    import json

    try:
        last = json.loads(LAST_RUN.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        last = {}
    last.update(status=status, ended=_now())
    if status == "failed":
        # Snakemake hands its handlers the log file's path (a list of paths in recent versions).
        logs = [snakemake_log] if isinstance(snakemake_log, (str, Path)) else list(snakemake_log or [])
        text = "".join(Path(p).read_text(encoding="utf-8", errors="replace") for p in logs if Path(p).is_file())
        last["steps"], messages = failure(text)
        own = ERRORS.read_text(encoding="utf-8").splitlines() if ERRORS.is_file() else []
        last["messages"] = (own + messages)[-40:]
    write_json(LAST_RUN, last)
    return last


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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
    from .provenance import not_computable, read_records

    skipped = not_computable(read_records(PROVENANCE))
    if skipped:
        names = sorted({item["analysis"] for item in skipped})
        lines.append(f"not computable on these data: {', '.join(names)} (the report says why)")
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
                if _is_message(line):
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
