"""The conceptual model's file format: loading, validation, and the table of Figure A."""

from __future__ import annotations

import re

import pytest
from figure_fixtures import (
    MECH,
    base_data,
    write_model,
)

from integrating import (
    conceptual_model,
)


def test_packaged_model_loads_with_the_four_mechanisms_in_one_group():
    m = conceptual_model.load()
    assert m.path == conceptual_model.MODEL_FILE and conceptual_model.MODEL_FILE.is_file()
    mech = [n.id for n in m.nodes if n.kind == "mechanism"]
    assert mech == MECH
    assert [n.evidence["code"] for n in m.nodes if n.kind == "mechanism"] == MECH
    integrating = {g.id: g for g in m.groups}["integrating"]
    assert list(integrating.members) == MECH
    assert m.caption and "abstract" in m.caption
    table = conceptual_model.conceptual_model_data(m)
    assert list(table["element"].value_counts().sort_index()) == [len(m.edges), len(m.groups), len(m.nodes)]


def _break(data, how):
    nodes, edges, groups = data["nodes"], data["edges"], data["groups"]
    if how == "unknown node in edge":
        edges[1]["to"] = "unity_of_efort"
    elif how == "duplicate id":
        nodes[3]["id"] = "engaging_groups"
    elif how == "missing label":
        del nodes[2]["label"]
    elif how == "unknown kind":
        nodes[0]["kind"] = "barrier"
    elif how == "bad layer":
        nodes[0]["layer"] = "first"
    elif how == "unknown key":
        nodes[0]["colour"] = "red"
    elif how == "group spans layers":
        groups[0]["members"].append("implementation")
    elif how == "backward edge":
        edges.append({"from": "performance", "to": "implementation"})
    elif how == "unknown evidence kind":
        nodes[2]["evidence"] = {"kind": "barriers"}
    elif how == "evidence without code":
        nodes[2]["evidence"] = {"kind": "mechanism"}
    return data


@pytest.mark.parametrize("how, expected", [
    ("unknown node in edge", r"edges\[1\]: key 'to' names unknown node 'unity_of_efort'"),
    ("duplicate id", r"nodes\[3\] \(id 'engaging_groups'\): duplicate id 'engaging_groups'"),
    ("missing label", r"nodes\[2\] \(id 'engaging_groups'\): missing key 'label'"),
    ("unknown kind", r"nodes\[0\] \(id 'groups_apart'\): unknown kind 'barrier' in key 'kind' \(known kinds: context"),
    ("bad layer", r"key 'layer' is 'first'; expected an integer >= 0"),
    ("unknown key", r"nodes\[0\] \(id 'groups_apart'\): unknown key 'colour'"),
    ("group spans layers", r"groups\[0\] \(id 'fragmentation'\): key 'members' spans layers \[0, 3\]"),
    ("backward edge", r"edges\[4\]: goes from 'performance' \(layer 4\) to 'implementation' \(layer 3\)"),
    ("unknown evidence kind", r"key 'evidence.kind' is 'barriers'; expected one of mechanism"),
    ("evidence without code", r"missing key 'evidence.code'"),
])
def test_model_file_problems_name_their_key(tmp_path, how, expected):
    path = write_model(tmp_path, _break(base_data(), how))
    with pytest.raises(conceptual_model.ModelFileError) as err:
        conceptual_model.load(path)
    assert str(path) in str(err.value)
    assert re.search(expected, str(err.value)), str(err.value)


def test_every_problem_is_reported_at_once(tmp_path):
    data = base_data()
    for how in ("unknown node in edge", "missing label", "unknown kind"):
        data = _break(data, how)
    with pytest.raises(conceptual_model.ModelFileError) as err:
        conceptual_model.load(write_model(tmp_path, data))
    assert len(err.value.problems) == 3


def test_unreadable_model_files(tmp_path):
    with pytest.raises(conceptual_model.ModelFileError, match="cannot be read"):
        conceptual_model.load(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes: [a, b\n", encoding="utf-8")
    with pytest.raises(conceptual_model.ModelFileError, match="not valid YAML"):
        conceptual_model.load(bad)
    bad.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(conceptual_model.ModelFileError, match="must hold a mapping"):
        conceptual_model.load(bad)
