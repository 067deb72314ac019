"""The pins live in pyproject.toml; environment.yml and requirements.lock must agree with them."""

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


def test_environment_yml_matches_pyproject():
    pins, requires = _pyproject_pins()
    env = yaml.safe_load((paths.ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    python = next(d for d in conda if d.startswith("python="))
    assert requires == ">=" + python.split("=")[1]
    env_pins = {}
    for req in pip:
        if req.startswith("-e"):
            continue
        name, _, version = req.partition("==")
        env_pins[name.lower()] = version
    assert env_pins == pins


def test_lock_file_resolves_the_same_pins():
    pins, _ = _pyproject_pins()
    lock = (paths.ROOT / "requirements.lock").read_text()
    locked = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", lock, flags=re.M))
    locked = {k.lower(): v for k, v in locked.items()}
    for name, version in pins.items():
        assert locked.get(name) == version, f"requirements.lock has {name}=={locked.get(name)}, pyproject.toml pins {version}"
