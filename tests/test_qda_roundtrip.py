"""Export to REFI-QDA and import back: identical contract tables, schema-valid and byte-stable exports."""

from __future__ import annotations

import filecmp
import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from integrating import paths
from integrating.contract import load
from integrating.errors import ImportQDAError
from integrating.qda import export_qda, import_qda, load_mapping
from integrating.qda.cli import main
from integrating.validate import validate
from qda_fixtures import make_raw, xsd_path

CONTRACT_FILES = ["datapackage.json", "clinics.csv", "documents.csv", "codebook.csv", "coded_segments.csv",
                  "implementation_log.csv", "survey_items.csv", "survey_responses.csv"]


def assert_same_data(original: Path, back: Path, files=CONTRACT_FILES):
    for name in files:
        assert filecmp.cmp(original / name, back / name, shallow=False), name
    a, b = load(original), load(back)
    for doc in a.documents["document_id"]:
        assert a.text(doc) == b.text(doc)


def schema():
    import xmlschema

    return xmlschema.XMLSchema(str(xsd_path()))


def test_export_validates_against_the_refi_schema(tmp_path):
    qdpx, _ = export_qda(make_raw(tmp_path / "raw"), tmp_path / "study.qdpx")
    with zipfile.ZipFile(qdpx) as zf:
        assert zf.namelist()[0] == "project.qde"
        assert all(n == "project.qde" or n.startswith("sources/") for n in zf.namelist())
        schema().validate(zf.read("project.qde").decode("utf-8"))


def test_exports_are_byte_identical_across_runs(tmp_path):
    raw = make_raw(tmp_path / "raw")
    a, ma = export_qda(raw, tmp_path / "a" / "study.qdpx")
    b, mb = export_qda(raw, tmp_path / "b" / "study.qdpx")
    assert a.read_bytes() == b.read_bytes() and ma.read_bytes() == mb.read_bytes()
    with zipfile.ZipFile(a) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        # GUIDs are derived from the identifiers: another export of the same clinic has the same case GUID.
        assert zf.read("project.qde").count(b'name="A"') == 1


def test_round_trip_reproduces_the_tables_exactly(tmp_path):
    raw = make_raw(tmp_path / "raw")
    qdpx, mapping = export_qda(raw, tmp_path / "study.qdpx")
    report = import_qda(qdpx, tmp_path / "back", mapping, tables_from=raw)
    assert_same_data(raw, tmp_path / "back")
    assert validate(tmp_path / "back") == []
    assert report.scheme == ("codepoints", "stored") and report.segments == 6


def test_round_trip_without_other_tables(tmp_path):
    raw = make_raw(tmp_path / "raw")
    qdpx, mapping = export_qda(raw, tmp_path / "study.qdpx")
    report = import_qda(qdpx, tmp_path / "back", mapping)
    # clinics come back from the Cases and their variables
    assert_same_data(raw, tmp_path / "back", ["datapackage.json", "clinics.csv", "documents.csv", "codebook.csv",
                                               "coded_segments.csv"])
    # A qualitative-only data set: the optional tables are not written, and the folder is valid.
    for name in ("implementation_log.csv", "survey_items.csv", "survey_responses.csv"):
        assert not (tmp_path / "back" / name).exists()
    assert any("--tables-from" in line and "qualitative-only" in line for line in report.lines())
    assert validate(tmp_path / "back") == []


def test_tables_from_must_know_every_clinic(tmp_path):
    raw = make_raw(tmp_path / "raw")
    qdpx, mapping = export_qda(raw, tmp_path / "study.qdpx")
    other = tmp_path / "other"
    shutil.copytree(raw, other)
    (other / "clinics.csv").write_text("clinic_id\nA\nB\n", encoding="utf-8")
    with pytest.raises(ImportQDAError, match=r"clinic\(s\) C that are not in .*clinics\.csv"):
        import_qda(qdpx, tmp_path / "back", mapping, tables_from=other)
    (other / "clinics.csv").write_text("clinic_id\nA\nB\nC\n", encoding="utf-8")
    (other / "survey_items.csv").unlink()
    with pytest.raises(ImportQDAError, match="survey_items.csv is missing; the survey needs both"):
        import_qda(qdpx, tmp_path / "back", mapping, tables_from=other)
    assert not (tmp_path / "back").exists()
    # The optional tables that are there are copied; the others are left out.
    (other / "survey_responses.csv").unlink()
    report = import_qda(qdpx, tmp_path / "back", mapping, tables_from=other)
    assert report.tables == ("implementation_log",)
    assert sorted(p.name for p in (tmp_path / "back").glob("*.csv")) == [
        "clinics.csv", "codebook.csv", "coded_segments.csv", "documents.csv", "implementation_log.csv"]


