"""Work split into shards so that a cluster runs them in parallel and a failed shard reruns alone,
and the seeds a teacher answers when it answers only some (`sample_seeds`).

Shard `i` of `n` is a contiguous slice of the rows, so concatenating the shards in order gives
exactly the unsharded output (teacher responses, evaluation samples).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

# Report fields that add up over shards; counters (dicts) are summed key by key; lists concatenate.
_SUMMED = (
    "seeds",
    "responses",
    "skipped_no_budget",
    "cache_hits",
    "requests",
    "answered",
    "attempts",
    "failed",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "dataset_prompt_tokens",
    "dataset_completion_tokens",
    "dataset_cost_usd",
    "rate_limit_wait_s",
)
_COUNTERS = ("retries_by_cause", "failed_by_cause", "finish_reasons", "answered_by_model", "system_fingerprints")


def shard_bounds(total: int, index: int, count: int) -> tuple[int, int]:
    if not 0 <= index < count:
        raise ValueError(f"shard {index} of {count} does not exist")
    return total * index // count, total * (index + 1) // count


def shard_slice(rows: Sequence, index: int, count: int) -> list:
    start, stop = shard_bounds(len(rows), index, count)
    return list(rows[start:stop])


def shard_names(count: int) -> list[str]:
    """The `{shard}` wildcard values: `0-of-4`, `1-of-4`, ..."""
    return [f"{i}-of-{count}" for i in range(count)]


def parse_shard(name: str) -> tuple[int, int]:
    index, _, count = name.partition("-of-")
    return int(index), int(count)


def merge_generation_reports(reports: Sequence[dict]) -> dict:
    """One teacher report from the shards' reports: totals, plus each shard's own report."""
    merged = {key: value for key, value in reports[0].items() if key != "shard"}
    for key in _SUMMED:
        values = [report.get(key) for report in reports]
        if all(value is not None for value in values):
            merged[key] = round(sum(values), 6) if any(isinstance(v, float) for v in values) else sum(values)
    for key in _COUNTERS:
        total = Counter()
        for report in reports:
            total.update(report.get(key) or {})
        merged[key] = dict(total)
    merged["failures"] = [failure for report in reports for failure in report.get("failures", [])]
    merged["wall_s"] = max(report.get("wall_s") or 0 for report in reports)
    merged["requests_per_s"] = round(merged["attempts"] / merged["wall_s"], 3) if merged["wall_s"] else None
    merged["median_latency_s"] = _median([r["median_latency_s"] for r in reports if r.get("median_latency_s")])
    merged["shards"] = len(reports)
    if len(reports) > 1:
        merged["by_shard"] = [
            {key: report.get(key) for key in ("seeds", "requests", "cache_hits", "answered", "failed", "wall_s")}
            for report in reports
        ]
    return merged


def _median(values: list[float]) -> float | None:
    """The median of the shards' medians (the exact median needs every latency, which the cache has)."""
    values = sorted(values)
    return values[len(values) // 2] if values else None


def sample_seeds(rows: Sequence[dict], size: int | None, seed: int) -> list[dict]:
    """`size` of the seeds, drawn in proportion to the languages (largest remainders get the rounding)
    with a seeded generator, in their original order (Table 7's weaker teacher answers 20K of 80K)."""
    if size is None or size >= len(rows):
        return list(rows)
    return [rows[position] for position in sample_positions([row["lang"] for row in rows], size, seed)]


def sample_positions(langs: Sequence[str], size: int, seed: int) -> list[int]:
    """The positions, in order, of the rows `sample_seeds` keeps, from the rows' languages alone."""
    by_lang: dict[str, list[int]] = {}
    for position, lang in enumerate(langs):
        by_lang.setdefault(lang, []).append(position)
    # Exact shares in integers: size x count / total; ties in the remainders go in language order.
    quota = {lang: size * len(positions) // len(langs) for lang, positions in by_lang.items()}
    remainder = {lang: size * len(positions) % len(langs) for lang, positions in by_lang.items()}
    for lang in sorted(by_lang, key=lambda lang: (-remainder[lang], lang))[: size - sum(quota.values())]:
        quota[lang] += 1
    rng = random.Random(seed)
    return sorted(position for lang, positions in by_lang.items() for position in rng.sample(positions, quota[lang]))
