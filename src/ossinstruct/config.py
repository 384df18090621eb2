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
# The embedded default and the data it names, shipped inside the package (the checkout's top-level
# `config.yaml` and `data/` point here), so that the command line finds them from any folder.
PACKAGE = Path(__file__).parent
EMBEDDED = PACKAGE / "config.yaml"
SHIPPED_DATA = "data/"


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


def overlay(config: dict, update: dict) -> dict:
    """`update` layered onto `config` in place as Snakemake's `--configfile` layers a file
    (`snakemake.utils.update_config`): a mapping merges key by key, any other value replaces."""
    for key, value in update.items():
        if isinstance(value, dict):
            below = config.get(key)
            config[key] = overlay(below if isinstance(below, dict) else {}, value)
        else:
            config[key] = value
    return config


def shipped(config):
    """Every `data/...` path of `config` that is not there from this folder but is shipped in the
    package, made absolute (the checkout's own `data/` is that folder)."""
    if isinstance(config, dict):
        return {key: shipped(value) for key, value in config.items()}
    if isinstance(config, list):
        return [shipped(value) for value in config]
    if isinstance(config, str) and config.startswith(SHIPPED_DATA) and not Path(config).exists():
        if (PACKAGE / config).exists():
            return str(PACKAGE / config)
    return config


def load_layered(overlays: list[str | Path] = (), schema_path: str | Path = SCHEMA) -> dict:
    """The embedded default with each overlay on top, in order, as `snakemake --configfile A B`
    runs the workflow; shipped data found through the package; validated."""
    config = yaml.safe_load(EMBEDDED.read_text(encoding="utf-8"))
    for path in overlays:
        try:
            update = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML: {error}") from None
        if not isinstance(update, dict):
            raise ConfigError(f"{path}: a config overlay is a mapping of keys, not {type(update).__name__}")
        overlay(config, update)
    return validate_config(shipped(config), schema_path)


def how_keys(schema: dict) -> dict[str, tuple[str, ...]]:
    """The how-keys of each top-level section, as the schema marks them (`x-how: true`): dotted keys
    within the section (`vllm.concurrency`), in the schema's order; a marked section gives all its keys."""

    def marked(properties: dict, prefix: str = ""):
        for name, sub in properties.items():
            if not isinstance(sub, dict):
                continue
            if sub.get("x-how"):
                yield prefix + name
            elif sub.get("type") == "object" and sub.get("properties"):
                yield from marked(sub["properties"], f"{prefix}{name}.")

    keys = {}
    for section, sub in schema["properties"].items():
        if sub.get("x-how"):
            keys[section] = tuple(sub.get("properties") or ())
        elif found := tuple(marked(sub.get("properties") or {})):
            keys[section] = found
    return keys


# Settings that only say *how* a job runs, never *what* it produces: they stay out of the rules'
# `params` (a change reruns nothing) and out of every cache key; the adapters read them from the
# config at run time. Marked `x-how: true` in the schema; why each decides nothing is in the table of
# docs/configuration.md ("Settings that say how, not what"), which a test keeps equal to these keys.
HOW_KEYS = how_keys(_schema())
# Sections whose every key is a how-key (the sandbox's mounts, which GPUs a job claims, the Hub, preflight).
HOW_SECTIONS = tuple(name for name, sub in _schema()["properties"].items() if sub.get("x-how"))


def split_keys(settings: dict, keys) -> tuple[dict, dict]:
    """(what, how) of `settings`: `how` holds the dotted `keys` present (nested under their parent
    key), `what` everything else."""
    what, how = copy.deepcopy(settings), {}
    for dotted in keys:
        *parents, leaf = dotted.split(".")
        source, target = what, how
        for parent in parents:
            source = source.get(parent)
            if not isinstance(source, dict):
                break
            target = target.setdefault(parent, {})
        else:
            if leaf in source:
                target[leaf] = source.pop(leaf)
    return what, how


def split_how(section: str, settings: dict) -> tuple[dict, dict]:
    """(what, how) of a config section: `how` holds the `HOW_KEYS[section]` present (nested under
    their parent key), `what` everything else."""
    return split_keys(settings, HOW_KEYS.get(section, ()))


def join_how(what: dict, how: dict) -> dict:
    """The section whole again: `how`'s keys put back into (a copy of) `what`."""
    joined = copy.deepcopy(what)
    for key, value in how.items():
        if isinstance(value, dict) and isinstance(joined.get(key), dict):
            joined[key] = join_how(joined[key], value)
        else:
            joined[key] = copy.deepcopy(value)
    return joined


def canonical(settings):
    """`settings` with every mapping's keys in sorted order. Snakemake compares a rule's params as
    written, key order included, and an overlay config (`--configfile`) that names a nested key
    reorders its section: params built through this rerun a job only when a value changes."""
    if isinstance(settings, dict):
        return {key: canonical(settings[key]) for key in sorted(settings)}
    if isinstance(settings, list):
        return [canonical(item) for item in settings]
    return settings
