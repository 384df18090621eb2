"""Every completion's verdict (the explorer's evaluation database), one row per model x benchmark x task.

A row holds the prompt the model was given (rebuilt in its prompt format, without the BOS text),
its completion, the solution EvalPlus ran (the sanitised code), the base and plus verdicts as EvalPlus
wrote them, the first failing input of each, `passed_plus`: the paper's pass@1 rule (plus counts only
where base passes), and, for a solution that failed, the tail of its output run again on that input
(`replay.py`). MultiPL-E outcomes (each sample's status and the tail of its output) are a table
of their own.
"""

from __future__ import annotations

import json

from ..evaluate.prompts import build_prompt, load_tasks
from ..io import read_json, read_jsonl

TAIL = 2000  # characters of program output kept


def first_input(failures: list | None) -> str | None:
    """The first failing input EvalPlus recorded, as JSON (EvalPlus keeps inputs, not tracebacks)."""
    return json.dumps(failures[0]) if failures else None


def task_rows(*, model: str, benchmark: str, dataset: str, samples: str, results: str, scores: str) -> list[dict]:
    summary = read_json(scores)
    prompt_format = summary["generation"]["prompt_format"]
    tasks = {task["task_id"]: task for task in load_tasks(dataset, summary["n_tasks"])}
    outcomes = read_json(results)["eval"]
    rows = []
    for sample in read_jsonl(samples):
        task_id = sample["task_id"]
        outcome = outcomes[task_id][0]
        base, plus = outcome["base_status"], outcome["plus_status"]
        failing = first_input(outcome.get("base_fail_tests") if base != "pass" else outcome.get("plus_fail_tests"))
        rows.append(
            {
                "model": model,
                "benchmark": benchmark,
                "task_id": task_id,
                "entry_point": tasks[task_id].get("entry_point"),
                "passed_base": base == "pass",
                "passed_plus": base == "pass" and plus == "pass",
                "base_status": base,
                "plus_status": plus,
                "base_fail_input": (first_input(outcome.get("base_fail_tests")) or "")[:TAIL] or None,
                "plus_fail_input": (first_input(outcome.get("plus_fail_tests")) or "")[:TAIL] or None,
                "replay_output": None,
                "_input": failing,  # whole, for the replay
                "_reference": tasks[task_id]["prompt"] + tasks[task_id].get("canonical_solution", ""),
                "prompt_format": prompt_format,
                "prompt": build_prompt(benchmark, tasks[task_id], "", prompt_format),
                "completion": sample["completion"],
                "solution": sample["solution"],
            }
        )
    return rows


def multipl_e_rows(*, decoding: str, model: str, language: str, samples: str, results: str) -> list[dict]:
    completions = {(row["name"], row["sample"]): row["completion"] for row in read_jsonl(samples)}
    return [
        {
            "decoding": decoding,
            "model": model,
            "language": language,
            "task": row["name"],
            "sample": row["sample"],
            "passed": row["status"] == "passed",
            "status": row["status"],
            "completion": completions.get((row["name"], row["sample"])),
            "output": (row.get("output") or "")[-TAIL:],
        }
        for row in read_jsonl(results)
    ]


def evaluation_tables(
    *, evalplus: list[dict], multipl_e: list[dict], models: list[dict], replay: dict, sandbox: dict | None = None
) -> dict[str, list[dict]]:
    """`evalplus`: dicts of task_rows' keywords; `multipl_e`: of multipl_e_rows'; `models`: each model's
    name, kind (student or run), base and data; `replay`: `enabled`, `timeout_s`, `workers` (replay.py)."""
    from .replay import replay_failures

    tasks = [row for spec in evalplus for row in task_rows(**spec)]
    inputs, references = [row.pop("_input") for row in tasks], [row.pop("_reference") for row in tasks]
    if replay["enabled"]:
        replay_failures(tasks, inputs, references, replay, sandbox)
    programs = [row for spec in multipl_e for row in multipl_e_rows(**spec)]
    return {"models": models, "tasks": tasks, "multipl_e": programs}
