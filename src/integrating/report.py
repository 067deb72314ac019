"""The reviewer's report site: ``reports/index.html`` and ``reports/site/``, opened from disk, offline.

:func:`build_site` gathers what the pipeline left in the working folder:

* ``data/derived/claims_check.csv``: the claims table, pass/fail coloured, with counts;
* ``figures/<stem>.{svg,png,pdf,txt}``: every figure (SVG, else PNG, embedded) with its caption and
  links to the notebook and the provenance record that wrote it (found in the records' outputs);
* ``reports/notebooks/*.ipynb``: the executed notebooks, rendered to HTML with nbconvert's ``basic``
  template (no script, no CDN) inside a page of this site with a local style sheet;
* ``reports/provenance/*.json``: each record rendered to HTML, the JSON copied beside it;
* ``data/derived/headline_robustness.csv``: what the headline result rests on (notebook 06);
* ``data/derived/inventory.csv``: the data inventory;
* ``data/derived/mechanism_excerpts.csv``: excerpt tables, only when ``show_excerpts`` is true.

Everything the pages use is copied under ``reports/site/`` and linked relatively, so the site works
from ``file://`` and when the ``reports`` folder is moved on its own. The pages are deterministic:
the only values that change between two builds of the same run are the run times they show (read
from the provenance records and the executed notebooks). ``site/`` is built beside the old one and
swapped in at the end, so a failed build leaves the previous site.

The notebooks' pages hold bodies rendered by :mod:`integrating.notebook_html`, which keeps them
between builds, so a build renders only the notebooks that changed.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from . import io, provenance
from .notebook_html import CACHE, render_notebooks
from .provenance import SITE_MANIFEST

#: The site's own record of what it wrote (the workflow rebuilds the site when a page is deleted or edited).
MANIFEST = Path(SITE_MANIFEST).name

FIGURE_DISPLAY = ("svg", "png")  # embedded, in order of preference
FIGURE_FORMATS = ("svg", "png", "pdf")
SITE = "site"
CLAIM_COLUMNS = ["claim_id", "description", "published", "reproduced", "tolerance", "status", "reason"]
EXCERPT_COLUMNS = ["code", "clinic_id", "document_id", "segment_id", "excerpt"]
REMOTE_CHECK = re.compile(r"<(?:script|link|iframe|img)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I)

#: The site's style sheet (package data), with pygments' code highlighting appended by :func:`style_sheet`.
STYLE = Path(__file__).with_name("report.css").read_text(encoding="utf-8")

PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{css}">
</head>
<body>
<header class="top">
{crumbs}<h1>{heading}</h1>
{banner}</header>
<main>
{body}
</main>
<footer>{footer}</footer>
</body>
</html>
"""

FOOTER = ("Static report of the Integrating compendium, built from reports/, figures/ and data/derived/ "
          "by <code>integrating build-site</code>. Opens from disk; needs no network.")


def markdown(text: str) -> str:
    """Markdown of a data set's own text (its description) as HTML; any HTML in it is escaped."""
    import mistune  # nbconvert's Markdown renderer, already installed with it

    return mistune.create_markdown(escape=True)(str(text)).strip()


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def href(path: str) -> str:
    """A relative URL for a relative POSIX path (each part percent-encoded)."""
    return "/".join(quote(part) for part in path.split("/"))


def _page(title: str, body: str, *, css: str, crumbs: str = "", banner: str = "") -> str:
    return PAGE.format(title=esc(title), heading=esc(title), css=href(css), crumbs=crumbs, banner=banner,
                       body=body, footer=FOOTER)


# ----------------------------------------------------------------------------------------------
# Reading what the run left


def study_origin(raw_dir) -> dict:
    """``{"synthetic": True/False/None, "description": ..., "months": ..., "start_date": ...}``."""
    path = Path(raw_dir) / "datapackage.json"
    try:
        study = json.loads(path.read_text(encoding="utf-8")).get("study", {})
    except (OSError, json.JSONDecodeError):
        return {"synthetic": None, "description": "", "source": str(path)}
    return {"synthetic": bool(study.get("synthetic")) if "synthetic" in study else None,
            "description": str(study.get("description", "")), "months": study.get("months"),
            "start_date": study.get("start_date"), "source": str(path)}


