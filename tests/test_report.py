"""Report site: built from a small fake run (figures, executed notebook, provenance, derived tables)."""

from __future__ import annotations

import base64
import hashlib
import io as stdio
import json
import shutil
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import matplotlib.pyplot as plt
import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from integrating import cli, claims, io, notebook_html, plotting, report

EXCERPT_MARKER = "Zanzibar-excerpt-7781"
CLAIM_ROWS = [
    ("n_clinics", "Number of clinics", "16", "16", "0", "pass"),
    ("change_more", "Mean change, more", "+0.07", "+0.04", "0", "fail"),
    ("p_change", "p-value", "0.02", "0.02", "0", "pass"),
    ("grim_clinic_means", "GRIM <means> & n", "0", "0", "", "pass"),
]


def _png_bytes() -> bytes:
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, 1])
    buf = stdio.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    plt.close(fig)
    return buf.getvalue()


def make_workdir(root: Path, *, synthetic: bool | None = True, excerpts: bool = True) -> Path:
    """A fake run: figures (SVG+PNG+PDF, PNG only), an executed notebook, provenance and derived tables."""
    root.mkdir(parents=True, exist_ok=True)
    raw = root / "data" / "raw"
    raw.mkdir(parents=True)
    if synthetic is not None:
        (raw / "datapackage.json").write_text(json.dumps({"study": {
            "synthetic": synthetic, "months": 15, "start_date": "2014-01-01",
            "description": "A test study & its <description>."}}))
    derived = root / "data" / "derived"
    table = pd.DataFrame(CLAIM_ROWS, columns=claims.COLUMNS[:6])
    for col in claims.COLUMNS[6:]:
        table[col] = ""
    table.loc[1, "reason"] = "unrounded 0.04"
    table.loc[3, "kind"] = "consistency"
    io.write_table(table, derived / "claims_check.csv")
    io.write_table(pd.DataFrame({"check": ["primary", "median_rule"], "scenario": ["as configured", "median rule"],
                                 "n_more": [9, 8], "n_less": [7, 8], "estimate": [0.157, 0.097],
                                 "p_value": [0.024, 0.184], "value": [None, None],
                                 "detail": ["", "share >= median 0.55 <&>"]}), derived / "headline_robustness.csv")
    io.write_table(pd.DataFrame({"clinic_id": ["A1", "B2", "C3"], "n_documents": [3, 2, 1], "n_field_notes": [1, 1, 1],
                                 "n_meeting_minutes": [1, 1, 0], "n_interviews": [1, 0, 0]}), derived / "inventory.csv")
    if excerpts:
        io.write_table(pd.DataFrame({"code": ["sensemaking", "negotiating"], "clinic_id": ["A1", "B2"],
                                     "document_id": ["A1-FN01", "B2-IN01"], "segment_id": ["s1", "s2"],
                                     "excerpt": [f"{EXCERPT_MARKER} <b>bold?</b>", "We agreed & moved on."]}),
                       derived / "mechanism_excerpts.csv")

    figures = root / "figures"
    plotting.use_style()
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar(["more", "less"], [0.07, -0.08], color=[plotting.GROUP_COLORS["more"], plotting.GROUP_COLORS["less"]])
    plotting.label_synthetic(fig, True)
    io.save_figure(fig, figures / "survey_change", caption="Mean change by group (SYNTHETIC data).")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.scatter([1, 2, 3], [3, 1, 2])
    io.save_figure(fig, figures / "scatter plot", formats=("png",), caption="A PNG-only figure with a space.")
    plt.close(fig)
    (figures / "README.md").write_text("not a figure\n")

    nb = new_notebook(metadata={
        "kernelspec": {"name": "integrating", "display_name": "Python (integrating)", "language": "python"},
        "papermill": {"start_time": "2026-01-01T10:00:00", "end_time": "2026-01-01T10:00:03", "duration": 3.2,
                      "parameters": {"derived_dir": "data/derived", "show_excerpts": True}}})
    png = base64.b64encode(_png_bytes()).decode()
    nb.cells = [
        new_markdown_cell("# 04 · Demo notebook\n\nSome *text* with a [relative link](#Results) and math $x^2$."),
        new_code_cell("print('hello')", execution_count=1,
                      outputs=[new_output("stream", name="stdout", text="hello from the kernel\n")]),
        new_markdown_cell("## Results"),
        new_code_cell("df", execution_count=2, outputs=[new_output(
            "execute_result", execution_count=2,
            data={"text/plain": "table", "text/html": "<table class='dataframe'><tr><td>42</td></tr></table>"})]),
        new_code_cell("fig", execution_count=3, outputs=[new_output("display_data", data={"image/png": png,
                                                                                           "text/plain": "<Figure>"})]),
        new_code_cell("widget", execution_count=4, outputs=[new_output("display_data", data={
            "text/html": '<script src="https://cdn.example.org/lib.js"></script><p>remote script stripped</p>',
            "text/plain": "w"})]),
    ]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    (root / "reports" / "notebooks").mkdir(parents=True)
    nbformat.write(nb, root / "reports" / "notebooks" / "04_demo.ipynb")

    prov = root / "reports" / "provenance"
    prov.mkdir(parents=True)
    record = {"notebook": "04_demo", "parameters": {"derived_dir": "data/derived", "seed": 1},
              "inputs": [{"path": "data/raw/datapackage.json", "sha256": "ab" * 32}],
              "outputs": [{"path": f"figures/survey_change.{f}", "sha256": "cd" * 32} for f in ("svg", "pdf", "png")]
              + [{"path": "figures/scatter plot.png", "sha256": "ef" * 32}],
              "git_commit": "0" * 40, "versions": {"python": "3.11.7"}, "platform": "Linux",
              "started": "2026-01-01T10:00:00+00:00", "duration_s": 3.1, "command": "x"}
    (prov / "04_demo.json").write_text(json.dumps(record, indent=2))
    (prov / "00_validate.json").write_text(json.dumps({"notebook": "00_validate", "parameters": {"raw_dir": "data/raw"},
                                                       "inputs": [], "outputs": [], "started": "2026-01-01T09:59:00"}))
    return root


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if a.get(key) is not None:
                self.refs.append((tag, a[key]))


