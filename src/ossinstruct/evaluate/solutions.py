"""The code EvalPlus runs: the solution cut out of a model's completion, per prompt format."""

from __future__ import annotations

from collections.abc import Sequence

from .prompts import FENCE


def to_solution(
    benchmark: str, task: dict, completion: str, prompt_format: str = "magicoder", sanitizer: str = "lines"
) -> str:
    """The code EvalPlus runs. Magicoder format: the completion up to the closing fence, after
    HumanEval's task prompt (as `evalplus.evaluate` joins a `completion`), MBPP's sanitised as
    `prompt + "\n" + completion` (as `tools/sanitize.py` reads one). Completion format: the task
    prompt + the completion, sanitised (the leaderboard's files were prompt + completion)."""
    from ..sanitize import sanitize

    humaneval = task["prompt"] if benchmark == "humaneval" else None
    if prompt_format == "completion":
        return sanitize(task["prompt"] + completion, task["entry_point"], sanitizer, humaneval)
    code = completion.split(FENCE)[0]
    if benchmark == "humaneval":
        return task["prompt"] + code
    return sanitize(task["prompt"] + "\n" + code, task["entry_point"], sanitizer)


def to_samples(
    benchmark: str,
    tasks: Sequence[dict],
    completions: Sequence[str],
    prompt_format: str = "magicoder",
    sanitizer: str = "lines",
) -> list[dict]:
    return [
        {
            "task_id": task["task_id"],
            "solution": to_solution(benchmark, task, completion, prompt_format, sanitizer),
            "completion": completion,
        }
        for task, completion in zip(tasks, completions, strict=True)
    ]