def banner(origin: dict) -> str:
    if origin["synthetic"] is True:
        return ('<div class="synthetic-banner" role="note" id="synthetic">SYNTHETIC DATA: every number, '
                "figure and text in this report comes from an invented study that follows the published "
                "design. It is not evidence about real clinics.</div>\n")
    if origin["synthetic"] is None:
        return (f'<div class="origin-unknown" role="note">Origin of the data unknown: '
                f"{esc(origin['source'])} was not found or has no study.synthetic.</div>\n")
    return ""


def figure_owners(records: dict[str, dict]) -> dict[str, str]:
    """File name of each output (e.g. ``inventory.svg``) -> the notebook whose record lists it."""
    owners = {}
    for name, record in records.items():
        for out in record.get("outputs", []) or []:
            path = out.get("path") if isinstance(out, dict) else out
            if path:
                owners.setdefault(Path(str(path)).name, name)
    return owners


def figures(figures_dir) -> list[dict]:
    """Every figure under ``figures_dir`` with its files, caption, number and title, in the study's order
    (:data:`integrating.figures.FIGURES`: data, segmentation, mechanisms, model, survey, robustness);
    figures the registry does not know follow, by file name."""
    from .figures import BY_STEM, FIGURES

    figures_dir = Path(figures_dir)
    present = {p.stem for p in figures_dir.glob("*") if p.suffix.lstrip(".") in FIGURE_FORMATS}
    stems = [f.stem for f in FIGURES if f.stem in present] + sorted(present - set(BY_STEM))
    out = []
    for stem in stems:
        files = {fmt: figures_dir / f"{stem}.{fmt}" for fmt in FIGURE_FORMATS if (figures_dir / f"{stem}.{fmt}").is_file()}
        caption_path = figures_dir / f"{stem}.txt"
        caption = caption_path.read_text(encoding="utf-8").strip() if caption_path.is_file() else ""
        known = BY_STEM.get(stem)
        out.append({"stem": stem, "files": files, "caption": caption,
                    "label": known.label if known else "", "title": known.title if known else stem})
    return out


def _read_csv(path) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None


# ----------------------------------------------------------------------------------------------
# HTML pieces


def html_table(df: pd.DataFrame, *, table_id: str | None = None, row_class: str | None = None,
               numeric: tuple = ()) -> str:
    """A plain, escaped HTML table (row_class: a column whose value becomes each row's class)."""
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in df.columns)
    rows = []
    for values in df.itertuples(index=False):
        record = dict(zip(df.columns, values))
        cls = f' class="{esc(record[row_class])}"' if row_class else ""
        cells = "".join(
            f'<td class="{"num" if c in numeric else esc(c)}">{esc(v)}</td>' for c, v in record.items()
        )
        rows.append(f"<tr{cls}>{cells}</tr>")
    ident = f' id="{esc(table_id)}"' if table_id else ""
    return f"<table{ident}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"


#: Beside the claims of a synthetic study: what passing claims on calibrated data do and do not show.
CALIBRATION_NOTE = (
    "The bundled synthetic study was calibrated until its summary matched the published numbers (its "
    "seed is the first whose survey summary rounds to them), so its passing claims show that the "
    "machinery works, not that the paper's analysis is right.")


