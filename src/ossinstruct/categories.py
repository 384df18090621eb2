"""The categories of the data study (method §8) in shards: each shard's problems embedded and assigned
a batch at a time (`run_categories_shard`), joined and counted into `analysis.run_categories`'s files
(`merge_categories`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from .analysis import CATEGORIES, Embedder, assign_categories, category_summary_from_counts
from .io import write_json
from .paths import short_name

log = logging.getLogger(__name__)


def run_categories_shard(*, rows: str, shard: str, settings: dict, assignments: str, batch: int = 4096) -> None:
    """`analysis.run_categories` on shard `shard` of the rows (a byte range), `batch` problems embedded at a
    time: the shard's assignments, which `merge_categories` joins and counts. Embeddings are batched
    by length within each batch, so a row's vector can differ from the single job's in its last bits,
    and a row at a near-tie between two categories can be assigned the other one."""
    from .streams import Writer, dumps, shard_rows

    embed = Embedder(settings["embedding_model"], settings["embedding_batch_size"], dtype=settings["embedding_dtype"])
    category_vectors = embed(list(CATEGORIES))
    chunk: list[dict] = []
    with Writer(assignments) as out:

        def assign() -> None:
            assigned = assign_categories(embed([row["problem"] for row in chunk]), category_vectors)
            for row, i in zip(chunk, assigned, strict=True):
                out.write(dumps({"id": row["id"], "category": CATEGORIES[i]}))
            log.info("categories: %d rows assigned", out.count)
            chunk.clear()

        for row in shard_rows(rows, shard, ("id", "problem")):
            chunk.append(row)
            if len(chunk) == batch:
                assign()
        assign()


def merge_categories(
    *, shard_assignments: Sequence[str], settings: dict, summary: str, figure: str, assignments: str
) -> None:
    """The shards' assignments joined in order, counted into `analysis.run_categories`'s summary and figure."""
    from collections import Counter

    from .figures import category_figure
    from .streams import concatenate, shard_rows

    concatenate(shard_assignments, assignments)
    found = Counter(row["category"] for row in shard_rows(assignments, "0-of-1", ("category",)))
    result = {
        **category_summary_from_counts([found[name] for name in CATEGORIES]),
        "embedding_model": settings["embedding_model"],
        "embedding_dtype": settings["embedding_dtype"],
    }
    write_json(summary, result)
    category_figure(result, figure, short_name(settings["embedding_model"]))
