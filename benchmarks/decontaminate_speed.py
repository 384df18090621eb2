"""Decontamination throughput: our Aho-Corasick pass against the paper's substring loop.

    .venv/bin/python benchmarks/decontaminate_speed.py [--rows 75000] [--naive-rows 1500] [--full]

Rows are built from this interpreter's standard library (problem = a docstring-like paragraph,
solution = a code chunk), and 1% of them get a real benchmark string planted with random case.
Both implementations run on the same rows against the real shipped benchmark strings; the naive
loop runs on the first `--naive-rows` rows (all of them with `--full`), and the outputs are
checked to be identical there. Prints rows/s of each and the speed-up.
"""

from __future__ import annotations

import argparse
import random
import sysconfig
import time
from pathlib import Path

from ossinstruct.benchmark_strings import load_benchmark_strings
from ossinstruct.decontaminate import decontaminate, naive_decontaminate, ngram_overlap

ROOT = Path(__file__).resolve().parents[1]


def make_rows(n: int, families: dict[str, list[str]], seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    chunks = []
    for path in sorted(stdlib.glob("*.py"))[:300]:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        chunks += ["\n".join(lines[i : i + 40]) for i in range(0, len(lines), 40)]
    strings = [s for values in families.values() for s in values]
    rows = []
    for i in range(n):
        problem = rng.choice(chunks)[:900]
        solution = rng.choice(chunks)
        if rng.random() < 0.01:
            planted = "".join(c.upper() if rng.random() < 0.3 else c for c in rng.choice(strings))
            solution = solution[: len(solution) // 2] + planted + solution[len(solution) // 2 :]
        rows.append({"id": str(i), "problem": problem, "solution": solution})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=75_000)
    parser.add_argument("--naive-rows", type=int, default=1_500)
    parser.add_argument("--full", action="store_true", help="run the naive loop on every row (slow)")
    args = parser.parse_args()
    families, skipped = load_benchmark_strings(
        {
            "humaneval": ROOT / "data/benchmarks/HumanEval.jsonl.gz",
            "mbpp": ROOT / "data/benchmarks/mbpp.jsonl",
            "gsm8k": ROOT / "data/benchmarks/gsm8k_test.jsonl",
        }
    )
    print(f"benchmark strings: {sum(map(len, families.values()))} ({', '.join(families)}); skipped: {skipped}")
    rows = make_rows(args.rows, families)
    started = time.perf_counter()
    kept, excluded, _ = decontaminate(rows, families)
    ours = time.perf_counter() - started
    print(f"ours (Aho-Corasick, with the automaton build): {len(rows)} rows in {ours:.2f}s", end=" ")
    print(f"= {len(rows) / ours:,.0f} rows/s")
    subset = rows if args.full else rows[: args.naive_rows]
    started = time.perf_counter()
    naive_kept, naive_excluded = naive_decontaminate(subset, families)
    naive = time.perf_counter() - started
    print(f"paper loop: {len(subset)} rows in {naive:.2f}s = {len(subset) / naive:,.0f} rows/s")
    ids = {row["id"] for row in subset}
    same_kept = [r for r in kept if r["id"] in ids] == naive_kept
    same = same_kept and [r for r in excluded if r["id"] in ids] == naive_excluded
    print(f"identical outputs on the {len(subset)} compared rows: {same} ({len(naive_excluded)} removed)")
    if not same:
        raise SystemExit("outputs differ")
    started = time.perf_counter()
    overlap = ngram_overlap(kept, families, 10, ("problem", "solution"))
    extra = time.perf_counter() - started
    print(
        f"extra, not the paper's: 10-gram overlap report on the {len(kept)} kept rows in {extra:.2f}s "
        f"({overlap['rows_with_overlap']} rows share a 10-gram with a benchmark)"
    )
    print(f"speed-up: {(len(rows) / ours) / (len(subset) / naive):.1f}x")


if __name__ == "__main__":
    main()