def claims_section(claims: pd.DataFrame | None, source: str, *, synthetic: bool | None = None,
                   earlier: str | None = None) -> str:
    if claims is None:
        return (f'<section id="claims-check"><h2>Claims check</h2><p class="muted">No claims check found '
                f"({esc(source)}); run notebooks/05_claims_check.ipynb.</p></section>")
    status = claims["status"] if "status" in claims.columns else pd.Series([""] * len(claims), index=claims.index)
    n_pass, n_fail = int(status.eq("pass").sum()), int(status.eq("fail").sum())
    n_unchecked = int(status.eq("not checkable").sum())
    consistency = claims["kind"].eq("consistency") if "kind" in claims.columns else status.ne(status)
    if n_fail == 0 and n_unchecked == 0 and len(claims):
        verdict = "Every published number and consistency check is reproduced."
    else:
        verdict = (f"{n_fail + n_unchecked} claim(s) or check(s) are not reproduced"
                   + (f", {n_unchecked} of them not checkable because their analysis is not computable on these "
                      "data" if n_unchecked else "") + " (see the reason column).")
    published = _claims_table(claims.loc[~consistency], "claims", CLAIM_COLUMNS)
    checks = _claims_table(claims.loc[consistency].rename(columns=CHECK_NAMES), "consistency-checks",
                           list(CHECK_NAMES.values()))
    return (
        '<section id="claims-check"><h2>Claims check</h2>\n' + _earlier(earlier)
        + f'<p class="counts"><span id="claims-total">{len(claims)}</span> claims and checks: '
        f'<span class="pass">{n_pass} pass</span>, <span class="fail">{n_fail} fail</span>'
        + (f', <span class="not-checkable">{n_unchecked} not checkable</span>' if n_unchecked else "")
        + f". {esc(verdict)}</p>\n"
        + (f'<p class="calibration" id="calibration-note">{esc(CALIBRATION_NOTE)}</p>\n' if synthetic else "")
        + "<h3>Published numbers</h3>\n<p class=\"muted\">Each number of the paper recomputed from the derived "
        "tables and compared at the paper's rounding. Source: "
        f'<a href="{href(f"{SITE}/data/claims_check.csv")}">claims_check.csv</a>.</p>\n{published}\n'
        "<h3>Consistency checks</h3>\n<p class=\"muted\">Reported statistics recomputed from each other "
        "(statcheck: p from t and df, t from the group summaries; GRIM: means possible from integer answers): "
        f"what was compared, the value reported in the tables and the value recomputed.</p>\n{checks}\n</section>"
    )


#: Consistency checks are shown as checks: what was compared, reported and recomputed.
CHECK_NAMES = {"claim_id": "check", "description": "what was compared", "published": "reported",
               "reproduced": "recomputed", "status": "status", "reason": "reason"}
STATUS_MARKS = {"pass": "✓ pass", "fail": "✗ fail", "not checkable": "– not checkable"}


def _claims_table(rows: pd.DataFrame, table_id: str, columns) -> str:
    cols = [c for c in columns if c in rows.columns]
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in cols)
    body = []
    for _, row in rows[cols].iterrows():
        state = str(row.get("status", ""))
        cells = "".join(f'<td class="{esc(c)}">{esc(STATUS_MARKS.get(row[c], row[c]) if c == "status" else row[c])}</td>'
                        for c in cols)
        body.append(f'<tr class="{esc(state.replace(" ", "-"))}">{cells}</tr>')
    return (f'<table id="{table_id}" class="claims">\n<thead><tr>{head}</tr></thead>\n<tbody>\n' + "\n".join(body)
            + "\n</tbody>\n</table>")


ROBUSTNESS_COLUMNS = ["check", "scenario", "n_more", "n_less", "estimate", "p_value", "value", "detail"]


def robustness_section(robustness: pd.DataFrame | None, source: str) -> str:
    """What the headline rests on (notebook 06's headline_robustness.csv), or a note that it is missing."""
    if robustness is None:
        return (f'<section id="robustness"><h2>Robustness of the headline</h2><p class="muted">No robustness '
                f"table found ({esc(source)}); run notebooks/06_robustness.ipynb.</p></section>")
    cols = [c for c in ROBUSTNESS_COLUMNS if c in robustness.columns]
    return ('<section id="robustness"><h2>Robustness of the headline</h2>\n'
            "<p>The primary result is the two-sided Student t-test of clinic-level change. Each row recomputes "
            "it after one change to the data or the analysis: a clinic one implemented change from the other "
            "group moved to it, the median rule instead of the configured one, one clinic left out; the last "
            "row gives the share of the multiverse's specifications with p &lt; 0.05. All computed from the "
            f'data. Source: <a href="{href(f"{SITE}/data/headline_robustness.csv")}">headline_robustness.csv</a>'
            ".</p>\n" + html_table(robustness[cols], table_id="robustness-table",
                                   numeric=("n_more", "n_less", "estimate", "p_value", "value"))
            + "\n</section>")


def _earlier(when: str | None) -> str:
    return f'<span class="earlier-run">from an earlier run ({esc(when)})</span> ' if when else ""


