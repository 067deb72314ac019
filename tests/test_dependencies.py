"""Each rule's code inputs and parameters come from its notebook; they cannot drift from it."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

import pytest
import yaml

from integrating import config, dependencies, paths

NOTEBOOKS = sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def write_notebook(path, cells):
    nb = {"cells": [{"cell_type": "code", "metadata": {"tags": tags}, "source": src, "outputs": [],
                     "execution_count": None} for src, tags in cells],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_imports_are_followed_through_the_package(tmp_path):
    nb = write_notebook(tmp_path / "n.ipynb", [
        ("seed = 1\nraw_dir = 'x'", ["parameters"]),
        ("import pandas as pd\nfrom integrating import evidenced_model\nfrom integrating.derived import read_derived", []),
    ])
    modules = dependencies.notebook_modules(nb)
    # evidenced_model -> diagram -> figure_text, conceptual_model; derived -> contract -> errors
    assert {"evidenced_model", "derived", "diagram", "figure_text", "conceptual_model", "contract", "errors"} <= set(modules)
    assert "survey" not in modules and "pd" not in modules
    assert dependencies.notebook_parameters(nb) == ["seed", "raw_dir"]


@pytest.fixture
def kept_scans(tmp_path, monkeypatch):
    """Scans kept in a file of this test's own (the module's state restored afterwards)."""
    monkeypatch.setattr(dependencies, "_scans", {})
    monkeypatch.setattr(dependencies, "_scans_file", None)
    monkeypatch.setattr(dependencies, "_scans_changed", False)
    dependencies.keep_scans(tmp_path / "scans.json")
    return tmp_path / "scans.json"


def test_a_kept_scan_is_used_until_its_file_changes(tmp_path, kept_scans, monkeypatch):
    nb = write_notebook(tmp_path / "n.ipynb", [("from integrating import derived", [])])
    assert "derived" in dependencies.notebook_modules(nb)
    dependencies.save_scans()
    dependencies.keep_scans(kept_scans)  # the next run
    parse = dependencies.ast.parse
    monkeypatch.setattr(dependencies.ast, "parse", lambda *a, **k: pytest.fail("parsed again"))
    assert "derived" in dependencies.notebook_modules(nb)  # from the kept scan
    monkeypatch.setattr(dependencies.ast, "parse", parse)
    write_notebook(nb, [("from integrating import survey", [])])  # edited: another size
    modules = dependencies.notebook_modules(nb)
    assert "survey" in modules and "derived" not in modules


def test_a_damaged_scans_file_is_ignored(tmp_path, kept_scans):
    kept_scans.write_text("{not json")
    dependencies.keep_scans(kept_scans)
    nb = write_notebook(tmp_path / "n.ipynb", [("from integrating import derived", [])])
    assert "derived" in dependencies.notebook_modules(nb)
    dependencies.save_scans()
    assert str(nb.resolve()) in json.loads(kept_scans.read_text())


def test_subpackages_and_relative_imports():
    modules = dependencies.closure(["qda.importer"])
    assert {"qda", "qda.importer", "errors"} <= set(modules)
    with pytest.raises(KeyError, match="no module 'nothing'"):
        dependencies.closure(["nothing"])


def test_the_command_dispatcher_is_followed_at_module_level_only():
    # cli imports every command lazily; a rule that runs `integrating validate` does not depend on the report.
    assert "report" not in dependencies.closure(["cli", "validate"])


def dry_run():
    """Every job of the study with its inputs and shell command, from a forced dry run of Snakemake."""
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-F", "-p", "--cores", "1"], cwd=paths.ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = {}
    for block in re.split(r"\n(?=rule \w+:)", proc.stdout):
        name = re.match(r"rule (\w+):", block)
        inputs = re.search(r"^\s+input: (.*)$", block, re.M)
        if name and inputs:
            shell = [line.strip() for line in block.splitlines() if "integrating.cli run-notebook" in line]
            jobs[name.group(1)] = {"inputs": inputs.group(1).split(", "), "shell": shell[0] if shell else ""}
    return jobs


@pytest.fixture(scope="module")
def jobs():
    return dry_run()


def test_each_rule_declares_every_module_its_notebook_reaches(jobs):
    checked = 0
    for job in jobs.values():
        notebooks = [p for p in job["inputs"] if p.endswith(".ipynb")]
        if not notebooks:
            continue
        needed = dependencies.module_files(dependencies.notebook_modules(paths.ROOT / notebooks[0]), root=paths.ROOT)
        missing = sorted(set(needed) - set(job["inputs"]))
        assert not missing, f"{notebooks[0]}: its rule misses {missing}"
        checked += 1
    assert checked == len(NOTEBOOKS)


def test_how_a_notebook_is_run_is_not_an_input_of_its_results(jobs):
    # The runner is; how it starts the kernel, renders the page or reports is not (no result changes).
    for job in jobs.values():
        if any(p.endswith(".ipynb") for p in job["inputs"]):
            assert "src/integrating/runner.py" in job["inputs"]
            assert not {f"src/integrating/{m}.py" for m in ("kernels", "report", "runlog", "cli")} & set(job["inputs"])


def test_notebook_steps_render_their_pages_into_the_cache_the_site_reads(jobs):
    from integrating import notebook_html

    shells = [job["shell"] for job in jobs.values() if job["shell"]]
    assert shells and all(f"--site-cache reports/{notebook_html.CACHE}/notebooks" in s for s in shells)


def test_command_rules_declare_their_modules(jobs):
    assert "src/integrating/validate.py" in jobs["validate"]["inputs"]
    assert {"src/integrating/report.py", "src/integrating/claims.py"} <= set(jobs["report_site"]["inputs"])


def test_rules_pass_each_notebook_parameter_from_the_config(jobs):
    cfg = config.load()
    for job in jobs.values():
        if not job["shell"]:
            continue
        words = shlex.split(job["shell"])
        notebook = paths.ROOT / next(w for w in words if w.endswith(".ipynb"))
        passed = json.loads(next(w for w in words if w.startswith("{")))
        declared = dependencies.notebook_parameters(notebook)
        assert set(passed) == set(declared), notebook.name
        for key in declared:
            if key in cfg and key != "model_file":  # the model file is resolved from the repository root
                expected = cfg[key]
                if key == "show_excerpts":  # `auto` is decided from the data: the bundled study is synthetic
                    expected = config.excerpts_shown(expected, True)[0]
                assert passed[key] == expected, f"{notebook.name}: {key}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_agrees_with_schema_and_config(notebook):
    schema = config.load_schema()["properties"]
    cfg = yaml.safe_load(paths.CONFIG.read_text(encoding="utf-8"))
    namespace = dependencies.parameters_cell(notebook)
    for key in dependencies.notebook_parameters(notebook):
        if key in dependencies.FOLDER_PARAMETERS:
            continue
        assert key in schema, f"{notebook.name}: parameter '{key}' is not declared in the config schema"
        assert namespace[key] == cfg[key], f"{notebook.name}: '{key}' is {namespace[key]!r}, config.yaml says {cfg[key]!r}"


def test_config_file_and_schema_declare_the_same_keys():
    schema = config.load_schema()["properties"]
    cfg = yaml.safe_load(paths.CONFIG.read_text(encoding="utf-8"))
    assert set(cfg) == set(schema)
    config.check(cfg)
