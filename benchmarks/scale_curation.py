"""Curation at scale: `python benchmarks/scale_curation.py [ROWS ...] [--shards K] [--work DIR]`.

Synthetic teacher responses of realistic length (`tests/curation_rows.py`, about 2.9 KB a row) go
through the real curation jobs, each in a process of its own as Snakemake runs them: parse shards,
their merge, the exact dedup's global pass (`rank_duplicates`), the dedup shards (`clean_pairs`), their
merge by rank, decontamination shards against the shipped HumanEval and MBPP strings, their merge,
and the SFT rows. For each row count (default 100,000 and 1,000,000), once in 1 shard and once in K
(default 8), and once on an empty input (the baseline of each job's memory), it prints each job's peak
RSS (from `wait4`), CPU seconds and rows per CPU-second, checks that the K-shard run's merged files
equal the 1-shard run's, and checks the targets of issue 34 on 2 cores:
- a streaming job's peak RSS within 200 MB of the same job on an empty input;
- the global dedup at most 150 MB + 120 bytes per row;
- per core: parse 12K rows/s, dedup apply and decontamination 15K, sft 20K;
- CPU time at 1M at most 10.5x that at 100K; K shards at most 1.2x the CPU of one;
- parse through sft at 1M rows in at most 10 minutes of wall time (the jobs one after another; a
  cluster runs the shards side by side).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ossinstruct.benchmark_strings import load_benchmark_strings  # noqa: E402
from ossinstruct.config import _schema, fill_defaults  # noqa: E402
from ossinstruct.settings import STAGES  # noqa: E402
from tests.curation_rows import MERGED, curation_jobs, drop_merged, responses, write  # noqa: E402

BENCHMARKS = {
    "humaneval": str(ROOT / "data/benchmarks/HumanEval.jsonl.gz"),
    "mbpp": str(ROOT / "data/benchmarks/mbpp.jsonl"),
}
STREAMING = ("parse", "clean", "decontaminate", "sft", "merge_parsed", "merge_clean", "merge_decontamination")
RATE_GOALS = {"parse": 12_000, "clean": 15_000, "decontaminate": 15_000, "sft": 20_000}


def settings(stage: str) -> dict:
    curate: dict = {}
    fill_defaults(curate, _schema()["properties"]["curate"])
    return {key: curate[key] for key in STAGES[stage].keys}


def job(function: str, **arguments) -> dict:
    """One job in a process of its own: wall seconds, CPU seconds and peak RSS (MB)."""
    module, name = function.rsplit(".", 1)
    code = f"import json, sys; from {module} import {name}; {name}(**json.loads(sys.argv[1]))"
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-c", code, json.dumps(arguments)], cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise SystemExit(f"{function} failed (status {status})")
    return {
        "wall": time.monotonic() - started,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
    }


def pipeline(responses_file: Path, out: Path, count: int) -> list[dict]:
    """The curation jobs over `count` shards, each in a process of its own, the shards' files deleted
    once merged: [{step, shard, wall, cpu, peak_mb}]."""
    jobs = []
    for step, shard, function, arguments, temporary in curation_jobs(responses_file, out, count, settings, BENCHMARKS):
        jobs.append({"step": step, "shard": shard, **job(function, **arguments)})
        drop_merged(out, temporary)
    return jobs


def rows_in(out: Path, step: str) -> int:
    """The rows a step reads (its report's rows_in; sft reads the decontaminated rows)."""
    files = {"parse": "parsed_report.json", "clean": "clean_report.json", "decontaminate": "decontaminated_report.json"}
    if step == "sft":
        return json.loads((out / "decontaminated_report.json").read_text())["rows_out"]
    if step == "rank_duplicates":
        return json.loads((out / "clean_report.json").read_text())["rows_in"]
    return json.loads((out / files[step]).read_text())["rows_in"] if step in files else 0


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def summed(jobs: list[dict], step: str) -> dict:
    chosen = [j for j in jobs if j["step"] == step]
    return {
        "wall": sum(j["wall"] for j in chosen),
        "cpu": sum(j["cpu"] for j in chosen),
        "peak_mb": max(j["peak_mb"] for j in chosen),
    }


def disk_projection(sizes: dict, source: Path, rows: int, target: int = 10_000_000) -> None:
    """Each curation file's size at `rows`, and scaled linearly to `target` rows (sizes are per row)."""
    files = {"responses.jsonl (the teacher's merged answers)": source.stat().st_size, **sizes}
    scale = target / rows
    print(f"\ndisk: each file at {rows:,} rows, and projected to {target:,}")
    print(f"| file | {rows:,} rows GB | {target:,} rows GB |")
    print("|---|---|---|")
    for name, size in files.items():
        print(f"| {name} | {size / 1e9:.2f} | {size / 1e9 * scale:.1f} |")
    total = sum(files.values()) / 1e9
    print(f"| all of them | {total:.2f} | {total * scale:.1f} |")
    print(
        "the shards' temporary files add at most the largest step's output while it runs: "
        f"{max(files.values()) / 1e9 * scale:.1f} GB at {target:,}"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--work", default="/tmp/scale_curation")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    families, _ = load_benchmark_strings(BENCHMARKS)
    planted = tuple(strings[3] for strings in families.values())
    failures = []

    empty = work / "empty.jsonl"
    empty.write_text("")
    baseline = {j["step"]: j for j in pipeline(empty, work / "empty", 1)}
    peaks = ", ".join(f"{step} {job['peak_mb']:.0f} MB / {job['cpu']:.2f} CPU s" for step, job in baseline.items())
    print(f"each job on an empty input (its start-up): {peaks}")

    results: dict[int, dict] = {}
    sizes: dict[int, dict] = {}
    for n in args.rows:
        source = work / f"responses-{n}.jsonl"
        if not source.exists():
            started = time.monotonic()
            write(source, responses(n, seed=11, planted=planted))
            print(
                f"\n{n:,} synthetic responses written ({source.stat().st_size / 1e9:.2f} GB, "
                f"{time.monotonic() - started:.0f} s)"
            )
        size = source.stat().st_size / n
        print(f"\n## {n:,} rows ({size:,.0f} bytes each on disk)")
        one = pipeline(source, work / f"{n}-1", 1)
        digests = {name: digest(work / f"{n}-1" / name) for name in MERGED}
        sizes[n] = {name: (work / f"{n}-1" / name).stat().st_size for name in MERGED}
        for name in MERGED:  # the disk holds one run's files at a time
            (work / f"{n}-1" / name).unlink()
        many = pipeline(source, work / f"{n}-{args.shards}", args.shards)
        same = all(digest(work / f"{n}-{args.shards}" / name) == digests[name] for name in MERGED)
        print(f"merged files of 1 and {args.shards} shards byte-identical: {same}")
        if not same:
            failures.append(f"{n}: the {args.shards}-shard files differ from the 1-shard run's")
        print(
            "| job | rows in | wall s | CPU s | rows/CPU-s | peak RSS MB | over empty MB | "
            f"{args.shards} shards: CPU s |"
        )
        print("|---|---|---|---|---|---|---|---|")
        out = work / f"{n}-{args.shards}"  # the reports (equal to the 1-shard run's)
        steps = ["parse", "merge_parsed", "rank_duplicates", "clean", "merge_clean", "decontaminate"]
        steps += ["merge_decontamination", "sft"]
        for step in steps:
            single, sharded = summed(one, step), summed(many, step)
            rows = rows_in(out, step)
            rate = rows / single["cpu"] if single["cpu"] and rows else 0
            over = single["peak_mb"] - baseline[step]["peak_mb"]
            print(
                f"| {step} | {rows:,} | {single['wall']:.1f} | {single['cpu']:.1f} | {rate:,.0f} | "
                f"{single['peak_mb']:.0f} | {over:+.0f} | {sharded['cpu']:.1f} |"
            )
            if step in STREAMING and over > 200:
                failures.append(f"{n}: {step} peaks {over:.0f} MB over its empty-input run (goal 200)")
            if step == "rank_duplicates":
                goal = 150 + 120 * rows / 1e6
                print(f"  global dedup: {single['peak_mb']:.0f} MB, goal {goal:.0f} MB (150 MB + 120 B/row)")
                if single["peak_mb"] > goal:
                    failures.append(f"{n}: the global dedup peaks at {single['peak_mb']:.0f} MB (goal {goal:.0f})")
            if step in RATE_GOALS and rate < RATE_GOALS[step]:
                failures.append(f"{n}: {step} {rate:,.0f} rows/CPU-s (goal {RATE_GOALS[step]:,})")
        cpu_one, cpu_many = sum(j["cpu"] for j in one), sum(j["cpu"] for j in many)
        wall_one = sum(j["wall"] for j in one)
        print(f"total: {wall_one:.0f} s wall, {cpu_one:.0f} CPU s in 1 shard; {cpu_many:.0f} CPU s in {args.shards}")
        print(f"  {args.shards} shards / 1 shard CPU: {cpu_many / cpu_one:.2f} (goal at most 1.2)")
        if cpu_many > 1.2 * cpu_one:
            failures.append(f"{n}: {args.shards} shards cost {cpu_many / cpu_one:.2f}x the CPU of one")
        results[n] = {"cpu": cpu_one, "wall": wall_one}
        for name in MERGED:
            (work / f"{n}-{args.shards}" / name).unlink()
    if len(results) >= 2:
        small, large = sorted(results)[0], sorted(results)[-1]
        ratio = results[large]["cpu"] / results[small]["cpu"]
        allowed = 1.05 * large / small
        print(f"\nCPU at {large:,} / at {small:,}: {ratio:.2f} (goal at most {allowed:.1f})")
        if ratio > allowed:
            failures.append(f"CPU grows {ratio:.2f}x for {large // small}x the rows")
        if large >= 1_000_000 and results[large]["wall"] > 600:
            failures.append(f"parse through sft at {large:,} rows took {results[large]['wall']:.0f} s (goal 600)")
    largest = max(args.rows)
    disk_projection(sizes[largest], work / f"responses-{largest}.jsonl", largest)
    print("\n" + ("all targets met" if not failures else "targets missed:\n- " + "\n- ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