def figure_block(fig: dict, owner: str | None, has_notebook: bool, has_record: bool, earlier: str | None = None) -> str:
    stem = fig["stem"]
    shown = next((fmt for fmt in FIGURE_DISPLAY if fmt in fig["files"]), None)
    caption = fig["caption"] or "(no caption file)"
    title = f"{fig.get('label', '')}. {fig.get('title', stem)}".lstrip(". ")
    parts = [f'<figure class="figure{" stale" if earlier else ""}" id="fig-{esc(stem)}">', _earlier(earlier)]
    if shown:
        src = href(f"{SITE}/figures/{stem}.{shown}")
        # Click to enlarge: the image links to a full-window view (CSS :target, no script); a click closes it.
        parts.append(f'<a class="enlarge" href="#zoom-{esc(stem)}" title="Enlarge"><img src="{src}" alt="{esc(caption)}"></a>')
        parts.append(f'<a class="zoom" id="zoom-{esc(stem)}" href="#fig-{esc(stem)}" title="Close">'
                     f'<img src="{src}" alt="{esc(title)}, enlarged"></a>')
    parts.append(f"<figcaption><strong>{esc(title)}</strong> <span class=\"muted\">({esc(stem)})</span>. "
                 f"{esc(caption)}</figcaption>")
    links = [f'<a href="{href(f"{SITE}/figures/{stem}.{fmt}")}">{fmt.upper()}</a>' for fmt in fig["files"]]
    made = ""
    if owner:
        made = " · made by " + (
            f'<a href="{href(f"{SITE}/notebooks/{owner}.html")}">{esc(owner)}</a>' if has_notebook else esc(owner))
        if has_record:
            made += f' (<a href="{href(f"{SITE}/provenance/{owner}.html")}">provenance</a>)'
    parts.append(f'<div class="links">Files: {" · ".join(links)}{made}</div>')
    parts.append("</figure>")
    return "\n".join(parts)


def _run_time(record: dict | None, nb_meta: dict | None) -> str:
    bits = []
    if record and record.get("started"):
        bits.append(f"started {record['started']}")
    if record and record.get("duration_s") is not None:
        bits.append(f"{record['duration_s']} s")
    elif nb_meta and nb_meta.get("duration") is not None:
        bits.append(f"{float(nb_meta['duration']):.1f} s")
    return ", ".join(bits)


def notebooks_section(names: list[str], records: dict, meta: dict, earlier: dict | None = None) -> str:
    if not names and not records:
        return '<section id="notebooks"><h2>Notebooks and provenance</h2><p class="muted">No executed notebook or provenance record found.</p></section>'
    rows = []
    for name in sorted(set(names) | set(records)):
        nb = (f'<a href="{href(f"{SITE}/notebooks/{name}.html")}">{esc(name)}</a> '
              f'(<a href="{href(f"notebooks/{name}.ipynb")}">ipynb</a>)') if name in names else esc(name)
        prov = (f'<a href="{href(f"{SITE}/provenance/{name}.html")}">record</a> '
                f'(<a href="{href(f"{SITE}/provenance/{name}.json")}">JSON</a>)') if name in records else "none"
        when = _earlier((earlier or {}).get(name))
        rows.append(f"<tr><td>{nb}</td><td>{prov}</td><td>{when}{esc(_run_time(records.get(name), meta.get(name)))}</td></tr>")
    return ('<section id="notebooks"><h2>Notebooks and provenance</h2>\n'
            "<p>Each executed notebook (with the parameters it ran with) and its provenance record: "
            "parameters, SHA-256 of every input and output, code version and run time.</p>\n"
            '<table id="notebook-list"><thead><tr><th scope="col">notebook</th><th scope="col">provenance</th>'
            '<th scope="col">run</th></tr></thead>\n<tbody>\n' + "\n".join(rows) + "\n</tbody>\n</table></section>")


