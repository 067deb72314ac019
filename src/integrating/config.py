"""Study parameters: loaded from config.yaml and checked against its JSON Schema before any work."""

from __future__ import annotations

from pathlib import Path

import yaml

from . import paths
from .errors import ConfigError


def load_schema(schema_path=None) -> dict:
    with open(schema_path or paths.CONFIG_SCHEMA, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def check(config: dict, *, source: str = "config", schema_path=None) -> dict:
    """Raise :class:`ConfigError` listing every key that is unknown, missing, mistyped or out of range."""
    # Imported here: jsonschema is only needed when a config is checked.
    from jsonschema import Draft202012Validator

    schema = load_schema(schema_path)
    validator = Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        key = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "additionalProperties":
            unknown = sorted(set(error.instance) - set(schema["properties"]))
            for name in unknown:
                problems.append(f"{source}: unknown key '{name}' (known keys: {', '.join(sorted(schema['properties']))})")
            continue
        if error.validator == "required":
            problems.append(f"{source}: {error.message}")
            continue
        top = error.absolute_path[0] if error.absolute_path else None
        expected = schema["properties"].get(top, {}).get("description", error.message)
        problems.append(f"{source}: key '{key}' has value {error.instance!r}; expected {expected}")
    if problems:
        raise ConfigError("\n".join(problems))
    return config


def excerpts_shown(setting, synthetic: bool) -> tuple[bool, str]:
    """Whether verbatim excerpts of the texts are shown, and why: ``show_excerpts`` true or false as set;
    ``auto`` shows them for synthetic data only (a real study's field notes stay out of every output)."""
    if setting is True or setting is False:
        return setting, f"show_excerpts is {str(setting).lower()}"
    if synthetic:
        return True, "the data are synthetic (show_excerpts: auto)"
    return False, ("the data are not marked synthetic, so verbatim text stays out (show_excerpts: auto); set "
                   "show_excerpts to true only when the participants' consent allows quoting")


def load(path=None, overrides: dict | None = None) -> dict:
    """Read the config file, apply ``overrides`` and check the result."""
    path = Path(path or paths.CONFIG)
    with open(path, encoding="utf-8") as fh:
        config = yaml.safe_load(fh) or {}
    config.update(overrides or {})
    return check(config, source=path.name)
