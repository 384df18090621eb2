"""The explorer's teacher database at the paper's scale: 75K seeds through every stage.

    .venv/bin/python benchmarks/explore_speed.py [--rows 75000]

Synthetic files in the pipeline's formats are written to a temporary folder: seeds, the teacher's
answers (about 2 KB each, OSS-Instruct-sized), the parse's, dedup's and decontamination's kept and
excluded rows (about 20% dropped, as the paper's run; 1% by decontamination, each looked up in the
shipped HumanEval, MBPP and GSM8K files for the item it came from), categories, Figure 3 similarities and the SFT
set. Ours: `explore.database.run_teacher` (the rule's job: the journey, the SQLite file with full-text
search and facet indexes, and the report page). Baseline, in the same run: the same journey rows
written with sqlite-utils' defaults (a transaction per 100 rows, journal on, FTS, no indexes, no
page). Prints the wall time of ours (the goal: under 2 minutes on 2 cores) and of the baseline.
"""

from __future__ import annotations

import argparse
import random
import sysconfig
import tempfile
import time
from pathlib import Path

from ossinstruct.io import write_json, write_jsonl

ROOT = Path(__file__).resolve().parents[1]
# The shipped benchmark files: each contaminated row's matched string is looked up in them.
BENCHMARKS = {
    name: str(ROOT / "data/benchmarks" / file)
    for name, file in (("humaneval", "HumanEval.jsonl.gz"), ("mbpp", "mbpp.jsonl"), ("gsm8k", "gsm8k_test.jsonl"))
}


def make_files(folder: Path, n: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    chunks = []
    for path in sorted(stdlib.glob("*.py"))[:300]:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        chunks += ["\n".join(lines[i : i + 25]) for i in range(0, len(lines), 25)]
    langs = ["python", "cpp", "java", "typescript", "shell", "csharp", "php", "rust", "swift"]
    seeds, responses, parsed_x, clean_x, kept, contaminated_x = [], [], [], [], [], []
    for i in range(n):
        lang = langs[i % len(langs)]
        row = {
            "id": f"{lang}-{i}",
            "lang": lang,
            "seed": rng.choice(chunks)[:600],
            "source": f"x.jsonl:{i}",
            "index": i,
        }
        seeds.append(row)
        problem, solution = rng.choice(chunks)[:700], "```python\n" + rng.choice(chunks)[:900] + "\n```"
        answer = {
            **row,
            "teacher": "t",
            "request_hash": f"{i:064x}",
            "finish_reason": "stop",
            "response": f"[Problem Description]\n{problem}\n\n[Solution]\n{solution}",
            "usage": {"prompt_tokens": 500, "completion_tokens": 450},
        }
        responses.append(answer)
        draw = rng.random()
        if draw < 0.08:
            parsed_x.append({**answer, "reason": "missing_solution_header"})
        elif draw < 0.15:
            clean_x.append(
                {
                    **answer,
                    "problem": problem,
                    "solution": solution,
                    "reason": "duplicate_problem",
                    "duplicate_of": seeds[max(0, i - 1)]["id"],
                }
            )
        elif draw < 0.16:
            contaminated_x.append(
                {
                    **answer,
                    "problem": problem,
                    "solution": solution,
                    "reason": "human_eval_solutions_match",
                    "matched": "return x + y",
                }
            )
        else:
            kept.append({**answer, "problem": problem, "solution": solution})
    files = {
        "seeds": folder / "seeds.jsonl",
        "responses": folder / "responses.jsonl",
        "parsed_excluded": folder / "parsed_excluded.jsonl",
        "clean_excluded": folder / "clean_excluded.jsonl",
        "decontaminated": folder / "decontaminated.jsonl",
        "decontaminated_excluded": folder / "dx.jsonl",
        "categories": folder / "categories.jsonl",
        "similarity": folder / "similarity.jsonl",
        "sft": folder / "sft.jsonl",
        "report": folder / "report.json",
    }
    for name, rows in (
        ("seeds", seeds),
        ("responses", responses),
        ("parsed_excluded", parsed_x),
        ("clean_excluded", clean_x),
        ("decontaminated", kept),
        ("decontaminated_excluded", contaminated_x),
    ):
        write_jsonl(files[name], rows)
    write_jsonl(files["categories"], [{"id": r["id"], "category": "Web"} for r in kept])
    write_jsonl(
        files["similarity"], [{"id": r["id"], "similarity": 0.2, "nearest_humaneval": "HumanEval/0"} for r in kept]
    )
    write_jsonl(files["sft"], [{"id": r["id"]} for r in kept])
    steps = [
        ("parse", n, parsed_x),
        ("clean", n - len(parsed_x), clean_x),
        ("decontaminate", len(kept) + len(contaminated_x), contaminated_x),
    ]
    write_json(
        files["report"],
        {
            "steps": [
                {
                    "step": step,
                    "rows_in": rows_in,
                    "rows_out": rows_in - len(dropped),
                    "dropped_by_reason": {dropped[0]["reason"]: len(dropped)} if dropped else {},
                }
                for step, rows_in, dropped in steps
            ]
        },
    )
    return {name: str(path) for name, path in files.items()}


def naive(rows: list[dict], path: Path) -> float:
    import sqlite_utils

    started = time.perf_counter()
    db = sqlite_utils.Database(str(path))
    db["rows"].insert_all(rows, pk="id")
    db["rows"].enable_fts(["problem", "solution"])
    db.close()
    return time.perf_counter() - started


def main() -> None:
    from ossinstruct.explore.database import run_teacher
    from ossinstruct.explore.journey import journey_rows
    from ossinstruct.io import read_jsonl

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=75_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        files = make_files(folder, args.rows)
        print(
            f"synthetic files: {args.rows} seeds, {sum(Path(p).stat().st_size for p in files.values()) / 1e6:.0f} MB "
            f"({time.perf_counter() - started:.1f} s to write)"
        )
        curation = {
            k: files[k]
            for k in ("parsed_excluded", "clean_excluded", "decontaminated", "decontaminated_excluded", "report")
        }
        started = time.perf_counter()
        run_teacher(
            seeds=files["seeds"],
            responses=files["responses"],
            curation=curation,
            benchmarks=BENCHMARKS,
            analysis={k: files[k] for k in ("categories", "similarity")},
            sft=files["sft"],
            database=str(folder / "t.db"),
            page=str(folder / "t.html"),
            teacher="t",
        )
        ours = time.perf_counter() - started
        size = (folder / "t.db").stat().st_size / 1e6
        started = time.perf_counter()
        rows = journey_rows(
            seeds=read_jsonl(files["seeds"]),
            responses=files["responses"],
            benchmarks={},
            categories=files["categories"],
            similarity=files["similarity"],
            sft=files["sft"],
            **{k: files[k] for k in curation if k != "report"},
        )
        baseline = time.perf_counter() - started + naive(rows, folder / "naive.db")
        print(
            f"ours: {args.rows} rows in {ours:.1f} s ({args.rows / ours:.0f} rows/s), database {size:.0f} MB, "
            f"goal < 120 s: {'met' if ours < 120 else 'NOT met'}"
        )
        print(
            f"baseline (the same rows, written with sqlite-utils' defaults, no page): {baseline:.1f} s; "
            f"ours is {baseline / ours:.2f}x"
        )


if __name__ == "__main__":
    main()
