"""Stage 3b, cleaning (paper §2.2, method §4): exact dedup of seed, problem and solution.

As in the paper's `clean_data.py`: all languages together, `random.seed(666); random.shuffle`;
a row is kept only if its seed, its problem and its solution, each with all whitespace removed,
were all unseen among the rows kept so far (the first occurrence in shuffled order wins); the
reason recorded is the first duplicate field in the order seed, problem, solution. Noisy or
incomplete solutions are kept on purpose, as in the paper.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .parse import step_report

FIELDS = ("seed", "problem", "solution")


def squeeze(text: str) -> str:
    return "".join(text.split())


def clean_pairs(rows: Sequence[dict], seed: int = 666) -> tuple[list[dict], list[dict], dict]:
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    seen: dict[str, set[str]] = {field: set() for field in FIELDS}
    kept, excluded = [], []
    for row in shuffled:
        keys = {field: squeeze(row[field]) for field in FIELDS}
        duplicate = next((field for field in FIELDS if keys[field] in seen[field]), None)
        if duplicate:
            excluded.append({**row, "reason": f"duplicate_{duplicate}"})
            continue
        kept.append(row)
        for field in FIELDS:
            seen[field].add(keys[field])
    return kept, excluded, step_report("clean", kept, excluded)