def provenance_page(name: str, record: dict, origin: dict, has_notebook: bool) -> str:
    parts = []
    if has_notebook:
        parts.append(f'<p>Notebook: <a href="{href(f"../notebooks/{name}.html")}">{esc(name)}</a></p>')
    parts.append(f'<p>Raw record: <a href="{href(f"{name}.json")}">{esc(name)}.json</a></p>')
    summary = {k: record.get(k) for k in ("git_commit", "git", "platform", "started", "duration_s", "command", "rerun") if k in record}
    if summary:
        parts.append("<h2>Run</h2>" + html_table(pd.DataFrame({"field": list(summary), "value": [
            json.dumps(v, sort_keys=True) if isinstance(v, dict) else v for v in summary.values()]}),
                                                  table_id="run"))
    params = record.get("parameters") or {}
    if params:
        parts.append("<h2>Parameters</h2>" + html_table(pd.DataFrame(
            {"parameter": list(params), "value": [json.dumps(v, sort_keys=True) for v in params.values()]}),
            table_id="parameters"))
    for key, title in (("inputs", "Inputs"), ("outputs", "Outputs")):
        entries = record.get(key) or []
        if entries:
            df = pd.DataFrame([e if isinstance(e, dict) else {"path": e} for e in entries])
            parts.append(f"<h2>{title} ({len(df)})</h2>" + html_table(df.astype(str), table_id=key))
    versions = record.get("versions") or {}
    if versions:
        parts.append("<h2>Versions</h2>" + html_table(
            pd.DataFrame({"package": list(versions), "version": list(versions.values())}), table_id="versions"))
    crumbs = '<nav class="crumbs"><a href="../../index.html">Report</a> › provenance</nav>\n'
    return _page(f"Provenance: {name}", "\n".join(parts), css="../style.css", crumbs=crumbs, banner=banner(origin))


# ----------------------------------------------------------------------------------------------
# Notebooks


def notebook_page(name: str, body: str, meta: dict, origin: dict, has_record: bool) -> str:
    info = []
    if meta.get("start_time"):
        info.append(f"executed {esc(meta['start_time'])}")
    if meta.get("duration") is not None:
        info.append(f"{float(meta['duration']):.1f} s")
    params = meta.get("parameters") or {}
    head = [f'<p class="muted">{" · ".join(info)}</p>' if info else ""]
    links = [f'<a href="{href(f"../../notebooks/{name}.ipynb")}">executed notebook (ipynb)</a>']
    if has_record:
        links.append(f'<a href="{href(f"../provenance/{name}.html")}">provenance record</a>')
    head.append(f'<p class="links">{" · ".join(links)}</p>')
    if params:
        head.append("<details><summary>Parameters of this run</summary>" + html_table(pd.DataFrame(
            {"parameter": list(params), "value": [json.dumps(params[k], sort_keys=True) for k in params]}),
            table_id="parameters") + "</details>")
    crumbs = '<nav class="crumbs"><a href="../../index.html">Report</a> › notebooks</nav>\n'
    return _page(name, "\n".join(head) + f'\n<div class="notebook">\n{body}\n</div>', css="../style.css",
                 crumbs=crumbs, banner=banner(origin))


def style_sheet() -> str:
    from pygments.formatters import HtmlFormatter

    return STYLE + "\n/* code highlighting */\n" + HtmlFormatter(style="default").get_style_defs(".highlight") + "\n"


# ----------------------------------------------------------------------------------------------
# The site


def _resolve(workdir: Path, value, default: str) -> Path:
    path = Path(value if value is not None else default)
    return path if path.is_absolute() else workdir / path


