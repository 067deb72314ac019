"""The run's console log: what of Snakemake's output is shown, and how a run's end is recorded."""

from __future__ import annotations

import json

from integrating import runlog

LOG = """\
Assuming unrestricted shared filesystem usage.
host: vm
Building DAG of jobs...
Job stats:
job                  count
-----------------  -------
validate                 1
total                    1

Select jobs to execute...
Execute 1 jobs...
[Tue Dec  1 05:02:23 2026]
localrule validate:
    input: data/raw/datapackage.json
    jobid: 2
    reason: Missing output files: reports/provenance/00_validate.json
data/raw: 1 problem(s); the data do not follow the contract:
  documents.csv, row 2 (line 3), column 'clinic_id': value 'C99'; expected a clinic_id listed in clinics.csv
warning: reliability: not computable: a single coder
[Tue Dec  1 05:02:24 2026]
Error in rule validate:
    message: None
    jobid: 2
Error in rule validate:
Shutting down, this might take some time.
Exiting because a job execution failed. Look below for error messages
WorkflowError:
At least one job did not complete successfully.
"""


def test_failure_keeps_the_compendiums_messages_and_drops_snakemakes_bookkeeping():
    steps, messages = runlog.failure(LOG)
    assert steps == ["validate"]
    assert messages == ["data/raw: 1 problem(s); the data do not follow the contract:",
                        "  documents.csv, row 2 (line 3), column 'clinic_id': value 'C99'; expected a clinic_id "
                        "listed in clinics.csv"]


def test_a_run_records_its_start_and_a_failure_with_the_step_and_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runlog.record_start()
    assert json.loads(runlog.LAST_RUN.read_text())["status"] == "running"
    runlog.note_error(["notebooks/04.ipynb: cell 3 failed: KeyError: 'x'"])
    log = tmp_path / "snakemake.log"
    log.write_text(LOG)
    last = runlog.record_end("failed", [str(log)])  # recent Snakemake passes a list of log files
    assert last["status"] == "failed" and last["steps"] == ["validate"]
    assert last["messages"][0] == "notebooks/04.ipynb: cell 3 failed: KeyError: 'x'"
    assert last["started"] <= last["ended"]
    runlog.record_start()
    assert not runlog.ERRORS.exists()  # a new run starts without the last run's messages
