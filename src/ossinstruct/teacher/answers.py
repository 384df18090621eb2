"""The requests of one job and their answers: planned with the paper's budget, taken from the cache
or sent to the teacher (many in flight within the budgets of `ratelimit`, or through the Batch API),
every outcome tallied, and the report of what was asked, answered, retried, failed and paid.

`generate_responses` answers for a `session.TeacherSession` (the job's endpoint, cache, teacher
section, price and cap); generation and execution validation's tests both go through it.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from ..progress import Progress
from ..server import submit_with_clients
from .cache import ResponseCache
from .client import Job, Outcome, send
from .errors import SpendingCapReached, TeacherError, TeacherFailures
from .prompts import max_tokens_for, request_body, request_hash, user_prompt
from .ratelimit import RateLimiter
from .spending import SpendingCap


def plan_requests(
    seeds: Sequence[dict],
    settings: dict,
    count_tokens: Callable[[str], int],
    model_fingerprint: str = "",
    ask: Callable[[dict], list[dict]] | None = None,
) -> tuple[list[Job], int]:
    """One request per seed with the paper's budget; seeds whose prompt leaves no room are skipped.
    `ask` builds another step's messages from a row (the tests of a pair); None: the paper's prompt."""
    jobs, skipped = [], 0
    for row in seeds:
        messages = ask(row) if ask else None
        prompt = user_prompt(row["seed"]) if messages is None else "".join(m["content"] for m in messages)
        budget = max_tokens_for(count_tokens(prompt), settings["max_new_tokens"], settings["context_length"])
        if budget <= 0:
            skipped += 1
            continue
        body = request_body(row, settings, budget, messages)
        # What a provider charges against the token budget: every message's tokens plus max_tokens.
        charged = count_tokens("".join(message["content"] for message in body["messages"])) + budget
        jobs.append(Job(row, body, request_hash(body, model_fingerprint), charged))
    return jobs, skipped


def cost_usd(prompt_tokens: int, completion_tokens: int, price: dict | None, discount: float = 1.0) -> float | None:
    """USD for the tokens at `price` ({prompt, completion} USD per million tokens); None without a price."""
    if not price:
        return None
    return round((prompt_tokens * price["prompt"] + completion_tokens * price["completion"]) / 1e6 * discount, 6)


@dataclass
class Tally:
    """What one job's requests produced: answers by seed id, token and attempt totals, retries and
    failures by cause. `record` takes each request's outcome, whichever path sent it."""

    answers: dict[str, dict] = field(default_factory=dict)
    totals: Counter = field(default_factory=Counter)
    retries: Counter = field(default_factory=Counter)
    failed: list[dict] = field(default_factory=list)

    def answered(self, job: Job, answer: dict) -> None:
        self.answers[job.row["id"]] = answer
        self.totals["answered"] += 1
        self.totals["prompt_tokens"] += answer["usage"]["prompt_tokens"] or 0
        self.totals["completion_tokens"] += answer["usage"]["completion_tokens"] or 0

    def record(self, outcome: Outcome, cache: ResponseCache) -> None:
        self.totals["attempts"] += outcome.attempts
        self.retries.update(outcome.retries)
        if outcome.answer is None:
            self.failed.append(
                {
                    "id": outcome.job.row["id"],
                    "request_hash": outcome.job.key,
                    "cause": outcome.cause,
                    "attempts": outcome.attempts,
                    "error": outcome.message,
                }
            )
        else:
            cache.put(outcome.job.key, outcome.job.body, outcome.answer)
            self.answered(outcome.job, outcome.answer)


