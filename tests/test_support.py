"""What valid data can support: capability records, and `integrating validate`'s warnings (exit 0)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from integrating import contract, support, validate
from integrating.errors import AnalysisError
from qda_fixtures import make_raw


def by_analysis(records, subject=None):
    return {(c.analysis, c.subject): c for c in records}


def cli_validate(raw):
    return subprocess.run([sys.executable, "-m", "integrating.cli", "validate", str(raw)], capture_output=True, text=True)


def keep_rows(raw, table, mask_fn):
    path = raw / f"{table}.csv"
    df = contract.read_csv_raw(path)
    df.loc[mask_fn(df)].to_csv(path, index=False, lineterminator="\n")


def test_the_bundled_study_supports_every_analysis(bundled_raw):
    records = support.capabilities(bundled_raw)
    assert [c for c in records if not c.computable] == []
    assert {c.analysis for c in records} == set(support.ANALYSES)
    # Numbers in the reasons, recomputed here from the tables.
    seg = contract.read_csv_raw(bundled_raw / "coded_segments.csv")
    double = int((seg.groupby("document_id")["coder"].nunique() >= 2).sum())
    assert by_analysis(records)[("reliability", None)].reason == f"{double} document(s) coded by two coders or more"
    for code in contract.MECHANISMS:
        n = seg.loc[seg["code"].eq(code), "document_id"].nunique()
        assert by_analysis(records)[("mechanism_use", code)].reason == f"applied in {n} document(s)"


def test_one_coder_gives_the_reliability_warning(raw_copy):
    keep_rows(raw_copy, "coded_segments", lambda d: d["coder"].eq(d["coder"].iloc[0]))
    assert validate.validate(raw_copy) == []
    rel = by_analysis(support.capabilities(raw_copy))[("reliability", None)]
    assert not rel.computable and "a single coder" in rel.reason
    proc = cli_validate(raw_copy)
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout
    assert "warning: reliability: not computable: a single coder" in proc.stderr
    assert "1 warning(s)" in proc.stderr


def test_two_coders_without_a_shared_document(tmp_path):
    raw = make_raw(tmp_path / "raw")
    # bob's only segment on a document ann also coded is removed: no document is double-coded.
    keep_rows(raw, "coded_segments", lambda d: ~d["segment_id"].eq("s03"))
    rel = by_analysis(support.capabilities(raw))[("reliability", None)]
    assert not rel.computable and rel.reason.startswith("no document is coded by two coders (2 coders")


def test_a_qualitative_only_study_is_valid_with_warnings(raw_copy):
    for name in ("implementation_log", "survey_items", "survey_responses"):
        (raw_copy / f"{name}.csv").unlink()
    assert validate.validate(raw_copy) == []
    records = by_analysis(support.capabilities(raw_copy))
    off = {a for (a, _), c in records.items() if not c.computable}
    assert off == {"segmentation", "group_comparison", "survey", "survey_comparison", "robustness"}
    assert records[("segmentation", None)].reason.startswith("no implementation log")
    assert records[("survey", None)].reason.startswith("no patient survey")
    assert records[("reliability", None)].computable and records[("inventory", None)].computable
    proc = cli_validate(raw_copy)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("warning: ") == 5
    assert "warning: segmentation: not computable: no implementation log" in proc.stderr


def test_groups_clinics_waves_and_mechanisms_are_judged(tmp_path):
    raw = make_raw(tmp_path / "raw")  # A implemented its change (more); B and C did not (less)
    records = by_analysis(support.capabilities(raw))
    assert records[("segmentation", None)].reason == "3 clinics: 1 'more', 2 'less' (rule share, threshold 0.5)"
    comp = records[("group_comparison", None)]
    assert not comp.computable and comp.reason.startswith(
        "group 'more' has fewer than 2 clinics with documents ('more' 1, 'less' 2; rule share, threshold 0.5)")
    # r1 is clinic A 'pre', r2 clinic B 'post': no clinic has both waves.
    assert records[("survey", None)].reason == "no clinic has valid responses in both waves"
    assert records[("survey_comparison", None)].reason.startswith("needs the survey analysis")
    # The count rule with cut-off 0 puts every clinic in 'more'.
    other = by_analysis(support.capabilities(raw, rule="count", count_threshold=0))
    assert other[("segmentation", None)].reason == "3 clinics: 3 'more', 0 'less' (rule count, threshold 0)"
    # A mechanism code that is never applied, and a clinic without documents.
    keep_rows(raw, "coded_segments", lambda d: ~d["code"].eq("sensemaking"))
    docs = contract.read_csv_raw(raw / "documents.csv")
    clinics = contract.read_csv_raw(raw / "clinics.csv")
    pd.concat([clinics, pd.DataFrame({"clinic_id": ["D"]})]).to_csv(raw / "clinics.csv", index=False)
    assert validate.validate(raw) == []
    records = by_analysis(support.capabilities(raw))
    assert records[("mechanism_use", "sensemaking")].reason == (
        "the mechanism code 'sensemaking' is never applied in coded_segments.csv")
    assert records[("mechanism_use", "negotiating")].reason == "applied in 1 document(s)"
    assert records[("clinic_documents", None)].reason.startswith("1 clinic(s) have no document: D")
    assert set(docs["clinic_id"]) == {"A", "B", "C"}


def test_one_wave_only(raw_copy):
    keep_rows(raw_copy, "survey_responses", lambda d: d["wave"].eq("pre"))
    records = by_analysis(support.capabilities(raw_copy))
    assert records[("survey", None)].reason.startswith("only the 'pre' wave has valid responses")
    assert not records[("robustness", None)].computable


def test_records_print_as_warnings():
    c = support.Capability("mechanism_use", False, "never applied", subject="sensemaking")
    assert str(c) == "mechanism_use (sensemaking): not computable: never applied"


def test_validate_takes_the_groups_from_a_config_file(tmp_path):
    from integrating import paths

    raw = make_raw(tmp_path / "raw")
    text = paths.CONFIG.read_text(encoding="utf-8")
    assert "segmentation_rule: share" in text and "implemented_count_threshold: 3" in text
    config = tmp_path / "config.yaml"
    config.write_text(text.replace("segmentation_rule: share", "segmentation_rule: count")
                      .replace("implemented_count_threshold: 3", "implemented_count_threshold: 0"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "integrating.cli", "validate", str(raw), "--config", str(config)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    # Every clinic implemented at least 0 changes: all three are 'more'.
    assert ("group_comparison: not computable: group 'less' has fewer than 2 clinics with documents "
            "('more' 3, 'less' 0; rule count, threshold 0)") in proc.stderr


def test_a_guard_skips_what_the_data_cannot_support_and_says_why(raw_copy, tmp_path):
    import json

    from integrating import provenance

    keep_rows(raw_copy, "coded_segments", lambda df: df["coder"].eq(df["coder"].iloc[0]))  # one coder
    study = contract.load(raw_copy)
    derived, figures = tmp_path / "derived", tmp_path / "figures"
    derived.mkdir()
    stale = derived / "coding_reliability.csv"
    stale.write_text("from an earlier run\n")
    run = provenance.Run("01_x", {"derived_dir": str(derived), "figures_dir": str(figures)}, tmp_path / "prov")
    guard = support.Guard(run, study)
    assert guard.allows(["inventory"]) is True
    assert guard.allows(["reliability"], tables=["coding_reliability.csv"], figures=["coding_reliability"]) is False
    assert not stale.exists()  # a later step must not read an earlier run's numbers
    caption = (figures / "coding_reliability.txt").read_text()
    assert caption.startswith("Not computable on these data (reliability): a single coder")
    assert (figures / "coding_reliability.svg").is_file()
    assert guard.allows([], inputs=["absent.csv"]) is False
    record = json.loads(run.finish().read_text())
    assert [item["analysis"] for item in record["not_computable"]] == ["reliability", "inputs"]
    assert "absent.csv was not written" in record["not_computable"][1]["reason"]
    with pytest.raises(AnalysisError, match="unknown analysis 'nonsense'"):
        guard.allows(["nonsense"])
