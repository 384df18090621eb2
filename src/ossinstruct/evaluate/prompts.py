"""The evaluation prompts (paper §4.1): the Magicoder template or a plain completion, the stop strings,
and the solution EvalPlus runs, cut out of a completion."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..io import read_jsonl
from ..sft import prompt_text

BENCHMARKS = ("humaneval", "mbpp")


FENCE = "```"


def humaneval_prompt(task: dict) -> tuple[str, str]:
    """(instruction, response prefix) for one HumanEval(+) task."""
    prompt = task["prompt"].strip()
    instruction = f"Write a solution to the following problem:\n```python\n{prompt}\n```"
    return instruction, f"```python\n{prompt}"


def mbpp_prompt(task: dict) -> tuple[str, str]:
    """(instruction, response prefix) for one MBPP(+) task: text up to the first assert + it."""
    prompt = task["prompt"]
    inner = prompt[prompt.index('"""') + 3 : prompt.rindex('"""')]
    cut = inner.index("assert")
    description = inner[:cut].strip()
    if not description.endswith("."):
        description += "."
    assertion = inner[cut:].strip()
    instruction = f"{description} Your code should satisfy the following assertion:\n```python\n{assertion}\n```"
    return instruction, "```python"


PROMPT_FORMATS = ("completion", "magicoder")


def build_prompt(benchmark: str, task: dict, bos_text: str = "", prompt_format: str = "magicoder") -> str:
    if prompt_format == "completion":
        return bos_text + task["prompt"]
    if prompt_format != "magicoder":
        raise ValueError(f"prompt_format: unknown value {prompt_format!r} ({', '.join(PROMPT_FORMATS)})")
    instruction, prefix = (humaneval_prompt if benchmark == "humaneval" else mbpp_prompt)(task)
    return bos_text + prompt_text(instruction, prefix)


# evalplus 0.3.1's stop strings for a base model's direct completion (`provider/utility.py`).
EVALPLUS_COMPLETION_STOP = ["\nif __name__", "\ndef main(", "\nprint("]


EVALPLUS_COMPLETION_STOP_BY_BENCHMARK = {
    "humaneval": ["\ndef ", "\nclass ", "\nimport ", "\nfrom ", "\nassert "],
    "mbpp": ['\n"""', "\nassert"],
}

# The EvalPlus leaderboard's base rows (the paper's Tables 1 and 4). Its HumanEval rows of Sept/Nov 2023
# (site commits 952849e, d5fda3c) came from the codegen of that time, which cut every completion at the
# first of these (`codegen/model.py` at fc10dc7, lines 44-46, and 81f216c, lines 22-24); EvalPlus
# dropped the code stops on 2023-11-22 (038088e), before its MBPP rows (2023-11-24, branch mbpp_merge),
# which therefore used none.
LEADERBOARD_HUMANEVAL_STOP = ["\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif"]
LEADERBOARD_NON_CODE_STOP = ["<|endoftext|>", "\n```", "\n</s>", "<|endofmask|>"]
LEADERBOARD_COMPLETION_STOP_BY_BENCHMARK = {
    "humaneval": LEADERBOARD_HUMANEVAL_STOP + LEADERBOARD_NON_CODE_STOP,
    "mbpp": [],
}

COMPLETION_STOPS = ("leaderboard", "none", "evalplus")


def stop_strings(prompt_format: str, benchmark: str = "humaneval", completion_stop: str = "leaderboard") -> list[str]:
    """Where a completion ends besides the end-of-sequence token: the closing fence of the Magicoder
    format's pre-filled ```python block; for a plain completion (`evaluate.completion_stop`) the
    leaderboard's stops of the paper's base rows (`leaderboard`: HumanEval the 2023 codegen's code and
    non-code stops, MBPP none), nothing at all (`none`: the end-of-sequence token or the token budget)
    or evalplus 0.3.1's stop strings (`evalplus`)."""
    if prompt_format == "magicoder":
        return [FENCE]
    if completion_stop == "leaderboard":
        return list(LEADERBOARD_COMPLETION_STOP_BY_BENCHMARK[benchmark])
    if completion_stop == "evalplus":
        return EVALPLUS_COMPLETION_STOP + EVALPLUS_COMPLETION_STOP_BY_BENCHMARK[benchmark]
    if completion_stop != "none":
        raise ValueError(
            f"config key 'evaluate.completion_stop': unknown value {completion_stop!r} ({', '.join(COMPLETION_STOPS)})"
        )
    return []


def cut_at(text: str, stop: Sequence[str]) -> str:
    """`text` up to the first of the stop strings."""
    return text[: min((text.find(s) for s in stop if s in text), default=len(text))]


def load_tasks(path: str | os.PathLike, limit: int | None = None) -> list[dict]:
    tasks = read_jsonl(path)
    return tasks[:limit] if limit else tasks
