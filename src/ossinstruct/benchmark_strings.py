"""Benchmark strings for decontamination (paper §2.2, method §5), from local files.

Family order and contents follow the paper's `benchmark_data.py` (ported from bigcode-dataset):
MBPP docstrings and solutions (task ids 11..510), HumanEval docstrings and canonical solutions
(minus an allow-list of generic ones), APPS test questions, GSM8K test questions, DS-1000
prompts. As in the paper's code, the HumanEval, APPS and GSM8K strings are stripped and empty ones
dropped; the MBPP and DS-1000 strings are used as they are (a DS-1000 prompt without its solution
marker is an error).

APPS and DS-1000 are read from a JSONL file (APPS test rows with `question`; DS-1000 rows with
`prompt`), a dataset folder in the Hub's layout (read by `datasets` as the Hub id would be), or the
Hub as `hf:<dataset id>[@<revision>]` (APPS: `hf:codeparrot/apps@refs/convert/parquet`, since its
loading script no longer runs); DS-1000 also from its original `ds1000_data` folder
(`*/Insertion/q*/prompt.txt`). MultiPL-E (not the paper's) is an optional family after the paper's:
the comment text of each translated HumanEval prompt.
"""

from __future__ import annotations

import re
from pathlib import Path

from .io import DataError, read_jsonl
from .paths import dataset_source, is_hub

FAMILY_ORDER = (
    "mbpp_docstrings",
    "mbpp_solutions",
    "human_eval_docstrings",
    "human_eval_solutions",
    "apps_docstrings",
    "gsm8k_questions",
    "ds_1000_prompts",
    "multipl_e_prompts",  # optional, not the paper's
)
PAPER_FAMILIES = FAMILY_ORDER[:-1]
# Generic HumanEval solutions the paper keeps. Its fourth entry was meant to be
# `return ''.join(strings)`, but adjacent literals turned it into `return .join(strings)`, which
# never matches, so the `''.join` solution does filter in the paper (reproduced by default).
ALLOW_LIST = ["return x + y", "return len(string)", "return n**2"]
ALLOW_LIST_AS_WRITTEN = ALLOW_LIST + ["return .join(strings)"]
ALLOW_LIST_AS_MEANT = ALLOW_LIST + ["return ''.join(strings)"]


def extract_docstring(prompt: str) -> str:
    """The text between the first pair of triple quotes (the second pair when there are four)."""
    if '"""' in prompt:
        count = prompt.count('"""')
        if count == 2:
            return prompt.split('"""')[1].strip()
        if count == 4:
            return prompt.split('"""')[3].strip()
        raise DataError(f"HumanEval prompt with {count} triple quotes: {prompt[:60]!r}")
    if prompt.count("'''") == 2:
        return prompt.split("'''")[1].strip()
    raise DataError(f"HumanEval prompt without a docstring: {prompt[:60]!r}")


def _clean(strings: list[str]) -> list[str]:
    stripped = (text.strip() for text in strings)
    return [text for text in stripped if text]


def humaneval_strings(path: str | Path, fix_allow_list: bool = False) -> dict[str, list[str]]:
    rows = read_jsonl(path)
    allowed = set(ALLOW_LIST_AS_MEANT if fix_allow_list else ALLOW_LIST_AS_WRITTEN)
    solutions = _clean([row["canonical_solution"] for row in rows])
    return {
        "human_eval_docstrings": _clean([extract_docstring(row["prompt"]) for row in rows]),
        "human_eval_solutions": [text for text in solutions if text not in allowed],
    }


def mbpp_strings(path: str | Path) -> dict[str, list[str]]:
    """`text` and `code` of tasks 11..510 as they are: the paper's code neither strips them nor drops
    empties (MBPP's code has Windows line ends, so a solution rarely matches)."""
    rows = [row for row in read_jsonl(path) if 11 <= int(row["task_id"]) <= 510]
    if len(rows) != 500:
        raise DataError(f"{path}: expected the 500 MBPP test tasks 11..510, found {len(rows)}")
    return {
        "mbpp_docstrings": [row["text"] for row in rows],
        "mbpp_solutions": [row["code"] for row in rows],
    }


