"""The `integrating` command: a user's mistake prints one line and exits non-zero, never a traceback."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import integrating
from integrating.errors import IntegratingError

MISUSES = {
    "no command": [],
    "unknown command": ["bogus"],
    "synth with one clinic": ["synth", "--clinics", "1", "--out", "{tmp}/one"],
    "synth with a non-number": ["synth", "--clinics", "many"],
    "validate a missing folder": ["validate", "{tmp}/absent"],
    "run-notebook with a missing notebook": ["run-notebook", "{tmp}/absent.ipynb", "{tmp}/out.ipynb", "{{}}"],
    "run-notebook with parameters that are not JSON": ["run-notebook", "{tmp}/a.ipynb", "{tmp}/b.ipynb", "seed=1"],
    "build-site in a missing folder": ["build-site", "--workdir", "{tmp}/absent"],
    "import-qda a missing project": ["import-qda", "{tmp}/absent.qdpx", "--out", "{tmp}/raw", "--mapping", "{tmp}/m.yaml"],
    "export-qda a missing folder": ["export-qda", "{tmp}/absent", "--out", "{tmp}/x.qdpx"],
    "qda-mapping a missing project": ["qda-mapping", "{tmp}/absent.qdpx"],
    "qda-mapping an unknown option": ["qda-mapping", "--bogus"],
}


@pytest.mark.parametrize("args", MISUSES.values(), ids=MISUSES.keys())
def test_misuse_prints_one_line_and_fails(tmp_path, args):
    argv = [a.format(tmp=tmp_path) for a in args]
    proc = subprocess.run([sys.executable, "-m", "integrating.cli", *argv], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) <= 2 and lines, proc.stderr  # the message (and, for validate, the one problem)
    assert proc.stdout == ""


def test_every_exception_the_package_defines_is_a_domain_error():
    modules = [importlib.import_module(m.name) for m in pkgutil.walk_packages(integrating.__path__, "integrating.")
               if not m.name.endswith("__main__")]
    defined = [cls for mod in modules for _, cls in inspect.getmembers(mod, inspect.isclass)
               if issubclass(cls, BaseException) and cls.__module__ == mod.__name__]
    assert defined, "no exception classes found"
    strays = [f"{c.__module__}.{c.__name__}" for c in defined if not issubclass(c, IntegratingError)]
    assert not strays, f"not subclasses of IntegratingError: {strays}"
    # Private classes never leave their module.
    outside = [f"{c.__module__}.{c.__name__}" for c in defined
               if c.__module__ != "integrating.errors" and not c.__name__.startswith("_")]
    assert not outside, f"domain errors defined outside integrating.errors: {outside}"
