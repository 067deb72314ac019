"""Each contract violation gives its precise message (file, row, column, value, expectation)."""

import hashlib
import subprocess
import sys

import pandas as pd
import pytest

from integrating import contract, validate
from integrating.errors import ContractError


def edit(raw, table, row, column, value):
    """Set one cell (row is the 1-based data row) of a contract CSV, keeping everything else as text."""
    path = raw / f"{table}.csv"
    df = contract.read_csv_raw(path)
    df.loc[row - 1, column] = value
    df.to_csv(path, index=False, lineterminator="\n")


def messages(raw):
    return [str(p) for p in validate.validate(raw)]


def test_bundled_data_follow_the_contract(bundled_raw):
    assert validate.validate(bundled_raw) == []


def test_bundled_descriptor_is_the_contract(bundled_raw):
    shipped = contract.template_descriptor()
    bundled = contract.read_descriptor(bundled_raw)
    assert bundled["resources"] == shipped["resources"]


@pytest.mark.parametrize(
    "table, row, column, value, expected",
    [
        ("survey_responses", 3, "q1", "0", "survey_responses.csv, row 3 (line 4), column 'q1': value '0'; expected an integer from 1 to 5"),
        ("survey_responses", 3, "q2", "6", "survey_responses.csv, row 3 (line 4), column 'q2': value '6'; expected an integer from 1 to 5"),
        ("survey_responses", 4, "q3", "3.5", "survey_responses.csv, row 4 (line 5), column 'q3': value '3.5'; expected an integer from 1 to 5"),
        ("survey_responses", 5, "q4", "N/A", "survey_responses.csv, row 5 (line 6), column 'q4': value 'N/A'; expected an integer from 1 to 5"),
        ("survey_responses", 6, "wave", "Pre ", "survey_responses.csv, row 6 (line 7), column 'wave': value 'Pre '; expected one of 'pre', 'post'"),
        ("survey_responses", 7, "wave", "baseline", "survey_responses.csv, row 7 (line 8), column 'wave': value 'baseline'; expected one of 'pre', 'post'"),
        ("survey_responses", 8, "clinic_id", "C99", "survey_responses.csv, row 8 (line 9), column 'clinic_id': value 'C99'; expected a clinic_id listed in clinics.csv"),
        ("documents", 2, "clinic_id", "C99", "documents.csv, row 2 (line 3), column 'clinic_id': value 'C99'; expected a clinic_id listed in clinics.csv"),
        ("documents", 2, "date", "2016-06-01", "documents.csv, row 2 (line 3), column 'date': value '2016-06-01'; expected a date inside the study window 2014-01-01 to 2015-03-31"),
        ("documents", 2, "date", "2014-02-30", "documents.csv, row 2 (line 3), column 'date': value '2014-02-30'; expected an ISO date (YYYY-MM-DD)"),
        ("documents", 2, "source_type", "email", "documents.csv, row 2 (line 3), column 'source_type': value 'email'; expected one of 'field_note', 'meeting_minutes', 'interview'"),
        ("coded_segments", 4, "code", "teamwork", "coded_segments.csv, row 4 (line 5), column 'code': value 'teamwork'; expected a code listed in codebook.csv"),
        ("coded_segments", 4, "document_id", "NOPE", "coded_segments.csv, row 4 (line 5), column 'document_id': value 'NOPE'; expected a document_id listed in documents.csv"),
        ("coded_segments", 4, "end", "999999", "coded_segments.csv, row 4 (line 5), column 'end': value '999999'; expected an offset <= "),
        ("coded_segments", 4, "start", "-1", "coded_segments.csv, row 4 (line 5), column 'start': value '-1'; expected an integer >= 0"),
        ("implementation_log", 2, "month", "16", "implementation_log.csv, row 2 (line 3), column 'month': value '16'; expected a study month from 1 to 15"),
        ("implementation_log", 2, "status", "done", "implementation_log.csv, row 2 (line 3), column 'status': value 'done'; expected one of 'planned', 'started', 'implemented', 'abandoned'"),
        ("clinics", 2, "clinic_id", "C01", "clinics.csv, row 2 (line 3), column 'clinic_id': value 'C01'; expected a unique value"),
        ("clinics", 3, "clinic_id", "C 3", "clinics.csv, row 3 (line 4), column 'clinic_id': value 'C 3'; expected text matching '[A-Za-z0-9_-]+'"),
        ("clinics", 3, "n_staff", "-2", "clinics.csv, row 3 (line 4), column 'n_staff': value '-2'; expected an integer >= 0"),
        ("survey_items", 2, "reverse", "yes", "survey_items.csv, row 2 (line 3), column 'reverse': value 'yes'; expected true or false"),
        ("codebook", 4, "code", "Negotiating", "codebook.csv, column 'code': expected the mechanism code 'negotiating'"),
    ],
)
def test_each_problem_is_named_precisely(raw_copy, table, row, column, value, expected):
    edit(raw_copy, table, row, column, value)
    found = messages(raw_copy)
    assert any(m.startswith(expected) for m in found), "\n".join(found)


