"""Execution validation: each verdict, the Python rule (every test_* returns, top-level asserts run,
an early exit has not passed), the other languages through MultiPL-E's toolchains, the outputs."""

from __future__ import annotations

import json
import shutil

import pytest

from ossinstruct.sandbox import Sandbox, isolation_problem
from ossinstruct.toolchains import sandbox_for
from ossinstruct.validate import validate_rows
from ossinstruct.validate.generate_tests import messages_for_tests, requests
from ossinstruct.validate.runners import extract_code, java_program, python_has_tests

from ..conftest import IN_CI

# Elsewhere than CI (where scripts/setup.sh installs bubblewrap and a missing sandbox must fail), a
# machine without one skips, saying why.
pytestmark = pytest.mark.skipif(
    bool(isolation_problem()) and not IN_CI, reason=f"no sandbox here: {isolation_problem()}"
)
LIMITS = {"timeout_s": 5, "memory_mb": 1024, "processes": 64, "output_bytes": 1 << 20}
ADD = "```python\ndef add(a, b):\n    return a + b\n```"


def row(name, solution=ADD, tests="assert add(1, 2) == 3", lang="python", **extra):
    return {"id": name, "lang": lang, "problem": f"problem {name}", "solution": solution, "tests": tests, **extra}


def verdicts(rows, sandbox=None):
    kept, excluded, report = validate_rows(rows, LIMITS, sandbox or Sandbox("tests", slots=2), threads=2)
    found = {r["id"]: "passed" for r in kept} | {r["id"]: r["reason"] for r in excluded}
    return found, kept, excluded, report


def test_each_python_verdict():
    rows = [
        row("top-level-asserts"),
        row("test-functions", tests="```python\ndef test_add():\n    assert add(2, 2) == 4\n```"),
        row(
            "testcase",
            tests="import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n"
            "        self.assertEqual(add(1, 1), 2)\n",
        ),
        row("imports-the-solution", tests="from solution import add as plus\nassert plus(1, 2) == 3\n"),
        row(
            "main-block-skipped", solution="def add(a, b):\n    return a + b\nif __name__ == '__main__':\n    input()\n"
        ),
        row(
            "one-test-fails",
            tests="def test_a():\n    assert add(1, 2) == 3\ndef test_b():\n    assert add(1, 2) == 4\n",
        ),
        row("top-level-assert-fails", tests="assert add(1, 2) == 4"),
        row(
            "testcase-fails",
            tests="import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n"
            "        self.assertEqual(add(1, 1), 3)\n",
        ),
        row("sys-exit-in-a-test", tests="import sys\ndef test_a():\n    sys.exit(0)\n"),
        row("sys-exit-at-top-level", tests="import sys\nassert add(1, 2) == 3\nsys.exit(0)\n"),
        row(
            "unittest-main-exits",
            tests="import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n"
            "        pass\nunittest.main()\n",
        ),
        row("os-exit-in-a-test", tests="import os\ndef test_a():\n    os._exit(0)\n"),
        row(
            "forged-verdict",  # a verdict file written by the code, without the harness's nonce
            tests="import os\nopen('verdict', 'w').write('x\\npassed\\n1\\n')\nos._exit(0)\nassert False\n",
        ),
        row("syntax-error", solution="def add(a, b) return a + b"),
        row("raises-while-defined", solution="raise RuntimeError('no')\n"),
        row("no-tests-empty", tests=""),
        row("no-tests-prints-only", tests="print(add(1, 2))"),
        row("no-tests-assert-in-a-helper", tests="def check():\n    assert add(1, 2) == 3\n"),
        row("timeout", solution="def add(a, b):\n    while True:\n        pass\n"),
        row("shell", lang="shell", solution="```bash\necho hi\n```", tests="test 1 = 1"),
        row("typescript", lang="typescript", solution="let x = 1;", tests="console.assert(x === 1);"),
    ]
    found, kept, excluded, report = verdicts(rows)
    assert found == {
        "top-level-asserts": "passed",
        "test-functions": "passed",
        "testcase": "passed",
        "imports-the-solution": "passed",
        "main-block-skipped": "passed",
        "one-test-fails": "failed",
        "top-level-assert-fails": "failed",
        "testcase-fails": "failed",
        "sys-exit-in-a-test": "failed",
        "sys-exit-at-top-level": "failed",
        "unittest-main-exits": "failed",
        "os-exit-in-a-test": "error",
        "forged-verdict": "error",
        "syntax-error": "error",
        "raises-while-defined": "error",
        "no-tests-empty": "no_tests",
        "no-tests-prints-only": "no_tests",
        "no-tests-assert-in-a-helper": "no_tests",
        "timeout": "timeout",
        "shell": "unsupported_language",
        "typescript": "unsupported_language",
    }
    dropped = {r["id"]: r for r in excluded}
    assert "assert add(1, 2) == 4" in dropped["one-test-fails"]["output"]
    assert "SyntaxError" in dropped["syntax-error"]["output"]
    assert "no runner for 'shell'" in dropped["shell"]["output"]
    given = {r["id"]: r["solution"] for r in rows}
    assert all(r["validated_solution"] == "curated" and r["solution"] == given[r["id"]] for r in kept)
    assert report["by_verdict"] == {
        "passed": 5,
        "failed": 6,
        "error": 4,
        "timeout": 1,
        "no_tests": 3,
        "unsupported_language": 2,
    }
    assert report["by_language"]["python"]["pass_rate"] == round(5 / 19, 4)
    assert report["by_language"]["shell"] == {"unsupported_language": 1, "pass_rate": 0.0}


