"""Executed notebooks as HTML for the report site, and the cache that keeps them between builds.

Rendering the notebooks is most of a site build's time, so each notebook's rendered body is kept in
``reports/.site-cache/notebooks/`` (hidden, not part of the site) under the SHA-256 of the executed
notebook and a key of what renders it (:func:`render_key`: this module's code, the Python and
nbconvert stack versions). A build re-renders only the notebooks whose entry is missing, unreadable or
made from other bytes or another key; :mod:`integrating.report` writes the pages around the bodies
afresh each time, so an incremental build is byte-identical to a build from scratch. nbconvert is
imported only when a notebook has to be rendered. The pipeline's notebook steps put their page into
the cache as they end (:func:`prerender`; served by the run's warm-kernel server, after their job has
ended), and the site step waits for a render under way (a lock per entry), so it finds every page
rendered.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

from . import io

#: Tags that load something from another host (removed from rendered notebooks: the site is offline).
REMOTE_TAG = re.compile(
    r"<(script|link|iframe|img)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//[^>]*>(?:\s*</\1>)?",
    re.IGNORECASE,
)


def notebook_exporter():
    """nbconvert's HTML exporter with the ``basic`` template, validating the notebook once.

    By default nbconvert validates the notebook against its schema after each of its dozen
    preprocessors, most of them disabled, about a third of a render's time; ``optimistic_validation``
    (an option of nbconvert's exporters) validates once, after the last. One exporter renders every
    notebook of a build, as ``jupyter nbconvert`` does, so its templates are compiled once.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", optimistic_validation=True)
    exporter.exclude_input_prompt = False
    return exporter


def render_notebook(path, *, source: bytes | None = None, exporter=None) -> tuple[str, dict]:
    """(HTML body, papermill metadata) of an executed notebook: nbconvert ``basic``, remote tags removed.

    ``source``: the notebook's bytes when already read (else read from ``path``); ``exporter``: one
    from :func:`notebook_exporter` to reuse (else a new one).
    """
    # nbformat validates each notebook it reads and nbconvert once more after rendering it
    # (notebook_exporter); nbformat's default validator compiles its schema every time, the jsonschema
    # one does not.
    os.environ.setdefault("NBFORMAT_VALIDATOR", "jsonschema")
    import nbformat

    if source is None:
        source = Path(path).read_bytes()
    nb = nbformat.reads(source.decode("utf-8"), as_version=4)
    body, _ = (notebook_exporter() if exporter is None else exporter).from_notebook_node(nb)
    body = REMOTE_TAG.sub("", body)
    # Through JSON, as the cache stores it, so a fresh and a cached render are the same values.
    return body, json.loads(json.dumps(dict(nb.metadata.get("papermill", {}) or {})))


#: The cache of rendered notebook bodies, inside the reports folder (hidden; not part of the site).
CACHE = ".site-cache"
#: The layout of a cache entry (a new layout makes every old entry a miss).
CACHE_FORMAT = 1
#: Packages whose version can change what a notebook renders to (nbconvert and what it renders with).
RENDER_PACKAGES = ("nbconvert", "nbformat", "jinja2", "markupsafe", "mistune", "pygments", "beautifulsoup4")


def render_key() -> str:
    """SHA-256 of what a rendered body depends on besides the notebook: the cache format, this module's
    code (the exporter's options, :data:`REMOTE_TAG`), the Python version and :data:`RENDER_PACKAGES`'
    versions. Templates installed in Jupyter's data folders to override nbconvert's own are not
    covered: delete ``reports/.site-cache`` after adding one."""
    from importlib import metadata

    versions = {}
    for name in RENDER_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    what = {"format": CACHE_FORMAT, "code": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
            "python": platform.python_version(), "packages": versions}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode("utf-8")).hexdigest()


def _entry_digest(fields: dict) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def exporter_in_background():
    """Make an exporter, and compile its templates by rendering a small notebook, in a thread; returns a
    function that waits for it and gives it (None if making it failed). A notebook step calls this as
    its notebook starts, so that the page is rendered without that wait once the notebook has run."""
    import threading

    made = []

    def make():
        import nbformat

        try:
            exporter = notebook_exporter()
            sample = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("*a*"),
                                                     nbformat.v4.new_code_cell("1", execution_count=1)])
            exporter.from_notebook_node(sample)
            made.append(exporter)
        except Exception:  # the page is then rendered with an exporter made at that point
            pass

    thread = threading.Thread(target=make, name="exporter", daemon=True)
    thread.start()

    def ready():
        thread.join()
        return made[0] if made else None

    return ready