def parse(path: Path) -> Links:
    p = Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def pages(reports: Path) -> list[Path]:
    return [reports / "index.html", *sorted((reports / "site").rglob("*.html"))]


def tree_digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = make_workdir(tmp_path_factory.mktemp("run") / "w")
    report.build_site(root, show_excerpts=True)
    return root


def test_site_layout(built):
    reports = built / "reports"
    assert (reports / "index.html").is_file()
    for rel in ("site/style.css", "site/notebooks/04_demo.html", "site/provenance/04_demo.html",
                "site/provenance/04_demo.json", "site/provenance/00_validate.html", "site/figures/survey_change.svg",
                "site/figures/survey_change.pdf", "site/figures/scatter plot.png", "site/data/claims_check.csv",
                "site/data/inventory.csv"):
        assert (reports / rel).is_file(), rel
    assert not (reports / "site" / "figures" / "README.md").exists()
    assert not (reports / ".site.tmp").exists()


def test_every_relative_link_and_fragment_resolves(built):
    for page in pages(built / "reports"):
        parsed = parse(page)
        for tag, ref in parsed.refs:
            parts = urlsplit(ref)
            if parts.scheme in ("http", "https"):
                assert parts.netloc == "doi.org" and tag == "a", f"{page.name}: external {ref}"
                continue
            if parts.scheme == "data":  # embedded notebook outputs
                continue
            assert not parts.scheme, f"{page.name}: {ref}"
            if parts.path:
                target = (page.parent / unquote(parts.path)).resolve()
                assert target.is_file(), f"{page.name}: {ref} -> {target}"
            if parts.fragment and not parts.path:
                frag = unquote(parts.fragment)
                assert frag in parsed.ids or parts.fragment in parsed.ids, f"{page.name}: #{frag}"


def test_no_cdn_or_remote_resource(built):
    for page in pages(built / "reports"):
        text = page.read_text(encoding="utf-8")
        assert report.remote_references(text) == [], page
        assert not re.search(r"<script\b", text), page
        assert "cdn" not in text.lower(), page
    nb = (built / "reports/site/notebooks/04_demo.html").read_text(encoding="utf-8")
    assert "remote script stripped" in nb