def generate_responses(
    seeds: Sequence[dict], settings: dict, session, ask: Callable[[dict], list[dict]] | None = None
) -> tuple[list[dict], dict]:
    """Answer every seed from the cache or the teacher; returns rows in seed order and a report.

    `settings` decide the requests (the teacher's what-keys); `session` (`session.TeacherSession`)
    holds the job's endpoint (one client per request that may be in flight: the same client repeated
    for a remote API, one per server of a local pool), its cache, its teacher section (how requests
    are sent: `client`, `mode`, `batch`), the price and the spending cap. Requests that still fail
    after their retries are listed in the report under `failed`; more than `max_failed_fraction` of
    them raises `TeacherFailures` (every answer received is already in the cache). When the job's own
    server has died, the run stops at the first failed request instead of retrying. With a cap, the
    job is refused before sending when the expected cost is over it, a request that could pass it is
    not sent, and `SpendingCapReached` says how far the job got.
    """
    endpoint, cache, cap, price = session.endpoint, session.cache, session.cap, session.price
    clients, client_settings, mode = endpoint.clients, session.teacher["client"], session.teacher["mode"]
    started = time.monotonic()
    jobs, skipped = plan_requests(seeds, settings, endpoint.count_tokens, endpoint.fingerprint, ask)
    tally = Tally()
    to_send: list[Job] = []
    for job in jobs:
        cached = cache.get(job.key)
        if cached is not None:
            tally.answers[job.row["id"]] = cached
        else:
            to_send.append(job)
    cache_hits = len(jobs) - len(to_send)
    planned = cap.check_plan(to_send) if cap is not None else {}

    limiter = RateLimiter(client_settings["requests_per_minute"], client_settings["tokens_per_minute"])
    batch_stats: dict = {}
    discount = 1.0
    if mode == "batch":
        from .batch import run_batches

        batch_settings = session.teacher["batch"]
        discount = batch_settings["discount"]
        batch_stats = run_batches(jobs=to_send, client=clients[0], cache=cache, settings=batch_settings, cap=cap)
        tally.failed = batch_stats.pop("failures")
        for job in to_send:
            answer = cache.get(job.key)
            if answer is not None:
                tally.answered(job, answer)
        tally.totals["attempts"] = batch_stats.get("requests_submitted", 0)
    elif mode == "online":
        send_online(
            to_send, clients, client_settings, limiter, price, settings["name"], cache, tally, endpoint.check, cap
        )
    else:
        raise TeacherError(f"config key 'teacher.mode': unknown value {mode!r} (online, batch)")

    keep = ("response", "finish_reason", "usage", "model", "system_fingerprint")
    rows = []
    for job in jobs:
        answer = tally.answers.get(job.row["id"])
        if answer is not None:
            rows.append(
                {**job.row, "teacher": settings["name"], "request_hash": job.key, **{k: answer.get(k) for k in keep}}
            )
    wall = time.monotonic() - started
    totals, failed = tally.totals, tally.failed
    dataset_prompt = sum(row["usage"]["prompt_tokens"] or 0 for row in rows)
    dataset_completion = sum(row["usage"]["completion_tokens"] or 0 for row in rows)
    latencies = sorted(a["latency_s"] for a in tally.answers.values() if a.get("latency_s") is not None)
    summary = {
        "teacher": settings["name"],
        "model": settings["model"],
        "base_url": endpoint.base_url,
        "seeds": len(seeds),
        "responses": len(rows),
        "skipped_no_budget": skipped,
        "cache_hits": cache_hits,
        "requests": len(to_send),
        "answered": totals["answered"],
        "attempts": totals["attempts"],
        "retries_by_cause": dict(tally.retries),
        "failed": len(failed),
        "failed_by_cause": dict(Counter(f["cause"] for f in failed)),
        "failures": failed,
        "prompt_tokens": totals["prompt_tokens"],
        "completion_tokens": totals["completion_tokens"],
        "cost_usd": cost_usd(totals["prompt_tokens"], totals["completion_tokens"], price, discount),
        "dataset_prompt_tokens": dataset_prompt,
        "dataset_completion_tokens": dataset_completion,
        "dataset_cost_usd": cost_usd(dataset_prompt, dataset_completion, price, discount),
        "price_per_million_tokens": price,
        "mode": mode,
        **({"batch": batch_stats} if mode == "batch" else {}),
        "finish_reasons": dict(Counter(row["finish_reason"] for row in rows)),
        # what the server says answered (a hosted alias resolves to a dated snapshot) and its backend builds
        "answered_by_model": dict(Counter(str(row["model"]) for row in rows)),
        "system_fingerprints": dict(Counter(str(row["system_fingerprint"]) for row in rows)),
        "median_latency_s": latencies[len(latencies) // 2] if latencies else None,
        "rate_limit_wait_s": round(limiter.waited_s, 1),
        "concurrency": len(clients) if mode == "online" else None,
        "wall_s": round(wall, 2),
        "requests_per_s": round(totals["attempts"] / wall, 3) if wall > 0 else None,
    }
    if cap is not None:
        summary["spending"] = {**cap.report(), **planned}
    if cap is not None and cap.not_sent:
        raise SpendingCapReached(
            f"teacher {settings['name']}: stopped at the spending cap ({cap_words(cap)}) after {totals['answered']} "
            f"of {len(to_send)} requests; {cap.not_sent} were not sent. Every answer paid for is cached: rerun "
            "with a higher teacher.max_cost_usd or teacher.max_requests and only the rest are sent",
            summary,
        )
    allowed = client_settings["max_failed_fraction"] * len(jobs)
    if failed and len(failed) > allowed:
        first = failed[0]
        raise TeacherFailures(
            f"{len(failed)} of {len(to_send)} requests to the teacher at {endpoint.base_url} failed after retries "
            f"({summary['failed_by_cause']}; teacher.client.max_failed_fraction allows "
            f"{client_settings['max_failed_fraction']}). Every answer received is cached: rerun to retry only "
            f"these. First: {first['id']}: {first['error']}",
            summary,
        )
    return rows, summary


def cap_words(cap: SpendingCap) -> str:
    spent = [f"${cap.spent_usd:.4f} paid of ${cap.max_cost_usd:.4f}"] if cap.max_cost_usd is not None else []
    sent = [f"{cap.requests} requests of {cap.max_requests}"] if cap.max_requests is not None else []
    return ", ".join(spent + sent)


def send_online(
    to_send,
    clients,
    client_settings,
    limiter,
    price,
    name,
    cache: ResponseCache,
    tally: Tally,
    check_server=None,
    cap: SpendingCap | None = None,
) -> None:
    """Send every request, `len(clients)` at a time; answers go to the cache and `tally` as they
    arrive. When one answer stops the run (a rejected key), no thread sends again, and the answers
    already on their way are still cached before the error is raised."""
    rng = random.Random(0)
    stop = threading.Event()
    enabled = client_settings["progress"] and to_send
    progress = Progress(len(to_send), f"teacher {name}", "requests") if enabled else None
    with ThreadPoolExecutor(max_workers=max(1, len(clients))) as pool:
        futures = submit_with_clients(
            pool, clients, lambda c, job: send(c, job, client_settings, limiter, rng, stop, check_server, cap), to_send
        )
        recorded = set()
        try:
            for future in as_completed(futures):
                recorded.add(future)
                tally.record(future.result(), cache)
                if progress is not None:
                    spent = cost_usd(tally.totals["prompt_tokens"], tally.totals["completion_tokens"], price)
                    progress.advance(1, cost=f"${spent:.2f}" if spent is not None else "n/a", failed=len(tally.failed))
        except BaseException:
            stop.set()
            for pending in futures:
                pending.cancel()
            for future in futures:  # requests already in flight: their answers are paid for, keep them
                if future not in recorded and not future.cancelled():
                    try:
                        outcome = future.result()
                    except BaseException:  # noqa: BLE001 - the first error is the one raised
                        continue
                    if outcome.answer is not None:
                        tally.record(outcome, cache)
            raise
        finally:
            if progress is not None:
                progress.close()
