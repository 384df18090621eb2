"""The explorer's SQLite files, written with `sqlite-utils`: `results/explore/<teacher>.db` (every
seed's journey) and `results/explore/eval.db` (every completion's verdict).

A database is written to a temporary file beside its target and moved into place when complete, so a
crash never leaves a half-written database behind. The journey table gets full-text search on problem
and solution and an index on each facet column.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..io import read_json

TEACHER_FACETS = (
    "lang",
    "stage_reached",
    "dropped_at",
    "reason",
    "benchmark_family",
    "category",
    "validation_verdict",
    "in_sft",
)
EVAL_FACETS = ("model", "benchmark", "base_status", "plus_status", "passed_plus")


def write_database(path: str, tables: dict[str, dict]) -> None:
    """`tables`: name -> {"rows", "columns" (name -> type, in order), "pk", "fts" (columns), "index"
    (columns)}. Replaces `path` only once every table is written."""
    import sqlite_utils

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    db = sqlite_utils.Database(str(partial))
    try:
        db.execute("PRAGMA journal_mode = OFF")  # a fresh file, renamed when complete: no journal needed
        db.execute("PRAGMA synchronous = OFF")
        for name, spec in tables.items():
            table = db[name]
            table.create(spec["columns"], pk=spec.get("pk"))
            table.insert_all(spec["rows"], batch_size=2000, alter=True)
            for column in spec.get("index", ()):
                table.create_index([column], if_not_exists=True)
            if spec.get("fts"):
                table.enable_fts(list(spec["fts"]), tokenize="porter")
        db.execute("ANALYZE")
        db.conn.commit()
    except BaseException:
        db.close()
        partial.unlink(missing_ok=True)
        raise
    db.close()
    os.replace(partial, target)


JOURNEY_TYPES = {  # in the order the explorer shows them: verdicts first, long texts last
    "id": str,
    "lang": str,
    "stage_reached": str,
    "dropped_at": str,
    "reason": str,
    "in_sft": bool,
    "parse_verdict": str,
    "dedup_verdict": str,
    "duplicate_of": str,
    "decontamination_verdict": str,
    "benchmark_family": str,
    "matched_item": str,
    "matched_string": str,
    "validation_verdict": str,
    "validated_as": str,
    "category": str,
    "similarity": float,
    "nearest_humaneval": str,
    "finish_reason": str,
    "prompt_tokens": int,
    "completion_tokens": int,
    "latency_s": float,
    "source": str,
    "start_line": str,
    "seed": str,
    "problem": str,
    "solution": str,
    "response": str,
    "validation_output": str,
}
TASK_TYPES = {
    "model": str,
    "benchmark": str,
    "task_id": str,
    "entry_point": str,
    "base_status": str,
    "plus_status": str,
    "passed_base": bool,
    "passed_plus": bool,
    "base_fail_input": str,
    "plus_fail_input": str,
    "replay_output": str,
    "prompt_format": str,
    "completion": str,
    "solution": str,
    "prompt": str,
}
MULTIPL_E_TYPES = {
    "decoding": str,
    "model": str,
    "language": str,
    "task": str,
    "sample": int,
    "passed": bool,
    "status": str,
    "completion": str,
    "output": str,
}
MODEL_TYPES = {"model": str, "kind": str, "base": str, "data": str}
STEP_TYPES = {"step": str, "reason": str, "rows": int}


def curation_steps(report: str) -> list[dict]:
    """The curation report's counts, one row per step and reason (`kept` for the rows it passed on)."""
    rows = []
    for step in read_json(report)["steps"]:
        rows.append({"step": step["step"], "reason": "kept", "rows": step["rows_out"]})
        rows += [{"step": step["step"], "reason": r, "rows": n} for r, n in step["dropped_by_reason"].items()]
    return rows


def run_teacher(
    *,
    seeds: str,
    responses: str,
    curation: dict[str, str],
    benchmarks: dict[str, str],
    analysis: dict[str, str],
    database: str,
    page: str,
    teacher: str,
    sample: dict | None = None,
    validation: dict[str, str] | None = None,
    sft: str | None = None,
    cache_dir: str | None = None,
) -> None:
    """The teacher's database and its report page. `curation`: parsed_excluded, clean_excluded,
    decontaminated, decontaminated_excluded, report; `analysis`: categories, similarity (per row);
    `validation`: validated, validated_excluded (when validation ran); `sample`: the `seeds` and
    `sample_seed` of a teacher that answered only some seeds."""
    from ..streams import shard_rows, shard_seeds
    from .journey import journey_rows
    from .pages import teacher_page

    sample = sample or {}
    # The seeds streamed (or the sample another teacher answered), and the rows built one at a time.
    if sample.get("seeds") is None:
        seed_rows = shard_rows(seeds)
    else:
        seed_rows = shard_seeds(seeds, "0-of-1", sample["seeds"], sample.get("sample_seed"))
    rows = journey_rows(
        seeds=seed_rows,
        responses=responses,
        parsed_excluded=curation["parsed_excluded"],
        clean_excluded=curation["clean_excluded"],
        decontaminated=curation["decontaminated"],
        decontaminated_excluded=curation["decontaminated_excluded"],
        benchmarks=benchmarks,
        categories=analysis.get("categories"),
        similarity=analysis.get("similarity"),
        sft=sft,
        cache_dir=cache_dir,
        **(validation or {}),
    )
    steps = curation_steps(curation["report"])
    tables = {
        "rows": {
            "rows": rows,
            "pk": "id",
            "columns": JOURNEY_TYPES,
            "fts": ("problem", "solution"),
            "index": TEACHER_FACETS + ("nearest_humaneval", "matched_item"),
        },
        "steps": {"rows": steps, "columns": STEP_TYPES},
    }
    write_database(database, tables)
    teacher_page(database, page, teacher)


def run_eval(
    *,
    evalplus: list[dict],
    multipl_e: list[dict],
    models: list[dict],
    replay: dict,
    database: str,
    page: str,
    sandbox: dict | None = None,
) -> None:
    """The evaluation database and its report page (each model's per-task verdicts). `replay`: whether
    and how failing solutions run again for their output (replay.py); `sandbox`: where they run."""
    from .evaluations import evaluation_tables
    from .pages import eval_page

    tables = evaluation_tables(evalplus=evalplus, multipl_e=multipl_e, models=models, replay=replay, sandbox=sandbox)
    write_database(
        database,
        {
            "models": {"rows": tables["models"], "pk": "model", "columns": MODEL_TYPES},
            "tasks": {
                "rows": tables["tasks"],
                "pk": ("model", "benchmark", "task_id"),
                "columns": TASK_TYPES,
                "index": EVAL_FACETS + ("task_id",),
            },
            "multipl_e": {
                "rows": tables["multipl_e"],
                "pk": ("decoding", "model", "language", "task", "sample"),
                "columns": MULTIPL_E_TYPES,
                "index": ("model", "language", "status"),
            },
        },
    )
    eval_page(database, page)
