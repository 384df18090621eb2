"""Tests from the teacher (execution validation's first step; not the paper's): for each curated
pair, one request for tests of its solution and, with `validate.solutions: k`, k requests for more
solutions of its problem (sampled at `solution_temperature`, as SelfCodeAlign does). The prompts
are ours, in the config (`validate.prompts`, versioned); the requests go through the generation's
client, cache, budgets and accounting (a `teacher` session).

Reads `results/curate/{teacher}/decontaminated.jsonl`; writes `results/validate/{teacher}/tests.jsonl`
(each pair with `tests`, the teacher's answer, and `candidates`, the sampled solutions) and a report.
"""

from __future__ import annotations

from pathlib import Path

from ..io import read_jsonl, write_json, write_jsonl
from .runners import pair_language

LANGUAGE_NAMES = {"python": "Python", "cpp": "C++", "java": "Java", "typescript": "TypeScript", "shell": "Shell"}
LANGUAGE_NAMES |= {"csharp": "C#", "rust": "Rust", "php": "PHP", "swift": "Swift", "js": "JavaScript"}


def language_name(lang: str) -> str:
    return LANGUAGE_NAMES.get(lang.lower(), lang)


def _messages(system: str, turns: list[dict], system_role: str) -> list[dict]:
    if system_role == "merge":  # chat templates without a system role, as the generation does
        return [{**turns[0], "content": f"{system}\n\n{turns[0]['content']}"}, *turns[1:]]
    return [{"role": "system", "content": system}, *turns]


def messages_for_tests(
    row: dict, prompts: dict, system_role: str = "system", demonstration: str = "none"
) -> list[dict]:
    """The tests request for a pair; with `demonstration: one_shot` (`validate.demonstration`) the
    configured worked exchange comes first."""
    turns = []
    shown = prompts.get("demonstration")
    if demonstration == "one_shot" and shown:
        turns += [
            {"role": "user", "content": _tests_prompt(prompts, "python", shown["problem"], shown["solution"])},
            {"role": "assistant", "content": shown["tests"]},
        ]
    turns.append(
        {"role": "user", "content": _tests_prompt(prompts, pair_language(row), row["problem"], row["solution"])}
    )
    return _messages(prompts["system"], turns, system_role)


def _tests_prompt(prompts: dict, lang: str, problem: str, solution: str) -> str:
    rules = prompts["rules"].get(lang.lower(), prompts["rules"]["default"])
    return prompts["tests"].format(language=language_name(lang), problem=problem, solution=solution, rules=rules)


def messages_for_solution(row: dict, prompts: dict, system_role: str = "system") -> list[dict]:
    user = prompts["solution"].format(language=language_name(pair_language(row)), problem=row["problem"])
    return _messages(prompts["system"], [{"role": "user", "content": user}], system_role)


def requests(rows: list[dict], k: int) -> tuple[list[dict], list[dict]]:
    """(one tests request per pair, k solution requests per pair), each with its own id and seed index."""
    tests = [{**row, "id": f"{row['id']}#tests"} for row in rows]
    solutions = [
        {**row, "id": f"{row['id']}#solution-{i}", "index": row["index"] * k + i} for row in rows for i in range(k)
    ]
    return tests, solutions


def cache_file(cache_dir: str, teacher: str) -> Path:
    """This step's own cache file beside the generation's (no two jobs share one SQLite file)."""
    return Path(cache_dir) / "teacher-responses.d" / f"{teacher}.validate.sqlite"


def run(
    *,
    pairs: str,
    tests: str,
    report: str,
    settings: dict,
    teacher_settings: dict,
    how: dict,
    cache_dir: str,
    threads: int = 2,
    server_log: str | None = None,
    model_folder: str | None = None,
    price: dict | None = None,
) -> None:
    """`settings`: the `validate` keys that decide the requests (prompts, demonstration, solutions,
    solution_temperature, max_new_tokens); `teacher_settings`: the teacher's (the generation rule's
    params); `how`: how the teacher's requests are sent; `model_folder`: a GGUF teacher's folder."""
    from ..teacher import VALIDATION_ANSWER_TOKENS, job_teacher, open_session

    rows = read_jsonl(pairs)
    prompts, k = settings["prompts"], settings["solutions"]
    teacher = job_teacher(teacher_settings, how, model_folder)
    asked = {**teacher, "max_new_tokens": settings["max_new_tokens"]}
    sampled = {**asked, "temperature": settings["solution_temperature"]}
    role, shown = teacher["system_role"], settings["demonstration"]
    test_requests, solution_requests = requests(rows, k)
    # One session, and one cap for the job's tests and solutions requests together
    with open_session(
        teacher,
        cache=cache_file(cache_dir, teacher["name"]),
        cache_dir=cache_dir,
        job="validate",
        threads=threads,
        server_log=server_log,
        price=price,
        answer_tokens=VALIDATION_ANSWER_TOKENS,
    ) as session:
        answered, tests_report = session.answer(
            test_requests, asked, ask=lambda row: messages_for_tests(row, prompts, role, shown)
        )
        solutions, solutions_report = [], None
        if k:
            solutions, solutions_report = session.answer(
                solution_requests, sampled, ask=lambda row: messages_for_solution(row, prompts, role)
            )
    by_id = {row["id"].rsplit("#", 1)[0]: row for row in answered}
    candidates: dict[str, list[str]] = {}
    for row in solutions:
        candidates.setdefault(row["id"].rsplit("#", 1)[0], []).append(row["response"])
    out = []
    for row in rows:
        answer = by_id.get(row["id"])
        out.append(
            {
                **row,
                "tests": answer["response"] if answer else "",
                "tests_finish_reason": answer["finish_reason"] if answer else None,
                "candidates": candidates.get(row["id"], []),
                "prompt_version": prompts["version"],
            }
        )
    write_jsonl(tests, out)
    write_json(
        report,
        {
            "prompt_version": prompts["version"],
            "pairs": len(rows),
            "with_tests": sum(1 for row in out if row["tests"]),
            "solutions_per_pair": k,
            "tests_requests": tests_report,
            "solution_requests": solutions_report,
        },
    )
