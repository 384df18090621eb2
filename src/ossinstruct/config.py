"""Configuration: validated against `config.schema.yaml` (shipped inside the package; the workflow's
`schemas/config.schema.yaml` points at it) before any job runs.

Errors name the offending key (`teacher.temperature`), so a typo fails at once instead of an hour
into a run. The schema is the one source of defaults: they are filled in everywhere it declares
them, in fixed sections and in every entry of a named section (`sft_data.<name>.split`,
`seeds.languages.<lang>.source`), and `section_defaults` gives the library the same values.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import jsonschema
import yaml

SCHEMA = Path(__file__).with_name("config.schema.yaml")


class ConfigError(ValueError):
    pass


def load_schema(path: str | Path = SCHEMA) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


@functools.cache
def _schema() -> dict:
    return load_schema(SCHEMA)


def _key(path) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


def fill_defaults(config: dict, schema: dict) -> None:
    """Every default the schema declares, filled in place where the key is absent: under
    `properties`, and in each entry of an object whose entries are described by `additionalProperties`
    (a section of named entries). A section that is absent and has a default is created first."""
    properties = schema.get("properties") or {}
    for name, sub in properties.items():
        if not isinstance(sub, dict):  # `false`: a key that may not appear
            continue
        if name not in config and "default" in sub:
            config[name] = copy.deepcopy(sub["default"])
        if isinstance(config.get(name), dict) and sub.get("type") == "object":
            fill_defaults(config[name], sub)
    entries = schema.get("additionalProperties")
    if isinstance(entries, dict) and entries.get("type") == "object":
        for name, value in config.items():
            if name not in properties and isinstance(value, dict):
                fill_defaults(value, entries)


def section_defaults(dotted: str) -> dict:
    """The defaults of one section (`teacher.client`), as the schema declares them."""
    schema = _schema()
    for part in dotted.split("."):
        schema = schema["properties"][part]
    section: dict = {}
    fill_defaults(section, schema)
    return section


def validate_config(config: dict, schema_path: str | Path = SCHEMA) -> dict:
    """Fill defaults and check `config` in place; raise ConfigError naming every bad key."""
    schema = load_schema(schema_path)
    fill_defaults(config, schema)
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
        else:
            problems.append(f"config key '{_key(error.absolute_path)}': {error.message}")
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return config


def load_config(path: str | Path, schema_path: str | Path = SCHEMA) -> dict:
    config = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return validate_config(config, schema_path)
