"""Full-pipeline tier: Snakemake runs every notebook on a small synthetic study in a scratch folder."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import pytest

from integrating import paths

pytestmark = pytest.mark.pipeline


def snakemake(workdir, raw, *extra):
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "-s", str(paths.ROOT / "Snakefile"),
           "--directory", str(workdir), "--config", f"raw_dir={raw}", *extra]
    return subprocess.run(cmd, capture_output=True, text=True)


def outputs(workdir):
    """SHA-256 of every derived table and figure."""
    files = [p for d in ("data/derived", "figures") for p in sorted((workdir / d).rglob("*")) if p.is_file()]
    return {p.relative_to(workdir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def executed(proc):
    """Rules Snakemake ran, from its log."""
    lines = (proc.stdout + proc.stderr).splitlines()
    return sorted({line.split()[1].rstrip(":") for line in lines if line.startswith("rule ")} - {"all"})


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
                           str(paths.ROOT / "Snakefile"), "--directory", str(workdir), "--config", f"raw_dir={small_raw}"],
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
    assert set(executed(proc)) == {"survey_effect", "conceptual_model", "claims_check", "report_site"}


def test_changing_a_parameter_reruns_only_what_uses_it(first_run, small_raw):
    workdir, _ = first_run
    proc = snakemake(workdir, small_raw, "implementation_threshold=0.6", "-n")
    ran = set(executed(proc))
    assert "case_segmentation" in ran and "survey_effect" in ran
    assert not ran & {"validate", "data_inventory"}


def test_two_clean_runs_are_byte_identical(first_run, tmp_path, small_raw):
    workdir, _ = first_run
    proc = snakemake(tmp_path, small_raw)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert outputs(tmp_path) == outputs(workdir)


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
