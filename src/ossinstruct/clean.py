"""Stage 3b, cleaning (paper §2.2, method §4): exact dedup of seed, problem and solution.

As in the paper's `clean_data.py`: all languages together, `random.seed(666); random.shuffle`;
a row is kept only if its seed, its problem and its solution, each with all whitespace removed,
were all unseen among the rows kept so far (the first occurrence in shuffled order wins); the
reason recorded is the first duplicate field in the order seed, problem, solution, with the kept row
it duplicates (`duplicate_of`, not in the paper's output). Noisy or
incomplete solutions are kept on purpose, as in the paper.

`minhash` (off by default, as in the paper, whose code had it but did not use it): after the exact
dedup, near-duplicates are removed with `datasketch` MinHash LSH over word n-grams of problem +
solution (the paper code's settings: 5-grams, 256 permutations, Jaccard threshold 0.7); the first
row in shuffled order wins, and a removed row records the row it duplicates.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from .io import read_jsonl, write_json, write_jsonl
from .streams import step_report

FIELDS = ("seed", "problem", "solution")


def squeeze(text: str) -> str:
    return "".join(text.split())


def word_ngrams(text: str, n: int) -> set[str]:
    words = text.split()
    if len(words) < n:
        return {" ".join(words)}
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def minhash_dedup(rows: Sequence[dict], settings: dict) -> tuple[list[dict], list[dict]]:
    """Near-duplicate removal in order: a row whose MinHash is close to an earlier kept row's goes."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=settings["threshold"], num_perm=settings["num_perm"])
    kept, excluded = [], []
    for position, row in enumerate(rows):
        signature = MinHash(num_perm=settings["num_perm"], seed=settings["seed"])
        for gram in word_ngrams(row["problem"] + "\n" + row["solution"], settings["ngram"]):
            signature.update(gram.encode("utf-8"))
        similar = lsh.query(signature)
        if similar:
            excluded.append({**row, "reason": "near_duplicate", "near_duplicate_of": min(similar)})
            continue
        lsh.insert(str(row.get("id", position)), signature)
        kept.append(row)
    return kept, excluded


def first_wins(rows: Sequence[dict], fields: Sequence[str]) -> tuple[list[dict], list[dict]]:
    """Keep a row only if each of `fields`, whitespace removed, is unseen among the rows kept so far;
    a removed row records the kept row it duplicates (`duplicate_of`, its id)."""
    seen: dict[str, dict[str, object]] = {field: {} for field in fields}
    kept, excluded = [], []
    for position, row in enumerate(rows):
        keys = {field: squeeze(row[field]) for field in fields}
        duplicate = next((field for field in fields if keys[field] in seen[field]), None)
        if duplicate:
            excluded.append(
                {**row, "reason": f"duplicate_{duplicate}", "duplicate_of": seen[duplicate][keys[duplicate]]}
            )
            continue
        kept.append(row)
        for field in fields:
            seen[field].setdefault(keys[field], row.get("id", position))
    return kept, excluded


def clean_pairs(
    rows: Sequence[dict], seed: int = 666, minhash: dict | None = None
) -> tuple[list[dict], list[dict], dict]:
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    kept, excluded = first_wins(shuffled, FIELDS)
    if minhash and minhash.get("enabled"):
        kept, near = minhash_dedup(kept, minhash)
        excluded += near
    return kept, excluded, {**step_report("clean", kept, excluded), "minhash": minhash if minhash else None}


def run(*, parsed: str, clean: str, excluded: str, report: str, settings: dict) -> None:
    kept, dropped, summary = clean_pairs(
        read_jsonl(parsed, ("seed", "problem", "solution")),
        seed=settings["shuffle_seed"],
        minhash=settings["minhash"],
    )
    write_jsonl(excluded, dropped)
    write_jsonl(clean, kept)
    write_json(report, summary)
