"""Stage 3a, parsing teacher responses into (problem, solution) pairs (paper §2.1, method §3).

The paper's rule: keep a response only if it stopped normally; take the first line containing
`[problem description]` and the first containing `[solution]` (case-insensitive), both present,
problem first; problem = the lines strictly between them, solution = everything after the
solution header, both stripped and non-empty. Text on a header line itself is lost (a paper
quirk, reproduced).

`curate.parser: robust` (not the paper's) also accepts what real teachers write: Markdown
headings (`## Problem Description`, `### Solution:`), bold markers (`**Problem Description**`),
the headers with or without brackets, and text after the header on the same line (kept).
Both parsers report how many responses they dropped and why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .io import read_jsonl, write_json, write_jsonl
from .streams import step_report

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


# A header line: optional Markdown heading or list marker, optional bold/italic, the name with or
# without brackets, an optional colon, closing markers; whatever follows on the line is content.
_ROBUST = r"^\s*(?:#{1,6}\s*|[-*]\s+|\d+[.)]\s+)?[*_]{0,3}\s*\[?\s*%s\s*\]?\s*[*_]{0,3}\s*:?\s*[*_]{0,3}(?P<rest>.*)$"
ROBUST_PROBLEM = re.compile(_ROBUST % r"problem(?:\s+description)?", re.IGNORECASE)
ROBUST_SOLUTION = re.compile(_ROBUST % r"solution", re.IGNORECASE)


def parse_response_robust(text: str) -> tuple[str, str] | str:
    """Like `parse_response`, for headers as real teachers format them; header-line text is kept.

    A header is a line that consists of the section name (and markup): a sentence that merely
    mentions "the solution" is not one.
    """
    lines = text.splitlines(keepends=True)
    problem_at = solution_at = None
    problem_rest = solution_rest = ""
    for number, line in enumerate(lines):
        if problem_at is None and (match := ROBUST_PROBLEM.match(line.rstrip("\n"))):
            problem_at, problem_rest = number, match.group("rest")
            continue
        if problem_at is not None and solution_at is None and (match := ROBUST_SOLUTION.match(line.rstrip("\n"))):
            solution_at, solution_rest = number, match.group("rest")
            break
    if problem_at is None:
        return "missing_problem_header"
    if solution_at is None:
        return "missing_solution_header"
    problem = (problem_rest + "\n" + "".join(lines[problem_at + 1 : solution_at])).strip()
    solution = (solution_rest + "\n" + "".join(lines[solution_at + 1 :])).strip()
    if not problem:
        return "empty_problem"
    if not solution:
        return "empty_solution"
    return problem, solution


PARSERS = {"paper": parse_response, "robust": parse_response_robust}


def parse_responses(rows: Iterable[dict], parser: str = "paper") -> tuple[list[dict], list[dict], dict]:
    """Returns (parsed rows, excluded rows with `reason`, report)."""
    if parser not in PARSERS:
        raise ValueError(f"config key 'curate.parser': unknown value {parser!r} (paper, robust)")
    parse = PARSERS[parser]
    kept, excluded = [], []
    for row in rows:
        if row.get("finish_reason") != "stop":
            result = f"finish_reason_{row.get('finish_reason')}"
        else:
            result = parse(row.get("response") or "")
        if isinstance(result, str):
            excluded.append({**row, "reason": result})
        else:
            kept.append({**row, "problem": result[0], "solution": result[1]})
    return kept, excluded, {**step_report("parse", kept, excluded), "parser": parser}


def run_shard(
    *, responses: str, shard: str, parsed: str, excluded: str, report: str, keys: str, settings: dict
) -> None:
    """`run` on shard `shard` of the responses (a byte range), streamed: one row in memory, the
    exact dedup's keys of the parsed rows beside them (`dedup.KeyWriter`)."""
    from .dedup import KeyWriter
    from .streams import StepCounts, Writer, dumps, shard_rows

    if settings["parser"] not in PARSERS:
        raise ValueError(f"config key 'curate.parser': unknown value {settings['parser']!r} (paper, robust)")
    parse = PARSERS[settings["parser"]]
    counts, found = StepCounts("parse"), KeyWriter()
    with Writer(excluded) as dropped, Writer(parsed) as kept:
        for row in shard_rows(responses, shard, ("id", "response", "finish_reason")):
            if row.get("finish_reason") != "stop":
                result = f"finish_reason_{row.get('finish_reason')}"
            else:
                result = parse(row.get("response") or "")
            if isinstance(result, str):
                dropped.write(dumps({**row, "reason": result}))
                counts.drop(row, result)
            else:
                row = {**row, "problem": result[0], "solution": result[1]}
                line = dumps(row)
                kept.write(line)
                counts.keep(row)
                found.add(row, f"{responses} (shard {shard}, row id {row.get('id')!r})", len(line))
    found.save(keys)
    write_json(report, {**counts.report(), "parser": settings["parser"]})


def run(*, responses: str, parsed: str, excluded: str, report: str, settings: dict) -> None:
    kept, dropped, summary = parse_responses(
        read_jsonl(responses, ("id", "response", "finish_reason")), settings["parser"]
    )
    write_jsonl(excluded, dropped)
    write_jsonl(parsed, kept)
    write_json(report, summary)


def merge(
    *,
    shard_parsed: list[str],
    shard_excluded: list[str],
    shard_reports: list[str],
    parsed: str,
    excluded: str,
    report: str,
) -> None:
    """The shards' files as the single job's: joined in shard order."""
    from .io import read_json
    from .streams import concatenate, merge_step_reports

    concatenate(shard_parsed, parsed)
    concatenate(shard_excluded, excluded)
    write_json(report, merge_step_reports([read_json(path) for path in shard_reports]))
