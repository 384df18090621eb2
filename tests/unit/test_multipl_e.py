"""MultiPL-E execution with the real toolchains, in the sandbox: a right body passes, a wrong one
fails, a syntax error does not compile, an endless loop is killed, the network is unreachable."""

import json
import os

import pytest

from ossinstruct.evaluate.prompts import cut_at
from ossinstruct.multipl_e import LANGUAGES, execute, pass_at_k, program
from ossinstruct.sandbox import SandboxError
from ossinstruct.toolchains import missing_toolchain

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
