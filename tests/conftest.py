"""Shared fixtures: the bundled data, and small synthetic studies written into temporary folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from integrating import paths, synth

BUNDLED = paths.RAW


@pytest.fixture(scope="session")
def bundled_raw() -> Path:
    return BUNDLED


@pytest.fixture(scope="session")
def small_raw(tmp_path_factory) -> Path:
    """A small synthetic study (6 clinics, another seed): read-only, shared by the session."""
    out = tmp_path_factory.mktemp("small") / "raw"
    synth.write(synth.generate(seed=11, clinics=6), out)
    return out


@pytest.fixture
def raw_copy(tmp_path, bundled_raw) -> Path:
    """A private, writable copy of the bundled data to break on purpose."""
    target = tmp_path / "raw"
    shutil.copytree(bundled_raw, target)
    return target
