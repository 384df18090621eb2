"""The README and the guides name only what exists: every config key is in the schema, every file in
the tree (or, under `results/`, among the workflow's outputs), every `ossinstruct` command and flag in
the command line, every `snakemake` target in the DAG, every dotted code name in the library, every
link to a guide or a heading. The how-keys the configuration guide lists are exactly the schema's.
This is what catches a page that still names a key the code no longer has."""

from __future__ import annotations

import functools
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ossinstruct.config import HOW_KEYS, _schema

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
TOP = {path.name for path in ROOT.iterdir()} | {".ci"}
# Made by set-up or a run, not part of the tree.
MADE = (".venv", ".venv-vllm", ".venv-hub", ".ossinstruct-cache", ".snakemake", "logs/", "olah.toml")
# Written in the guides as examples of what a user gives, not files of this tree.
EXAMPLES = {"my-overlay.yaml", "data/python/*.parquet", "my-repo/pkg/a.py", "data/swift"}


def code_spans(text: str) -> list[str]:
    """Inline code spans outside fenced blocks."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return [span.strip() for span in re.findall(r"`([^`\n]+)`", prose)]


def fenced_commands(text: str) -> list[str]:
    """Each command line of the fenced shell blocks (continuations joined, comments dropped)."""
    lines = []
    for block in re.findall(r"```(?:bash|sh)\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        lines += [
            line.split(" #")[0].strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")
        ]
    return lines


def expand(pattern: str) -> list[str]:
    """`{a,b}` and `{4..7}` alternatives, as the shell expands them."""
    match = re.search(r"\{([^{}]*(?:,|\.\.)[^{}]*)\}", pattern)
    if not match:
        return [pattern]
    inner = match.group(1)
    if ".." in inner and "," not in inner:
        first, last = inner.split("..")
        choices = [str(i) for i in range(int(first), int(last) + 1)]
    else:
        choices = inner.split(",")
    return [word for choice in choices for word in expand(pattern[: match.start()] + choice + pattern[match.end() :])]


# --- config keys -------------------------------------------------------------------------------------------------


def schema_has(parts: list[str]) -> bool:
    """Whether the dotted key `parts` is declared (a `<name>` part is any entry of a named section)."""
    node = _schema()
    for i, part in enumerate(parts):
        properties = node.get("properties") or {}
        if part in properties and isinstance(properties[part], dict):
            node = properties[part]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return False
        if parts[0] == "teachers" and i == 1:  # a teachers entry holds teacher keys too
            rest = parts[2:]
            return not rest or schema_has(["teacher", *rest]) or rest[0] in (node.get("properties") or {})
        if parts[0] == "runs" and i == 2 and part == "train":  # a run's train overrides hold train keys
            return len(parts) == 3 or schema_has(["train", *parts[3:]])
    return True


def relative_key(parts: list[str]) -> bool:
    """A key named relative to its section (`serve.model` of `teacher`, `hf.name` of a seeds language)."""

    def walk(node, depth=0):
        if not isinstance(node, dict) or depth > 8:
            return False
        if schema_at(node, parts):
            return True
        children = list((node.get("properties") or {}).values())
        children += [node[k] for k in ("additionalProperties", "items") if isinstance(node.get(k), dict)]
        return any(walk(child, depth + 1) for child in children)

    return walk(_schema())


def schema_at(node: dict, parts: list[str]) -> bool:
    for part in parts:
        properties = node.get("properties") or {}
        if part in properties and isinstance(properties[part], dict):
            node = properties[part]
        else:
            return False
    return True


def code_name_exists(name: str) -> bool:
    """`teacher.generate.run`, `config.HOW_KEYS`, `ossinstruct.gpus`, `random.choice`: a module or an
    attribute of the library (named with or without the package), or of a module Python imports."""
    parts = name.split(".")
    if parts[0] == "ossinstruct":
        parts = parts[1:]
    return importable(["ossinstruct", *parts]) or importable(name.split("."))


def importable(parts: list[str]) -> bool:
    for cut in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        value = module
        for attribute in parts[cut:]:
            if not hasattr(value, attribute):
                return False
            value = getattr(value, attribute)
        return True
    return False


def dotted_names(text: str) -> list[str]:
    names = []
    for span in code_spans(text):
        for word in expand(span):
            match = re.fullmatch(
                r"([a-z_][a-z0-9_]*(?:\.(?:[A-Za-z0-9_*-]+|<[a-z_ -]+>))+)(?::.*)?(?:\(\.\.\.\))?", word
            )
            if match and not re.search(
                r"\.(py|yaml|md|smk|sh|json|jsonl|csv|toml|txt|png|db|html|gz|gguf|sqlite|tsv|rst|cfg|sif|tar|arrow)$",
                match.group(1),
            ):
                names.append(match.group(1))
    return names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_config_key_and_code_name_a_page_names_exists(page):
    text = page.read_text(encoding="utf-8")
    sections = set(_schema()["properties"])
    unknown = []
    for name in dotted_names(text):
        parts = [part for part in name.replace("*", "x").split(".")]
        if parts[0] in sections and schema_has(parts) or relative_key(parts):
            continue
        if "<" not in name and code_name_exists(name):
            continue
        if re.fullmatch(r"[a-z]+\.[a-z]+", name) and name.split(".")[1] in ("io", "org", "com", "ai", "sh"):
            continue  # a domain name (datasette.io)
        unknown.append(name)
    assert unknown == [], f"{page.name} names config keys or code that do not exist"


# --- files ----------------------------------------------------------------------------------------------------


@functools.cache
def output_patterns() -> list[re.Pattern]:
    """Every `results/...` path the workflow's rules write or read, wildcards as `[^/]+`."""
    text = "\n".join(path.read_text() for path in [ROOT / "Snakefile", *(ROOT / "rules").glob("*.smk")])
    text += "\n".join(path.read_text() for path in (ROOT / "src" / "ossinstruct").rglob("*.py"))
    found = set(re.findall(r"""["'](results/[^"'\s]*)["']""", text))
    patterns = []
    for path in found:
        regex = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path))
        patterns.append(re.compile(regex))
    return patterns


