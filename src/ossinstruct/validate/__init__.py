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
import shutil
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed

from ..io import read_json, write_json, write_jsonl
from ..sandbox import Limits, Sandbox
from ..settings import LIMIT_KEYS
from ..streams import shard_rows
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
from .verdicts import VerdictCache, verdict_key

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


def validate_rows(
    rows: list[dict], settings: dict, sandbox: Sandbox, threads: int = 2, cache: VerdictCache | None = None
) -> tuple[list, list, dict]:
    """(kept, excluded, report). A row with `candidates` (teacher solutions sampled besides its own)
    is kept with the first of its solutions, then the candidates, that passes. With a `cache`, a row
    judged before is not run again, and each new verdict is committed as soon as it is reached."""
    limits = limits_of(settings)
    started = time.monotonic()

    def judge(row: dict) -> dict:
        verdict = check(row, sandbox, limits)
        chosen = "curated"
        for i, candidate in enumerate(row.get("candidates") or []):
            if verdict["status"] == "passed" or verdict["status"] in ("no_tests", "unsupported_language"):
                break
            attempt = check(row, sandbox, limits, candidate)
            if attempt["status"] == "passed":
                verdict, chosen = attempt, f"candidate-{i}"
        return {**verdict, "chosen": chosen}

    verdicts: list[dict | None] = [None] * len(rows)
    keys = [verdict_key(row, settings) for row in rows] if cache is not None else []
    for position, key in enumerate(keys):
        verdicts[position] = cache.get(key)
    reused = sum(1 for verdict in verdicts if verdict is not None)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        running = {pool.submit(judge, row): i for i, row in enumerate(rows) if verdicts[i] is None}
        for future in as_completed(running):
            position = running[future]
            verdicts[position] = future.result()
            if cache is not None:
                cache.put(keys[position], verdicts[position])
    judged = list(zip(rows, verdicts, strict=True))
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
        "verdicts_reused": reused,
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
    *,
    rows: str,
    kept: str,
    excluded: str,
    report: str,
    settings: dict,
    sandbox: dict | None = None,
    threads: int = 2,
    shard: str = "0-of-1",
    cache: str | None = None,
    cache_others: list | None = None,
) -> None:
    """The stage, or shard `shard` of it (a contiguous byte range of `rows`, JSONL with tests): kept rows,
    `<stem>_excluded.jsonl` with each dropped row's verdict (`reason`) and its output's tail, and a
    report of counts by verdict and language. `settings`: the `validate` section's limits; `sandbox`:
    the `sandbox` section; `cache`: the SQLite file of this job's verdicts (`verdicts.cache_files`),
    `cache_others` those of other shards it may reuse."""
    data = list(shard_rows(rows, shard))  # the shard's byte range of the file: the others' rows are not read
    languages = {LANGUAGES.get(pair_language(row).lower()) for row in data} - {None, "python"}
    box = sandbox_for("execution validation of teacher solutions", sorted(languages), sandbox, threads)
    store = VerdictCache(cache, cache_others or []) if cache else None
    try:
        passed, dropped, summary = validate_rows(data, settings, box, threads, store)
    finally:
        if store is not None:
            store.close()
    log.info(
        "validated %d rows (%d verdicts reused): %s (%.1f rows/s)",
        len(data),
        summary["verdicts_reused"],
        summary["by_verdict"],
        summary["rows_per_s"] or 0,
    )
    write_jsonl(kept, passed)
    write_jsonl(excluded, dropped)
    write_json(report, summary)


def merge_reports(reports: list[dict]) -> dict:
    """One validation report from the shards' (in shard order): the counts summed, the rates of the
    sums, the slowest shard's wall time; for one shard, that shard's report as it is."""
    if len(reports) == 1:
        return reports[0]
    merged = dict(reports[0])
    for key in ("rows", "kept", "excluded", "kept_from_candidates", "verdicts_reused"):
        merged[key] = sum(report[key] for report in reports)
    merged["pass_rate"] = round(merged["kept"] / merged["rows"], 4) if merged["rows"] else None
    merged["by_verdict"] = {name: sum(r["by_verdict"][name] for r in reports) for name in VERDICTS}
    by_language: dict[str, Counter] = {}
    for report in reports:
        for lang, counted in report["by_language"].items():
            by_language.setdefault(lang, Counter()).update({k: v for k, v in counted.items() if k in VERDICTS})
    merged["by_language"] = {
        lang: {
            **{name: counted[name] for name in VERDICTS if counted[name]},
            "pass_rate": round(counted["passed"] / sum(counted.values()), 4),
        }
        for lang, counted in sorted(by_language.items())
    }
    merged["wall_s"] = max(report["wall_s"] for report in reports)
    merged["rows_per_s"] = round(merged["rows"] / merged["wall_s"], 1) if merged["wall_s"] > 0 else None
    merged["shards"] = len(reports)
    merged["by_shard"] = [{key: r[key] for key in ("rows", "kept", "verdicts_reused", "wall_s")} for r in reports]
    return merged


def merge(
    *, shard_kept: list, shard_excluded: list, shard_reports: list, kept: str, excluded: str, report: str
) -> None:
    """The validated rows, the excluded rows and one report, from the shards (in shard order): the
    rows are the shards' files joined byte for byte, so they equal one unsharded job's."""
    for parts, target in ((shard_kept, kept), (shard_excluded, excluded)):
        with open(target, "wb") as out:
            for part in parts:
                with open(part, "rb") as source:
                    shutil.copyfileobj(source, out, 1 << 20)
    write_json(report, merge_reports([read_json(path) for path in shard_reports]))
