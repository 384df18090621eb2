"""Stage 3a, parsing teacher responses into (problem, solution) pairs (paper §2.1, method §3).

The paper's rule: keep a response only if it stopped normally; take the first line containing
`[problem description]` and the first containing `[solution]` (case-insensitive), both present,
problem first; problem = the lines strictly between them, solution = everything after the
solution header, both stripped and non-empty. Text on a header line itself is lost (a paper
quirk, reproduced).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

PROBLEM_HEADER = "[problem description]"
SOLUTION_HEADER = "[solution]"


def parse_response(text: str) -> tuple[str, str] | str:
    """Returns (problem, solution), or the reason the response is dropped."""
    lines = text.splitlines(keepends=True)
    problem_at = solution_at = None
    for number, line in enumerate(lines):
        lowered = line.lower()
        if problem_at is None and PROBLEM_HEADER in lowered:
            problem_at = number
        if solution_at is None and SOLUTION_HEADER in lowered:
            solution_at = number
    if problem_at is None:
        return "missing_problem_header"
    if solution_at is None:
        return "missing_solution_header"
    if problem_at >= solution_at:
        return "headers_out_of_order"
    problem = "".join(lines[problem_at + 1 : solution_at]).strip()
    solution = "".join(lines[solution_at + 1 :]).strip()
    if not problem:
        return "empty_problem"
    if not solution:
        return "empty_solution"
    return problem, solution


def parse_responses(rows: Iterable[dict]) -> tuple[list[dict], list[dict], dict]:
    """Returns (parsed rows, excluded rows with `reason`, report)."""
    kept, excluded = [], []
    for row in rows:
        if row.get("finish_reason") != "stop":
            result = f"finish_reason_{row.get('finish_reason')}"
        else:
            result = parse_response(row.get("response") or "")
        if isinstance(result, str):
            excluded.append({**row, "reason": result})
        else:
            kept.append({**row, "problem": result[0], "solution": result[1]})
    return kept, excluded, step_report("parse", kept, excluded)


def step_report(step: str, kept: list[dict], excluded: list[dict]) -> dict:
    """Counts in, out and dropped (by reason and by language) for one curation step."""
    by_lang: dict[str, dict] = {}
    for row in kept:
        by_lang.setdefault(row.get("lang", "unknown"), Counter())["kept"] += 1
    for row in excluded:
        by_lang.setdefault(row.get("lang", "unknown"), Counter())[row["reason"]] += 1
    return {
        "step": step,
        "rows_in": len(kept) + len(excluded),
        "rows_out": len(kept),
        "dropped": len(excluded),
        "dropped_by_reason": dict(Counter(row["reason"] for row in excluded)),
        "by_language": {lang: dict(counts) for lang, counts in sorted(by_lang.items())},
    }
