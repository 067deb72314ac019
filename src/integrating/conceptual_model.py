"""The conceptual model's file format: nodes, groups of nodes and arrows read from YAML and validated.

The model lives in a small YAML file, by default the packaged ``conceptual_model.yaml``; :func:`load`
validates it and names the offending key of every problem. Nothing about the model is written in the
drawing code (:mod:`integrating.diagram`): editing the file and rerunning notebook 03 changes the figures.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from .errors import ModelFileError

#: The packaged model file (package data).
MODEL_FILE = Path(__file__).with_name("conceptual_model.yaml")

#: Node kinds and their colours (Okabe-Ito; boxes are filled with a light tint, outlined in the colour).
KINDS = {
    "context": "#CC79A7",
    "practice": "#E69F00",
    "mechanism": "#56B4E9",
    "outcome": "#009E73",
    "performance": "#F0E442",
}
#: Evidence that Figure B can write into a node, and the keys each kind takes.
EVIDENCE_KINDS = {
    "mechanism": {"required": ("code",), "optional": ()},
    "implementation": {"required": (), "optional": ()},
    "connections": {"required": (), "optional": ()},
    "survey": {"required": (), "optional": ("analysis",)},
}
DEFAULT_SURVEY_ANALYSIS = "student_t"
TOP_KEYS = {"title": False, "caption": False, "nodes": True, "groups": False, "edges": True}
NODE_KEYS = {"id": True, "label": True, "kind": True, "layer": True, "order": False, "evidence": False}
GROUP_KEYS = {"id": True, "label": True, "members": True}
EDGE_KEYS = {"from": True, "to": True, "label": False}
ID_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


# --- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    kind: str
    layer: int
    order: float
    evidence: dict | None = None


@dataclass(frozen=True)
class Group:
    id: str
    label: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""


@dataclass(frozen=True)
class Model:
    title: str
    caption: str
    nodes: tuple[Node, ...]
    groups: tuple[Group, ...]
    edges: tuple[Edge, ...]
    path: Path | None = None

    def node(self, node_id: str) -> Node:
        return {n.id: n for n in self.nodes}[node_id]

    def group_of(self, node_id: str) -> Group | None:
        for g in self.groups:
            if node_id in g.members:
                return g
        return None

    def layer_of(self, element_id: str) -> int:
        """Layer of a node, or of a group (the layer its members share)."""
        groups = {g.id: g for g in self.groups}
        if element_id in groups:
            element_id = groups[element_id].members[0]
        return self.node(element_id).layer

    @property
    def layers(self) -> list[int]:
        return sorted({n.layer for n in self.nodes})


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _check_keys(entry, where: str, spec: dict, problems: list) -> bool:
    if not isinstance(entry, dict):
        problems.append(f"{where}: expected a mapping with keys {', '.join(spec)}; got {type(entry).__name__}")
        return False
    for key in entry:
        if key not in spec:
            problems.append(f"{where}: unknown key '{key}' (known keys: {', '.join(spec)})")
    for key, required in spec.items():
        if required and key not in entry:
            problems.append(f"{where}: missing key '{key}'")
    return True


def _where(kind: str, i: int, entry) -> str:
    ident = entry.get("id") if isinstance(entry, dict) else None
    return f"{kind}[{i}]" + (f" (id '{ident}')" if isinstance(ident, str) else "")


def _check_evidence(evidence, where: str, problems: list) -> None:
    if not isinstance(evidence, dict):
        problems.append(f"{where}: key 'evidence' must be a mapping such as {{kind: mechanism, code: ...}}")
        return
    kind = evidence.get("kind")
    if kind not in EVIDENCE_KINDS:
        problems.append(f"{where}: key 'evidence.kind' is {kind!r}; expected one of {', '.join(EVIDENCE_KINDS)}")
        return
    spec = EVIDENCE_KINDS[kind]
    for key in evidence:
        if key != "kind" and key not in spec["required"] + spec["optional"]:
            problems.append(f"{where}: unknown key 'evidence.{key}' for evidence kind '{kind}'")
    for key in spec["required"] + spec["optional"]:
        if key in evidence and not _is_text(evidence[key]):
            problems.append(f"{where}: key 'evidence.{key}' must be a non-empty text")
        elif key in spec["required"] and key not in evidence:
            problems.append(f"{where}: missing key 'evidence.{key}' (evidence kind '{kind}' needs it)")


def _check_id_and_label(entry: dict, where: str, seen: dict, problems: list) -> bool:
    """Check a node's or group's ``id`` (well-formed, not used before) and ``label``."""
    ok = True
    ident = entry.get("id")
    if "id" in entry:
        if not isinstance(ident, str) or not ID_PATTERN.match(ident):
            problems.append(f"{where}: key 'id' is {ident!r}; expected letters, digits and _ starting with a letter")
            ok = False
        elif ident in seen:
            problems.append(f"{where}: duplicate id '{ident}' (already used by {seen[ident]})")
            ok = False
        else:
            seen[ident] = where
    if "label" in entry and not _is_text(entry["label"]):
        problems.append(f"{where}: key 'label' must be a non-empty text")
        ok = False
    return ok


def parse(data, source="model") -> Model:
    """Validate the parsed content of a model file and build a :class:`Model`.

    Every problem is collected, each naming its key (``nodes[3] (id 'x'): missing key 'label'``),
    and raised together as one :class:`ModelFileError`.
    """
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ModelFileError(source, ["the file must hold a mapping with keys nodes, edges "
                                      "(and groups, title, caption)"])
    _check_keys(data, "top level", TOP_KEYS, problems)
    for key in ("title", "caption"):
        if key in data and not isinstance(data[key], str):
            problems.append(f"top level: key '{key}' must be a text")

    raw_nodes = data.get("nodes")
    raw_groups = data.get("groups") or []
    raw_edges = data.get("edges")
    if "nodes" in data and (not isinstance(raw_nodes, list) or not raw_nodes):
        problems.append("top level: key 'nodes' must be a non-empty list")
        raw_nodes = []
    if not isinstance(raw_groups, list):
        problems.append("top level: key 'groups' must be a list")
        raw_groups = []
    if "edges" in data and not isinstance(raw_edges, list):
        problems.append("top level: key 'edges' must be a list (possibly empty: edges: [])")
        raw_edges = []
    raw_nodes = raw_nodes or []
    raw_edges = raw_edges or []

    nodes: list[Node] = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(raw_nodes):
        where = _where("nodes", i, entry)
        if not _check_keys(entry, where, NODE_KEYS, problems):
            continue
        ident = entry.get("id")
        ok = _check_id_and_label(entry, where, seen, problems)
        kind = entry.get("kind")
        if "kind" in entry and kind not in KINDS:
            problems.append(f"{where}: unknown kind {kind!r} in key 'kind' (known kinds: {', '.join(KINDS)})")
            ok = False
        layer = entry.get("layer")
        if "layer" in entry and (not _is_int(layer) or layer < 0):
            problems.append(f"{where}: key 'layer' is {layer!r}; expected an integer >= 0")
            ok = False
        order = entry.get("order", i)
        if isinstance(order, bool) or not isinstance(order, (int, float)) or not math.isfinite(order):
            problems.append(f"{where}: key 'order' is {order!r}; expected a number")
            ok = False
        if "evidence" in entry:
            _check_evidence(entry["evidence"], where, problems)
        if ok and all(k in entry for k, req in NODE_KEYS.items() if req):
            nodes.append(Node(ident, entry["label"].strip(), kind, layer, float(order),
                              dict(entry["evidence"]) if isinstance(entry.get("evidence"), dict) else None))

    node_ids = {n.id for n in nodes}
    # Ids declared by entries that have other problems: already reported, so not "unknown" below.
    declared_nodes = set(seen)
    layer = {n.id: n.layer for n in nodes}
    groups: list[Group] = []
    member_of: dict[str, str] = {}
    for i, entry in enumerate(raw_groups):
        where = _where("groups", i, entry)
        if not _check_keys(entry, where, GROUP_KEYS, problems):
            continue
        ident = entry.get("id")
        ok = _check_id_and_label(entry, where, seen, problems)
        members = entry.get("members")
        if "members" in entry:
            if not isinstance(members, list) or not members:
                problems.append(f"{where}: key 'members' must be a non-empty list of node ids")
                ok = False
            else:
                for m in members:
                    if m not in declared_nodes:
                        problems.append(f"{where}: key 'members' names unknown node {m!r}")
                        ok = False
                    elif m not in node_ids:
                        ok = False
                    elif m in member_of:
                        problems.append(f"{where}: node '{m}' is already a member of group '{member_of[m]}'")
                        ok = False
                if ok:
                    layers = sorted({layer[m] for m in members})
                    if len(layers) > 1:
                        problems.append(f"{where}: key 'members' spans layers {layers}; "
                                        "members of a group share one layer")
                        ok = False
        if ok and all(k in entry for k, req in GROUP_KEYS.items() if req):
            for m in members:
                member_of[m] = ident
            groups.append(Group(ident, entry["label"].strip(), tuple(members)))

    group_layer = {g.id: layer[g.members[0]] for g in groups}
    known = {**layer, **group_layer}
    edges: list[Edge] = []
    pairs = set()
    for i, entry in enumerate(raw_edges):
        where = f"edges[{i}]"
        if not _check_keys(entry, where, EDGE_KEYS, problems):
            continue
        ok = True
        for key in ("from", "to"):
            if key in entry and entry[key] not in seen:
                problems.append(f"{where}: key '{key}' names unknown node {entry[key]!r} "
                                f"(known nodes and groups: {', '.join(sorted(seen))})")
                ok = False
            elif key in entry and entry[key] not in known:
                ok = False  # declared by an entry with a problem of its own
        label = entry.get("label", "")
        if label is None or not isinstance(label, str):
            problems.append(f"{where}: key 'label' must be a text")
            ok = False
        if not ok or "from" not in entry or "to" not in entry:
            continue
        src, tgt = entry["from"], entry["to"]
        if (src, tgt) in pairs:
            problems.append(f"{where}: duplicate edge from '{src}' to '{tgt}'")
            continue
        if known[tgt] <= known[src]:
            problems.append(f"{where}: goes from '{src}' (layer {known[src]}) to '{tgt}' (layer {known[tgt]}); "
                            "an arrow must point to a later layer")
            continue
        pairs.add((src, tgt))
        edges.append(Edge(src, tgt, label.strip()))

    if problems:
        raise ModelFileError(source, problems)
    return Model(
        title=str(data.get("title", "")).strip(),
        caption=" ".join(str(data.get("caption", "")).split()),
        nodes=tuple(nodes),
        groups=tuple(groups),
        edges=tuple(edges),
    )


def load(model_file=None) -> Model:
    """Read and validate a model file (default: the packaged ``conceptual_model.yaml``)."""
    path = Path(model_file) if model_file else MODEL_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelFileError(path, [f"cannot be read: {exc.strerror or exc}"]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ModelFileError(path, [f"is not valid YAML: {exc}"]) from exc
    model = parse(data, source=path)
    return Model(model.title, model.caption, model.nodes, model.groups, model.edges, path)


def conceptual_model_data(model: Model) -> pd.DataFrame:
    """The model as a table: one row per node, group and edge (what Figure A draws)."""
    rows = [
        {"element": "node", "id": n.id, "label": n.label, "kind": n.kind, "layer": n.layer,
         "group": (model.group_of(n.id).id if model.group_of(n.id) else ""), "source": "", "target": ""}
        for n in model.nodes
    ]
    rows += [
        {"element": "group", "id": g.id, "label": g.label, "kind": "", "layer": model.layer_of(g.id),
         "group": "", "source": "", "target": ""}
        for g in model.groups
    ]
    rows += [
        {"element": "edge", "id": f"{e.source}-{e.target}", "label": e.label, "kind": "",
         "layer": model.layer_of(e.source), "group": "", "source": e.source, "target": e.target}
        for e in model.edges
    ]
    return pd.DataFrame(rows, columns=["element", "id", "label", "kind", "layer", "group", "source", "target"])