def test_duplicate_segment_id_names_both_rows(raw_copy):
    edit(raw_copy, "coded_segments", 2, "segment_id", "S000001")
    found = messages(raw_copy)
    for row in (1, 2):
        assert f"coded_segments.csv, row {row} (line {row + 1}), column 'segment_id': value 'S000001'; expected a unique value" in " ".join(found)


def test_missing_file(raw_copy):
    (raw_copy / "coded_segments.csv").unlink()
    assert "coded_segments.csv: expected the file coded_segments.csv (table 'coded_segments' of the contract)" in messages(raw_copy)


def test_optional_tables_may_be_absent_or_header_only(raw_copy):
    assert contract.optional_tables() == ("implementation_log", "survey_items", "survey_responses")
    (raw_copy / "implementation_log.csv").unlink()
    header = (raw_copy / "survey_items.csv").read_text().splitlines()[0]
    (raw_copy / "survey_items.csv").write_text(header + "\n")
    (raw_copy / "survey_responses.csv").unlink()
    assert messages(raw_copy) == []
    study = contract.load(raw_copy)
    assert study.absent == ("implementation_log", "survey_items", "survey_responses")
    assert study.implementation_log.empty and list(study.implementation_log.columns) == [
        "clinic_id", "change_id", "month", "status"]
    assert raw_copy / "implementation_log.csv" not in study.files()


def test_rules_still_hold_for_present_optional_tables(raw_copy):
    # A header-only table must still have the contract's columns.
    (raw_copy / "implementation_log.csv").write_text("clinic_id,change,month,status\n")
    assert ("implementation_log.csv, column 'change_id': expected this column to be present (it is required by the "
            "contract)") in messages(raw_copy)


def test_survey_tables_go_together(raw_copy):
    (raw_copy / "survey_items.csv").unlink()
    assert messages(raw_copy)[0].startswith(
        "survey_items.csv: expected rows in survey_items.csv, since survey_responses.csv has rows")


def test_missing_column(raw_copy):
    df = contract.read_csv_raw(raw_copy / "documents.csv").drop(columns="source_type")
    df.to_csv(raw_copy / "documents.csv", index=False)
    assert "documents.csv, column 'source_type': expected this column to be present (it is required by the contract)" in messages(raw_copy)


def test_missing_item_column(raw_copy):
    df = contract.read_csv_raw(raw_copy / "survey_responses.csv").drop(columns="q5")
    df.to_csv(raw_copy / "survey_responses.csv", index=False)
    assert "survey_responses.csv, column 'q5': expected a column for item 'q5' (survey_items.csv row 5)" in messages(raw_copy)


def test_empty_table(raw_copy):
    header = (raw_copy / "coded_segments.csv").read_text().splitlines()[0]
    (raw_copy / "coded_segments.csv").write_text(header + "\n")
    assert "coded_segments.csv: expected at least one data row; the table is empty" in messages(raw_copy)


def test_missing_text_file(raw_copy):
    (raw_copy / "documents" / "C01-FN02.txt").unlink()
    assert ("documents.csv, row 2 (line 3), column 'text_path': value 'documents/C01-FN02.txt'; "
            "expected an existing text file under raw/ (not found)") in messages(raw_copy)