def test_study_window_can_come_from_tables_from(tmp_path):
    raw = make_raw(tmp_path / "raw")
    qdpx, mapping_path = export_qda(raw, tmp_path / "study.qdpx")
    mapping = load_mapping(mapping_path)
    mapping["study"] = {"synthetic": True, "description": "Tiny test study"}
    assert load_mapping(mapping)["study"] == mapping["study"]  # a checked mapping can be passed again
    with pytest.raises(ImportQDAError, match=r"study\.months is missing"):
        import_qda(qdpx, tmp_path / "back", mapping)
    import_qda(qdpx, tmp_path / "back", mapping, tables_from=raw)
    assert_same_data(raw, tmp_path / "back")


def test_round_trip_of_a_generated_study(tmp_path, small_raw):
    qdpx, mapping = export_qda(small_raw, tmp_path / "small.qdpx")
    import_qda(qdpx, tmp_path / "back", mapping, tables_from=small_raw)
    assert_same_data(small_raw, tmp_path / "back")
    assert validate(tmp_path / "back") == []


def test_command_line_round_trip(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw")
    assert main(["export-qda", str(raw), "--out", str(tmp_path / "s.qdpx")]) == 0
    assert (tmp_path / "s.mapping.yaml").is_file()
    assert main(["import-qda", str(tmp_path / "s.qdpx"), "--out", str(tmp_path / "back"),
                 "--mapping", str(tmp_path / "s.mapping.yaml"), "--tables-from", str(raw)]) == 0
    assert_same_data(raw, tmp_path / "back")
    assert main(["export-qda", str(raw), "--out", str(tmp_path / "s.docx")]) == 1
    assert "expected a .qdpx, .csv or .xlsx" in capsys.readouterr().err


@pytest.mark.skipif(not (paths.RAW / "datapackage.json").is_file(), reason=f"no bundled data set in {paths.RAW}")
def test_round_trip_of_the_bundled_study(tmp_path):
    qdpx, mapping = export_qda(paths.RAW, tmp_path / "bundled.qdpx")
    import_qda(qdpx, tmp_path / "back", mapping, tables_from=paths.RAW)
    assert_same_data(paths.RAW, tmp_path / "back")
    assert validate(tmp_path / "back") == []


@pytest.mark.skipif(not (paths.RAW / "datapackage.json").is_file(), reason=f"no bundled data set in {paths.RAW}")
def test_export_of_the_bundled_study_validates(tmp_path):
    qdpx, _ = export_qda(paths.RAW, tmp_path / "bundled.qdpx")
    with zipfile.ZipFile(qdpx) as zf:
        schema().validate(zf.read("project.qde").decode("utf-8"))


def _snakemake(workdir: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "-s", str(paths.ROOT / "Snakefile"),
           "--directory", str(workdir), "--config", "raw_dir=raw", "warm_kernels_idle_s=0"]
    return subprocess.run(cmd, capture_output=True, text=True)


def _outputs(workdir: Path) -> dict:
    files = [p for d in ("data/derived", "figures") for p in sorted((workdir / d).rglob("*")) if p.is_file()]
    return {p.relative_to(workdir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.mark.pipeline
def test_pipeline_on_the_round_trip_gives_the_same_outputs(tmp_path, small_raw):
    original, imported = tmp_path / "original", tmp_path / "imported"
    shutil.copytree(small_raw, original / "raw")
    qdpx, mapping = export_qda(small_raw, tmp_path / "small.qdpx")
    import_qda(qdpx, imported / "raw", mapping, tables_from=small_raw)
    for workdir in (original, imported):
        proc = _snakemake(workdir)
        assert proc.returncode == 0, proc.stderr[-4000:]
    assert _outputs(original) and _outputs(original) == _outputs(imported)