def produced(path: str) -> bool:
    """A `results/` path some rule writes, or a folder some rule writes into."""
    concrete = re.sub(r"<[^>]+>", "x", path).replace("*", "x")
    folder = concrete.rstrip("/") + "/"
    for pattern in output_patterns():
        if re.sub(r"\[\^/\]\+.*", "", pattern.pattern.replace("\\", "")).startswith(folder):
            return True  # a folder whose files are outputs (`results/eval`)
        if pattern.fullmatch(concrete) or pattern.fullmatch(concrete.rstrip("/")):
            return True
        if re.match(pattern.pattern.split("[^/]+")[0], concrete) and concrete.endswith("/"):
            return True
        if pattern.match(concrete.rstrip("/") + "/"):  # a folder of outputs
            return True
    return False


def in_tree(path: str) -> bool:
    pattern = re.sub(r"<[^>]+>", "*", path).rstrip("/")
    return any(ROOT.glob(pattern)) if "*" in pattern else (ROOT / pattern).exists()


def file_names(text: str) -> list[str]:
    names = []
    for span in code_spans(text):
        for word in expand(span.split(" ")[0] if span.startswith((".venv/bin/", "bash ")) is False else span):
            word = word.strip("(),")
            if re.search(r"\s", word) or "://" in word or word.startswith(("/", "~", "$")):
                continue
            first = word.split("/")[0]
            if first in TOP and (word != first or "." in word) or first == "results":
                names.append(word)
    return names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_file_a_page_names_is_in_the_tree_or_made_by_the_workflow(page):
    text = page.read_text(encoding="utf-8")
    missing = []
    words = file_names(text)
    for command in fenced_commands(text):
        words += [w for w in command.split() if w.split("/")[0] in TOP - {"README.md"} and "/" in w]
    for word in words:
        if word in EXAMPLES or word.startswith(MADE):
            continue
        if word.startswith("results/"):
            if not produced(word):
                missing.append(word)
        elif not in_tree(word):
            missing.append(word)
    assert missing == [], f"{page.name} names files that are neither in the tree nor made by the workflow"


