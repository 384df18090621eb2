"""MultiPL-E execution with the real toolchains, in the sandbox: a right body passes, a wrong one
fails, a syntax error does not compile, an endless loop is killed, the network is unreachable."""

import json
import os

import pytest

from ossinstruct.evaluate.prompts import cut_at
from ossinstruct.multipl_e import LANGUAGES, execute, pass_at_k, program
from ossinstruct.sandbox import SandboxError
from ossinstruct.toolchains import HARNESS, RECIPES, harness_command, missing_toolchain

from ..conftest import Listener, require

# For HumanEval_23_strlen (the first task of every shipped file): a right and a wrong body, a body
# that does not compile (or parse), and one that never ends.
BODIES = {
    "cpp": ("    return string.size();\n}", "    return 7;\n}", "    return string.size(\n}", "    while (true) {}\n}"),
    "js": ("  return string.length;\n}", "  return 7;\n}", "  return string.length(;\n}", "  while (true) {}\n}"),
    "java": (
        "        return string.length();\n    }\n",
        "        return 7l;\n    }\n",
        "        return string.length(;\n    }\n",
        "        while (true) {}\n    }\n",
    ),
    "php": ("    return strlen($string);\n}", "    return 7;\n}", "    return (;\n}", "    while (true) {}\n}"),
    "rust": ("    string.len() as isize\n}", "    7\n}", "    string.len( as isize\n}", "    loop {}\n}"),
    "swift": ("    return string.count\n}", "    return 7\n}", "    return string.count(\n}", "    while true {}\n}"),
}


def first_task(root, language):
    return json.loads((root / f"data/benchmarks/multipl-e/humaneval-{language}.jsonl").open().readline())


@pytest.mark.parametrize("language", LANGUAGES)
def test_programs_run_with_the_real_toolchain_in_the_sandbox(root, language):
    missing = missing_toolchain(language)
    if language == "swift" and missing:
        pytest.skip(f"swift: {missing} (Debian has no Swift, so scripts/setup.sh cannot install it)")
    require(missing, f"{language} toolchain (scripts/setup.sh installs the toolchains Debian has)")
    task = first_task(root, language)
    right, wrong, broken, endless = BODIES[language]
    if language == "php":  # PHP's own strlen() clashes with the task's function name (a MultiPL-E quirk)
        task = {
            **task,
            "prompt": task["prompt"].replace("strlen(", "my_strlen("),
            "tests": task["tests"].replace("strlen(", "my_strlen("),
        }
    assert execute(language, program(task, right))["status"] == "passed"
    assert execute(language, program(task, wrong))["status"] == "failed"
    assert execute(language, program(task, broken))["status"] in {"compile_error", "failed"}
    assert execute(language, program(task, endless), timeout_s=2)["status"] == "timeout"
    # The harness's commands (`multipl_e.toolchain: harness`): the same verdicts; an endless program
    # is killed at the harness's own limit (5 s for node, rust and swift; checked there alone for time).
    assert execute(language, program(task, right), toolchain="harness")["status"] == "passed"
    assert execute(language, program(task, wrong), toolchain="harness")["status"] == "failed"
    assert execute(language, program(task, broken), toolchain="harness")["status"] in {"compile_error", "failed"}
    if HARNESS[language]["run_s"] <= 5:
        assert execute(language, program(task, endless), toolchain="harness")["status"] == "timeout"


HARNESS_FILES = {"cpp": "cpp", "js": "javascript", "java": "java", "php": "php", "rust": "rust", "swift": "swift"}