def test_claims_table_rows_colours_and_counts(built):
    index = (built / "reports/index.html").read_text(encoding="utf-8")
    table = re.search(r'<table id="claims".*?</table>', index, re.S).group(0)
    rows = re.findall(r"<tr class=\"(pass|fail)\">", table)
    assert rows == [r[5] for r in CLAIM_ROWS[:3]]
    assert "3 pass</span>, <span class=\"fail\">1 fail" in index
    checks = re.search(r'<table id="consistency-checks".*?</table>', index, re.S).group(0)
    assert "GRIM &lt;means&gt; &amp; n" in checks and "what was compared" in checks  # escaped; shown as a check
    css = (built / "reports/site/style.css").read_text(encoding="utf-8")
    assert "tr.pass td.status" in css and "tr.fail td.status" in css


def test_every_figure_with_caption_and_its_notebook_and_provenance(built):
    index = (built / "reports/index.html").read_text(encoding="utf-8")
    fig = re.search(r'<figure class="figure" id="fig-survey_change">.*?</figure>', index, re.S).group(0)
    assert 'src="site/figures/survey_change.svg"' in fig
    assert "Mean change by group (SYNTHETIC data)." in fig
    assert 'href="site/notebooks/04_demo.html"' in fig and 'href="site/provenance/04_demo.html"' in fig
    png = re.search(r'<figure class="figure" id="fig-scatter plot">.*?</figure>', index, re.S).group(0)
    assert 'src="site/figures/scatter%20plot.png"' in png and "A PNG-only figure" in png


def test_notebook_page_shows_outputs_run_time_and_links(built):
    page = (built / "reports/site/notebooks/04_demo.html").read_text(encoding="utf-8")
    assert "hello from the kernel" in page and "<td>42</td>" in page
    assert "data:image/png;base64," in page
    assert "executed 2026-01-01T10:00:00" in page
    assert 'href="../provenance/04_demo.html"' in page and 'href="../../notebooks/04_demo.ipynb"' in page
    prov = (built / "reports/site/provenance/04_demo.html").read_text(encoding="utf-8")
    assert "figures/survey_change.svg" in prov and "0" * 40 in prov and 'href="../notebooks/04_demo.html"' in prov


def test_inventory_and_synthetic_label(built):
    index = (built / "reports/index.html").read_text(encoding="utf-8")
    inv = re.search(r'<table id="inventory-table">.*?</table>', index, re.S).group(0)
    assert inv.count("<tr>") == 4 and '<td class="num">3</td>' in inv
    for page in pages(built / "reports"):
        assert 'class="synthetic-banner"' in page.read_text(encoding="utf-8"), page
    assert "A test study &amp; its &lt;description&gt;." in index


def test_excerpts_only_when_allowed(tmp_path, built):
    index = (built / "reports/index.html").read_text(encoding="utf-8")
    assert EXCERPT_MARKER in index and "&lt;b&gt;bold?&lt;/b&gt;" in index and 'id="excerpts"' in index
    root = make_workdir(tmp_path / "w")
    report.build_site(root, show_excerpts=False)
    for path in (root / "reports").rglob("*"):
        if path.is_file() and path.suffix in (".html", ".csv", ".css"):
            assert EXCERPT_MARKER not in path.read_text(encoding="utf-8"), path
    assert 'id="excerpts"' not in (root / "reports/index.html").read_text(encoding="utf-8")


def test_two_builds_are_byte_identical_and_stale_files_go(tmp_path):
    root = make_workdir(tmp_path / "w")
    report.build_site(root, show_excerpts=True)
    first = tree_digest(root / "reports")
    (root / "reports/site/figures/old_figure.png").write_bytes(b"stale")
    report.build_site(root, show_excerpts=True)
    assert tree_digest(root / "reports") == first


# ----------------------------------------------------------------------------------------------
# Incremental builds: notebooks rendered only when changed, the result byte-identical to a clean build


def site_digest(reports: Path) -> dict[str, str]:
    """SHA-256 of the landing page and of every file of the site (not of the cache)."""
    return {"index.html": hashlib.sha256((reports / "index.html").read_bytes()).hexdigest(),
            **{f"site/{k}": v for k, v in tree_digest(reports / "site").items()}}


