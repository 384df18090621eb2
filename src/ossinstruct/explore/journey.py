"""Every seed's journey through one teacher's run, one row per seed (the explorer's teacher database).

The row joins what the stages wrote for the seed: the seed, the teacher's answer (finish reason,
tokens, latency from the answer cache), the parse, dedup and decontamination verdicts (with the row
a duplicate repeats and the benchmark string and item a contaminated row matched), the execution
validation verdict when it ran, the category and Figure 3 similarity, and whether the row reached the
fine-tuning set. `stage_reached` is the last stage the row passed; `dropped_at` the stage that
dropped it (none for a row that reached the end), `reason` why.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..benchmark_strings import _rows
from ..paths import is_hub

STAGES = ("seeds", "teacher", "parse", "clean", "decontaminate", "validate")
# Which benchmark file a decontamination family's strings come from, and how its items are named.
FAMILY_SOURCE = {
    "mbpp_docstrings": "mbpp",
    "mbpp_solutions": "mbpp",
    "human_eval_docstrings": "humaneval",
    "human_eval_solutions": "humaneval",
    "apps_docstrings": "apps",
    "gsm8k_questions": "gsm8k",
    "ds_1000_prompts": "ds1000",
}
TAIL = 2000  # characters of validation output kept


def item_name(source: str, row: dict, number: int) -> str:
    """A benchmark item's name: EvalPlus task ids for HumanEval and MBPP (`Mbpp/11`, as the evaluation
    names them), else the file's id field or its line number."""
    if source == "mbpp":
        return f"Mbpp/{row['task_id']}"
    for key in ("task_id", "problem_id", "id"):
        if key in row:
            return str(row[key])
    return f"{source} #{number}"


def matched_items(excluded: Iterable[dict], benchmarks: dict[str, str]) -> dict[str, str]:
    """For each decontaminated-away row id, the benchmark item its matched string comes from (the
    first item holding it). Families without a local file (a Hub dataset, MultiPL-E) are not named."""
    wanted: dict[str, list[dict]] = {}
    for row in excluded:
        source = FAMILY_SOURCE.get(row["reason"].removesuffix("_match"))
        if source and benchmarks.get(source) and not is_hub(benchmarks[source]):
            wanted.setdefault(source, []).append(row)
    found = {}
    for source, rows in wanted.items():
        path = benchmarks[source]
        items = [] if Path(path).is_dir() else _rows(path)
        texts = [
            (item_name(source, item, n), [v for v in item.values() if isinstance(v, str)])
            for n, item in enumerate(items, 1)
        ]
        for row in rows:
            found[row["id"]] = next((name for name, values in texts if any(row["matched"] in v for v in values)), None)
    return found


def keep(row: dict, fields: Iterable[str]) -> dict:
    """The row's id and those of `fields` it has (a present row is never empty)."""
    return {"id": row["id"], **{key: row[key] for key in fields if key in row}}


class RowIndex:
    """Rows of the stages' JSONL files by `id`, in a SQLite file instead of memory (a journey joins
    every stage's rows: millions at scale). Each table keeps only the fields the journey shows; a later
    row with an id replaces an earlier one, as a dict built from the file does."""

    def __init__(self, path: str | Path) -> None:
        self.db = sqlite3.connect(str(path))
        self.db.execute("PRAGMA journal_mode = OFF")  # a scratch file: no journal needed
        self.db.execute("PRAGMA synchronous = OFF")

    def load(self, table: str, path: str | None, fields: Iterable[str] = ()) -> None:
        """`table` gets the rows of `path` (none: an empty table), each as its `fields`."""
        from ..streams import shard_rows

        fields = tuple(fields)
        self.db.execute(f"CREATE TABLE {table} (id TEXT PRIMARY KEY, row TEXT)")
        if path:
            rows = ((row["id"], json.dumps(keep(row, fields))) for row in shard_rows(path))
            self.db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", rows)
        self.db.commit()

    def get(self, table: str, key: str) -> dict | None:
        found = self.db.execute(f"SELECT row FROM {table} WHERE id = ?", (key,)).fetchone()
        return None if found is None else json.loads(found[0])

    def load_latencies(self, cache_dir: str | None) -> None:
        """Each answer's latency as the teacher's answer cache recorded it (read-only; the first file
        that records one wins: the unsharded file, then the shards' in name order)."""
        self.db.execute("CREATE TABLE latencies (id TEXT PRIMARY KEY, row TEXT)")
        folder = Path(cache_dir or "")
        files = [folder / "teacher-responses.sqlite", *sorted((folder / "teacher-responses.d").glob("*.sqlite"))]
        for path in files if cache_dir else []:
            if not path.exists():
                continue
            db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
            try:
                for key, response in db.execute("SELECT request_hash, response FROM responses"):
                    latency = json.loads(response).get("latency_s")
                    if latency is not None:
                        self.db.execute("INSERT OR IGNORE INTO latencies VALUES (?, ?)", (key, json.dumps(latency)))
            except sqlite3.DatabaseError:
                continue
            finally:
                db.close()
        self.db.commit()

    def close(self) -> None:
        self.db.close()