def cached_render(entry: Path, key: str, notebook_sha256: str) -> tuple[str, dict] | None:
    """The body and metadata kept in ``entry`` if it was rendered from these bytes with this key;
    None when it is missing, unreadable, altered (its own digest no longer matches) or from other bytes."""
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
        fields = {k: data[k] for k in ("key", "notebook_sha256", "body", "meta")}
        intact = data["check"] == _entry_digest(fields)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if (not intact or fields["key"] != key or fields["notebook_sha256"] != notebook_sha256
            or not isinstance(fields["body"], str) or not isinstance(fields["meta"], dict)):
        return None
    return fields["body"], fields["meta"]


def store_render(entry: Path, key: str, notebook_sha256: str, body: str, meta: dict) -> None:
    """Keep a rendered notebook in ``entry`` (written atomically, with a digest of its fields)."""
    fields = {"key": key, "notebook_sha256": notebook_sha256, "body": body, "meta": meta}
    if entry.is_dir():  # not ours: an entry's place taken by a folder
        shutil.rmtree(entry)
    io.write_text(entry, json.dumps({**fields, "check": _entry_digest(fields)}, sort_keys=True, ensure_ascii=False))


def _rendered(path: Path, cache: Path, key: str, exporter=None, detach=None) -> tuple[tuple[str, dict], object]:
    """(body, metadata) of the executed notebook ``path`` from ``cache``, rendered (and kept there)
    when the cache has no entry for its current bytes; and the exporter, made only if one was needed.
    A render of the same notebook under way in another process (:func:`prerender`) is waited for;
    ``detach`` is called once the entry is held."""
    with entry_lock(cache, path.stem):
        if detach is not None:
            detach()
        source = path.read_bytes()  # hashed and rendered from the same bytes, read once
        digest = hashlib.sha256(source).hexdigest()
        entry = cache / f"{path.stem}.json"
        hit = cached_render(entry, key, digest)
        if hit is None:
            exporter = exporter or notebook_exporter()
            hit = render_notebook(path, source=source, exporter=exporter)
            store_render(entry, key, digest, *hit)
        return hit, exporter


@contextmanager
def entry_lock(cache: Path, name: str):
    """Hold notebook ``name``'s cache entry in this process (an advisory lock on a hidden file beside it,
    released when the process ends, however it ends)."""
    try:
        import fcntl
    except ImportError:  # no POSIX locks: then no background renders either (they need os.fork)
        yield
        return
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f".{name}.lock", "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def render_notebooks(executed_dir: Path, names: list[str], cache: Path) -> dict[str, tuple[str, dict]]:
    """name -> (body, metadata) of each executed notebook, rendered only when ``cache`` has no entry
    for its current bytes; entries of notebooks no longer there are removed."""
    if cache.exists() and not cache.is_dir():  # not ours: the cache's place taken by a file
        cache.unlink()
    key, exporter, out = render_key() if names else None, None, {}
    for name in names:
        out[name], exporter = _rendered(executed_dir / f"{name}.ipynb", cache, key, exporter)
    if cache.is_dir():
        for stale in cache.iterdir():
            name = stale.stem.removeprefix(".") if stale.suffix == ".lock" else stale.stem
            if stale.suffix in (".json", ".lock") and name not in out and stale.is_file():
                stale.unlink()
    return out


def prerender(executed, cache, *, detach=None, exporter=None) -> None:
    """Render the executed notebook ``executed`` into ``cache`` now, unless it holds that render already
    (the pipeline's notebook steps do this as they end, in parallel; the site step then finds it).

    ``detach`` is called once the entry is held, before rendering: the pipeline's notebook step ends its
    job there (:func:`integrating.kernels.release`) and renders in the background, and the site step
    waits for the entry instead of rendering it again. ``exporter``: one from :func:`notebook_exporter`
    to use (else one is made if the page has to be rendered)."""
    _rendered(Path(executed), Path(cache), render_key(), exporter, detach)