def clean_build(root: Path, **kw) -> dict[str, str]:
    """Remove the site, the landing page and the cache, build again and return the site's digest."""
    reports = root / "reports"
    for folder in (reports / "site", reports / notebook_html.CACHE):
        shutil.rmtree(folder, ignore_errors=True)
    (reports / "index.html").unlink(missing_ok=True)
    report.build_site(root, **kw)
    return site_digest(reports)


def set_output(path: Path, text: str) -> None:
    """Change the printed output of the notebook's first code cell."""
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].outputs[0].text = text
    nbformat.write(nb, path)


@pytest.fixture
def renders(monkeypatch):
    """Names of the notebooks rendered while the test runs (notebook_html.render_notebook wrapped)."""
    done = []
    render = notebook_html.render_notebook

    def counting(path, **kw):
        done.append(Path(path).stem)
        return render(path, **kw)

    monkeypatch.setattr(notebook_html, "render_notebook", counting)
    return done


@pytest.fixture
def two_notebooks(tmp_path):
    """The fake run with a second executed notebook (other output, no provenance record)."""
    root = make_workdir(tmp_path / "w")
    shutil.copyfile(root / "reports/notebooks/04_demo.ipynb", root / "reports/notebooks/03_other.ipynb")
    set_output(root / "reports/notebooks/03_other.ipynb", "output of the other notebook\n")
    return root


def test_an_incremental_build_after_one_notebook_changed_equals_a_clean_build(two_notebooks, renders):
    root, reports = two_notebooks, two_notebooks / "reports"
    report.build_site(root, show_excerpts=True)
    assert sorted(renders) == ["03_other", "04_demo"]
    assert "hello from the kernel" in (reports / "site/notebooks/04_demo.html").read_text(encoding="utf-8")
    set_output(reports / "notebooks/04_demo.ipynb", "a changed output\n")
    renders.clear()
    report.build_site(root, show_excerpts=True)
    assert renders == ["04_demo"]  # the other notebook's body came from the cache
    page = (reports / "site/notebooks/04_demo.html").read_text(encoding="utf-8")
    assert "a changed output" in page and "hello from the kernel" not in page
    incremental = site_digest(reports)
    renders.clear()
    assert clean_build(root, show_excerpts=True) == incremental
    assert sorted(renders) == ["03_other", "04_demo"]


def test_pages_prerendered_by_the_notebook_steps_are_not_rendered_again(two_notebooks, renders):
    root, reports = two_notebooks, two_notebooks / "reports"
    cache = reports / notebook_html.CACHE / "notebooks"
    for name in ("03_other", "04_demo"):
        notebook_html.prerender(reports / "notebooks" / f"{name}.ipynb", cache)
    notebook_html.prerender(reports / "notebooks/04_demo.ipynb", cache)  # already there: not rendered twice
    assert sorted(renders) == ["03_other", "04_demo"]
    renders.clear()
    report.build_site(root, show_excerpts=True)
    assert renders == []
    assert site_digest(reports) == clean_build(root, show_excerpts=True)


def test_a_page_still_being_prerendered_is_waited_for_not_rendered_again(two_notebooks, renders):
    """A notebook step served by the warm-kernel server renders its page after its job ended."""
    import subprocess
    import sys

    root, reports = two_notebooks, two_notebooks / "reports"
    cache = reports / notebook_html.CACHE / "notebooks"
    script = ("import sys, time\nfrom integrating import notebook_html\n"
              "def held():\n    print('held', flush=True)\n    time.sleep(1.5)\n"
              "notebook_html.prerender(sys.argv[1], sys.argv[2], detach=held)\n")
    background = subprocess.Popen([sys.executable, "-c", script, str(reports / "notebooks/04_demo.ipynb"), str(cache)],
                                  stdout=subprocess.PIPE, text=True)
    assert background.stdout.readline().strip() == "held"
    report.build_site(root, show_excerpts=True)
    assert background.wait(timeout=30) == 0
    assert renders == ["03_other"]  # 04_demo's body came from the background render
    assert site_digest(reports) == clean_build(root, show_excerpts=True)