def test_a_sampled_solution_that_passes_replaces_a_failing_one():
    wrong = "def add(a, b):\n    return a - b\n"
    rows = [
        row("rescued", solution=wrong, candidates=["def add(a, b):\n    return a * b\n", ADD]),
        row("never", solution=wrong, candidates=[wrong]),
    ]
    found, kept, _, report = verdicts(rows)
    assert found == {"rescued": "passed", "never": "failed"}
    assert kept[0]["solution"] == ADD and kept[0]["validated_solution"] == "candidate-1"
    assert report["kept_from_candidates"] == 1


@pytest.mark.parametrize(
    ("lang", "program", "good", "bad", "tests"),
    [
        (
            "cpp",
            "g++",
            "int add(int a, int b) { return a + b; }",
            "int add(int a, int b) { return a - b; }",
            "#include <cassert>\nint main() { assert(add(1, 2) == 3); }",
        ),
        (
            "java",
            "javac",
            "public class Calc { static int add(int a, int b) { return a + b; } }",
            "public class Calc { static int add(int a, int b) { return a - b; } }",
            "public class Main { public static void main(String[] x) { if (Calc.add(1, 2) != 3) System.exit(1); } }",
        ),
        (
            "php",
            "php",
            "<?php function add($a, $b) { return $a + $b; }",
            "<?php function add($a, $b) { return 0; }",
            "if (add(1, 2) !== 3) { exit(1); }",
        ),
    ],
)
def test_other_languages_run_with_multipl_e_toolchains(lang, program, good, bad, tests):
    if shutil.which(program) is None:
        if IN_CI:
            pytest.fail(f"{program} missing in CI (scripts/setup.sh installs it)")
        pytest.skip(f"{program} not installed")
    rows = [
        row("good", lang=lang, solution=good, tests=tests),
        row("bad", lang=lang, solution=bad, tests=tests),
        row("broken", lang=lang, solution=good + " this does not compile", tests=tests),
        row("untested", lang=lang, solution=good, tests=""),
    ]
    found, *_ = verdicts(rows, sandbox_for("tests", [{"cpp": "cpp", "java": "java", "php": "php"}[lang]], slots=2))
    expected_broken = "failed" if lang == "php" else "error"  # PHP compiles as it runs
    assert found == {"good": "passed", "bad": "failed", "broken": expected_broken, "untested": "no_tests"}


def test_code_comes_out_of_markdown_fences_or_bare_text():
    answer = "Here:\n```python\ndef f():\n    return 1\n```\nand usage:\n```\nprint(f())\n```\n```bash\npip x\n```"
    assert extract_code(answer, "python") == "def f():\n    return 1\nprint(f())\n"
    assert extract_code("def f(): pass", "python") == "def f(): pass"
    assert extract_code("```python\ndef f():\n    return 1\n", "python") == "def f():\n    return 1\n"  # unclosed
    assert extract_code("```cpp\nint x;\n```", "python") == "int x;\n"  # only other tags: all blocks


def test_a_pair_runs_as_the_language_its_solution_is_fenced_in():
    from ossinstruct.validate.runners import pair_language

    assert pair_language(row("x", lang="shell")) == "python"  # a Python answer to a shell seed
    assert pair_language(row("x", lang="cpp", solution="```c++\nint x;\n```")) == "cpp"
    assert pair_language(row("x", lang="shell", solution="```bash\necho\n```")) == "shell"
    assert pair_language(row("x", lang="rust", solution="fn main() {}")) == "rust"
    found, kept, _, report = verdicts([row("shell-seed", lang="shell")])
    assert found == {"shell-seed": "passed"} and kept[0]["validated_as"] == "python"
    assert list(report["by_language"]) == ["python"]