def build_site(workdir=".", show_excerpts: bool = False, *, raw_dir=None, derived_dir=None,
               figures_dir=None, reports_dir=None, last_run: dict | None = None) -> Path:
    """Build ``reports/index.html`` and ``reports/site/`` from a working folder; return the index path.

    Relative folders are taken inside ``workdir`` (defaults: data/raw, data/derived, figures,
    reports). Excerpts of coded texts (``mechanism_excerpts.csv``) are shown only when
    ``show_excerpts`` is true. ``last_run`` (see :func:`integrating.runlog.record_end`), when the last
    run failed, puts the failure at the top and marks every figure and notebook from an earlier run.
    """
    workdir = Path(workdir)
    raw_dir = _resolve(workdir, raw_dir, "data/raw")
    derived_dir = _resolve(workdir, derived_dir, "data/derived")
    figures_dir = _resolve(workdir, figures_dir, "figures")
    reports_dir = _resolve(workdir, reports_dir, "reports")
    executed_dir, provenance_dir = reports_dir / "notebooks", reports_dir / "provenance"
    reports_dir.mkdir(parents=True, exist_ok=True)

    origin = study_origin(raw_dir)
    records = provenance.read_records(provenance_dir)
    notebooks = sorted(p.stem for p in executed_dir.glob("*.ipynb")) if executed_dir.is_dir() else []
    figs = figures(figures_dir) if figures_dir.is_dir() else []
    owners = figure_owners(records)

    tmp = reports_dir / f".{SITE}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    for sub in ("figures", "notebooks", "provenance", "data"):
        (tmp / sub).mkdir(parents=True)
    (tmp / "style.css").write_text(style_sheet(), encoding="utf-8")

    # figures: copied so the site is self-contained
    for fig in figs:
        for fmt, src in fig["files"].items():
            shutil.copyfile(src, tmp / "figures" / f"{fig['stem']}.{fmt}")

    # notebooks and provenance records
    meta = {}
    rendered = render_notebooks(executed_dir, notebooks, reports_dir / CACHE / "notebooks")
    for name in notebooks:
        body, meta[name] = rendered[name]
        page = notebook_page(name, body, meta[name], origin, name in records)
        (tmp / "notebooks" / f"{name}.html").write_text(page, encoding="utf-8")
    for name, record in records.items():
        shutil.copyfile(provenance_dir / f"{name}.json", tmp / "provenance" / f"{name}.json")
        page = provenance_page(name, record, origin, name in notebooks)
        (tmp / "provenance" / f"{name}.html").write_text(page, encoding="utf-8")

    # tables
    claims_path = derived_dir / "claims_check.csv"
    claims = _read_csv(claims_path) if claims_path.is_file() else None
    if claims is not None:
        shutil.copyfile(claims_path, tmp / "data" / "claims_check.csv")
    inventory_path = derived_dir / "inventory.csv"
    inventory = _read_csv(inventory_path) if inventory_path.is_file() else None
    if inventory is not None:
        shutil.copyfile(inventory_path, tmp / "data" / "inventory.csv")
    robustness_path = derived_dir / "headline_robustness.csv"
    robustness = _read_csv(robustness_path) if robustness_path.is_file() else None
    if robustness is not None:
        shutil.copyfile(robustness_path, tmp / "data" / "headline_robustness.csv")
    excerpts = None
    excerpts_path = derived_dir / "mechanism_excerpts.csv"
    if show_excerpts and excerpts_path.is_file():
        excerpts = _read_csv(excerpts_path)

    # landing page
    sections = [_intro(origin)]
    stale = earlier_than(records, last_run)
    not_computed = provenance.not_computable(records)
    summary = run_summary(derived_dir, not_computed)
    if summary:
        sections.append(summary)
    sections.append(claims_section(claims, str(claims_path), synthetic=origin["synthetic"],
                                   earlier=stale.get("05_claims_check")))
    sections.append(robustness_section(robustness, str(robustness_path)))
    skipped = not_computable_section(not_computed)
    if skipped:
        sections.append(skipped)
    manuscript = manuscript_section(reports_dir, workdir / "paper")
    if manuscript:
        sections.append(manuscript)
    fig_html = []
    for fig in figs:
        owner = figure_owner(owners, fig)
        fig_html.append(figure_block(fig, owner, owner in notebooks, owner in records, stale.get(owner)))
    sections.append('<section id="figures"><h2>Figures</h2>\n'
                    + ("\n".join(fig_html) if fig_html else '<p class="muted">No figure found.</p>') + "\n</section>")
    sections.append(notebooks_section(notebooks, records, meta, stale))
    if inventory is not None:
        numeric = tuple(c for c in inventory.columns if c.startswith("n_"))
        sections.append('<section id="inventory"><h2>Data inventory</h2>\n'
                        f'<p>Documents, coded passages and survey responses per clinic. Source: '
                        f'<a href="{href(f"{SITE}/data/inventory.csv")}">inventory.csv</a>.</p>\n'
                        + html_table(inventory, table_id="inventory-table", numeric=numeric) + "\n</section>")
    else:
        sections.append('<section id="inventory"><h2>Data inventory</h2><p class="muted">No inventory '
                        f"found ({esc(inventory_path)}).</p></section>")
    if excerpts is not None:
        sections.append(_excerpts_section(excerpts))
    elif not show_excerpts:
        sections.append('<section id="excerpts-hidden"><h2>Excerpts</h2><p class="muted">Verbatim excerpts of the '
                        "coded texts are not shown: show_excerpts is false, or auto and the data are not marked "
                        "synthetic. A real study's field notes and interviews stay out of the report, the "
                        "executed notebooks and the manuscript unless show_excerpts is set to true because the "
                        "participants' consent allows quoting.</p></section>")
    toc = ['<a href="#claims-check">Claims</a>', '<a href="#robustness">Robustness</a>',
           *(['<a href="#manuscript">Manuscript</a>'] if manuscript else []), '<a href="#figures">Figures</a>',
           '<a href="#notebooks">Notebooks</a>', '<a href="#inventory">Inventory</a>']
    if excerpts is not None:
        toc.append('<a href="#excerpts">Excerpts</a>')
    crumbs = f'<nav class="toc">{"".join(toc)}</nav>\n'
    index = _page("Integrating: reproduction report", "\n".join(sections), css=f"{SITE}/style.css",
                  crumbs=crumbs, banner=failure_banner(last_run) + banner(origin))

    # Swap the new site in (the old one is moved aside first and removed only once the new one is in
    # place), then the landing page.
    site = reports_dir / SITE
    old = reports_dir / f".{SITE}.old"
    if old.exists():
        shutil.rmtree(old)
    if site.exists():
        site.rename(old)
    tmp.rename(site)
    if old.exists():
        shutil.rmtree(old)
    written = io.write_text(reports_dir / "index.html", index)
    write_manifest(reports_dir)
    return written


