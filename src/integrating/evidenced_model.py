"""Figure B: the conceptual model with the evidence of the derived tables written into its boxes."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from . import plotting
from .conceptual_model import DEFAULT_SURVEY_ANALYSIS, Model
from .contract import GROUPS
from .errors import AnalysisError
from .derived import DERIVED_COLUMNS, check_groups, require_columns
from .diagram import STAMP_ROOM, _fit_height, draw, layout
from .plotting import fmt_number, fmt_p

#: Derived tables each evidence kind reads.
EVIDENCE_SOURCES = {
    "mechanism": ["mechanism_comparison"],
    "implementation": ["clinic_segments"],
    "connections": ["stakeholder_connections"],
    "survey": ["survey_group_change", "survey_effects"],
}

def evidence_tables(model: Model) -> list[str]:
    """Names of the derived tables Figure B needs for this model's evidence."""
    kinds = {n.evidence["kind"] for n in model.nodes if n.evidence}
    return [t for t in DERIVED_COLUMNS if any(t in EVIDENCE_SOURCES[k] for k in kinds)]


EVIDENCE_COLUMNS = ["node", "evidence", "source", "measure", "group", "value", "n", "test", "verdict"]


def _group_means(df: pd.DataFrame, values: pd.Series, node: str, evidence: str, source: str, measure: str):
    """Mean of ``values`` per group (only groups that have clinics), as evidence rows."""
    stats = values.groupby(df["group"]).agg(["mean", "size"]).reindex(list(GROUPS)).dropna()
    return [
        {"node": node, "evidence": evidence, "source": source, "measure": measure, "group": g,
         "value": float(row["mean"]), "n": int(row["size"]), "test": "", "verdict": ""}
        for g, row in stats.iterrows()
    ]