# --- commands ---------------------------------------------------------------------------------------------------


@functools.cache
def help_text(*words: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ossinstruct.cli", *words, "--help"], capture_output=True, text=True, cwd=ROOT
    )
    return done.stdout + done.stderr if done.returncode == 0 else ""


@functools.cache
def rule_names() -> set[str]:
    text = "\n".join(path.read_text() for path in [ROOT / "Snakefile", *(ROOT / "rules").glob("*.smk")])
    return set(re.findall(r"^rule (\w+):", text, flags=re.M))


def commands(text: str) -> list[str]:
    found = fenced_commands(text)
    found += [span for span in code_spans(text) if re.match(r"(\.venv/bin/)?(ossinstruct|snakemake) ", span)]
    return [re.sub(r"^\.venv/bin/", "", part.strip()) for line in found for part in re.split(r"&&|\|\|", line)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_command_a_page_names_exists_with_its_flags(page):
    text = page.read_text(encoding="utf-8")
    wrong = []
    for command in commands(text):
        command = re.sub(r"^(\w+=\S+\s+)+", "", re.sub(r"^\.venv/bin/", "", command))
        words = command.split()
        if not words:
            continue
        if words[0] == "ossinstruct" and len(words) > 1 and not words[1].startswith("-"):
            usage = help_text(words[1])
            if not usage:
                wrong.append(command)
                continue
            wrong += [
                f"{command}: {flag}" for flag in words[2:] if flag.startswith("--") and flag.split("=")[0] not in usage
            ]
        elif words[0] == "snakemake":
            targets = []
            skip = False
            for word in words[1:]:
                if skip:
                    skip = not word.startswith("-") and skip
                if word in (
                    "--configfile",
                    "--cores",
                    "--profile",
                    "--workflow-profile",
                    "--report",
                    "--set-resources",
                    "--forcerun",
                    "--sdm",
                    "--executor",
                    "--resources",
                    "-s",
                    "--cleanup-metadata",
                    "--rerun-triggers",
                    "--slurm-status-command",
                ):
                    skip = True
                    continue
                if word.startswith("-") or skip:
                    continue
                targets.append(word)
            for target in (t for word in targets for t in expand(word)):
                if target.startswith("results/"):
                    if not produced(target):
                        wrong.append(f"{command}: {target}")
                elif target not in rule_names():
                    wrong.append(f"{command}: {target}")
    assert wrong == [], f"{page.name} names commands, flags or targets that do not exist"


# --- links --------------------------------------------------------------------------------------------------------


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_a_page_makes_reaches_a_page_and_a_heading(page):
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if "://" in target:
            continue
        path, _, fragment = target.partition("#")
        linked = (page.parent / path) if path else page
        if not linked.exists():
            broken.append(target)
            continue
        if fragment and linked.suffix == ".md":
            headings = {anchor(h) for h in re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"), flags=re.M)}
            if fragment not in headings:
                broken.append(target)
    assert broken == [], f"{page.name} links to pages or headings that do not exist"


def test_the_readme_is_short_and_links_every_guide():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 300
    guides = {path.name for path in (ROOT / "docs").glob("*.md")}
    linked = set(re.findall(r"\(docs/([\w-]+\.md)", readme))
    assert guides <= linked, f"guides the README's contents does not link: {sorted(guides - linked)}"


def test_the_configuration_guide_lists_exactly_the_schemas_how_keys():
    """The how-key table of docs/configuration.md, section by section, is `config.HOW_KEYS`."""
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    table = text[text.index("| section | how-keys |") :].split("\n\n")[0]
    listed = {}
    for row in table.splitlines()[2:]:
        section, keys = row.split("|")[1:3]
        listed[re.findall(r"`(\w+)`", section)[0]] = set(re.findall(r"`([\w.]+)`", keys))
    assert listed == {section: set(keys) for section, keys in HOW_KEYS.items()}
