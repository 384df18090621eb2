"""An overlay that changes every how-key the schema marks (`config.HOW_KEYS`), each to another valid
value, for the test that changing them reruns nothing. Derived from the schema, so a key marked
tomorrow is changed too."""

from __future__ import annotations

from ossinstruct.config import HOW_KEYS, _schema, section_defaults

# How-keys whose change alters which jobs a target has, not what a job writes, with the test of each.
CHANGE_THE_JOBS = {
    "teacher.shards": "new shard jobs; the merged file is byte-identical (tests/unit/test_shards.py)",
    "evaluate.shards": "new generation jobs; the merged samples are the same (evaluate_model checks them)",
    "evaluate.models": "names which models `all` evaluates",
    "validate.enabled": "whether `all` builds validation; the validated set is the same either way",
    "curate.shards": "new curation shard jobs; the merged files are byte-identical (test_curation_shards.py)",
    "validate.shards": "new validation shard jobs; the merged files are byte-identical (test_validate.py)",
    "hub.offline": "the workflow refuses to start until prefetch's manifest covers the config (test_prefetch.py)",
}
# Values the schema's types allow but this machine's dry run needs to be given (a path, an id list).
GIVEN = {
    "teacher.base_url": "http://127.0.0.1:9/v1",
    "teacher.api_key_env": "SOME_OTHER_KEY",
    "sandbox.read_only": ["/srv"],
    "gpus.devices": [0, 1],
    "gpus.lock_dir": "/tmp/elsewhere",
    "evaluate.vllm.python": "/opt/vllm/bin/python",
    "teacher.serve": {"startup_timeout_s": 99, "extra_args": ["--enforce-eager"]},  # not serve.model (decides answers)
}


def changed(key: str, schema: dict, value):
    """Another valid value of `key` than `value`, from its schema."""
    if key in GIVEN:
        return GIVEN[key]
    if "enum" in schema:
        return next(choice for choice in schema["enum"] if choice != value)
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "object" in types:  # a section of how-keys: change its first key
        name, sub = next(iter(schema["properties"].items()))
        return {name: changed(f"{key}.{name}", sub, (value or {}).get(name, sub.get("default")))}
    if "boolean" in types:
        return not value
    if "integer" in types:
        bigger = (value or schema.get("minimum", 1)) + 1
        return bigger if bigger <= schema.get("maximum", bigger) else value - 1
    if "number" in types:
        return (value or 1.0) * 1.5 if (value or 1.0) * 1.5 <= schema.get("maximum", float("inf")) else value / 2
    if "string" in types:
        return f"{value}-changed" if value else "changed"
    raise ValueError(f"{key}: no changed value for schema {schema}")


def how_overlay() -> tuple[dict, list[str]]:
    """(an overlay changing every how-key but those of CHANGE_THE_JOBS, the dotted keys it changes)."""
    overlay: dict = {}
    keys = []
    for section, dotted_keys in HOW_KEYS.items():
        defaults = section_defaults(section)
        for dotted in dotted_keys:
            full = f"{section}.{dotted}"
            if full in CHANGE_THE_JOBS:
                continue
            schema, value, target = _schema()["properties"][section], defaults, overlay.setdefault(section, {})
            *parents, leaf = dotted.split(".")
            for parent in parents:
                schema, value, target = (
                    schema["properties"][parent],
                    value.get(parent, {}),
                    target.setdefault(parent, {}),
                )
            target[leaf] = changed(full, schema["properties"][leaf], value.get(leaf))
            keys.append(full)
    return overlay, keys