def write_manifest(reports_dir) -> Path:
    """List the landing page and every page of the site with its SHA-256, as a provenance record does."""
    reports_dir = Path(reports_dir)
    site = reports_dir / SITE
    files = [reports_dir / "index.html"] + sorted(p for p in site.rglob("*") if p.is_file() and p.name != MANIFEST)
    return provenance.write_manifest(site / MANIFEST, files)


def earlier_than(records: dict, last_run: dict | None) -> dict[str, str]:
    """After a failed run: each step whose record is older than that run -> when its record was made."""
    if not last_run or last_run.get("status") != "failed" or not last_run.get("started"):
        return {}
    return {name: str(rec.get("started", "?")) for name, rec in records.items()
            if str(rec.get("started", "")) < last_run["started"]}


def failure_banner(last_run: dict | None) -> str:
    if not last_run or last_run.get("status") != "failed":
        return ""
    steps = ", ".join(last_run.get("steps") or []) or "(before any step)"
    message = "\n".join(last_run.get("messages") or []) or "(no message; see reports/logs/run.log)"
    return ('<div class="failed-banner" role="alert" id="last-run-failed"><strong>The last run failed</strong> '
            f"at {esc(last_run.get('ended', '?'))} in step {esc(steps)}. Figures, tables and notebooks "
            "marked <em>from an earlier run</em> were not remade by it.<pre>" + esc(message) + "</pre></div>\n")


def run_summary(derived_dir: Path, skipped: list[dict]) -> str:
    """"What this run shows": a short paragraph generated from the derived tables, so it holds on any data."""
    said = []
    segments = _read_csv(derived_dir / "clinic_segments.csv")
    if segments is not None and "group" in segments.columns:
        n = segments["group"].value_counts()
        said.append(f"Of {len(segments)} clinics, {n.get('more', 0)} implemented more of their changes and "
                    f"{n.get('less', 0)} less.")
    comparison = _read_csv(derived_dir / "mechanism_comparison.csv")
    if comparison is not None and "verdict" in comparison.columns:
        strong = comparison.loc[comparison["verdict"].str.startswith("strongly"), "label"].tolist()
        said.append(f"{len(strong)} of the {len(comparison)} integrating mechanisms distinguished the clinics that "
                    "implemented more (Holm-adjusted p)" + (f": {', '.join(strong)}." if strong else "."))
    groups = _read_csv(derived_dir / "survey_group_change.csv")
    effects = _read_csv(derived_dir / "survey_effects.csv")
    if groups is not None and effects is not None and {"group", "mean_change"} <= set(groups.columns):
        change = dict(zip(groups["group"], pd.to_numeric(groups["mean_change"])))
        student = effects.loc[effects["analysis"].eq("student_t")]
        p = float(student["p_value"].iloc[0]) if len(student) else float("nan")
        words = {g: ("rose" if change.get(g, 0) > 0 else "fell" if change.get(g, 0) < 0 else "did not change")
                 for g in ("more", "less")}
        said.append(f"Patients' ratings {words['more']} by {abs(change.get('more', 0)):.2f} in the clinics that "
                    f"implemented more and {words['less']} by {abs(change.get('less', 0)):.2f} in the others "
                    f"(two-sided Student t-test of clinic change, p = {p:.3f}).")
    if skipped:
        said.append(f"{len({i['analysis'] for i in skipped})} analyses are not computable on these data (listed below).")
    if not said:
        return ""
    return ('<section id="summary"><h2>What this run shows</h2><p>' + esc(" ".join(said))
            + ' <span class="muted">(Generated from the derived tables of this run.)</span></p></section>')


