"""The library's layout: small modules, no import cycles, keyword-only stage entry points, each helper
written once, and each conda environment holding what its rules import (docs/architecture.md)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

from .test_envs import pip_part, stage_requirements

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((SRC / "ossinstruct").rglob("*.py"))}


def imports_of(path: Path, name: str, top_level: bool = False) -> tuple[set[str], set[str]]:
    """(ossinstruct modules, third-party top-level names) that `path` imports anywhere, functions
    included; with `top_level`, only those its top level imports (what loading it runs)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    internal, external = set(), set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body if top_level else ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                (internal if alias.name.startswith("ossinstruct") else external).add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("ossinstruct"):
                external.add(target)
                continue
            for alias in node.names:  # `from . import scoring` imports a module
                internal.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules() else target)
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    return internal, {n.split(".")[0] for n in external if n.split(".")[0] not in stdlib}


@cache
def graph() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    found = {}
    for name, path in modules().items():
        internal, external = imports_of(path, name)
        found[name] = (frozenset(internal - {name}), frozenset(external))
    return found


def test_no_module_is_over_400_lines():
    sizes = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_the_import_graph_has_no_cycle():
    """Function-level imports count too: a lazy import hides a cycle, it does not remove it."""
    edges = {name: internal for name, (internal, _) in graph().items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def entry_points():
    for name, path in modules().items():
        for node in ast.parse(path.read_text()).body:
            # `run_settings` is a training run's settings (the noun), not an entry point
            if isinstance(node, ast.FunctionDef) and re.fullmatch(r"run|run_(?!settings).*", node.name):
                yield f"{name}.{node.name}", node


def test_every_stage_entry_point_takes_keywords_only():
    found = dict(entry_points())
    assert {"ossinstruct.teacher.generate.run", "ossinstruct.train.run", "ossinstruct.evaluate.scoring.run"} <= set(
        found
    )
    positional = {name: [a.arg for a in node.args.args] for name, node in found.items() if node.args.args}
    assert positional == {}


PATH_PARAMETER = re.compile(
    r"path|file|dir|output|input|report|excluded|samples|scores|sft|seeds|responses|documents|gguf|imported|"
    r"decontaminated|parsed|clean|kept|manifest|card|figure|summary|assignments|paper|prompts|results|metrics"
)


def path_parameters() -> dict[str, list[bool]]:
    """For every function the library defines (by name; a name defined twice is left out): whether
    each positional parameter takes a path (annotated Path/PathLike, or named like one)."""
    found: dict[str, list[list[bool]]] = {}
    for path in modules().values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                flags = [
                    "Path" in (ast.unparse(a.annotation) if a.annotation else "") or bool(PATH_PARAMETER.search(a.arg))
                    for a in node.args.posonlyargs + node.args.args
                    if a.arg not in ("self", "cls")
                ]
                found.setdefault(node.name, []).append(flags)
    return {name: signatures[0] for name, signatures in found.items() if len(signatures) == 1}


def test_no_call_passes_more_than_three_paths_by_position():
    """Two swapped path arguments would go unnoticed: a call to the library passes at most three
    paths by position (the callee's own parameters say which are paths), the rest by keyword."""
    parameters = path_parameters()
    offenders = []
    for path in [*modules().values(), *sorted((ROOT / "scripts").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                flags = parameters.get(name, [])
                if sum(flag for flag, _ in zip(flags, node.args, strict=False)) > 3:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert offenders == []


# The library modules the adapters call (`from ossinstruct import clean` ... `clean.run(...)`).
STAGE_MODULES = {
    "analysis",
    "ablation",
    "card",
    "clean",
    "curation",
    "decontaminate",
    "export",
    "generate",
    "multipl_e",
    "parse",
    "samples",
    "scoring",
    "seeds",
    "sft",
    "tables",
    "train",
}


def test_the_adapters_call_the_library_with_keywords():
    for script in sorted((ROOT / "scripts").glob("*.py")):
        for node in ast.walk(ast.parse(script.read_text())):
            call = ast.unparse(node.func) if isinstance(node, ast.Call) else ""
            if call.split(".")[0] in STAGE_MODULES and call != "tables.by_model":  # by_model groups paths
                assert node.args == [], (script.name, node.lineno)


def definitions(roots) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*.py")):
            for node in ast.parse(path.read_text()).body:
                names = [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else []
                if isinstance(node, ast.Assign):
                    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                for name in names:
                    found.setdefault(name.lstrip("_"), []).append(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize(
    "helper", ["free_port", "cut_at", "row_text", "pass_at_k", "LOCAL_KEY", "is_gguf", "dataset_source", "is_hub"]
)
def test_each_shared_helper_is_written_once(helper):
    assert len(definitions([SRC, ROOT / "tests", ROOT / "benchmarks"])[helper]) == 1


@pytest.mark.parametrize(
    "literal,home",
    [('"sk-local-server"', "server.py"), ('startswith("hf:")', "paths.py"), ('startswith("pkg:")', "paths.py")],
)
def test_spec_parsing_lives_in_one_module(literal, home):
    places = [
        str(path.relative_to(ROOT))
        for path in [*SRC.rglob("*.py"), *(ROOT / "rules").glob("*.smk")]
        if literal in path.read_text()
    ]
    assert places == [f"src/ossinstruct/{home}"]


# --- each conda environment holds what its rules import --------------------------------------------------------

# The import name of a distribution where it differs from the distribution's name.
IMPORT_NAMES = {
    "scikit-learn": "sklearn",
    "pyyaml": "yaml",
    "llama-cpp-python": "llama_cpp",
    "ahocorasick-rs": "ahocorasick_rs",
    "tree-sitter": "tree_sitter",
}


def provided(requirements) -> set[str]:
    names = set()
    for requirement in requirements:
        distribution = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()
        names.add(IMPORT_NAMES.get(distribution, distribution.replace("-", "_")))
    return names


def rule_envs() -> list[tuple[str, str]]:
    """(conda environment, script) of every rule that runs a script."""
    pairs = []
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule \w+:)", smk.read_text()):
            env = re.search(r'conda:\s*"\.\./envs/(\w+)\.yaml"', block)
            script = re.search(r'script:\s*"\.\./scripts/(\w+)\.py"', block)
            if env and script:
                pairs.append((env.group(1), script.group(1)))
    return pairs


def reached(start: set[str]) -> tuple[set[str], set[str]]:
    """Every module a script may load, and their third-party imports. A submodule runs its packages'
    `__init__`, but only its top level: a package's lazy names (`teacher.open_session`) load their
    modules when they are used, and a module that uses one imports the package itself."""
    seen, todo, external = set(), list(start), set()
    loaded = set()  # packages whose top level ran as a submodule's parent
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        for parent in (".".join(parts[:i]) for i in range(2, len(parts))):
            if parent not in seen and parent not in loaded:
                loaded.add(parent)
                internal, outside = imports_of(modules()[parent], parent, top_level=True)
                todo += internal - {parent}
                external |= {n.split(".")[0] for n in outside}
        internal, outside = graph()[name]
        todo += internal
        external |= outside
    return seen | loaded, external


def test_each_environment_installs_what_its_rules_import():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = provided(project["dependencies"])
    extras = {name: provided(reqs) for name, reqs in project["optional-dependencies"].items()}
    pairs = rule_envs()
    assert len(pairs) >= 25
    missing = {}
    for env, script in pairs:
        # the env file's pip part is exactly this (tests/unit/test_envs.py); llama.cpp is built after
        assert pip_part(ROOT / "envs" / f"{env}.yaml") == stage_requirements(env)
        start, outside = imports_of(ROOT / "scripts" / f"{script}.py", "scripts")
        _, external = reached(start)
        lacking = (external | outside) - core - extras[env] - {"snakemake", "ossinstruct"}
        if lacking:
            missing[f"{env}: {script}"] = sorted(lacking)
    assert missing == {}


def test_the_all_extra_is_every_stage_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    stages = sorted(path.stem for path in (ROOT / "envs").glob("*.yaml"))
    assert project["optional-dependencies"]["all"] == [f"ossinstruct[workflow,{','.join(stages)}]"]
