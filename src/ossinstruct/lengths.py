"""The lengths of the data study (method §8) in shards: each shard's token counts in the histogram's
buckets (`run_lengths_shard`, streamed a batch at a time), added up into exactly the summary and
figure that `analysis.run_lengths` writes over all rows (`merge_lengths`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .analysis import LENGTH_BUCKET, LENGTH_MAX, count_tokens
from .io import read_json, write_json
from .paths import short_name
from .tokenizer import load_tokenizer


def length_counts(problems: Sequence[int], solutions: Sequence[int]) -> dict:
    """What `analysis.length_summary` needs of some rows' token counts, in a form that adds up over shards:
    per part, the rows in each bucket, the rows, the tokens and the rows over `LENGTH_MAX`."""
    buckets = LENGTH_MAX // LENGTH_BUCKET
    counts = {}
    for part, values in (("problem", problems), ("solution", solutions)):
        tokens = np.asarray(values, dtype=np.int64)
        counts[part] = {
            "counts": np.bincount(np.minimum(tokens, LENGTH_MAX - 1) // LENGTH_BUCKET, minlength=buckets).tolist(),
            "rows": int(tokens.size),
            "tokens": int(tokens.sum()),
            "over_max": int((tokens >= LENGTH_MAX).sum()),
        }
    return counts


def add_length_counts(shards: Sequence[dict]) -> dict:
    """The shards' `length_counts` added up."""
    return {
        part: {
            "counts": np.sum([shard[part]["counts"] for shard in shards], axis=0, dtype=np.int64).tolist(),
            **{key: sum(shard[part][key] for shard in shards) for key in ("rows", "tokens", "over_max")},
        }
        for part in ("problem", "solution")
    }


def length_summary_from_counts(counts: dict) -> dict:
    """`length_summary` from added-up `length_counts`: the same dict (the mean of integer counts is
    their exact sum over their number, as pandas computes it while the sum stays below 2**53)."""

    def histogram(part: str) -> dict:
        tokens, rows = counts[part]["tokens"], counts[part]["rows"]
        return {
            "counts": counts[part]["counts"],
            "mean": round(float(tokens) / rows, 1) if rows else None,
            "over_max": counts[part]["over_max"],
        }

    return {
        "bucket": LENGTH_BUCKET,
        "bin_edges": list(range(0, LENGTH_MAX + LENGTH_BUCKET, LENGTH_BUCKET)),
        "problem": histogram("problem"),
        "solution": histogram("solution"),
    }


def run_lengths_shard(*, rows: str, shard: str, tokenizer: str, counts: str) -> None:
    """`analysis.run_lengths` on shard `shard` of the rows (a byte range): its `shard_length_counts`, which
    `merge_lengths` adds up into the single job's summary."""
    write_json(counts, shard_length_counts(rows, shard, load_tokenizer(tokenizer)))


def shard_length_counts(rows: str, shard: str, tokenizer, batch: int = 1024) -> dict:
    """The `length_counts` of shard `shard` of the rows, streamed `batch` rows at a time."""
    from .streams import shard_rows

    total, chunk = length_counts([], []), []

    def measure() -> dict:
        if not chunk:
            return total
        problems = count_tokens(tokenizer, [row["problem"] for row in chunk])
        found = length_counts(problems, count_tokens(tokenizer, [row["solution"] for row in chunk]))
        chunk.clear()
        return add_length_counts([total, found])

    for row in shard_rows(rows, shard, ("problem", "solution")):
        chunk.append(row)
        if len(chunk) == batch:
            total = measure()
    return measure()


def merge_lengths(*, shard_counts: Sequence[str], tokenizer: str, summary: str, figure: str) -> None:
    """The shards' counts as `analysis.run_lengths`'s summary and figure."""
    from .figures import length_figure

    counts = add_length_counts([read_json(path) for path in shard_counts])
    result = {**length_summary_from_counts(counts), "rows": counts["problem"]["rows"], "tokenizer": tokenizer}
    write_json(summary, result)
    length_figure(result, figure, short_name(tokenizer))