def harness_calls(root, language) -> list[tuple[list[str], int | None, dict]]:
    """(command, seconds, environment) of every program the harness's eval_<language>.py starts, read
    out of the file (tests/data/bigcode-harness-be2a44c): `path`, `basename` and `outdir` become our
    file name, its stem and `out`; `run` without a timeout is safe_subprocess.run's 15 s."""
    import ast

    text = (root / f"tests/data/bigcode-harness-be2a44c/eval_{HARNESS_FILES[language]}.py.txt").read_text()
    file = RECIPES[language]["file"]
    names = {"path": file, "basename": file.rsplit(".", 1)[0], "outdir": "out", "javatuples_path": "javatuples"}

    def word(node) -> str:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return names[node.id]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "str":
            return word(node.args[0])
        assert isinstance(node, ast.JoinedStr), ast.dump(node)
        return "".join(word(part.value if isinstance(part, ast.FormattedValue) else part) for part in node.values)

    calls = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "run":
            keywords = {k.arg: k.value for k in node.keywords}
            limit = keywords.get("timeout", keywords.get("timeout_seconds"))
            seconds = limit.value if limit is not None else (15 if isinstance(node.func, ast.Name) else None)
            env = {"CLASSPATH": "javatuples"} if "env" in keywords else {}
            calls.append(([word(arg) for arg in node.args[0].elts], seconds, env))
    return calls


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_harness_toolchain_runs_the_harness_commands_with_its_time_limits(root, language):
    """`multipl_e.toolchain: harness` builds and runs each program with the command lines and time
    limits of bigcode-evaluation-harness be2a44c, read out of its own eval_<language>.py."""
    calls = harness_calls(root, language)
    recipe = HARNESS[language]
    ours = ([(recipe["build"], recipe["build_s"], recipe.get("build_env", {}))] if "build" in recipe else []) + [
        (recipe["run"], recipe["run_s"], {})
    ]
    if language == "java":  # the harness gives both steps its CLASSPATH; `-cp` replaces it in the run
        calls[1] = (calls[1][0], calls[1][1], {})
        ours[0] = (ours[0][0], ours[0][1], {"CLASSPATH": "javatuples"})
    # the harness runs the built program by its full path, we by ./<name> in the sandbox's folder
    ours_read = [([word.removeprefix("./") for word in command], seconds, env) for command, seconds, env in ours]
    assert ours_read == calls
    script = harness_command(language)[-1]
    for command, seconds, _ in ours:
        assert f"timeout -s KILL {seconds} {' '.join(command)}" in script


def test_a_built_program_that_never_ends_is_killed_at_its_own_run_limit(root):
    """toolchain ours: the build has 60 s more, the program `timeout_s` of its own, so an endless C++
    program with a 2 s limit is gone within seconds of its build, not after the build's minute."""
    import time

    require(missing_toolchain("cpp"), "cpp toolchain (g++)")
    started = time.monotonic()
    assert execute("cpp", program(first_task(root, "cpp"), BODIES["cpp"][3]), timeout_s=2)["status"] == "timeout"
    assert time.monotonic() - started < 30


def test_a_java_tuple_task_fails_under_the_harness_and_passes_under_ours(root):
    """The harness runs `java -ea -cp <outdir> Problem`: `-cp` drops the CLASSPATH that held javatuples,
    so a Pair-typed task compiles and then cannot load Pair; ours keeps javatuples on the classpath."""
    require(missing_toolchain("java"), "java toolchain (javac, java, javatuples)")
    rows = [json.loads(line) for line in (root / "data/benchmarks/multipl-e/humaneval-java.jsonl").open()]
    task = next(row for row in rows if row["name"] == "HumanEval_8_sum_product")
    body = (
        "        long s = 0, p = 1;\n        for (long x : numbers) { s += x; p *= x; }\n"
        "        return Pair.with(s, p);\n    }\n"
    )
    harness = execute("java", program(task, body), toolchain="harness")
    assert harness["status"] == "failed" and "NoClassDefFoundError: org/javatuples/Pair" in harness["output"]
    assert execute("java", program(task, body), toolchain="ours")["status"] == "passed"