def evidenced_model_data(model: Model, *, clinic_segments=None, mechanism_comparison=None,
                         stakeholder_connections=None, survey_group_change=None, survey_effects=None) -> pd.DataFrame:
    """Every number Figure B writes into the model, one row each, with the derived table it comes from.

    Columns: node, evidence (kind), source (table file), measure, group (more/less, or empty for
    between-group quantities), value, n (clinics behind the value), test (exact name, for p-values
    and effect sizes), verdict. Rows follow the model's node order. Values that the tables leave
    empty (e.g. a p-value that could not be computed) are left out rather than written as NaN.
    """
    tables = {"clinic_segments": clinic_segments, "mechanism_comparison": mechanism_comparison,
              "stakeholder_connections": stakeholder_connections, "survey_group_change": survey_group_change,
              "survey_effects": survey_effects}
    for name in evidence_tables(model):
        if tables[name] is None:
            raise AnalysisError(f"the model's evidence needs {name}.csv; pass it as {name}=...")
        require_columns(tables[name], name)
    rows: list[dict] = []
    for node in model.nodes:
        ev = node.evidence
        if not ev:
            continue
        kind = ev["kind"]
        if kind == "mechanism":
            comp = tables["mechanism_comparison"]
            hit = comp[comp["code"].eq(ev["code"])]
            if len(hit) != 1:
                raise AnalysisError(f"mechanism_comparison.csv has {len(hit)} row(s) for code '{ev['code']}' "
                                    f"(node '{node.id}'); expected exactly one (codes: {', '.join(comp['code'])})")
            r = hit.iloc[0]
            base = {"node": node.id, "evidence": kind, "source": "mechanism_comparison.csv",
                    "verdict": str(r["verdict"]) if pd.notna(r["verdict"]) else ""}
            for measure, group, value, n, test in [
                ("mean", "more", r["mean_more"], r["n_more"], ""),
                ("mean", "less", r["mean_less"], r["n_less"], ""),
                ("difference", "", r["difference"], r["n_more"] + r["n_less"], ""),
                ("effect_size", "", r["effect_size"], r["n_more"] + r["n_less"], "Hedges g"),
                ("p_value", "", r["p_value"], r["n_more"] + r["n_less"], r["test"]),
            ]:
                if pd.notna(value):
                    rows.append({**base, "measure": measure if measure != "mean" else f"mean ({r['measure']})",
                                 "group": group, "value": float(value), "n": int(n), "test": str(test)})
        elif kind == "implementation":
            seg = tables["clinic_segments"]
            check_groups(seg, "clinic_segments")
            rows += _group_means(seg, seg["implementation_share"].astype(float), node.id, kind,
                                 "clinic_segments.csv", "mean implementation share")
        elif kind == "connections":
            con = tables["stakeholder_connections"]
            check_groups(con, "stakeholder_connections")
            codes = [c for c in con.columns if c not in ("clinic_id", "group")]
            connected = (con[codes].astype(float) > 0).sum(axis=1) if codes else pd.Series(0, index=con.index)
            rows += _group_means(con, connected.astype(float), node.id, kind, "stakeholder_connections.csv",
                                 "mean stakeholder groups connected per clinic")
            rows.append({"node": node.id, "evidence": kind, "source": "stakeholder_connections.csv",
                         "measure": "stakeholder groups coded", "group": "", "value": float(len(codes)),
                         "n": len(con), "test": "", "verdict": ""})
        elif kind == "survey":
            grp, eff = tables["survey_group_change"], tables["survey_effects"]
            check_groups(grp, "survey_group_change")
            analysis = ev.get("analysis", DEFAULT_SURVEY_ANALYSIS)
            for g in GROUPS:
                hit = grp[grp["group"].eq(g)]
                if len(hit) > 1:
                    raise AnalysisError(f"survey_group_change.csv has {len(hit)} rows for group '{g}'; expected one")
                if len(hit) and pd.notna(hit["mean_change"].iloc[0]):
                    rows.append({"node": node.id, "evidence": kind, "source": "survey_group_change.csv",
                                 "measure": "mean change", "group": g, "value": float(hit["mean_change"].iloc[0]),
                                 "n": int(hit["n_clinics"].iloc[0]), "test": "", "verdict": ""})
            hit = eff[eff["analysis"].eq(analysis)]
            if len(hit) != 1:
                raise AnalysisError(f"survey_effects.csv has {len(hit)} row(s) for analysis '{analysis}' "
                                    f"(node '{node.id}', key 'evidence.analysis'); expected one "
                                    f"(analyses: {', '.join(eff['analysis'].astype(str))})")
            r = hit.iloc[0]
            if pd.notna(r["p_value"]):
                n = sum(int(r[c]) for c in ("n_more", "n_less") if pd.notna(r[c]))
                rows.append({"node": node.id, "evidence": kind, "source": "survey_effects.csv",
                             "measure": "p_value", "group": "", "value": float(r["p_value"]), "n": n,
                             "test": str(r["test"]), "verdict": ""})
    out = pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)
    out["n"] = out["n"].astype("int64")
    out["value"] = out["value"].astype("float64")
    return out


def _pick(d: pd.DataFrame, measure: str, group: str = ""):
    hit = d[d["measure"].str.startswith(measure) & d["group"].eq(group)]
    return hit.iloc[0] if len(hit) else None