def question_strings(path: str | Path, family: str, field: str = "question") -> dict[str, list[str]]:
    return {family: _clean([row[field] for row in read_jsonl(path)])}


def _rows(source: str | Path, split: str = "test") -> list[dict]:
    """Rows of a JSONL file, or of a dataset: `hf:<id>[@<revision>]` on the Hub (needs the network)
    or a local folder in the same layout, both read by the same `datasets.load_dataset` call."""
    source = str(source)
    if dataset_source(source) is not None:
        import datasets

        name, revision = dataset_source(source)
        try:
            return list(datasets.load_dataset(name, split=split, revision=revision))
        except Exception as error:  # noqa: BLE001 - offline, gated or misspelt
            raise DataError(
                f"benchmark data {source}: cannot load ({type(error).__name__}: {str(error)[:200]})"
            ) from None
    return read_jsonl(source)


def apps_strings(source: str | Path) -> dict[str, list[str]]:
    return {"apps_docstrings": _clean([row["question"] for row in _rows(source)])}


def ds1000_prompt(prompt: str, where: str = "DS-1000") -> str:
    """The paper's DS-1000 string: the prompt up to its one solution marker, not stripped. A prompt
    without a marker, or with two, is an error (the paper's code raises on it too)."""
    for marker in ("SOLUTION START", "BEGIN SOLUTION"):
        if marker in prompt:
            if prompt.count(marker) != 1:
                raise DataError(f"{where}: the prompt has {prompt.count(marker)} {marker!r} markers, expected one")
            return prompt.split(marker)[0]
    raise DataError(f"{where}: the prompt has no 'SOLUTION START' or 'BEGIN SOLUTION' marker")


def ds1000_strings(source: str | Path) -> dict[str, list[str]]:
    folder = Path(str(source))
    if not is_hub(source) and folder.is_dir() and not any(folder.glob("*.json*")):
        paths = sorted(folder.glob("*/Insertion/q*/prompt.txt"))
        if not paths:
            raise DataError(f"{folder}: no */Insertion/q*/prompt.txt files (the ds1000_data layout)")
        return {"ds_1000_prompts": [ds1000_prompt(path.read_text(encoding="utf-8"), str(path)) for path in paths]}
    rows = _rows(source)
    return {"ds_1000_prompts": [ds1000_prompt(row["prompt"], f"{source} row {i + 1}") for i, row in enumerate(rows)]}


COMMENT = re.compile(r"^\s*(?://+|#(?=\s|$)|/\*\*?|\*/?|--)\s?(.*)$")


def multipl_e_strings(folder: str | Path) -> dict[str, list[str]]:
    """The comment block of every MultiPL-E prompt (the translated HumanEval docstring), markers removed."""
    strings = []
    paths = sorted(Path(folder).glob("*.jsonl"))
    if not paths:
        raise DataError(f"{folder}: no MultiPL-E *.jsonl files")
    for path in paths:
        for row in read_jsonl(path):
            comments = [m.group(1).rstrip() for line in row["prompt"].splitlines() if (m := COMMENT.match(line))]
            strings.append("\n".join(comments))
    return {"multipl_e_prompts": _clean(strings)}


def load_benchmark_strings(paths: dict, fix_allow_list: bool = False) -> tuple[dict[str, list[str]], list[str]]:
    """Strings per family in the paper's order, and the paper's families skipped for want of data."""
    found: dict[str, list[str]] = {}
    if paths.get("mbpp"):
        found.update(mbpp_strings(paths["mbpp"]))
    if paths.get("humaneval"):
        found.update(humaneval_strings(paths["humaneval"], fix_allow_list))
    if paths.get("apps"):
        found.update(apps_strings(paths["apps"]))
    if paths.get("gsm8k"):
        found.update(question_strings(paths["gsm8k"], "gsm8k_questions"))
    if paths.get("ds1000"):
        found.update(ds1000_strings(paths["ds1000"]))
    if paths.get("multipl_e"):
        found.update(multipl_e_strings(paths["multipl_e"]))
    ordered = {family: found[family] for family in FAMILY_ORDER if family in found}
    skipped = [family for family in PAPER_FAMILIES if family not in found]
    return ordered, skipped
