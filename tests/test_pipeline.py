"""Full-pipeline tier: Snakemake runs every notebook on a small synthetic study in a scratch folder."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys

import pytest

from integrating import paths

pytestmark = pytest.mark.pipeline


# The tests' runs end their server of warm kernels with them (the default keeps it for the next run).
ENDS_SERVER = "warm_kernels_idle_s=0"


def snakemake(workdir, raw, *extra):
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "-s", str(paths.ROOT / "Snakefile"),
           "--directory", str(workdir), "--config", f"raw_dir={raw}", ENDS_SERVER, *extra]
    return subprocess.run(cmd, capture_output=True, text=True)


def snakemake_target(workdir, raw, target, *config, flags=()):
    """Snakemake on one target (`make paper`: target paper), with config overrides and flags."""
    cmd = [sys.executable, "-m", "snakemake", target, "--cores", "2", "-s", str(paths.ROOT / "Snakefile"),
           "--directory", str(workdir), *flags, "--config", f"raw_dir={raw}", ENDS_SERVER, *config]
    return subprocess.run(cmd, capture_output=True, text=True)


def runlog(workdir, raw, *extra):
    """The short console log of `make run` (integrating.runlog) in a working folder."""
    cmd = [sys.executable, "-m", "integrating.runlog", "--cores", "2", "-s", str(paths.ROOT / "Snakefile"),
           "--config", f"raw_dir={raw}", ENDS_SERVER, *extra]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)


def outputs(workdir):
    """SHA-256 of every derived table and figure."""
    files = [p for d in ("data/derived", "figures") for p in sorted((workdir / d).rglob("*")) if p.is_file()]
    return {p.relative_to(workdir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def executed(proc):
    """Rules Snakemake ran, from its log."""
    lines = (proc.stdout + proc.stderr).splitlines()
    return sorted({line.split()[1].rstrip(":") for line in lines if line.startswith(("rule ", "localrule "))} - {"all"})


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, small_raw):
    workdir = tmp_path_factory.mktemp("run1")
    proc = snakemake(workdir, small_raw)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir, proc


def test_run_leaves_tables_figures_notebooks_and_provenance(first_run):
    workdir, _ = first_run
    derived = {p.name for p in (workdir / "data/derived").iterdir()}
    assert {"inventory.csv", "coding_reliability.csv"} <= derived
    assert (workdir / "figures/inventory.svg").exists()
    records = sorted((workdir / "reports/provenance").glob("*.json"))
    assert len(records) >= 2
    for rec in map(lambda p: json.loads(p.read_text()), records):
        assert rec["versions"]["python"] and "started" in rec and "duration_s" in rec
        for item in rec["inputs"] + rec["outputs"]:
            assert len(item["sha256"]) == 64
    assert (workdir / "reports/notebooks/01_data_inventory.ipynb").exists()


def test_every_pdf_is_one_or_two_columns_wide_and_no_figure_has_a_layout_problem(first_run, small_raw):
    from figure_fixtures import pdf_width_mm

    workdir, _ = first_run
    pdfs = sorted((workdir / "figures").glob("*.pdf"))
    assert len(pdfs) >= 15
    widths = {p.name: round(pdf_width_mm(p), 2) for p in pdfs}
    assert all(abs(w - 85) <= 0.3 or abs(w - 175) <= 0.3 for w in widths.values()), widths
    for nb in sorted((workdir / "reports/notebooks").glob("*.ipynb")):
        assert "LayoutWarning" not in nb.read_text(encoding="utf-8"), nb.name
    proc = subprocess.run([sys.executable, "-m", "snakemake", "figure_pack", "--cores", "2", "-s",
                           str(paths.ROOT / "Snakefile"), "--directory", str(workdir), "--config", f"raw_dir={small_raw}",
                           ENDS_SERVER],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    pack = workdir / "reports/figures_pack"
    assert (pack / "Figure_1.pdf").read_bytes() == (workdir / "figures/implementation_trajectories.pdf").read_bytes()
    assert "Figure 1. " in (pack / "captions.txt").read_text()


def test_second_run_executes_nothing(first_run, small_raw):
    workdir, _ = first_run
    proc = snakemake(workdir, small_raw)
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stderr + proc.stdout


def test_touching_a_notebook_reruns_only_it_and_its_dependents(first_run, small_raw):
    workdir, _ = first_run
    proc = snakemake(workdir, small_raw, "--forcerun", "survey_effect", "-n")
    assert set(executed(proc)) == {"survey_effect", "conceptual_model", "claims_check", "values", "report_site"}


def test_changing_a_parameter_reruns_only_what_uses_it(first_run, small_raw):
    workdir, _ = first_run
    proc = snakemake(workdir, small_raw, "implementation_threshold=0.6", "-n")
    ran = set(executed(proc))
    assert "case_segmentation" in ran and "survey_effect" in ran
    assert not ran & {"validate", "data_inventory"}


def test_make_paper_writes_the_manuscript_of_this_study_and_the_site_links_it(first_run, small_raw,
                                                                            tmp_path_factory):
    import docx
    import pandas as pd

    from integrating import values

    workdir, _ = first_run
    work = copy_beside(workdir, tmp_path_factory, "paper")
    proc = snakemake_target(work, small_raw, "paper")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert set(executed(proc)) == {"manuscript", "paper", "report_site"}
    assert 'href="../paper/manuscript.html"' in (work / "reports/index.html").read_text()
    vals = values.read(work / "data/derived/values.csv")
    text = " ".join(p.text for p in docx.Document(str(work / "paper/manuscript.docx")).paragraphs)
    n = vals["seg.all.n_clinics"].text()
    assert n == "6" and f"Of the {n} clinics, {vals['seg.more.n_clinics'].text()} implemented more" in text
    claims = pd.read_csv(work / "data/derived/claims_check.csv", dtype=str, keep_default_na=False)
    assert values.disagreements_with_claims(vals, claims) == []
    change = vals["survey.more.mean_change"]
    if change.computable:
        word = "rose" if float(change.text()) > 0 else "fell" if float(change.text()) < 0 else "did not change"
        assert f"ratings {word}" in text
    # an edited template rebuilds the paper only; a new parameter, the notebooks, the values and the paper
    again = snakemake_target(work, small_raw, "paper", flags=("--forcerun", "manuscript", "-n"))
    assert set(executed(again)) == {"manuscript", "paper"}
    again = snakemake_target(work, small_raw, "paper", "implementation_threshold=0.6", flags=("-n",))
    assert {"case_segmentation", "values", "manuscript"} <= set(executed(again))


def copy_beside(workdir, tmp_path_factory, name):
    """A copy of a working folder at the same depth (code inputs are relative to the working folder)."""
    work = tmp_path_factory.mktemp(name)
    shutil.copytree(workdir, work, dirs_exist_ok=True)
    return work


def test_deleted_or_edited_outputs_are_made_again(first_run, small_raw, tmp_path_factory):
    workdir, _ = first_run
    work = copy_beside(workdir, tmp_path_factory, "edited")
    before = outputs(work)
    (work / "data/derived/clinic_segments.csv").unlink()
    (work / "figures/survey_forest.png").unlink()
    page = work / "reports/site/notebooks/01_data_inventory.html"
    page.write_text("edited by hand")
    proc = snakemake(work, small_raw)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ran = set(executed(proc))
    assert {"case_segmentation", "survey_effect", "report_site"} <= ran and "data_inventory" not in ran
    assert outputs(work) == before
    assert page.read_text() != "edited by hand"
    assert "Nothing to be done" in (snakemake(work, small_raw).stderr)


def test_a_moved_compendium_reruns_nothing(first_run, small_raw, tmp_path_factory):
    workdir, _ = first_run
    work = copy_beside(workdir, tmp_path_factory, "moved")
    proc = snakemake(work, small_raw)
    assert proc.returncode == 0 and "Nothing to be done" in proc.stderr + proc.stdout


def test_two_clean_runs_are_byte_identical_with_and_without_warm_kernels(first_run, tmp_path, small_raw):
    workdir, _ = first_run
    proc = snakemake(tmp_path, small_raw, "warm_kernels=False")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert outputs(tmp_path) == outputs(workdir)


def test_a_run_served_by_the_server_an_earlier_run_kept_gives_the_same_bytes(first_run, tmp_path, small_raw,
                                                                             monkeypatch):
    import uuid

    from integrating import kernels

    workdir, _ = first_run
    monkeypatch.setenv("INTEGRATING_TEST_SERVER", uuid.uuid4().hex)  # a server of this test's own
    before = kernels.servers()
    try:
        proc = snakemake_target(tmp_path / "earlier", small_raw, "validate", "warm_kernels_idle_s=60")
        assert proc.returncode == 0, proc.stderr[-4000:]
        kept = kernels.servers() - before
        assert len(kept) == 1  # the earlier run's server, waiting
        proc = snakemake(tmp_path / "work", small_raw, "warm_kernels_idle_s=60")
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert kernels.servers() - before == kept  # used, not another started
    finally:
        for path in kernels.servers() - before:
            kernels.end(path)
    assert outputs(tmp_path / "work") == outputs(workdir)


def test_bad_data_stop_the_run_and_keep_the_previous_outputs(first_run, tmp_path, small_raw):
    workdir, _ = first_run
    raw = tmp_path / "raw"
    shutil.copytree(small_raw, raw)
    work = tmp_path / "work"
    shutil.copytree(workdir, work, ignore=shutil.ignore_patterns(".snakemake"))
    before = outputs(work)
    responses = raw / "survey_responses.csv"
    lines = responses.read_text().splitlines()
    lines[1] = lines[1].replace(",pre,", ",baseline,", 1)
    responses.write_text("\n".join(lines) + "\n")
    proc = snakemake(work, raw)
    assert proc.returncode != 0
    assert "survey_responses.csv, row 1 (line 2), column 'wave': value 'baseline'" in proc.stderr
    assert outputs(work) == before
    page = (work / "reports/index.html").read_text()
    assert "The last run failed" in page and "in step validate" in page
    assert "column &#x27;wave&#x27;: value &#x27;baseline&#x27;" in page and "from an earlier run" in page
    assert json.loads((work / "reports/logs/last_run.json").read_text())["status"] == "failed"


def test_the_console_log_is_short_and_ends_with_the_summary(first_run, small_raw, tmp_path):
    workdir, _ = first_run
    work = tmp_path / "work"
    shutil.copytree(workdir, work, ignore=shutil.ignore_patterns(".snakemake"))
    proc = runlog(work, small_raw, "--forcerun", "claims_check")
    assert proc.returncode == 0, proc.stdout
    lines = proc.stdout.splitlines()
    assert len(lines) <= 60
    assert any(re.match(r"\s+ok\s+claims_check\s+[\d.]+ s$", line) for line in lines)
    assert re.match(r"claims: \d+ of 17 reproduced", lines[-3])
    assert lines[-2].startswith("report: ") and lines[-2].endswith("reports/index.html")
    assert re.match(r"run time: [\d.]+ s; full log: reports/logs/run.log$", lines[-1])
    assert "Finished jobid" in (work / "reports/logs/run.log").read_text()


def test_on_bad_data_the_console_log_ends_with_the_problems(first_run, small_raw, tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(small_raw, raw)
    documents = raw / "documents.csv"
    documents.write_text(documents.read_text().replace(",field_note,", ",fieldnote,", 1))
    proc = runlog(tmp_path, raw)
    assert proc.returncode != 0
    lines = proc.stdout.splitlines()
    assert len(lines) <= 60 and "Traceback" not in proc.stdout
    assert lines[-1].startswith("  documents.csv, row ") and "expected" in lines[-1]
    assert any(line.startswith("run failed in step validate") for line in lines)


def test_verify_fails_on_other_data_naming_the_claims(first_run, small_raw, tmp_path):
    workdir, _ = first_run
    work = tmp_path / "work"
    shutil.copytree(workdir, work, ignore=shutil.ignore_patterns(".snakemake"))
    proc = snakemake(work, small_raw, "fail_on_claims=True", "--forcerun", "claims_check")
    assert proc.returncode != 0
    assert "n_clinics" in proc.stderr and "ClaimsFailed" in proc.stderr


def test_make_verify_keeps_the_callers_config():
    """`make verify ARGS="--config raw_dir=x"` must not drop fail_on_claims (Snakemake keeps one --config list)."""
    out = subprocess.run(["make", "-n", "-C", str(paths.ROOT), "verify", "ARGS=--config raw_dir=elsewhere"],
                         capture_output=True, text=True).stdout
    assert "--config fail_on_claims=True raw_dir=elsewhere" in out
    out = subprocess.run(["make", "-n", "-C", str(paths.ROOT), "verify"], capture_output=True, text=True).stdout
    assert "--config fail_on_claims=True" in out


# --- partial and real-looking studies: every analysis shows its result or says why not ----------------


def _rewrite(path, rows, columns):
    import csv

    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _rows(path):
    import csv

    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader), reader.fieldnames


def real_looking(raw):
    """One coder, 60-character clinic names, 80-character code labels, and a descriptor that says the data
    are real (synthetic: false)."""
    segments, cols = _rows(raw / "coded_segments.csv")
    first = sorted({r["coder"] for r in segments})[0]
    _rewrite(raw / "coded_segments.csv", [r for r in segments if r["coder"] == first], cols)
    clinics, cols = _rows(raw / "clinics.csv")
    for i, r in enumerate(clinics):
        r["clinic_label"] = f"Community Health Center of the Greater Riverside Valley {i:02d}".ljust(60, ".")
    _rewrite(raw / "clinics.csv", clinics, cols)
    codes, cols = _rows(raw / "codebook.csv")
    for r in codes:
        r["label"] = (r["label"] + ": what managers did to bring fragmented stakeholder groups together")[:80]
    _rewrite(raw / "codebook.csv", codes, cols)
    descriptor = json.loads((raw / "datapackage.json").read_text())
    descriptor["study"]["synthetic"] = False
    descriptor["study"]["description"] = "A study with one coder and long names."
    (raw / "datapackage.json").write_text(json.dumps(descriptor, indent=2))


def qualitative_only(raw):
    for name in ("implementation_log", "survey_items", "survey_responses"):
        (raw / f"{name}.csv").unlink()


VARIANTS = {"real-looking": real_looking, "qualitative-only": qualitative_only, "two-clinics": None}


@pytest.fixture(scope="module", params=list(VARIANTS))
def partial_run(request, small_raw, tmp_path_factory):
    from integrating import synth

    raw = tmp_path_factory.mktemp("raw") / "raw"
    if request.param == "two-clinics":
        synth.write(synth.generate(seed=3, clinics=2), raw)
    else:
        shutil.copytree(small_raw, raw)
        VARIANTS[request.param](raw)
    work = tmp_path_factory.mktemp("work")
    proc = runlog(work, raw)
    return request.param, raw, work, proc


def test_a_partial_study_runs_to_a_complete_report(partial_run):
    name, raw, work, proc = partial_run
    assert proc.returncode == 0, proc.stdout[-3000:]
    index = (work / "reports/index.html").read_text()
    assert "The last run failed" not in index
    records = {p.stem: json.loads(p.read_text()) for p in (work / "reports/provenance").glob("[0-9]*.json")}
    assert len(records) == 7  # validation and the six notebooks all completed
    skipped = {item["analysis"] for rec in records.values() for item in rec["not_computable"]}
    expected = {"real-looking": {"reliability"}, "qualitative-only": {"segmentation", "survey_comparison"},
                "two-clinics": {"group_comparison", "survey_comparison"}}[name]
    assert expected <= skipped
    if skipped:
        assert 'id="not-computable"' in index and "not computable on these data" in proc.stdout
    for stem in ("mechanism_comparison", "survey_forest", "clinic_small_multiples", "coding_reliability"):
        assert (work / "figures" / f"{stem}.svg").is_file(), stem  # the result, or a note saying why not


def test_claims_a_partial_study_cannot_support_are_not_checkable_and_verify_fails(partial_run):
    name, raw, work, _ = partial_run
    status = {r["claim_id"]: r["status"] for r in _rows(work / "data/derived/claims_check.csv")[0]}
    if name == "real-looking":  # every analysis but reliability is computed (the claims may fail on 6 clinics)
        assert "not checkable" not in status.values()
        return
    assert status["p_change"] == "not checkable" and status["change_more"] == "not checkable"
    proc = snakemake(work, raw, "fail_on_claims=True", "--forcerun", "claims_check")
    assert proc.returncode != 0 and "ClaimsFailed" in proc.stderr


@pytest.mark.parametrize("partial_run", ["real-looking"], indirect=True)
def test_the_texts_of_a_real_study_appear_in_no_output_by_default(partial_run):
    name, raw, work, _ = partial_run
    documents = {r["document_id"]: (raw / r["text_path"]).read_text(encoding="utf-8")
                 for r in _rows(raw / "documents.csv")[0]}
    passages = {documents[r["document_id"]][int(r["start"]):int(r["end"])]
                for r in _rows(raw / "coded_segments.csv")[0]}
    passages = {p for p in passages if len(p) >= 40}
    assert passages
    for folder in ("data/derived", "figures", "reports"):
        for path in (work / folder).rglob("*"):
            if path.is_file() and path.suffix in {".csv", ".txt", ".ipynb", ".html", ".json", ".svg"}:
                text = path.read_text(encoding="utf-8", errors="replace")
                assert not any(p in text for p in passages), f"{path} holds a passage of the texts"
    assert 'id="excerpts-hidden"' in (work / "reports/index.html").read_text()