def test_what_surrounds_a_cached_notebook_is_written_afresh(two_notebooks, renders):
    """The banner (study origin) and the link to the provenance record are not cached with the body."""
    root, reports = two_notebooks, two_notebooks / "reports"
    report.build_site(root)
    assert 'class="synthetic-banner"' in (reports / "site/notebooks/04_demo.html").read_text(encoding="utf-8")
    descriptor = root / "data/raw/datapackage.json"
    descriptor.write_text(descriptor.read_text().replace('"synthetic": true', '"synthetic": false'))
    (reports / "provenance/04_demo.json").unlink()
    renders.clear()
    report.build_site(root)
    assert renders == []
    page = (reports / "site/notebooks/04_demo.html").read_text(encoding="utf-8")
    assert 'class="synthetic-banner"' not in page and "provenance record</a>" not in page
    assert "hello from the kernel" in page
    incremental = site_digest(reports)
    assert clean_build(root) == incremental


def test_an_unchanged_rebuild_renders_no_notebook_and_imports_no_nbconvert(two_notebooks, renders):
    root, reports = two_notebooks, two_notebooks / "reports"
    report.build_site(root, show_excerpts=True)
    first = site_digest(reports)
    renders.clear()
    report.build_site(root, show_excerpts=True)
    assert renders == [] and site_digest(reports) == first
    script = ("import sys; from integrating import report; report.build_site(sys.argv[1], True); "
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nbconvert', 'nbformat')))")
    out = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert site_digest(reports) == first
    # a notebook gone: its page and its cache entry go too
    (reports / "notebooks/03_other.ipynb").unlink()
    report.build_site(root, show_excerpts=True)
    assert renders == [] and not (reports / "site/notebooks/03_other.html").exists()
    assert sorted(p.name for p in (reports / notebook_html.CACHE / "notebooks").iterdir()) == [
        ".04_demo.lock", "04_demo.json"]  # the entry and its lock (notebook_html.entry_lock)


def _truncate(entry: Path):
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])


def _garbage(entry: Path):
    entry.write_bytes(b"\x00\xff not json")


def _edit_body(entry: Path):  # still valid JSON, but no longer what its digest says
    data = json.loads(entry.read_text(encoding="utf-8"))
    data["body"] = data["body"].replace("hello from the kernel", "an edited body")
    entry.write_text(json.dumps(data), encoding="utf-8")


def _wrong_shape(entry: Path):
    entry.write_text(json.dumps(["key", "body"]), encoding="utf-8")


def _folder(entry: Path):
    entry.unlink()
    (entry / "x").mkdir(parents=True)


def _cache_is_a_file(entry: Path):
    shutil.rmtree(entry.parent)
    entry.parent.write_text("not a folder")


@pytest.mark.parametrize("corrupt", [_truncate, _garbage, _edit_body, _wrong_shape, _folder, _cache_is_a_file])
def test_a_corrupt_cache_entry_is_rendered_again(two_notebooks, renders, corrupt):
    root, reports = two_notebooks, two_notebooks / "reports"
    report.build_site(root)
    first = site_digest(reports)
    entry = reports / notebook_html.CACHE / "notebooks/04_demo.json"
    corrupt(entry)
    renders.clear()
    report.build_site(root)
    assert "04_demo" in renders
    assert site_digest(reports) == first
    key = notebook_html.render_key()
    sha = hashlib.sha256((reports / "notebooks/04_demo.ipynb").read_bytes()).hexdigest()
    assert notebook_html.cached_render(entry, key, sha) is not None  # the entry was written again
    renders.clear()
    report.build_site(root)
    assert renders == []


def test_another_renderer_renders_again(two_notebooks, renders, monkeypatch):
    """An entry made with another key (another nbconvert, another version of this module) is not used."""
    root, reports = two_notebooks, two_notebooks / "reports"
    report.build_site(root)
    first = site_digest(reports)
    monkeypatch.setattr(notebook_html, "RENDER_PACKAGES", notebook_html.RENDER_PACKAGES + ("packaging",))
    renders.clear()
    report.build_site(root)
    assert sorted(renders) == ["03_other", "04_demo"] and site_digest(reports) == first


