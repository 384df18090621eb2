"""How one pair runs: its code out of the Markdown, whether its tests test anything, and the
program for its language (Python through `harness.py`; the MultiPL-E languages with their
toolchains, the solution and then the tests in one file, passing when the program exits with 0)."""

from __future__ import annotations

import ast
import re
import secrets
import site
import sys
from pathlib import Path

from ..sandbox import Limits, Sandbox
from ..toolchains import build_and_run, missing_toolchain

HARNESS = Path(__file__).with_name("harness.py")
# A row's `lang` (the seed language) -> the MultiPL-E recipe that runs it.
LANGUAGES = {"python": "python", "cpp": "cpp", "c++": "cpp", "java": "java", "php": "php", "rust": "rust"}
LANGUAGES |= {"swift": "swift", "javascript": "js", "js": "js"}
TAGS = {"py": "python", "python3": "python", "c++": "cpp", "cc": "cpp", "javascript": "js", "rs": "rust"}  # fence tags
FENCE = re.compile(r"^```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:^```|\Z)", re.S | re.M)  # a last fence may be unclosed


def extract_code(text: str, lang: str = "") -> str:
    """The code of a Markdown answer: its fenced blocks in order (those tagged with another language
    left out when one is tagged with `lang` or untagged), or the whole text when it has no fence."""
    blocks = FENCE.findall(text or "")
    if not blocks:
        return (text or "").strip()
    runner = LANGUAGES.get(lang.lower(), lang.lower())
    ours = [code for tag, code in blocks if not tag or TAGS.get(tag.lower(), tag.lower()) in (runner, lang.lower())]
    return "\n".join(code.rstrip() for code in (ours or [code for _, code in blocks])) + "\n"


def pair_language(row: dict) -> str:
    """The language a pair is run as: its solution's first fence tag that names a language we know
    (a teacher may answer a shell seed in Python), else the seed's `lang`."""
    for tag, _ in FENCE.findall(row.get("solution") or ""):
        tag = TAGS.get(tag.lower(), tag.lower())
        if tag in LANGUAGES:
            return tag
    return str(row.get("lang") or "")


def python_has_tests(tests: str) -> bool:
    """Whether Python test code tests anything: an `assert` outside a function or class, a `test_*`
    function, or a `unittest.TestCase` method `test_*` (code that does not compile is left to the run)."""
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return bool(tests.strip())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
            return True
    return any(isinstance(node, ast.Assert) for node in _top_level(tree.body))


def without_redefinitions(tests: str, solution: str) -> str:
    """The tests without their own top-level copies of the solution's functions and classes (a small
    teacher often repeats the solution): the tests then check the solution, not their copy. Code
    that does not parse is left as it is."""
    try:
        defined = {
            node.name
            for node in ast.parse(solution).body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
        tree = ast.parse(tests)
    except SyntaxError:
        return tests
    lines = tests.splitlines(keepends=True)
    for node in reversed(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in defined:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            del lines[start : node.end_lineno]
    return "".join(lines)


def _top_level(body):
    """Statements run when the module runs: not inside a function or class."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            yield from _top_level(getattr(node, field, []) or [])


def unsupported(lang: str) -> str | None:
    """Why a language cannot be run here (None: it can)."""
    runner = LANGUAGES.get(lang.lower())
    if runner is None:
        return f"no runner for {lang!r} (runs: {', '.join(sorted(set(LANGUAGES.values())))})"
    return None if runner == "python" else missing_toolchain(runner)


def python_verdict(sandbox: Sandbox, solution: str, tests: str, limits: Limits) -> dict:
    nonce = secrets.token_hex(16)
    files = {"harness.py": HARNESS.read_text(), "solution.py": solution, "tests.py": tests, "nonce": nonce}
    command = [sys.executable, "-I", "-S", "harness.py", *site.getsitepackages()]
    outcome = sandbox.run(command, limits=limits, files=files, collect=("verdict",))
    if outcome.status != "exited":
        return {"status": "timeout" if outcome.status == "timeout" else "error", "output": outcome.output}
    written = outcome.files.get("verdict", b"").decode("utf-8", errors="replace").split("\n", 3)
    if len(written) < 4 or written[0] != nonce or written[1] not in ("passed", "failed", "error"):
        detail = f"exited (code {outcome.returncode}) before the tests finished, with no verdict"
        return {"status": "error", "output": _join(outcome.output, detail)}
    return {"status": written[1], "output": _join(outcome.output, written[3]), "tests": int(written[2])}


def java_program(source: str) -> tuple[str, str]:
    """(source, main class): `public` dropped from classes, so that one file holds them all."""
    source = re.sub(r"\bpublic\s+((?:final\s+|abstract\s+)*)class\b", r"\1class", source)
    head = source.split("static void main", 1)[0]
    classes = re.findall(r"\bclass\s+(\w+)", head)
    return source, classes[-1] if classes else "Main"


def compiled_verdict(sandbox: Sandbox, language: str, source: str, limits: Limits) -> dict:
    """MultiPL-E's recipe for `language`; a program that does not compile is an `error`."""
    java_class = None
    if language == "java":
        source, java_class = java_program(source)
    outcome = build_and_run(sandbox, language, source, limits, java_class)
    if outcome["status"] == "compile_error":
        return {"status": "error", "output": _join(outcome["output"], "does not compile")}
    return outcome


def _join(output: str, detail: str) -> str:
    return (output.rstrip() + "\n" + detail).strip()[-2000:]
