"""Synthetic teacher responses for the curation's identity tests and `benchmarks/scale_curation.py`.

Rows shaped as `generate_responses` writes them, of realistic length (about 2.9 KB on disk by
default), with what curation acts on: unfinished answers and missing or misordered headers (parse),
seeds, problems and solutions repeated, some only up to whitespace (the exact dedup), and benchmark
strings planted in solutions (decontamination). Deterministic for a given `seed`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

LANGS = ("python", "cpp", "java", "typescript", "rust", "php", "shell", "swift", "csharp")
WORDS = (
    "value index result buffer count items table parse record stream token header cache node tree graph "
    "queue stack matrix vector string number file path config retry timeout request response user order"
).split()


def _text(rng: random.Random, words: int) -> str:
    lines, line = [], []
    for _ in range(words):
        line.append(rng.choice(WORDS))
        if len(line) >= rng.randint(6, 12):
            lines.append(" ".join(line))
            line = []
    return "\n".join([*lines, " ".join(line)]).strip()


def _code(rng: random.Random, lines: int) -> str:
    body = [
        f"    {rng.choice(WORDS)}_{rng.randrange(99)} = {rng.choice(WORDS)}({rng.randrange(1000)})"
        for _ in range(lines)
    ]
    return "```\ndef f_{}():\n{}\n    return 0\n```".format(rng.randrange(10**9), "\n".join(body))


def responses(n: int, *, seed: int = 0, scale: float = 1.0, planted: tuple[str, ...] = ()) -> Iterator[dict]:
    """`n` responses; `scale` multiplies the text's length (1.0: about 2.9 KB per row); `planted`:
    benchmark strings, one put into about one solution in 200 and at the start of one problem in 500."""
    rng = random.Random(seed)
    problems: list[str] = []
    solutions: list[str] = []
    for i in range(n):
        lang = rng.choice(LANGS)
        drawn = rng.randrange(i) if i and rng.random() < 0.015 else i  # about 1.5% of the seeds drawn twice
        seed_text = f"// seed {drawn}\n" + _code(random.Random(drawn), int(8 * scale))
        problem = _text(rng, int(170 * scale))
        solution = _code(rng, int(46 * scale))
        roll = rng.random()
        if roll < 0.03 and problems:  # a problem repeated, up to whitespace
            problem = rng.choice(problems).replace(" ", "  ", 1)
        elif roll < 0.05 and solutions:  # a solution repeated
            solution = rng.choice(solutions)
        elif roll < 0.055 and planted:
            solution = solution[:-4] + "\n" + rng.choice(planted) + "\n```"
        elif roll < 0.057 and planted:  # a problem that starts with one: a match at the text's first byte
            problem = rng.choice(planted) + "\n" + problem
        if len(problems) < 500:
            problems.append(problem)
            solutions.append(solution)
        response = f"[Problem Description]\n{problem}\n\n[Solution]\n{solution}\n"
        finish = "stop"
        roll = rng.random()
        if roll < 0.02:
            finish = "length"
        elif roll < 0.03:
            response = response.replace("[Solution]", "Solution")
        elif roll < 0.035:
            response = f"[Solution]\n{solution}\n[Problem Description]\n{problem}\n"
        yield {
            "id": f"{lang}-{i}",
            "lang": lang,
            "seed": seed_text,
            "index": i,
            "response": response,
            "finish_reason": finish,
            "model": "synthetic",
            "prompt_tokens": rng.randrange(300, 900),
            "completion_tokens": rng.randrange(100, 700),
        }


def write(path: Path, rows) -> int:
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
