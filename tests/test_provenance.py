"""Provenance records: hashes of inputs and outputs, the code's git state, and the command that reruns a notebook."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from integrating import paths, provenance


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A small git repository standing in for the compendium."""
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "a@example.org")
    git("config", "user.name", "A")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", "code.py")
    git("commit", "-qm", "first")
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    provenance.git_commit.cache_clear()
    provenance.git_state.cache_clear()
    yield tmp_path
    provenance.git_commit.cache_clear()
    provenance.git_state.cache_clear()


def test_a_clean_tree_is_not_dirty(repo):
    state = provenance.git_state()
    assert len(state["commit"]) == 40 and state["dirty"] is False and state["diff_sha256"] is None


def test_an_edit_of_a_tracked_file_makes_the_tree_dirty_with_the_hash_of_the_diff(repo):
    (repo / "code.py").write_text("x = 2\n")
    state = provenance.git_state()
    diff = subprocess.run(["git", "diff", "HEAD", "--binary", "--no-color", "--no-ext-diff"], cwd=repo,
                          capture_output=True, check=True).stdout
    assert state["dirty"] is True and state["diff_sha256"] == hashlib.sha256(diff).hexdigest()
    provenance.git_state.cache_clear()
    (repo / "code.py").write_text("x = 3\n")
    assert provenance.git_state()["diff_sha256"] != state["diff_sha256"]


def test_outside_a_repository_the_state_is_unknown(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    provenance.git_commit.cache_clear()
    provenance.git_state.cache_clear()
    try:
        assert provenance.git_state() == {"commit": None, "dirty": None, "diff_sha256": None}
    finally:
        provenance.git_commit.cache_clear()
        provenance.git_state.cache_clear()


def test_record_hashes_inputs_and_outputs_and_names_the_rerun_command(tmp_path, monkeypatch):
    source = tmp_path / "in.txt"
    source.write_text("data")
    monkeypatch.setenv(provenance.COMMAND_ENV, "integrating run-notebook notebooks/01.ipynb out.ipynb '{}' --cwd .")
    run = provenance.Run("01_x", {"seed": 1}, tmp_path / "prov")
    run.input(source)
    run.table(pd.DataFrame({"a": [2, 1]}), tmp_path / "t.csv", sort_by=["a"])
    record = json.loads(run.finish().read_text())
    assert record["inputs"][0]["sha256"] == hashlib.sha256(b"data").hexdigest()
    assert record["outputs"][0]["sha256"] == provenance.sha256(tmp_path / "t.csv")
    assert record["command"].startswith("integrating run-notebook notebooks/01.ipynb")
    assert record["rerun"] == "make run" and set(record["git"]) == {"commit", "dirty", "diff_sha256"}


def test_a_run_started_from_a_namespace_records_the_declared_parameters(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"raw_dir": "data/raw", "derived_dir": "d", "figures_dir": "f", "provenance_dir": str(tmp_path / "p"),
                 "seed": 3, "threshold_grid": (0.4, 0.6), "plt": object(), "study": None}
    run = provenance.Run.start("02_x", namespace)
    assert run.parameters == {"raw_dir": "data/raw", "derived_dir": "d", "figures_dir": "f", "seed": 3,
                              "threshold_grid": [0.4, 0.6]}
    assert run.provenance_dir == tmp_path / "p"


def test_a_notebook_opened_in_jupyterlab_runs_from_the_compendium_root(monkeypatch):
    monkeypatch.chdir(paths.NOTEBOOKS / "teaching")
    provenance.Run.start("01_x", {"raw_dir": "data/raw", "provenance_dir": "reports/provenance"})
    assert Path.cwd() == paths.ROOT.resolve()
