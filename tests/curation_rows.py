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


def curation_jobs(responses_file: Path, out: Path, count: int, settings, benchmarks: dict) -> list[tuple]:
    """The curation's jobs over `count` shards, in the order the workflow runs them, as the rules
    call them: [(step, shard or None, "module.function", keyword arguments, files deleted after it)].
    `settings(stage)` gives a stage's settings. The last item of each tuple lists the shards' files
    that the job's merge makes temporary (Snakemake deletes them once merged)."""
    from ossinstruct.shards import shard_names

    names = shard_names(count)
    part = {name: out / "shards" / name for name in names}

    def each(file: str) -> list[str]:
        return [str(part[name] / file) for name in names]

    jobs = []
    for name in names:
        arguments = {"responses": str(responses_file), "shard": name, "settings": settings("parse")}
        arguments |= {key: str(part[name] / file) for key, file in PARSE_FILES.items()}
        jobs.append(("parse", name, "ossinstruct.parse.run_shard", arguments, []))
    merged = {"parsed": str(out / "parsed.jsonl"), "excluded": str(out / "parsed_excluded.jsonl")}
    merged["report"] = str(out / "parsed_report.json")
    shards = {"shard_parsed": each("parsed.jsonl"), "shard_excluded": each("parsed_excluded.jsonl")}
    shards["shard_reports"] = each("parsed_report.json")
    jobs.append(("merge_parsed", None, "ossinstruct.parse.merge", {**shards, **merged}, ["parsed", "parsed_excluded"]))
    ranks = {"keys": each("dedup_keys.npz"), "parsed": merged["parsed"], "verdicts": each("dedup_verdicts.npz")}
    jobs.append(("rank_duplicates", None, "ossinstruct.dedup.run_ranks", {**ranks, "settings": settings("clean")}, []))
    for name in names:
        arguments = {"parsed": merged["parsed"], "shard": name, "verdicts": str(part[name] / "dedup_verdicts.npz")}
        arguments |= {key: str(part[name] / file) for key, file in CLEAN_FILES.items()}
        jobs.append(("clean", name, "ossinstruct.dedup.run_shard", {**arguments, "settings": settings("clean")}, []))
    merged = {"clean": str(out / "clean.jsonl"), "excluded": str(out / "clean_excluded.jsonl")}
    merged["report"] = str(out / "clean_report.json")
    shards = {"shard_clean": each("clean.jsonl"), "shard_excluded": each("clean_excluded.jsonl")}
    shards["shard_reports"] = each("clean_report.json")
    arguments = {**shards, **merged, "settings": settings("clean")}
    jobs.append(("merge_clean", None, "ossinstruct.dedup.merge", arguments, ["clean", "clean_excluded", "dedup_"]))
    for name in names:
        arguments = {"rows": str(out / "clean.jsonl"), "shard": name, "settings": settings("decontaminate")}
        arguments |= {key: str(part[name] / file) for key, file in DECONTAMINATE_FILES.items()}
        jobs.append(
            ("decontaminate", name, "ossinstruct.decontaminate.run_shard", {**arguments, "benchmarks": benchmarks}, [])
        )
    merged = {"kept": str(out / "decontaminated.jsonl"), "excluded": str(out / "decontaminated_excluded.jsonl")}
    merged["report"] = str(out / "decontaminated_report.json")
    shards = {"shard_kept": each("decontaminated.jsonl"), "shard_excluded": each("decontaminated_excluded.jsonl")}
    shards["shard_reports"] = each("decontaminated_report.json")
    dropped = ["decontaminated", "decontaminated_excluded"]
    jobs.append(("merge_decontamination", None, "ossinstruct.decontaminate.merge", {**shards, **merged}, dropped))
    sft = {"decontaminated": merged["kept"], "output": str(out / "sft.jsonl")}
    jobs.append(("sft", None, "ossinstruct.sft.run", sft, []))
    return jobs


PARSE_FILES = {"parsed": "parsed.jsonl", "excluded": "parsed_excluded.jsonl", "report": "parsed_report.json"}
PARSE_FILES["keys"] = "dedup_keys.npz"
CLEAN_FILES = {"clean": "clean.jsonl", "excluded": "clean_excluded.jsonl", "report": "clean_report.json"}
DECONTAMINATE_FILES = {"kept": "decontaminated.jsonl", "excluded": "decontaminated_excluded.jsonl"}
DECONTAMINATE_FILES["report"] = "decontaminated_report.json"
# The files a run of the curation writes, in order (each compared byte for byte by the identity tests).
MERGED = ["parsed.jsonl", "parsed_excluded.jsonl", "clean.jsonl", "clean_excluded.jsonl", "decontaminated.jsonl"]
MERGED += ["decontaminated_excluded.jsonl", "sft.jsonl"]
REPORTS = ["parsed_report.json", "clean_report.json", "decontaminated_report.json"]


def call(function: str, arguments: dict) -> None:
    """Run one job in this process."""
    import importlib

    module, name = function.rsplit(".", 1)
    getattr(importlib.import_module(module), name)(**arguments)


def drop_merged(jobs_out: Path, prefixes: list[str]) -> None:
    """The shards' files a merge made temporary, deleted as Snakemake deletes `temp()` files."""
    for folder in (jobs_out / "shards").glob("*"):
        for prefix in prefixes:
            for path in folder.glob(prefix + "*"):
                path.unlink()
