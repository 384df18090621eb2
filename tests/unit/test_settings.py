"""The one settings path (docs/architecture.md, "One settings path"): how-keys are the schema's
`x-how` marks, every stage's `(what, how)` together is exactly the section it reads, and no library
code carries a literal default for a key the schema defaults."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ossinstruct.config import HOW_KEYS, HOW_SECTIONS, _schema, how_keys, join_how, load_layered
from ossinstruct.settings import STAGES, stage_settings, view

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = {
    "embedded default": [],
    "paper": ["configs/paper.yaml"],
    "rehearsal": ["configs/paper.yaml", "configs/rehearsal.yaml"],
    "own teacher and code": ["configs/openai.yaml", "configs/own-code.yaml"],
}


def test_how_keys_are_the_schemas_marks():
    """`HOW_KEYS` is derived, not written again: a mark on a key gives the key (dotted when nested), a
    mark on a section gives all its keys, and an unmarked key is a what-key."""
    schema = {
        "properties": {
            "a": {
                "type": "object",
                "properties": {
                    "what": {"type": "integer"},
                    "how": {"type": "integer", "x-how": True},
                    "nested": {"type": "object", "properties": {"x": {"x-how": True}, "y": {}}},
                },
            },
            "b": {"type": "object", "x-how": True, "properties": {"p": {}, "q": {}}},
            "c": {"type": "object", "properties": {"r": {}}},
        }
    }
    assert how_keys(schema) == {"a": ("how", "nested.x"), "b": ("p", "q")}
    assert HOW_KEYS == how_keys(_schema())
    assert {"save_steps", "attention", "gradient_checkpointing", "report_to"} == set(HOW_KEYS["train"])
    assert {"vllm.concurrency", "parallel"} <= set(HOW_KEYS["evaluate"]) and "vllm.dtype" not in HOW_KEYS["evaluate"]
    assert {"sandbox", "gpus", "hub", "preflight", "cluster"} == set(HOW_SECTIONS)


def names(config: dict, stage: str) -> dict:
    if stage == "generate":
        return {"teacher": config["teacher"]["name"]}
    if stage == "train":
        return {"run": next(iter(config["runs"]))}
    return {}


def marked(section: str, stage_view: dict, how_sections: tuple[str, ...]) -> set[str]:
    """The how-keys present in a stage's view, dotted (`vllm.concurrency`), its how-sections whole."""
    top, _, rest = section.partition(".")
    prefix = f"{rest}." if rest else ""
    found = set(how_sections)
    for key in HOW_KEYS.get(top, ()):
        if not key.startswith(prefix):
            continue
        *parents, leaf = key[len(prefix) :].split(".")
        node = stage_view
        for parent in parents:
            node = node.get(parent) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node:
            found.add(key[len(prefix) :])
    return found


def dotted(settings: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in settings.items():
        keys.add(prefix + key)
        if isinstance(value, dict):
            keys |= dotted(value, f"{prefix}{key}.")
    return keys


@pytest.mark.parametrize("overlays", OVERLAYS.values(), ids=OVERLAYS.keys())
def test_every_stages_what_joined_with_its_how_is_the_section_it_reads(overlays):
    """For every stage with settings: `what` joined with `how` is the section as the stage reads it,
    from the validated config; `how` holds exactly the schema's how-keys of it (and its how-sections),
    and `what` none of them, so a how-key never reaches a rule's params."""
    config = load_layered([ROOT / path for path in overlays])
    for stage, spec in STAGES.items():
        given = names(config, stage)
        model = {"model": next(iter(config["students"]))} if stage in ("samples", "scoring") else {}
        what, how = stage_settings(config, stage, **given, **model)
        expected = view(config, stage, **given)
        joined = join_how(what, how)
        if model:  # the model's prompt format decides its evaluation too (the Magicoder format has no stops)
            assert joined.pop("prompt_format") in ("completion", "magicoder")
        if stage == "generate" and config["teacher"]["server"] in ("vllm", "sglang"):
            assert joined.pop("serve_model") == expected["serve"]["model"]  # serve.model decides the answers
        assert joined == expected, stage
        assert dotted(how) >= marked(spec.section, expected, spec.how_sections), stage
        top = {key.split(".")[0] for key in marked(spec.section, expected, spec.how_sections)}
        assert not (dotted(what) & marked(spec.section, expected, spec.how_sections)), stage
        assert set(how) == top, stage
        if spec.keys is not None:
            assert set(spec.keys) <= set(_schema_keys(spec.section)), f"{stage}: a key the schema does not declare"


def _schema_keys(section: str) -> set[str]:
    schema = _schema()
    for part in section.split("."):
        schema = schema["properties"][part]
    return set(schema["properties"])


def test_a_how_key_reaches_no_rules_params_and_a_what_key_does():
    config = load_layered([])
    changed = load_layered([])
    changed["train"]["save_steps"] += 1
    changed["evaluate"]["vllm"]["concurrency"] += 1
    changed["sandbox"]["first_uid"] += 1
    run, model = next(iter(config["runs"])), next(iter(config["students"]))
    for stage, given in (("train", {"run": run}), ("scoring", {"model": model}), ("validate", {})):
        assert stage_settings(config, stage, **given)[0] == stage_settings(changed, stage, **given)[0], stage
        assert stage_settings(config, stage, **given)[1] != stage_settings(changed, stage, **given)[1], stage
    changed["train"]["learning_rate"] *= 2
    assert stage_settings(config, "train", run=run)[0] != stage_settings(changed, "train", run=run)[0]


# --- no literal defaults ----------------------------------------------------------------------------------------


def defaulted_keys() -> set[str]:
    """Every key the schema gives a default, at any depth."""
    keys: set[str] = set()

    def walk(schema):
        if not isinstance(schema, dict):
            return
        for name, sub in (schema.get("properties") or {}).items():
            if isinstance(sub, dict) and "default" in sub:
                keys.add(name)
            walk(sub)
        for part in ("additionalProperties", "items"):
            walk(schema.get(part))

    walk(_schema())
    return keys


def literal_fallbacks(source: str, keys: set[str]) -> list[str]:
    """Each `x.get("key", <literal>)` in `source` for a key in `keys`: a default written again beside the
    schema's (and liable to disagree with it, as `ngram_overlap` 0 against the schema's 10 once did)."""

    def literal(node) -> bool:
        if isinstance(node, ast.Constant):
            return True
        return isinstance(node, (ast.Dict, ast.List, ast.Tuple)) and not (
            getattr(node, "keys", None) or getattr(node, "elts", None)
        )

    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in keys
            and literal(node.args[1])
        ):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_library_code_carries_a_literal_default_for_a_schema_key():
    keys = defaulted_keys()
    assert {"ngram_overlap", "mode", "demonstration", "system_role", "cache_identity"} <= keys
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sorted((ROOT / "src" / "ossinstruct").rglob("*.py"))
        if (hits := literal_fallbacks(path.read_text(encoding="utf-8"), keys))
    }
    assert found == {}


def test_a_deliberate_literal_fallback_is_caught():
    keys = defaulted_keys()
    source = 'n = settings.get("ngram_overlap", 0)\nm = teacher.get("mode", "online")\nrow.get("lang", "")\n'
    assert literal_fallbacks(source, keys) == [
        "1: settings.get('ngram_overlap', 0)",
        "2: teacher.get('mode', 'online')",
    ]
