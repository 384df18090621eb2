"""Stage 2, teacher generation (paper §2.1): one chat completion per seed, with the paper's prompts.

Reads `results/seeds/{corpus}.jsonl`; writes `results/generate/{teacher}/responses.jsonl`, one row
per seed with `teacher, request_hash, response, finish_reason, usage, model,
system_fingerprint`. Answers come from the cache (`cache`) or the teacher (`client`, many requests in
flight within the budgets of `ratelimit`, or `batch`); requests that still fail are recorded by cause.
"""

from __future__ import annotations

import logging

from ..config import join_how
from ..io import read_json, write_json, write_jsonl
from ..models import served_teacher
from .answers import plan_requests
from .cache import cache_files
from .session import open_session

SEED_FIELDS = ("id", "lang", "seed", "index")  # what the teacher stage reads from a seed row

log = logging.getLogger(__name__)


def job_teacher(settings: dict, how: dict, model_folder: str | None = None) -> dict:
    """The teacher section a job runs with: the answer-deciding `settings` (the rule's params) joined
    with the config's how-keys (how requests are sent), a GGUF `serve.model` served from the folder
    exported from it (`models.served_teacher`)."""
    teacher = join_how({k: v for k, v in settings.items() if k not in ("seeds", "sample_seed")}, how)
    return served_teacher(teacher, model_folder)


def run(
    *,
    seeds: str,
    responses: str,
    report: str,
    settings: dict,
    how: dict,
    cache_dir: str,
    threads: int = 2,
    server_log: str | None = None,
    model_folder: str | None = None,
    price: dict | None = None,
    shard: str = "0-of-1",
) -> None:
    """Answer shard `shard` ("i-of-n") of the seeds. `settings`: what decides the answers (the
    rule's params, `settings.stage_settings(config, "generate", teacher=...)`); `how`: how requests
    are sent; `model_folder`: a GGUF teacher's exported folder, for vLLM or SGLang."""
    from ..shards import parse_shard
    from ..streams import shard_seeds

    teacher = job_teacher(settings, how, model_folder)
    # The shard's seeds alone (its byte range of the file); another teacher may answer only N seeds,
    # drawn in proportion to the languages (Table 7).
    rows = shard_seeds(seeds, shard, settings.get("seeds"), settings.get("sample_seed"), SEED_FIELDS)
    own, others = cache_files(cache_dir, teacher["name"], shard)
    with open_session(
        teacher,
        cache=own,
        cache_dir=cache_dir,
        job=shard,
        threads=threads,
        server_log=server_log,
        price=price,
        share=parse_shard(shard)[1],
    ) as session:
        if others:
            jobs, _ = plan_requests(rows, teacher, session.endpoint.count_tokens, session.endpoint.fingerprint)
            adopted = session.cache.adopt(others, [job.key for job in jobs])
            log.info("reused %d answers from %d other cache files", adopted, len(others))
        answered, summary = session.answer(rows, teacher)
    summary["shard"] = shard
    write_jsonl(responses, answered)
    write_json(report, summary)


def merge(*, shard_responses: list[str], shard_reports: list[str], responses: str, report: str) -> None:
    """The teacher's answers in seed order and one report, from the shards (in shard order): the
    shards' files joined byte for byte, so the job's memory stays small at any scale."""
    import shutil

    from ..shards import merge_generation_reports

    with open(responses, "wb") as out:
        for path in shard_responses:
            with open(path, "rb") as shard:
                shutil.copyfileobj(shard, out, 1 << 20)
    write_json(report, merge_generation_reports([read_json(path) for path in shard_reports]))
