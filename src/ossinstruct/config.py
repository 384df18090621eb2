"""Configuration: validated against `schemas/config.schema.yaml` before any job runs.

Errors name the offending key (`teacher.temperature`), so a typo fails at once instead of an hour
into a run. Defaults from the schema are filled in.
"""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import yaml


class ConfigError(ValueError):
    pass


def load_schema(path: str | Path) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def _key(path) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


def _fill_defaults(config: dict, schema: dict) -> None:
    for name, sub in (schema.get("properties") or {}).items():
        if name not in config and "default" in sub:
            config[name] = copy.deepcopy(sub["default"])
        if isinstance(config.get(name), dict) and sub.get("type") == "object":
            _fill_defaults(config[name], sub)


def validate_config(config: dict, schema_path: str | Path) -> dict:
    """Fill defaults and check `config` in place; raise ConfigError naming every bad key."""
    schema = load_schema(schema_path)
    _fill_defaults(config, schema)
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        if error.validator == "additionalProperties":
            allowed = sorted((error.schema.get("properties") or {}).keys())
            extra = sorted(set(error.instance) - set(allowed))
            for name in extra:
                problems.append(
                    f"config key '{_key([*error.absolute_path, name])}': unknown key (allowed: {', '.join(allowed)})"
                )
        elif error.validator == "required":
            problems.append(f"config key '{_key(error.absolute_path)}': {error.message}")
        else:
            problems.append(f"config key '{_key(error.absolute_path)}': {error.message}")
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return config


def load_config(path: str | Path, schema_path: str | Path) -> dict:
    config = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return validate_config(config, schema_path)
