"""Refusals: unsafe archives, zip bombs, hostile XML, non-UTF-8 texts; nothing written, input untouched."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from integrating.errors import ImportQDAError
from integrating.qda import Limits, import_qda, read_project
from integrating.qda.cli import main
from qda_fixtures import (
    PROJECT_MAPPING, make_qde_folder, make_qdpx, project_xml, source_files, tree_digest, zip_members,
)


def valid_members() -> dict:
    return {"project.qde": project_xml(), **{f"sources/{k}.txt": v for k, v in source_files().items()}}


def assert_refused(tmp_path, path, match, **kwargs):
    """The import fails with ``match``, writes nothing (no output, no temporary folder) and leaves the input as it was."""
    before = tree_digest(path)
    out_parent = tmp_path / "outputs"
    out_parent.mkdir(exist_ok=True)
    with pytest.raises(ImportQDAError, match=match):
        import_qda(path, out_parent / "raw", PROJECT_MAPPING, **kwargs)
    assert list(out_parent.iterdir()) == []
    assert tree_digest(path) == before


@pytest.mark.parametrize("member, reason", [
    ("../evil.txt", "contains a '..' component"),
    ("sources/../../evil.txt", "contains a '..' component"),
    ("/etc/evil.txt", "is an absolute path"),
    ("\\evil.txt", "is an absolute path"),
    ("C:/evil.txt", "starts with a drive letter"),
    ("sources\\..\\..\\evil.txt", "contains a '..' component"),
])
def test_unsafe_member_names_are_refused(tmp_path, member, reason):
    path = zip_members(tmp_path / "s.qdpx", {**valid_members(), member: "x"})
    assert_refused(tmp_path, path, f"member {member!r} {reason}".replace("\\", "\\\\").replace(".", r"\.").replace("(", r"\("))


def test_zip_bomb_is_refused_before_extraction(tmp_path):
    members = valid_members()
    members["sources/padding.txt"] = b"0" * 5_000_000  # compresses to a few kilobytes
    path = zip_members(tmp_path / "s.qdpx", members)
    assert path.stat().st_size < 100_000
    assert_refused(tmp_path, path, r"declare more than 1000000 uncompressed bytes .*'sources/padding.txt'.*before extraction",
                   limits=Limits(max_bytes=1_000_000))
    import_qda(path, tmp_path / "ok", PROJECT_MAPPING, limits=Limits(max_bytes=6_000_000))  # within a raised limit


def test_member_count_limit(tmp_path):
    path = zip_members(tmp_path / "s.qdpx", valid_members())  # 3 members
    assert_refused(tmp_path, path, r"holds 3 members, more than the limit of 2", limits=Limits(max_members=2))


def test_member_larger_than_declared_is_refused(tmp_path):
    buf = io.BytesIO()
    members = valid_members()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    data = bytearray(buf.getvalue())
    # Lie about the uncompressed size of the last member in the central directory.
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24:cd + 28] = struct.pack("<I", 10)
    path = tmp_path / "s.qdpx"
    path.write_bytes(bytes(data))
    assert_refused(tmp_path, path, r"member 'sources/s_m.txt' (cannot be read|is larger than its declared size)")


def test_byte_budget_counts_files_of_a_bare_qde(tmp_path):
    qde_path = make_qde_folder(tmp_path / "proj")
    assert_refused(tmp_path, qde_path, r"more than 500 bytes", limits=Limits(max_bytes=500))


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&lol3;"/>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="x"><Description>&secret;</Description></Project>
"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["entity-expansion", "external-entity"])
def test_hostile_xml_is_refused(tmp_path, xml):
    path = zip_members(tmp_path / "s.qdpx", {"project.qde": xml})
    assert_refused(tmp_path, path, r"s\.qdpx:project\.qde: the XML declares entities or external references")


def test_malformed_xml_names_the_line(tmp_path):
    xml = project_xml().replace("</Sources>", "</Source>")
    path = zip_members(tmp_path / "s.qdpx", {**valid_members(), "project.qde": xml})
    assert_refused(tmp_path, path, r"project\.qde: not well-formed XML \(mismatched tag: line \d+, column \d+\)")


def test_not_a_refi_project(tmp_path):
    path = zip_members(tmp_path / "s.qdpx", {"project.qde": "<Other/>"})
    assert_refused(tmp_path, path, r"root element is 'Other'; expected a REFI-QDA 'Project'")
    path = zip_members(tmp_path / "t.qdpx", {"readme.txt": "no project here"})
    assert_refused(tmp_path, path, r"holds no \.qde project file")
    bad = tmp_path / "u.qdpx"
    bad.write_bytes(b"not a zip")
    assert_refused(tmp_path, bad, r"not a readable zip archive")


def test_non_utf8_text_is_reported_by_file_name_and_line(tmp_path):
    members = valid_members()
    members["sources/s_m.txt"] = "Meeting minutes.\nCafé staff".encode("latin-1")
    path = zip_members(tmp_path / "s.qdpx", members)
    assert_refused(tmp_path, path, r"s\.qdpx:sources/s_m\.txt: text is not valid UTF-8 \(byte 0xe9 at line 2\)")
    members["sources/s_m.txt"] = "Meeting".encode("utf-16")
    path = zip_members(tmp_path / "t.qdpx", members)
    assert_refused(tmp_path, path, r"sources/s_m\.txt: text is UTF-16, not UTF-8")


def test_paths_leaving_the_project_are_refused(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret", encoding="utf-8")
    qde_path = make_qde_folder(tmp_path / "proj", paths={"s_n": "../secret.txt", "s_m": "internal://s_m.txt", "s_s": None})
    assert_refused(tmp_path, qde_path, r"path '\.\./secret\.txt' contains a '\.\.' component")
    qde_path = make_qde_folder(tmp_path / "proj2", paths={"s_n": f"absolute://{outside}", "s_m": "internal://s_m.txt",
                                                          "s_s": None})
    assert_refused(tmp_path, qde_path, r"points outside the project")
    path = zip_members(tmp_path / "s.qdpx", {**valid_members(), "project.qde": project_xml(
        paths={"s_n": "internal://missing.txt", "s_m": "internal://s_m.txt", "s_s": None})})
    assert_refused(tmp_path, path, r"plainTextPath 'internal://missing\.txt' names no member")


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    path = make_qdpx(tmp_path / "s.qdpx")
    out = tmp_path / "raw"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ImportQDAError, match="exists and is not empty"):
        import_qda(path, out, PROJECT_MAPPING)
    with pytest.raises(ImportQDAError, match="not a raw-data folder"):
        import_qda(path, out, PROJECT_MAPPING, overwrite=True)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    import_qda(path, tmp_path / "raw2", PROJECT_MAPPING)
    first = tree_digest(tmp_path / "raw2")
    import_qda(path, tmp_path / "raw2", PROJECT_MAPPING, overwrite=True)
    assert {k: v[0] for k, v in tree_digest(tmp_path / "raw2").items()} == {k: v[0] for k, v in first.items()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw", "raw2", "s.qdpx"]  # no temporary folder left


def test_output_inside_the_input_is_refused(tmp_path):
    make_qde_folder(tmp_path / "proj")
    with pytest.raises(ImportQDAError, match="holds the input"):
        import_qda(tmp_path / "proj", tmp_path, PROJECT_MAPPING)


def test_cli_exit_codes_and_messages(tmp_path, capsys):
    good = make_qdpx(tmp_path / "good.qdpx")
    mapping = tmp_path / "mapping.yaml"
    import yaml

    mapping.write_text(yaml.safe_dump(PROJECT_MAPPING, allow_unicode=True), encoding="utf-8")
    bad = zip_members(tmp_path / "bad.qdpx", {**valid_members(), "../evil.txt": "x"})
    assert main(["import-qda", str(bad), "--out", str(tmp_path / "o1"), "--mapping", str(mapping)]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "'../evil.txt'" in err and not (tmp_path / "o1").exists()
    assert main(["import-qda", str(good), "--out", str(tmp_path / "o2"), "--mapping", str(mapping),
                 "--max-bytes", "100"]) == 1
    assert "--max-bytes" in capsys.readouterr().err and not (tmp_path / "o2").exists()
    assert main(["import-qda", str(good), "--out", str(tmp_path / "o3"), "--mapping", str(mapping),
                 "--positions", "codepoints", "--max-members", "10"]) == 0
    out = capsys.readouterr().out
    assert "3 documents, 7 codes, 5 coded segments" in out and "--tables-from" in out
    assert main(["qda-mapping", str(good)]) == 0
    assert "Integrating/Engaging groups" in capsys.readouterr().out
    assert main(["qda-mapping", str(bad)]) == 1


def test_reading_never_modifies_the_input(tmp_path):
    path = make_qdpx(tmp_path / "s.qdpx")
    before = tree_digest(path)
    read_project(path)
    import_qda(path, tmp_path / "raw", PROJECT_MAPPING)
    assert tree_digest(path) == before