def not_computable_section(items: list[dict]) -> str:
    """What these data cannot support, and why: one row per analysis and reason, with the steps it stopped."""
    if not items:
        return ""
    rows = {}
    for item in items:
        key = (item["analysis"], item["reason"])
        row = rows.setdefault(key, {"analysis": item["analysis"], "notebooks": [], "figures": [], "reason": item["reason"]})
        row["notebooks"] = sorted(set(row["notebooks"]) | {item["notebook"]})
        row["figures"] = sorted(set(row["figures"]) | {Path(f).name for f in item["figures"]})
    table = pd.DataFrame([{"analysis": r["analysis"], "notebook": ", ".join(r["notebooks"]),
                           "figures shown as a note": ", ".join(r["figures"]), "reason": r["reason"]}
                          for r in rows.values()])
    return ('<section id="not-computable"><h2>What these data cannot support</h2>\n<p>Each analysis below was '
            "not computed, for the reason given; its figures show the reason instead, and the claims that rest "
            "on it are <em>not checkable</em> (not passed).</p>\n"
            + html_table(table, table_id="not-computable-table") + "\n</section>")


def manuscript_section(reports_dir: Path, paper_dir: Path) -> str:
    """Links to the manuscript `make paper` wrote (HTML, DOCX, PDF), when it exists; else nothing."""
    if not (paper_dir / "manuscript.html").is_file():
        return ""
    links = []
    for fmt in ("html", "docx", "pdf"):
        path = paper_dir / f"manuscript.{fmt}"
        if path.is_file():
            rel = Path(os.path.relpath(path, reports_dir)).as_posix()
            links.append(f'<a href="{href(rel)}" id="manuscript-{fmt}">{fmt.upper()}</a>')
    return ('<section id="manuscript"><h2>Manuscript</h2>\n<p>Methods and Results built from this run\'s '
            "values (<code>make paper</code>): " + " · ".join(links) + ".</p></section>")


def figure_owner(owners: dict, fig: dict) -> str | None:
    """The notebook whose provenance record lists one of the figure's files, if any."""
    return next((owners[f"{fig['stem']}.{fmt}"] for fmt in fig["files"] if f"{fig['stem']}.{fmt}" in owners), None)


def _intro(origin: dict) -> str:
    from .claims import load_claims

    paper = load_claims().paper
    doi = paper.get("doi")
    cite = esc(" ".join(str(paper.get("citation", "")).split()))
    doi_link = f' <a href="https://doi.org/{esc(doi)}">doi:{esc(doi)}</a>' if doi else ""
    study = []
    if origin.get("months"):
        study.append(f"{esc(origin['months'])} months from {esc(origin.get('start_date', ''))}")
    desc = markdown(origin["description"]) if origin.get("description") else ""
    return ('<section id="about"><p class="citation">Reproduction of ' + cite + doi_link + "</p>\n"
            + desc + (f"<p>Study period: {'; '.join(study)}.</p>" if study else "") + "</section>")


def _excerpts_section(excerpts: pd.DataFrame) -> str:
    cols = [c for c in EXCERPT_COLUMNS if c in excerpts.columns]
    parts = ['<section id="excerpts"><h2>Excerpts</h2>\n<p>Coded passages shown for each mechanism '
             "(shown because show_excerpts is true).</p>"]
    if "code" in excerpts.columns:
        for code in sorted(excerpts["code"].unique()):
            part = excerpts.loc[excerpts["code"].eq(code), [c for c in cols if c != "code"]]
            parts.append(f"<h3>{esc(code)}</h3>" + html_table(part, table_id=f"excerpts-{code}"))
    else:
        parts.append(html_table(excerpts[cols] if cols else excerpts, table_id="excerpts-table"))
    parts.append("</section>")
    return "\n".join(parts)


def remote_references(text: str) -> list[str]:
    """Tags of ``text`` that would load a script, style sheet, frame or image from the network."""
    return [m.group(0) for m in REMOTE_CHECK.finditer(text)]


# ----------------------------------------------------------------------------------------------
# Command line