def test_text_not_utf8(raw_copy):
    (raw_copy / "documents" / "C01-FN02.txt").write_bytes("caf\u00e9".encode("latin-1"))
    assert ("documents/C01-FN02.txt: expected UTF-8 text (invalid byte 0xe9 at byte 3); "
            "referenced by documents.csv row 2") in messages(raw_copy)


def test_codebook_without_mechanisms(raw_copy):
    cb = contract.read_csv_raw(raw_copy / "codebook.csv")
    cb = cb[cb["category"] != "mechanism"]
    cb.to_csv(raw_copy / "codebook.csv", index=False)
    found = messages(raw_copy)
    for code in contract.MECHANISMS:
        assert any(m.startswith(f"codebook.csv, column 'code': expected the mechanism code '{code}'") for m in found)


def test_all_problems_are_reported_in_one_run(raw_copy):
    edit(raw_copy, "survey_responses", 3, "q1", "0")
    edit(raw_copy, "documents", 2, "date", "2016-06-01")
    (raw_copy / "documents" / "C02-FN01.txt").unlink()
    assert len(validate.validate(raw_copy)) >= 3
    with pytest.raises(ContractError, match="3 problem"):
        validate.check(raw_copy)


def _tree_digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_cli_exits_non_zero_and_writes_nothing(raw_copy, tmp_path):
    edit(raw_copy, "survey_responses", 3, "q1", "0")
    stamp = tmp_path / "prov" / "00_validate.json"
    before = _tree_digest(raw_copy)
    proc = subprocess.run([sys.executable, "-m", "integrating.cli", "validate", str(raw_copy), "--stamp", str(stamp)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "survey_responses.csv, row 3 (line 4), column 'q1': value '0'" in proc.stderr
    assert not stamp.exists()
    assert _tree_digest(raw_copy) == before  # validation never modifies its input


def test_long_lists_are_summarised():
    problems = [validate.Problem("t.csv", i, "c", "x", "y") for i in range(1, 31)]
    lines = validate.summarise(problems, max_listed=5)
    assert len(lines) == 6
    assert lines[-1] == "t.csv, column 'c': ... and 25 more rows expected y"


def test_a_folder_cannot_loosen_the_contract(raw_copy):
    import json

    path = raw_copy / "datapackage.json"
    descriptor = json.loads(path.read_text())
    for res in descriptor["resources"]:
        if res["name"] == "survey_responses":
            res["schema"]["fields"][2]["constraints"].pop("enum")
    path.write_text(json.dumps(descriptor))
    edit(raw_copy, "survey_responses", 3, "wave", "baseline")
    found = messages(raw_copy)
    assert any(m.startswith("datapackage.json, column 'resources': expected the resource 'survey_responses' "
                            "of data contract 1.0.0 (it differs") for m in found)
    assert any(m.startswith("survey_responses.csv, row 3 (line 4), column 'wave': value 'baseline'") for m in found)


def test_text_paths_stay_inside_the_folder(raw_copy):
    edit(raw_copy, "documents", 2, "text_path", "../outside.txt")
    assert ("documents.csv, row 2 (line 3), column 'text_path': value '../outside.txt'; "
            "expected a path inside raw/ (no absolute path, no '..')") in messages(raw_copy)


def test_optional_coders_column_must_list_every_coder_with_a_segment(raw_copy):
    docs = contract.read_csv_raw(raw_copy / "documents.csv")
    seg = contract.read_csv_raw(raw_copy / "coded_segments.csv")
    by = seg.groupby("document_id")["coder"].unique()
    docs["coders"] = [";".join(sorted(by.get(d, ["coder_a"]))) for d in docs["document_id"]]
    double = next(i for i, d in enumerate(docs["document_id"]) if len(by.get(d, [])) == 2)
    docs.loc[double + 1, "coders"] = ""  # an empty cell: not recorded, fine
    docs.to_csv(raw_copy / "documents.csv", index=False, lineterminator="\n")
    assert messages(raw_copy) == []
    doc = docs.loc[double, "document_id"]
    edit(raw_copy, "documents", double + 1, "coders", "coder_a")
    assert messages(raw_copy) == [
        f"documents.csv, row {double + 1} (line {double + 2}), column 'coders': value 'coder_a'; expected a list of "
        f"the coders of document {doc} that includes 'coder_b', who coded segments in it (coded_segments.csv); "
        "names separated by ';'"]
