"""Execution validation (not the paper's: SelfCodeAlign, NeurIPS 2024, and StarCoder2-Instruct keep
only the teacher's solutions that pass tests): each curated pair's solution runs with its tests in
the sandbox, and only the pairs that pass are kept.

- `generate_tests`: the teacher writes tests for each pair (and, optionally, `k` more solutions);
- `runners`: how a pair of each language runs (`harness.py` for Python);
- `run`: the stage. Rows carry `id, lang, problem, solution, tests` (code fenced or bare); a pair
  runs as its solution's fenced language where it names one, else as `lang`. A dropped
  row's verdict is `failed` (a test failed, or exited early), `error` (the solution does not run:
  a syntax error, an exception while it is defined, a crash or a limit), `timeout`, `no_tests`
  (nothing that tests), or `unsupported_language` (no runner or no toolchain: reported, never kept).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from ..io import read_jsonl, write_json, write_jsonl
from ..sandbox import Limits, Sandbox
from ..settings import LIMIT_KEYS
from ..toolchains import sandbox_for
from .runners import (
    LANGUAGES,
    compiled_verdict,
    extract_code,
    pair_language,
    python_has_tests,
    python_verdict,
    unsupported,
    without_redefinitions,
)

log = logging.getLogger(__name__)

VERDICTS = ("passed", "failed", "error", "timeout", "no_tests", "unsupported_language")


def limits_of(settings: dict) -> Limits:
    return Limits(
        timeout_s=settings["timeout_s"],
        memory_bytes=settings["memory_mb"] << 20,
        processes=settings["processes"],
        output_bytes=settings["output_bytes"],
    )


def check(row: dict, sandbox: Sandbox, limits: Limits, solution_text: str | None = None) -> dict:
    """One pair's verdict: {status, output, ...}; `solution_text` replaces the row's solution."""
    lang = pair_language(row)
    reason = unsupported(lang)
    if reason:
        return {"status": "unsupported_language", "output": reason}
    runner = LANGUAGES[lang.lower()]
    solution = extract_code(row["solution"] if solution_text is None else solution_text, lang)
    tests = extract_code(row.get("tests") or "", lang)
    if not tests.strip() or (runner == "python" and not python_has_tests(tests)):
        return {"status": "no_tests", "output": "the tests hold no assert, test_* function or TestCase"}
    if runner == "python":
        return python_verdict(sandbox, solution, without_redefinitions(tests, solution), limits)
    return compiled_verdict(sandbox, runner, solution + "\n\n" + tests + "\n", limits)


def validate_rows(rows: list[dict], settings: dict, sandbox: Sandbox, threads: int = 2) -> tuple[list, list, dict]:
    """(kept, excluded, report). A row with `candidates` (teacher solutions sampled besides its own)
    is kept with the first of its solutions, then the candidates, that passes."""
    limits = limits_of(settings)
    started = time.monotonic()

    def judge(row: dict) -> tuple[dict, dict]:
        verdict = check(row, sandbox, limits)
        chosen = "curated"
        for i, candidate in enumerate(row.get("candidates") or []):
            if verdict["status"] == "passed" or verdict["status"] in ("no_tests", "unsupported_language"):
                break
            attempt = check(row, sandbox, limits, candidate)
            if attempt["status"] == "passed":
                verdict, chosen = attempt, f"candidate-{i}"
        return row, {**verdict, "chosen": chosen}

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        judged = list(pool.map(judge, rows))
    kept, excluded = [], []
    by_language: dict[str, Counter] = {}
    for row, verdict in judged:
        lang = pair_language(row) or "unknown"
        by_language.setdefault(lang, Counter())[verdict["status"]] += 1
        if verdict["status"] == "passed":
            solution = row["solution"] if verdict["chosen"] == "curated" else _candidate(row, verdict["chosen"])
            kept.append({**row, "solution": solution, "validated_solution": verdict["chosen"], "validated_as": lang})
        else:
            output = verdict["output"][-2000:]
            excluded.append({**row, "reason": verdict["status"], "output": output, "validated_as": lang})
    wall = time.monotonic() - started
    counts = Counter(verdict["status"] for _, verdict in judged)
    report = {
        "step": "validate",
        "rows": len(rows),
        "kept": len(kept),
        "excluded": len(excluded),
        "pass_rate": round(len(kept) / len(rows), 4) if rows else None,
        "by_verdict": {name: counts.get(name, 0) for name in VERDICTS},
        "by_language": {
            lang: {
                **{name: counted[name] for name in VERDICTS if counted[name]},
                "pass_rate": round(counted["passed"] / sum(counted.values()), 4),
            }
            for lang, counted in sorted(by_language.items())
        },
        "kept_from_candidates": sum(1 for row in kept if row["validated_solution"] != "curated"),
        "limits": {key: settings[key] for key in LIMIT_KEYS},
        "sandbox": sandbox.describe(),
        "workers": max(1, threads),
        "wall_s": round(wall, 2),
        "rows_per_s": round(len(rows) / wall, 1) if wall > 0 else None,
    }
    return kept, excluded, report


def _candidate(row: dict, chosen: str) -> str:
    return row["candidates"][int(chosen.split("-")[1])]


def run(
    *, rows: str, kept: str, excluded: str, report: str, settings: dict, sandbox: dict | None = None, threads: int = 2
) -> None:
    """The stage: `rows` (JSONL with tests) -> kept rows, `<stem>_excluded.jsonl` with each dropped
    row's verdict (`reason`) and its output's tail, and a report of counts by verdict and language.
    `settings`: the `validate` section's limits; `sandbox`: the `sandbox` section."""
    data = read_jsonl(rows)
    languages = {LANGUAGES.get(pair_language(row).lower()) for row in data} - {None, "python"}
    box = sandbox_for("execution validation of teacher solutions", sorted(languages), sandbox, threads)
    passed, dropped, summary = validate_rows(data, settings, box, threads)
    log.info("validated %d rows: %s (%.1f rows/s)", len(data), summary["by_verdict"], summary["rows_per_s"] or 0)
    write_jsonl(kept, passed)
    write_jsonl(excluded, dropped)
    write_json(report, summary)
