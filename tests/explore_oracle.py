"""The explorer's journey as it was built before it streamed (commit f6df257, `explore/journey.py`):
every stage's rows read into dicts by id. The oracle of `tests/unit/test_explore.py`'s test that the
streamed journey (`journey.journey_rows`, its rows looked up in a SQLite `RowIndex`) gives the same
rows. Kept verbatim, but for its name and imports."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from ossinstruct.explore.journey import STAGES, TAIL, matched_items
from ossinstruct.io import read_jsonl


def answer_latencies(cache_dir: str | None, hashes: Iterable[str]) -> dict[str, float]:
    """Each answer's latency as the teacher's answer cache recorded it (read-only; absent: none)."""
    latencies: dict[str, float] = {}
    if not cache_dir:
        return latencies
    folder = Path(cache_dir)
    wanted = list(dict.fromkeys(hashes))
    for path in [folder / "teacher-responses.sqlite", *sorted((folder / "teacher-responses.d").glob("*.sqlite"))]:
        if not path.exists():
            continue
        db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, response in db.execute(
                    f"SELECT request_hash, response FROM responses WHERE request_hash IN ({marks})", chunk
                ):
                    latency = json.loads(response).get("latency_s")
                    if latency is not None:
                        latencies.setdefault(key, latency)
        except sqlite3.DatabaseError:
            continue
        finally:
            db.close()
    return latencies


def by_id(path: str | None) -> dict[str, dict]:
    return {row["id"]: row for row in read_jsonl(path)} if path else {}


def today_journey_rows(
    *,
    seeds: list[dict],
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
) -> list[dict]:
    answers = by_id(responses)
    dropped = {"parse": by_id(parsed_excluded), "clean": by_id(clean_excluded)}
    dropped["decontaminate"] = by_id(decontaminated_excluded)
    kept = by_id(decontaminated)
    passed = by_id(validated)
    validation = {**by_id(validated_excluded), **passed}
    category, similar = by_id(categories), by_id(similarity)
    in_sft = {row["id"] for row in read_jsonl(sft)} if sft else set()
    items = matched_items(dropped["decontaminate"].values(), benchmarks)
    latency = answer_latencies(cache_dir, (row["request_hash"] for row in answers.values() if row.get("request_hash")))
    rows = []
    for seed in seeds:
        key = seed["id"]
        answer = answers.get(key, {})
        usage = answer.get("usage") or {}
        stage = next((name for name in ("parse", "clean", "decontaminate") if key in dropped[name]), None)
        verdicts = {name: dropped[name][key]["reason"] if key in dropped[name] else None for name in dropped}
        # The latest record of the row holds its problem and solution (the parse's row when it was dropped there).
        latest = kept.get(key) or (dropped[stage][key] if stage else {})
        contaminated = dropped["decontaminate"].get(key, {})
        check = validation.get(key)
        if not answer:
            stage, reason = "teacher", "no_answer"
        elif stage:
            reason = verdicts[stage]
        elif check is not None and key not in passed:
            stage, reason = "validate", check.get("reason")
        else:
            reason = None
        reached = STAGES[STAGES.index(stage) - 1] if stage else ("validate" if check is not None else "decontaminate")
        rows.append(
            {
                "id": key,
                "lang": seed.get("lang"),
                "seed": seed.get("seed"),
                "source": seed.get("source"),
                "start_line": seed.get("start_line"),
                "stage_reached": reached,
                "dropped_at": stage,
                "reason": reason,
                "in_sft": key in in_sft,
                "response": answer.get("response"),
                "finish_reason": answer.get("finish_reason"),
                "prompt_tokens": usage.get("prompt_tokens"),
                "completion_tokens": usage.get("completion_tokens"),
                "latency_s": latency.get(answer.get("request_hash")),
                "parse_verdict": None if not answer else (verdicts["parse"] or "kept"),
                "problem": latest.get("problem"),
                "solution": latest.get("solution"),
                "dedup_verdict": None if not answer or verdicts["parse"] else (verdicts["clean"] or "kept"),
                "duplicate_of": dropped["clean"].get(key, {}).get("duplicate_of")
                or dropped["clean"].get(key, {}).get("near_duplicate_of"),
                "decontamination_verdict": "kept" if key in kept else verdicts["decontaminate"],
                "benchmark_family": contaminated["reason"].removesuffix("_match") if contaminated else None,
                "matched_string": contaminated.get("matched"),
                "matched_item": items.get(key),
                "validation_verdict": check.get("reason", "passed") if check is not None else None,
                "validated_as": check.get("validated_as") if check is not None else None,
                "validation_output": (check.get("output") or "")[-TAIL:] if check is not None else None,
                "category": category.get(key, {}).get("category"),
                "similarity": similar.get(key, {}).get("similarity"),
                "nearest_humaneval": similar.get(key, {}).get("nearest_humaneval"),
            }
        )
    return rows