def test_tests_check_the_solution_not_their_own_copy_of_it():
    wrong = "```python\ndef add(a, b):\n    return a - b\n```"
    copied = "def add(a, b):\n    return a + b\n\n@staticmethod\ndef helper():\n    pass\n\nassert add(1, 2) == 3\n"
    found, *_ = verdicts([row("copies-a-right-add", solution=wrong, tests=copied), row("right", tests=copied)])
    assert found == {"copies-a-right-add": "failed", "right": "passed"}


def test_what_counts_as_tests():
    assert python_has_tests("assert f() == 1")
    assert python_has_tests("if True:\n    assert f() == 1\n")
    assert python_has_tests("def test_f():\n    pass\n")
    assert not python_has_tests("def check():\n    assert f() == 1\n")
    assert not python_has_tests("print(f())")


def test_java_classes_lose_public_and_the_main_class_is_found():
    source, main = java_program("public class A {}\npublic final class Main { public static void main(String[] a) {} }")
    assert "public class" not in source and "final class Main" in source and main == "Main"


def test_tests_requests_use_the_configured_prompts_and_seeds(root):
    import yaml

    prompts = yaml.safe_load((root / "config.yaml").read_text())["validate"]["prompts"]
    pair = {"id": "python-3", "lang": "python", "problem": "Add two numbers.", "solution": ADD, "index": 3}
    system, user = messages_for_tests(pair, prompts)
    assert system == {"role": "system", "content": prompts["system"]}
    assert (
        "Add two numbers." in user["content"]
        and ADD in user["content"]
        and prompts["rules"]["python"] in user["content"]
    )
    merged = messages_for_tests(pair, prompts, "merge")
    assert len(merged) == 1 and merged[0]["content"].startswith(prompts["system"] + "\n\n")
    tests, solutions = requests([pair], 2)
    assert [r["id"] for r in tests] == ["python-3#tests"] and tests[0]["index"] == 3
    assert [(r["id"], r["index"]) for r in solutions] == [("python-3#solution-0", 6), ("python-3#solution-1", 7)]


def test_the_command_line_writes_kept_rows_excluded_rows_with_verdicts_and_a_report(tmp_path, root):
    from ossinstruct.cli import main

    rows = [row("good"), row("bad", tests="assert add(1, 2) == 0"), row("none", tests="")]
    given = tmp_path / "in.jsonl"
    given.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out" / "validated.jsonl"
    assert main(["validate", "--input", str(given), "--output", str(out), "--config", str(root / "config.yaml")]) == 0
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["good"]
    excluded = [json.loads(line) for line in (out.parent / "validated_excluded.jsonl").read_text().splitlines()]
    assert [(r["id"], r["reason"]) for r in excluded] == [("bad", "failed"), ("none", "no_tests")]
    assert "AssertionError" in excluded[0]["output"]
    report = json.loads((out.parent / "validated_report.json").read_text())
    assert report["by_verdict"]["passed"] == 1 and report["sandbox"] == "bubblewrap"


def test_rows_are_validated_in_parallel_up_to_the_threads():
    import time

    rows = [row(f"slow-{i}", solution="import time\ntime.sleep(1)\n" + ADD.strip("`python\n")) for i in range(4)]
    started = time.monotonic()
    kept, _, report = validate_rows(rows, LIMITS, Sandbox("tests", slots=4), threads=4)
    elapsed = time.monotonic() - started
    assert len(kept) == 4 and report["workers"] == 4
    assert elapsed < 3.0  # one at a time would take over 4 s


def test_the_dataset_card_reports_the_pass_rates():
    from ossinstruct.card import validation_section, validation_summary

    shell = row("sh", lang="shell", solution="```bash\necho hi\n```", tests="test 1 = 1")
    *_, report = verdicts([row("good"), row("bad", tests="assert add(1, 2) == 0"), shell])
    section = validation_section(validation_summary(report))
    assert "1 of 3 pass\n(33.3%; by language: python 50%, shell 0%)" in section
    assert "failed: 1" in section and "unsupported_language: 1" in section and "bubblewrap" in section
    assert validation_section(None) == ""