# The fields each stage's table keeps (the journey row's columns come from these).
FIELDS = {
    "answers": ("response", "finish_reason", "usage", "request_hash"),
    "parse": ("reason", "problem", "solution"),
    "clean": ("reason", "problem", "solution", "duplicate_of", "near_duplicate_of"),
    "decontaminate": ("reason", "problem", "solution", "matched"),
    "kept": ("problem", "solution"),
    "validation": ("reason", "validated_as", "output"),
    "categories": ("category",),
    "similarity": ("similarity", "nearest_humaneval"),
    "sft": (),
}


def journey_rows(
    *,
    seeds: Iterable[dict],
    responses: str,
    parsed_excluded: str,
    clean_excluded: str,
    decontaminated: str,
    decontaminated_excluded: str,
    benchmarks: dict[str, str],
    categories: str | None = None,
    similarity: str | None = None,
    sft: str | None = None,
    validated: str | None = None,
    validated_excluded: str | None = None,
    cache_dir: str | None = None,
) -> Iterator[dict]:
    """Each seed's row, in the seeds' order, streamed: the stages' rows are looked up by id in a
    `RowIndex` in a temporary folder, so memory stays bounded by one row whatever the run's size."""
    import tempfile

    from ..streams import shard_rows

    with tempfile.TemporaryDirectory(prefix="journey-") as folder:
        index = RowIndex(Path(folder) / "index.sqlite")
        try:
            index.load("answers", responses, FIELDS["answers"])
            for table, path in (("parse", parsed_excluded), ("clean", clean_excluded)):
                index.load(table, path, FIELDS[table])
            index.load("decontaminate", decontaminated_excluded, FIELDS["decontaminate"])
            index.load("kept", decontaminated, FIELDS["kept"])
            index.load("validation", validated_excluded, FIELDS["validation"])
            if validated:  # a validated row's verdict replaces an excluded one's
                index.db.executemany(
                    "INSERT OR REPLACE INTO validation VALUES (?, ?)",
                    ((row["id"], json.dumps({**keep(row, FIELDS["validation"]), "passed": True}))
                     for row in shard_rows(validated)),
                )  # fmt: skip
            index.load("categories", categories, FIELDS["categories"])
            index.load("similarity", similarity, FIELDS["similarity"])
            index.load("sft", sft, FIELDS["sft"])
            index.load_latencies(cache_dir)
            items = matched_items(shard_rows(decontaminated_excluded), benchmarks)
            for seed in seeds:
                yield journey_row(seed, index, items)
        finally:
            index.close()


def journey_row(seed: dict, index: RowIndex, items: dict[str, str]) -> dict:
    """One seed's row from the stages' rows in `index`."""
    key = seed["id"]
    answer = index.get("answers", key) or {}
    usage = answer.get("usage") or {}
    dropped = {name: index.get(name, key) for name in ("parse", "clean", "decontaminate")}
    stage = next((name for name in ("parse", "clean", "decontaminate") if dropped[name] is not None), None)
    verdicts = {name: row["reason"] if row is not None else None for name, row in dropped.items()}
    kept = index.get("kept", key)
    # The latest record of the row holds its problem and solution (the parse's row when it was dropped there).
    latest = kept or (dropped[stage] if stage else {})
    contaminated = dropped["decontaminate"] or {}
    check = index.get("validation", key)
    passed = check is not None and check.pop("passed", False)
    if not answer:
        stage, reason = "teacher", "no_answer"
    elif stage:
        reason = verdicts[stage]
    elif check is not None and not passed:
        stage, reason = "validate", check.get("reason")
    else:
        reason = None
    reached = STAGES[STAGES.index(stage) - 1] if stage else ("validate" if check is not None else "decontaminate")
    clean = dropped["clean"] or {}
    similar = index.get("similarity", key) or {}
    latency = index.get("latencies", answer["request_hash"]) if answer.get("request_hash") else None
    return {
        "id": key,
        "lang": seed.get("lang"),
        "seed": seed.get("seed"),
        "source": seed.get("source"),
        "start_line": seed.get("start_line"),
        "stage_reached": reached,
        "dropped_at": stage,
        "reason": reason,
        "in_sft": index.get("sft", key) is not None,
        "response": answer.get("response"),
        "finish_reason": answer.get("finish_reason"),
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "latency_s": latency,
        "parse_verdict": None if not answer else (verdicts["parse"] or "kept"),
        "problem": latest.get("problem"),
        "solution": latest.get("solution"),
        "dedup_verdict": None if not answer or verdicts["parse"] else (verdicts["clean"] or "kept"),
        "duplicate_of": clean.get("duplicate_of") or clean.get("near_duplicate_of"),
        "decontamination_verdict": "kept" if kept is not None else verdicts["decontaminate"],
        "benchmark_family": contaminated["reason"].removesuffix("_match") if contaminated else None,
        "matched_string": contaminated.get("matched"),
        "matched_item": items.get(key),
        "validation_verdict": check.get("reason", "passed") if check is not None else None,
        "validated_as": check.get("validated_as") if check is not None else None,
        "validation_output": (check.get("output") or "")[-TAIL:] if check is not None else None,
        "category": (index.get("categories", key) or {}).get("category"),
        "similarity": similar.get("similarity"),
        "nearest_humaneval": similar.get("nearest_humaneval"),
    }
