"""The pins live in pyproject.toml; requirements.lock must agree with them, and every installer uses the lock."""

import re
import tomllib

import yaml

from integrating import paths


def _pyproject_pins():
    project = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    pins = {}
    for req in reqs:
        name, sep, version = req.partition("==")
        assert sep, f"pyproject.toml: dependency {req!r} is not pinned with =="
        pins[name.lower()] = version
    return pins, project["requires-python"]


def test_conda_and_binder_install_exactly_the_lock():
    """environment.yml brings Python and pip only; postBuild installs requirements.lock without resolving."""
    _, requires = _pyproject_pins()
    env = yaml.safe_load((paths.ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert not [d for d in env["dependencies"] if isinstance(d, dict)], "packages belong in requirements.lock"
    python = next(d for d in conda if d.startswith("python="))
    assert requires == ">=" + python.split("=")[1]
    post = (paths.ROOT / "postBuild").read_text()
    assert "pip install --quiet --no-deps -r requirements.lock" in post
    assert "pip install --quiet --no-deps -e ." in post
    make = (paths.ROOT / "Makefile").read_text()
    assert "--no-deps --compile-bytecode -r requirements.lock" in make


def test_lock_file_resolves_the_same_pins():
    pins, _ = _pyproject_pins()
    lock = (paths.ROOT / "requirements.lock").read_text()
    locked = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", lock, flags=re.M))
    locked = {k.lower(): v for k, v in locked.items()}
    for name, version in pins.items():
        assert locked.get(name) == version, f"requirements.lock has {name}=={locked.get(name)}, pyproject.toml pins {version}"
