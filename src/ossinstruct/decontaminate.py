"""Stage 3c, decontamination (paper §2.2, method §5): exact substring matches against benchmarks.

Text = `problem` and `solution`, each lower-cased, joined by a blank line. A row is removed if any
lower-cased benchmark string is a substring of it; the reason is the first hit in the paper's
order (benchmark family order, then string order within the family) with the matched string.

The paper looped over every string for every row (O(rows x strings)); here one Aho-Corasick
automaton finds all occurrences of all strings in one pass over each text, and the smallest
(family, string) position among them is the paper's first hit, so the result is identical.
"""

from __future__ import annotations

from collections.abc import Sequence

import ahocorasick

from .parse import step_report


def build_automaton(families: dict[str, list[str]]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for family_rank, (family, strings) in enumerate(families.items()):
        for string_rank, string in enumerate(strings):
            key = string.lower()
            if not key:
                continue
            candidate = (family_rank, string_rank, family, string)
            existing = automaton.get(key, None)
            if existing is None or candidate[:2] < existing[:2]:
                automaton.add_word(key, candidate)
    if len(automaton) == 0:
        raise ValueError("decontaminate: no benchmark strings to match against")
    automaton.make_automaton()
    return automaton


def row_text(row: dict, columns: Sequence[str]) -> str:
    return "\n\n".join(row[column].lower() for column in columns)


def first_hit(automaton: ahocorasick.Automaton, text: str) -> tuple[str, str] | None:
    best = None
    for _end, candidate in automaton.iter(text):
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    return (best[2], best[3]) if best else None


def decontaminate(
    rows: Sequence[dict], families: dict[str, list[str]], columns: Sequence[str] = ("problem", "solution")
) -> tuple[list[dict], list[dict], dict]:
    automaton = build_automaton(families)
    kept, excluded = [], []
    for row in rows:
        hit = first_hit(automaton, row_text(row, columns))
        if hit is None:
            kept.append(row)
        else:
            excluded.append({**row, "reason": f"{hit[0]}_match", "matched": hit[1]})
    report = step_report("decontaminate", kept, excluded)
    report["strings_per_family"] = {family: len(strings) for family, strings in families.items()}
    return kept, excluded, report


def naive_decontaminate(
    rows: Sequence[dict], families: dict[str, list[str]], columns: Sequence[str] = ("problem", "solution")
) -> tuple[list[dict], list[dict]]:
    """The paper's loop, kept as the reference for tests and the benchmark script."""
    kept, excluded = [], []
    for row in rows:
        text = row_text(row, columns)
        hit = next(
            ((family, s) for family, strings in families.items() for s in strings if s.lower() in text),
            None,
        )
        if hit is None:
            kept.append(row)
        else:
            excluded.append({**row, "reason": f"{hit[0]}_match", "matched": hit[1]})
    return kept, excluded