def evidence_notes(model: Model, data: pd.DataFrame) -> dict[str, list[str]]:
    """The lines Figure B writes under each node's label, formatted from :func:`evidenced_model_data`."""
    notes = {}
    for node in model.nodes:
        if not node.evidence:
            continue
        d = data[data["node"].eq(node.id)].fillna({"group": ""})
        kind = node.evidence["kind"]

        def val(measure, group="", decimals=1, signed=False, percent=False):
            r = _pick(d, measure, group)
            if r is None:
                return "n/a"
            if percent:
                return f"{fmt_number(100 * r['value'], 0)}%"
            return fmt_number(r["value"], decimals, signed)

        if kind == "mechanism":
            lines = [f"more {val('mean', 'more')} vs less {val('mean', 'less')}"]
            g, p = _pick(d, "effect_size"), _pick(d, "p_value")
            stats = ", ".join(s for s in [f"g = {fmt_number(g['value'], 2)}" if g is not None else "",
                                          fmt_p(p["value"]) if p is not None else ""] if s)
            if stats:
                lines.append(stats)
            verdict = d["verdict"].iloc[0] if len(d) else ""
            if verdict:  # "strongly" or "strongly distinguishing"
                lines.append(verdict if verdict.endswith("distinguishing") else f"{verdict} distinguishing")
        elif kind == "implementation":
            lines = ["share implemented:",
                     f"more {val('mean', 'more', percent=True)}, less {val('mean', 'less', percent=True)}"]
        elif kind == "connections":
            total = _pick(d, "stakeholder groups coded")
            of = f" (of {fmt_number(total['value'], 0)})" if total is not None else ""
            lines = [f"groups connected per clinic{of}:",
                     f"more {val('mean', 'more')}, less {val('mean', 'less')}"]
        else:  # survey
            p = _pick(d, "p_value")
            lines = ["survey change:",
                     f"more {val('mean change', 'more', 2, True)}, less {val('mean change', 'less', 2, True)}",
                     fmt_p(p["value"]) if p is not None else "p n/a"]
        notes[node.id] = lines
    return notes


def evidenced_model_plot(model: Model, data: pd.DataFrame, width: float = plotting.TWO_COLUMNS, *,
                         orientation: str = "auto") -> Figure:
    """Figure B: the model with the numbers of :func:`evidenced_model_data` under the labels.

    A strip at the bottom is kept free for :func:`plotting.label_synthetic`'s stamp.
    """
    lay = layout(model, width, orientation=orientation, notes=evidence_notes(model, data))
    return draw(model, _fit_height(lay, bottom=STAMP_ROOM))


def evidenced_model_caption(model: Model, data: pd.DataFrame, synthetic: bool) -> str:
    parts = ["The conceptual model annotated with the study's data"
             + (" (SYNTHETIC data: the numbers illustrate the method, not the published study)." if synthetic else ".")]
    mech = data[data["evidence"].eq("mechanism")]
    if len(mech):
        unit = mech.loc[mech["measure"].str.startswith("mean"), "measure"].str.extract(r"\((.*)\)")[0].dropna()
        tests = sorted(set(mech.loc[mech["measure"].eq("p_value"), "test"]))
        measure = f" ({unit.iloc[0]})" if len(unit) else ""
        parts.append(f"Mechanisms: group means of the coding rate{measure} in clinics that implemented more vs "
                     f"less, standardised difference (Hedges g), p-value ({'; '.join(tests) or 'none'}) and "
                     "verdict, from mechanism_comparison.csv.")
    if data["evidence"].eq("connections").any():
        parts.append("Unity of effort: mean number of stakeholder groups per clinic whose coded segments overlap "
                     "a mechanism-coded segment, from stakeholder_connections.csv.")
    if data["evidence"].eq("implementation").any():
        parts.append("Implementation: mean implementation share per group, from clinic_segments.csv.")
    surv = data[data["evidence"].eq("survey")]
    if len(surv):
        tests = sorted(set(surv.loc[surv["measure"].eq("p_value"), "test"]))
        parts.append("Performance: mean change of the patient-survey composite per group, from "
                     f"survey_group_change.csv; p-value ({'; '.join(tests) or 'not available'}) "
                     "from survey_effects.csv.")
    counts = data.loc[data["group"].isin(GROUPS) & data["evidence"].eq("implementation"), ["group", "n"]]
    if len(counts):
        parts.append("Clinics: " + ", ".join(f"{g} n = {n}" for g, n in counts.itertuples(index=False)) + ".")
    return " ".join(parts)