def test_rust_builds_in_debug_under_the_harness_so_an_overflow_panics(root):
    """Plain `rustc` (the harness) checks integer overflow; ours (`-O`) wraps around, so a body whose
    intermediate sum overflows but whose result is right passes only under ours."""
    require(missing_toolchain("rust"), "rust toolchain (rustc)")
    task = first_task(root, "rust")
    body = (
        "    let big = isize::MAX - 1 + (string.len() as isize).signum().abs();\n"
        "    (big + 2 + string.len() as isize) - big - 2\n}"
    )
    assert execute("rust", program(task, body), toolchain="ours")["status"] == "passed"
    harness = execute("rust", program(task, body), toolchain="harness")
    assert harness["status"] == "failed" and "overflow" in harness["output"]


def test_generated_code_cannot_reach_even_the_hosts_loopback():
    """A listener on the host's 127.0.0.1 is reachable from any unsandboxed process on this machine
    (offline or not); from the sandbox's own network namespace it is not."""
    require(missing_toolchain("js"), "js toolchain (node)")
    with Listener() as listener:
        reach = (
            f"const s = require('net').connect({listener.port}, '127.0.0.1');"
            "s.on('connect', () => process.exit(0)); s.on('error', () => process.exit(3));"
        )
        outcome = execute("js", reach, timeout_s=5)
    assert outcome["status"] == "failed" and listener.accepted == 0


def test_a_timed_out_program_is_killed_with_every_process_it_started():
    """An endless program that started a child: at the timeout the whole process group goes."""
    import secrets
    import time
    from pathlib import Path

    require(missing_toolchain("js"), "js toolchain (node)")
    marker = f"{secrets.randbelow(10**6) + 10**6}.5"  # a unique `sleep` argument to find the child by
    source = f"require('child_process').spawn('sleep', ['{marker}'], {{stdio: 'ignore'}}); while (true) {{}}"
    assert execute("js", source, timeout_s=2)["status"] == "timeout"

    def children() -> list[int]:
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if marker.encode() in cmdline.read_bytes():
                    found.append(int(cmdline.parent.name))
            except OSError:
                pass
        return found

    time.sleep(0.5)
    left = children()
    for pid in left:  # leave nothing behind, even when the test fails
        os.kill(pid, 9)
    assert left == []


def test_without_network_isolation_generated_code_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `bwrap` to be found
    with pytest.raises(SandboxError, match="bubblewrap .* not installed.*sandbox.require_isolation: false"):
        execute("js", "process.exit(0)", timeout_s=5)


def test_completions_are_cut_at_the_first_stop_token():
    assert cut_at("  return 1;\n}\nfunction g() {}", ["\nfunction ", "\n//"]) == "  return 1;\n}"
    assert cut_at("no stop here", ["\n}"]) == "no stop here"
    # The earliest place any stop string occurs, whichever is listed first, and its first occurrence.
    assert cut_at("  return 1;\n// note\nfunction g() {}\n// more", ["\nfunction ", "\n//"]) == "  return 1;"
    assert cut_at("a\nprint(1)\nprint(2)", ["\nprint"]) == "a"


def test_pass_at_k_is_the_unbiased_estimator():
    assert pass_at_k(50, 0, 1) == 0.0 and pass_at_k(50, 50, 1) == 1.0
    assert pass_at_k(50, 10, 1) == pytest.approx(0.2)
    assert pass_at_k(2, 1, 1) == pytest.approx(0.5) and pass_at_k(5, 0, 5) == 0.0  # n - c == k: not yet certain
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - (7 * 6 * 5 * 4 * 3) / (10 * 9 * 8 * 7 * 6))


def test_a_program_is_the_stripped_prompt_the_cut_completion_and_the_tests_as_in_the_harness():
    from ossinstruct.multipl_e import program, prompt

    task = {
        "prompt": "// add\nfunction add(a, b) {\n",
        "tests": "console.assert(add(1, 2) === 3);",
        "stop_tokens": ["\nfunction ", "\n/*"],
    }
    assert prompt(task) == "// add\nfunction add(a, b) {"
    completion = "\n  return a + b;\n}\nfunction extra() {}\n"
    assert program(task, completion) == (
        "// add\nfunction add(a, b) {\n  return a + b;\n}\nconsole.assert(add(1, 2) === 3);"
    )
