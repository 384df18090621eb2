"""Teacher generation through the OpenAI Batch API (`teacher.mode: batch`): half the price, no rate
limits to manage, answers within the completion window.

The requests that the cache cannot answer are written as JSONL files within the API's limits
(`teacher.batch.max_requests_per_file`, `max_file_bytes`), uploaded, and submitted as batches.
Every batch id is recorded in the response cache's SQLite file, with the request hashes it
carries, before anything else happens; a rerun after a crash or a timeout polls those batches
instead of submitting the same requests again. Answers go into the response cache as they are
downloaded, so the online mode and the batch mode share one store and give the same rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

from .cache import ResponseCache
from .client import Job, answer_from_completion
from .errors import MalformedAnswer, TeacherError

log = logging.getLogger(__name__)

ENDPOINT = "/v1/chat/completions"
TERMINAL = {"completed", "failed", "expired", "cancelled"}


def batch_line(job: Job) -> bytes:
    return (json.dumps({"custom_id": job.key, "method": "POST", "url": ENDPOINT, "body": job.body}) + "\n").encode()


def split_into_files(jobs: Sequence[Job], max_requests: int, max_bytes: int) -> list[list[Job]]:
    """Consecutive groups of requests, each within the request and byte limits of one batch file."""
    files: list[list[Job]] = []
    current: list[Job] = []
    size = 0
    for job in jobs:
        line = len(batch_line(job))
        if line > max_bytes:
            raise TeacherError(f"request {job.row['id']} alone is {line} bytes, over teacher.batch.max_file_bytes")
        if current and (len(current) >= max_requests or size + line > max_bytes):
            files.append(current)
            current, size = [], 0
        current.append(job)
        size += line
    if current:
        files.append(current)
    return files


def submit(client, jobs: Sequence[Job], cache: ResponseCache, settings: dict) -> str:
    content = b"".join(batch_line(job) for job in jobs)
    chunk_hash = hashlib.sha256(content).hexdigest()
    upload = client.files.create(file=(f"ossinstruct-{chunk_hash[:12]}.jsonl", content), purpose="batch")
    batch = client.batches.create(
        input_file_id=upload.id,
        endpoint=ENDPOINT,
        completion_window=settings["completion_window"],
        metadata={"ossinstruct_chunk": chunk_hash[:32]},
    )
    cache.record_batch(chunk_hash, batch.id, upload.id, batch.status, [job.key for job in jobs])
    log.info("submitted batch %s: %d requests, %d bytes (file %s)", batch.id, len(jobs), len(content), upload.id)
    return batch.id


def collect(client, batch, jobs_by_key: dict[str, Job], cache: ResponseCache) -> tuple[int, list[dict]]:
    """Store a finished batch's answers in the cache; returns (answered, failures)."""
    answered, failures = 0, []
    if batch.output_file_id:
        for line in client.files.content(batch.output_file_id).text.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key = item["custom_id"]
            response = item.get("response") or {}
            try:
                if response.get("status_code") != 200:
                    raise MalformedAnswer(f"status {response.get('status_code')}")
                answer = answer_from_completion(response["body"])
            except (MalformedAnswer, KeyError, TypeError) as error:
                failures.append({"request_hash": key, "cause": "batch_bad_response", "error": str(error)})
                continue
            job = jobs_by_key.get(key)
            cache.put(key, job.body if job else {}, answer)
            answered += 1
    if batch.error_file_id:
        for line in client.files.content(batch.error_file_id).text.splitlines():
            if line.strip():
                item = json.loads(line)
                error = item.get("error") or (item.get("response") or {}).get("body", {}).get("error") or {}
                failures.append(
                    {
                        "request_hash": item["custom_id"],
                        "cause": f"batch_{error.get('code', 'error')}",
                        "error": str(error.get("message", ""))[:300],
                    }
                )
    cache.mark_collected(batch.id)
    return answered, failures


def run_batches(
    *,
    jobs: Sequence[Job],
    client,
    cache: ResponseCache,
    settings: dict,
    sleep: Callable[[float], None] = time.sleep,
    cap=None,
) -> dict:
    """Answer `jobs` (the requests the cache cannot answer) through batches; returns counts and failures.

    `cap` (`spending.SpendingCap`): a file is submitted only if the worst case of every request in it
    fits under the cap with the files before it; the requests of the files not submitted fail as
    `over_cap`. Batches resumed from an earlier run were paid for by that run.

    Raises TeacherError when batches are still running after `max_wait_s` (they stay recorded, and
    a rerun resumes polling them).
    """
    cache.ensure_batch_tables()
    jobs_by_key = {job.key: job for job in jobs}
    resumed = cache.pending_batches(set(jobs_by_key))
    in_flight = set().union(*resumed.values()) if resumed else set()
    new = [job for job in jobs if job.key not in in_flight]
    files = split_into_files(new, settings["max_requests_per_file"], settings["max_file_bytes"])
    submitted, held, over_cap = [], {}, []
    for group in files:
        holds = [cap.reserve(job) for job in group] if cap is not None else [0.0] * len(group)
        if None in holds:
            for job, amount in zip(group, holds, strict=True):
                if amount is not None:
                    cap.settle(job, amount, None)
            over_cap += group
            continue
        held.update({job.key: amount for job, amount in zip(group, holds, strict=True)})
        submitted.append(submit(client, group, cache, settings))
    waiting = list(resumed) + submitted
    log.info("batches: %d resumed, %d submitted (%d requests)", len(resumed), len(submitted), len(new))
    stats = Counter(
        batches_submitted=len(submitted), batches_resumed=len(resumed), requests_submitted=len(new) - len(over_cap)
    )
    failures: list[dict] = []
    statuses: Counter = Counter()
    deadline = time.monotonic() + settings["max_wait_s"]
    while waiting:
        still = []
        for batch_id in waiting:
            batch = client.batches.retrieve(batch_id)
            if batch.status not in TERMINAL:
                still.append(batch_id)
                continue
            statuses[batch.status] += 1
            answered, failed = collect(client, batch, jobs_by_key, cache)
            stats["answered"] += answered
            failures += failed
            if batch.status == "failed" and not failed:
                reason = "; ".join(e.message or "" for e in (batch.errors.data if batch.errors else []))[:300]
                failures.append({"request_hash": None, "cause": "batch_failed", "error": f"{batch_id}: {reason}"})
        waiting = still
        if waiting:
            if time.monotonic() > deadline:
                raise TeacherError(
                    f"{len(waiting)} batches still running after teacher.batch.max_wait_s="
                    f"{settings['max_wait_s']}: {', '.join(waiting)}. They are recorded in the cache: "
                    "rerun to resume polling them (nothing is submitted twice)."
                )
            sleep(settings["poll_interval_s"])
    for job in jobs:  # what the submitted requests cost, once their batches are in
        if cap is not None and job.key in held:
            cap.settle(job, held[job.key], cache.get(job.key))
    failures += [
        {"request_hash": job.key, "cause": "over_cap", "error": "not submitted: it could pass the spending cap"}
        for job in over_cap
    ]
    unanswered = [job for job in jobs if cache.get(job.key) is None]
    known = {f["request_hash"] for f in failures}
    for job in unanswered:
        if job.key not in known:
            failures.append({"request_hash": job.key, "cause": "batch_no_answer", "error": "not in the batch output"})
    by_hash = {job.key: job.row["id"] for job in jobs}
    for failure in failures:
        failure["id"] = by_hash.get(failure["request_hash"])
    return {**stats, "batch_statuses": dict(statuses), "failures": failures}