def test_one_exporter_validating_once_renders_as_a_fresh_default_one(two_notebooks):
    from nbconvert import HTMLExporter

    paths = sorted((two_notebooks / "reports/notebooks").glob("*.ipynb"))
    shared = notebook_html.notebook_exporter()
    assert shared.optimistic_validation is True
    for path in paths:
        default = HTMLExporter(template_name="basic")
        default.exclude_input_prompt = False
        assert notebook_html.render_notebook(path, exporter=shared) == notebook_html.render_notebook(path, exporter=default)


@pytest.mark.parametrize("synthetic, expected", [(False, None), (None, "Origin of the data unknown")])
def test_real_or_unknown_data_are_labelled_as_such(tmp_path, synthetic, expected):
    root = make_workdir(tmp_path / "w", synthetic=synthetic, excerpts=False)
    index = report.build_site(root).read_text(encoding="utf-8")
    assert 'class="synthetic-banner"' not in index
    if expected:
        assert expected in index
    assert report.CALIBRATION_NOTE not in index  # said of the calibrated synthetic study only


def test_calibration_note_beside_the_claims_and_the_robustness_table(built):
    index = (built / "reports" / "index.html").read_text(encoding="utf-8")
    claims_part = index[index.index('<section id="claims-check">'):index.index('<table id="claims"')]
    assert report.esc(report.CALIBRATION_NOTE) in claims_part
    assert "calibrated until its summary matched the published numbers" in claims_part
    robustness = index[index.index('<section id="robustness">'):]
    robustness = robustness[:robustness.index("</section>")]
    assert "median rule" in robustness and "share &gt;= median 0.55 &lt;&amp;&gt;" in robustness
    assert (built / "reports" / "site" / "data" / "headline_robustness.csv").is_file()


def test_an_empty_run_builds_a_site_with_notices(tmp_path):
    index = report.build_site(tmp_path).read_text(encoding="utf-8")
    assert "No claims check found" in index and "No figure found." in index and "No inventory found" in index
    assert "No robustness table found" in index
    assert "No executed notebook or provenance record found." in index


def test_cli_build_site(tmp_path, capsys):
    root = make_workdir(tmp_path / "w")
    parser = cli.build_parser()
    args = parser.parse_args(["build-site", "--workdir", str(root)])
    assert args.show_excerpts is False and args.raw_dir == Path("data/raw")
    assert args.func(args) == 0
    assert EXCERPT_MARKER not in (root / "reports/index.html").read_text(encoding="utf-8")
    args = parser.parse_args(["build-site", "--workdir", str(root), "--show-excerpts", "--raw-dir", str(tmp_path / "none")])
    assert args.func(args) == 0
    index = (root / "reports/index.html").read_text(encoding="utf-8")
    assert EXCERPT_MARKER in index and "Origin of the data unknown" in index
    assert "report site:" in capsys.readouterr().out


def test_figures_come_in_the_study_order_with_their_numbers_and_titles(tmp_path):
    root = make_workdir(tmp_path / "w")
    figures = root / "figures"
    for stem in ("implementation_trajectories", "inventory", "survey_forest"):
        shutil.copyfile(figures / "survey_change.svg", figures / f"{stem}.svg")
        (figures / f"{stem}.txt").write_text(f"Caption of {stem}.")
    index = report.build_site(root).read_text(encoding="utf-8")
    order = re.findall(r'<figure class="figure" id="fig-([^"]+)">', index)
    assert order == ["inventory", "implementation_trajectories", "survey_forest", "scatter plot", "survey_change"]
    assert "Figure 1. Implementation over the study and the clinics in case order</strong>" in index
    assert re.search(r"Figure S\d+\. Documents per clinic by source</strong>", index)
    assert 'href="#zoom-inventory"' in index and 'id="zoom-inventory"' in index  # click to enlarge


def test_the_study_description_is_rendered_as_markdown_and_escaped(tmp_path):
    root = make_workdir(tmp_path / "w")
    descriptor = root / "data/raw/datapackage.json"
    data = json.loads(descriptor.read_text())
    data["study"]["description"] = "Made by `integrating synth` <script>alert(1)</script>."
    descriptor.write_text(json.dumps(data))
    index = report.build_site(root).read_text(encoding="utf-8")
    assert "<code>integrating synth</code>" in index and "<script>alert" not in index
