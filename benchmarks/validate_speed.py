"""Execution validation's throughput: `python benchmarks/validate_speed.py [rows] [threads]`.

Typical short Python pairs (a function of a few lines, three `test_*` functions; one in five
fails), validated two ways on the same rows, in the same run:
- baseline: each row in a fresh, unsandboxed `python` process, one at a time (solution, tests and
  calls of the tests in one file): what a validator without a sandbox does;
- ours: `validate.validate_rows`, every row in its own bubblewrap sandbox (namespaces, a fresh
  folder, limits, a user of its own when root) with the harness, `threads` workers.
Prints rows/s for both, the ratio, the sandbox's cost per row on one worker, and checks that both
agree on every verdict. Goal (issue 18): at least 50 rows/s on 2 cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ossinstruct.sandbox import Sandbox
from ossinstruct.validate import validate_rows

LIMITS = {"timeout_s": 10, "memory_mb": 1024, "processes": 64, "output_bytes": 1 << 20}


def pairs(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        wrong = i % 5 == 4
        solution = (
            f"```python\ndef scale_{i}(values, factor={i % 7 + 1}):\n"
            f'    """Multiply each value by factor, skipping None."""\n'
            f"    return [v * factor{' + 1' if wrong else ''} for v in values if v is not None]\n```"
        )
        k = i % 7 + 1
        tests = (
            f"def test_empty():\n    assert scale_{i}([]) == []\n\n"
            f"def test_values():\n    assert scale_{i}([1, 2, 3]) == [{k}, {2 * k}, {3 * k}]\n\n"
            f"def test_none_skipped():\n    assert scale_{i}([None, 4], factor=2) == [8]\n"
        )
        rows.append({"id": f"row-{i}", "lang": "python", "problem": "p", "solution": solution, "tests": tests})
    return rows


def baseline(rows: list[dict]) -> list[bool]:
    """Each row in a fresh unsandboxed python, one at a time."""
    from ossinstruct.validate.runners import extract_code

    passed = []
    with tempfile.TemporaryDirectory() as folder:
        for row in rows:
            path = Path(folder, "program.py")
            tests = extract_code(row["tests"], "python")
            calls = "".join(f"{line[4:].split('(')[0]}()\n" for line in tests.splitlines() if line.startswith("def "))
            path.write_text(extract_code(row["solution"], "python") + "\n" + tests + "\n" + calls)
            done = subprocess.run([sys.executable, str(path)], capture_output=True, timeout=10, cwd=folder)
            passed.append(done.returncode == 0)
    return passed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    rows = pairs(n)
    started = time.perf_counter()
    plain = baseline(rows)
    plain_s = time.perf_counter() - started
    sandbox = Sandbox("the benchmark", slots=threads)
    started = time.perf_counter()
    kept, _, report = validate_rows(rows, LIMITS, sandbox, threads)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    validate_rows(rows[:60], LIMITS, Sandbox("the benchmark", slots=1), 1)
    one_worker_s = (time.perf_counter() - started) / 60
    ours = {row["id"] for row in kept}
    agree = sum((row["id"] in ours) == ok for row, ok in zip(rows, plain, strict=True))
    print(f"rows: {n} (typical short Python pairs, {sum(plain)} pass), cores: {os.cpu_count()}, workers: {threads}")
    print(f"baseline (fresh unsandboxed python per row, one at a time): {n / plain_s:.1f} rows/s")
    print(f"ours ({report['sandbox']} sandbox per row, {threads} workers): {n / ours_s:.1f} rows/s")
    print(f"ratio ours / baseline: {plain_s / ours_s:.2f}x")
    print(f"ours on one worker: {1000 * one_worker_s:.1f} ms per row (baseline {1000 * plain_s / n:.1f} ms)")
    print(f"verdicts agreeing: {agree}/{n}")


if __name__ == "__main__":
    main()
