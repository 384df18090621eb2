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


def _stage(tmp_path, name, rows, **options):
    """validate.run on `rows` into tmp_path/name/; its three files' bytes and the report."""
    from ossinstruct import validate

    given = tmp_path / "tests.jsonl"
    given.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / name
    out.mkdir()
    files = {"kept": out / "validated.jsonl", "excluded": out / "excluded.jsonl", "report": out / "report.json"}
    validate.run(rows=str(given), **{k: str(v) for k, v in files.items()}, settings=LIMITS, threads=2, **options)
    return files


MIXED = [row(f"pass-{i}") if i % 3 else row(f"fail-{i}", tests="assert add(1, 2) == 0") for i in range(7)]
MIXED.insert(4, row("sh", lang="shell", solution="```bash\necho hi\n```", tests="test 1 = 1"))


def test_validation_shards_merge_into_exactly_the_unsharded_files(tmp_path):
    from ossinstruct import validate

    whole = _stage(tmp_path, "whole", MIXED)
    shards = [_stage(tmp_path, f"shard-{i}", MIXED, shard=f"{i}-of-3") for i in range(3)]
    merged = {"kept": tmp_path / "kept.jsonl", "excluded": tmp_path / "excluded.jsonl", "report": tmp_path / "r.json"}
    validate.merge(
        shard_kept=[str(s["kept"]) for s in shards],
        shard_excluded=[str(s["excluded"]) for s in shards],
        shard_reports=[str(s["report"]) for s in shards],
        **{k: str(v) for k, v in merged.items()},
    )
    assert [len(json.loads(s["report"].read_text())["by_language"]) for s in shards].count(2) == 1  # shell in one
    for name in ("kept", "excluded"):
        assert merged[name].read_bytes() == whole[name].read_bytes() and merged[name].stat().st_size > 0
    report, alone = json.loads(merged["report"].read_text()), json.loads(whole["report"].read_text())
    for key in ("rows", "kept", "excluded", "pass_rate", "by_verdict", "by_language", "kept_from_candidates"):
        assert report[key] == alone[key], key
    # each shard validated the pairs of its byte range of the file (and read no other)
    from ossinstruct.streams import shard_lines

    expected = [sum(1 for _ in shard_lines(tmp_path / "tests.jsonl", f"{i}-of-3")) for i in range(3)]
    assert report["shards"] == 3 and [s["rows"] for s in report["by_shard"]] == expected and sum(expected) == 8


def test_a_killed_validation_job_runs_again_only_the_pairs_in_flight(tmp_path):
    """Each verdict is committed as it is reached: SIGKILL the job mid-way, and the rerun runs only
    the pairs it had not judged; a new shard count reuses the other shards' verdicts."""
    import os
    import signal
    import subprocess
    import sys
    import time

    slow = "import time\ntime.sleep(1)\n" + ADD.strip("`python\n")
    rows = [row(f"slow-{i}", solution=slow, tests=f"assert add({i}, 1) == {i + 1}") for i in range(6)]
    given = tmp_path / "tests.jsonl"
    given.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cache = tmp_path / "cache" / "validate-verdicts.d" / "t.shard-0-of-1.sqlite"
    code = (
        "import json, sys\nfrom ossinstruct import validate\n"
        "validate.run(rows=sys.argv[1], kept=sys.argv[2] + '/k.jsonl', excluded=sys.argv[2] + '/e.jsonl',"
        " report=sys.argv[2] + '/r.json', settings=json.loads(sys.argv[3]), threads=1, cache=sys.argv[4])\n"
    )
    (tmp_path / "first").mkdir()
    job = subprocess.Popen(
        [sys.executable, "-c", code, str(given), str(tmp_path / "first"), json.dumps(LIMITS), str(cache)],
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _cached(cache) >= 2:
        time.sleep(0.1)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    judged = _cached(cache)
    assert 2 <= judged < 6 and not (tmp_path / "first" / "r.json").exists()

    started = time.monotonic()
    files = _stage(tmp_path, "again", rows, cache=str(cache))
    report = json.loads(files["report"].read_text())
    assert report["verdicts_reused"] == judged and report["kept"] == 6
    assert time.monotonic() - started < (6 - judged) + 2.5  # the judged pairs did not run again (1 s each)
    # another split of the same rows: shard 1 of 2 reads shard 0-of-1's verdicts and runs nothing
    from ossinstruct.validate.verdicts import cache_files

    own, others = cache_files(str(tmp_path / "cache"), "t", "1-of-2")
    assert others == [cache] and own.name == "t.shard-1-of-2.sqlite"
    split = _stage(tmp_path, "split", rows, shard="1-of-2", cache=str(own), cache_others=others)
    assert json.loads(split["report"].read_text())["verdicts_reused"] == 3


def _cached(path) -> int:
    import sqlite3

    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
