"""The report site in a real headless browser: Debian's chromium driven by Playwright (no download).

Every page of a site built from a small fake run must load from file:// without console errors,
page errors or failed requests; every image must have loaded; every link must resolve; and the
claims table must show one row per row of claims_check.csv. Without /usr/bin/chromium the test is
skipped with the way to install it (`make system-deps`), except on CI (CI=true), where it fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd
import pytest

from integrating import report

from test_report import make_workdir

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ALLOWED_EXTERNAL = {"doi.org"}  # the paper's DOI link: listed, never followed


def _unavailable(reason: str):
    message = (f"{reason}: the browser tests need Debian's chromium at {CHROMIUM} "
               "(install it with `make system-deps`, which `make test` and .ci/run do first)")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI=true, so a missing browser is an error, not a skip")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} not found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip extra 'test')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = make_workdir(tmp_path_factory.mktemp("browser") / "w")
    report.build_site(root, show_excerpts=True)
    return root


def _pages(reports: Path) -> list[Path]:
    return [reports / "index.html", *sorted((reports / "site").rglob("*.html"))]


def _visit(browser, page_path: Path) -> dict:
    """Open one page; return its console errors, failed requests, images and links."""
    context = browser.new_context(offline=True)
    page = context.new_page()
    errors, failed = [], []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
    response = page.goto(page_path.as_uri(), wait_until="load")
    page.wait_for_load_state("networkidle")
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => ({src: e.getAttribute('src'), complete: e.complete, width: e.naturalWidth}))")
    links = page.eval_on_selector_all("a[href]", "els => els.map(e => ({href: e.getAttribute('href'), url: e.href}))")
    ids = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
    claims_rows = page.locator("table.claims tbody tr").count()
    status_cells = page.eval_on_selector_all(
        "table.claims tbody tr", "rows => rows.map(r => [r.className, getComputedStyle(r.querySelector('td.status')).backgroundColor])")
    title = page.title()
    context.close()
    return {"ok": response is None or response.ok, "errors": errors, "failed": failed, "images": images,
            "links": links, "ids": ids, "claims_rows": claims_rows, "status_cells": status_cells, "title": title}


@pytest.fixture(scope="module")
def visits(browser, site):
    return {p: _visit(browser, p) for p in _pages(site / "reports")}


def test_every_page_loads_without_console_errors(visits):
    assert len(visits) == 4  # index, the notebook, the records of the notebook and of validation
    for path, v in visits.items():
        assert v["ok"], path
        assert v["errors"] == [], (path, v["errors"])
        assert v["failed"] == [], (path, v["failed"])
        assert v["title"], path


def test_every_image_has_loaded(visits, site):
    index = visits[site / "reports" / "index.html"]
    assert len(index["images"]) == 4  # the SVG figure and the PNG-only figure, each with its enlarged view
    n = 0
    for path, v in visits.items():
        for img in v["images"]:
            assert img["complete"] and img["width"] > 0, (path, img["src"][:80])
            n += 1
    assert n >= 3  # plus the notebook's embedded PNG output


def test_every_link_resolves(visits):
    checked = 0
    for path, v in visits.items():
        for link in v["links"]:
            parts = urlsplit(link["url"])
            if parts.scheme in ("http", "https"):
                assert parts.netloc in ALLOWED_EXTERNAL, (path, link["href"])
                continue
            assert parts.scheme == "file", (path, link["href"])
            target = Path(unquote(parts.path))
            assert target.is_file(), (path, link["href"], target)
            if parts.fragment and target == path:
                frag = parts.fragment
                assert frag in v["ids"] or unquote(frag) in v["ids"], (path, link["href"])
            checked += 1
    assert checked > 20


def test_claims_table_shows_every_row_coloured(visits, site):
    expected = pd.read_csv(site / "data" / "derived" / "claims_check.csv", dtype=str, keep_default_na=False)
    index = visits[site / "reports" / "index.html"]
    assert index["claims_rows"] == len(expected)
    classes = [c for c, _ in index["status_cells"]]
    assert classes == expected["status"].tolist()
    colours = {c: bg for c, bg in index["status_cells"]}
    assert colours["pass"] != colours["fail"] and "rgba(0, 0, 0, 0)" not in colours.values()


def test_site_works_when_the_reports_folder_is_moved(browser, site, tmp_path):
    moved = tmp_path / "elsewhere"
    shutil.copytree(site / "reports", moved)
    v = _visit(browser, moved / "index.html")
    assert v["errors"] == [] and v["failed"] == []
    assert all(img["width"] > 0 for img in v["images"])
    for link in v["links"]:
        parts = urlsplit(link["url"])
        if parts.scheme == "file":
            assert Path(unquote(parts.path)).is_file(), link["href"]


def test_the_checks_do_catch_a_broken_page(browser, tmp_path):
    """The harness itself: a script error, a missing image and a dangling link are all seen."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><head><title>b</title></head><body><img src="missing.png" alt="x">'
                    '<a href="nowhere.html">x</a><script>throw new Error("boom")</script></body></html>')
    v = _visit(browser, page)
    assert any("boom" in e for e in v["errors"])
    assert v["images"][0]["width"] == 0
    assert v["failed"] and "missing.png" in v["failed"][0]
    assert not Path(unquote(urlsplit(v["links"][0]["url"]).path)).is_file()


def test_a_click_on_a_figure_opens_it_enlarged_and_a_second_click_closes_it(browser, site):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto((site / "reports" / "index.html").as_uri())
    figure = page.locator("figure.figure").first
    stem = figure.get_attribute("id").removeprefix("fig-")
    zoom = page.locator(f"a.zoom[id='zoom-{stem}']")
    assert not zoom.is_visible()
    small = figure.locator("a.enlarge img").bounding_box()["width"]
    figure.locator("a.enlarge").click()
    assert zoom.is_visible()
    assert zoom.locator("img").bounding_box()["width"] > small
    zoom.click()
    assert not zoom.is_visible()
    page.close()
