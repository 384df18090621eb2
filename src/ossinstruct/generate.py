"""Stage 2, teacher generation (paper §2.1): one chat completion per seed, with the paper's prompts.

Reads `results/seeds/{corpus}.jsonl`; writes `results/generate/{teacher}/responses.jsonl`, one row
per seed with `teacher, request_hash, response, finish_reason, usage, model,
system_fingerprint`. Every answer is stored in a SQLite cache keyed by the hash of the request
(model, messages, decoding settings) as soon as it arrives; the cache lives outside the rule's
outputs, so a rerun or a crash (even SIGKILL) never pays for the same request twice.

Many requests are in flight at once (`teacher.client.concurrency`), within a requests- and a
tokens-per-minute budget (`ratelimit`), with retries on 429 (honouring retry-after), 5xx,
timeouts, connection errors and malformed answers; requests that still fail are recorded by cause.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .config import section_defaults
from .ratelimit import RateLimiter
from .server import submit_with_clients

log = logging.getLogger(__name__)

# The paper's prompts, verbatim (magicoder `generate_data.py` and `data/prompt.txt`).
SYSTEM_PROMPT = (
    "You are exceptionally skilled at crafting high-quality programming problems and offering precise solutions."
)
USER_PROMPT = """Please gain inspiration from the following random code snippet to create a high-quality programming problem. Present your output in two distinct sections: [Problem Description] and [Solution].

Code snippet for inspiration:
```
{code}
```

Guidelines for each section:

1. [Problem Description]: This should be **completely self-contained**, providing all the contextual information one needs to understand and solve the problem. Assume common programming knowledge, but ensure that any specific context, variables, or code snippets pertinent to this problem are explicitly included.

2. [Solution]: Offer a comprehensive, **correct** solution that accurately addresses the [Problem Description] you provided."""

# `demonstration: one_shot` (not the paper's): one worked exchange before the real prompt, for weak
# local teachers that otherwise rarely answer in the two-section format.
DEMONSTRATION_SEED = "def area(r):\n    return 3.14159 * r * r\n"
DEMONSTRATION_ANSWER = """[Problem Description]
Write a Python function `circle_area(radius)` that returns the area of a circle with the given radius. The radius is a non-negative float; use `math.pi` for the value of pi.

[Solution]
```python
import math


def circle_area(radius: float) -> float:
    return math.pi * radius * radius
```"""

# The paper's budget: max_tokens = min(max_new_tokens, context_length - prompt tokens - margin).
ERROR_MARGIN = 10


class TeacherError(RuntimeError):
    pass


class TeacherFailures(TeacherError):
    """Too many requests failed after their retries; `report` lists each one with its cause."""

    def __init__(self, message: str, report: dict) -> None:
        super().__init__(message)
        self.report = report


def user_prompt(seed: str) -> str:
    return USER_PROMPT.format(code=seed)


def build_messages(seed: str, demonstration: str = "none", system_role: str = "system") -> list[dict]:
    """The paper's system and user messages (after a worked exchange with `one_shot`). With
    `system_role: merge` the system text opens the first user turn instead, separated by a blank
    line, for chat templates that reject a system role (Mixtral-8x7B-Instruct's raises on one)."""
    messages = []
    if demonstration == "one_shot":
        messages += [
            {"role": "user", "content": user_prompt(DEMONSTRATION_SEED)},
            {"role": "assistant", "content": DEMONSTRATION_ANSWER},
        ]
    elif demonstration != "none":
        raise ValueError(f"teacher.demonstration: unknown value {demonstration!r} (none, one_shot)")
    messages.append({"role": "user", "content": user_prompt(seed)})
    if system_role == "system":
        return [{"role": "system", "content": SYSTEM_PROMPT}, *messages]
    if system_role != "merge":
        raise ValueError(f"teacher.system_role: unknown value {system_role!r} (system, merge)")
    return [{"role": "user", "content": SYSTEM_PROMPT + "\n\n" + messages[0]["content"]}, *messages[1:]]


def estimate_tokens(text: str) -> int:
    """Offline fallback when the teacher's tokenizer is not at hand: one token per 3 UTF-8 bytes.

    Code and English average about 3.5-4 bytes per token under BPE vocabularies, so this
    overestimates the prompt and can only make `max_tokens` smaller, never overflow the context.
    """
    return math.ceil(len(text.encode("utf-8")) / 3)


def max_tokens_for(prompt_tokens: int, max_new_tokens: int, context_length: int) -> int:
    return min(max_new_tokens, context_length - prompt_tokens - ERROR_MARGIN)


def request_body(row: dict, settings: dict, max_tokens: int) -> dict:
    body = {
        "model": settings["model"],
        "messages": build_messages(row["seed"], settings["demonstration"], settings["system_role"]),
        "temperature": settings["temperature"],
        "max_tokens": max_tokens,
        "n": 1,
        "seed": settings["seed"] + row["index"],
    }
    body.update(settings.get("extra_body") or {})
    return body


def request_hash(body: dict, model_fingerprint: str = "") -> str:
    """Identity of a request: what was asked and of which model (not where it was sent)."""
    canonical = json.dumps({"body": body, "model_fingerprint": model_fingerprint}, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """Write-ahead store of teacher answers; each answer is committed before the next request."""

    def __init__(self, path: str | os.PathLike) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.lock = threading.Lock()
        try:
            # WAL + synchronous=NORMAL: every committed answer survives a killed process (SIGKILL);
            # only an operating-system crash can lose the last few commits.
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS responses (request_hash TEXT PRIMARY KEY, request TEXT,"
                " response TEXT, created REAL)"
            )
            self.db.commit()
            self.db.execute("SELECT request_hash, request, response, created FROM responses LIMIT 1").fetchall()
        except sqlite3.DatabaseError as error:
            self.db.close()
            raise TeacherError(
                f"{self.path}: not a readable answer cache ({error}). It may hold answers already paid for, so "
                "it is left as it is: move it aside (do not delete it) and rerun, and the teacher is asked again"
            ) from None

    def get(self, key: str) -> dict | None:
        with self.lock:
            found = self.db.execute("SELECT response FROM responses WHERE request_hash = ?", (key,)).fetchone()
        return json.loads(found[0]) if found else None

    def put(self, key: str, request: dict, response: dict) -> None:
        with self.lock:
            self.db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
                (key, json.dumps(request), json.dumps(response), time.time()),
            )
            self.db.commit()

    def adopt(self, others, keys) -> int:
        """Copy the answers for `keys` that other cache files hold (earlier runs split differently).

        Each shard of a sharded run writes its own file, because SQLite's write-ahead log must not be
        shared across machines (a network file system); reading another file once, at the start, is
        safe. A file that cannot be read is skipped with a warning: its answers are asked again.
        """
        wanted = [key for key in dict.fromkeys(keys) if self.get(key) is None]
        adopted = 0
        for other in others:
            if not wanted or Path(other).resolve() == self.path.resolve():
                continue
            try:
                source = sqlite3.connect(f"file:{Path(other).resolve()}?mode=ro", uri=True)
                found = []
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    found += source.execute(
                        f"SELECT request_hash, request, response, created FROM responses WHERE request_hash IN ({marks})",
                        chunk,
                    ).fetchall()
                source.close()
            except sqlite3.Error as error:
                log.warning("cache %s not read (%s): its answers will be asked again", other, error)
                continue
            with self.lock:
                self.db.executemany("INSERT OR IGNORE INTO responses VALUES (?, ?, ?, ?)", found)
                self.db.commit()
            adopted += len(found)
            have = {row[0] for row in found}
            wanted = [key for key in wanted if key not in have]
        return adopted

    def __len__(self) -> int:
        with self.lock:
            return self.db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        self.db.close()


# --- token counting ------------------------------------------------------------------------------


def token_counter(spec: str, server=None) -> Callable[[str], int]:
    """How prompt tokens are counted for the context budget (`teacher.tokenizer`).

    auto: the llama.cpp server's own tokenizer when we serve the teacher, else `estimate`;
    estimate: the offline fallback (`estimate_tokens`); tiktoken:<encoding>: OpenAI's tokenizer
    (cl100k_base for gpt-3.5-turbo and gpt-4; tiktoken downloads the encoding once, or reads it
    from TIKTOKEN_CACHE_DIR); hf:<model id or folder>: a Hugging Face tokenizer (vLLM/SGLang teachers).
    The choice changes `max_tokens` and so the cache key; it never changes silently.
    """
    if spec == "auto":
        return server.count_tokens if server is not None and hasattr(server, "count_tokens") else estimate_tokens
    if spec == "estimate":
        return estimate_tokens
    kind, _, name = spec.partition(":")
    if kind == "tiktoken" and name:
        try:
            import tiktoken

            encoding = tiktoken.get_encoding(name)
        except Exception as error:  # noqa: BLE001 - network or name errors, reported as config errors
            raise TeacherError(
                f"config key 'teacher.tokenizer': tiktoken cannot load {name!r} ({type(error).__name__}: "
                f"{str(error)[:200]}). Offline, put the encoding file in TIKTOKEN_CACHE_DIR or set "
                "teacher.tokenizer: estimate"
            ) from None
        return lambda text: len(encoding.encode(text, disallowed_special=()))
    if kind == "hf" and name:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(name)
        return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])
    raise TeacherError(
        f"config key 'teacher.tokenizer': unknown value {spec!r} (auto, estimate, tiktoken:<encoding>, hf:<model>)"
    )


# --- sending requests ----------------------------------------------------------------------------


def check_reachable(base_url: str, api_key: str, timeout_s: float = 10.0) -> None:
    """Fail before any work when the teacher's server does not answer at all."""
    request = urllib.request.Request(base_url.rstrip("/") + "/models", headers={"Authorization": f"Bearer {api_key}"})
    try:
        urllib.request.urlopen(request, timeout=timeout_s).close()
    except urllib.error.HTTPError:
        return  # it answered (perhaps 401/404): reachable; the real request reports the rest
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise TeacherError(f"teacher at {base_url} is unreachable: {reason}") from None


def make_client(base_url: str, api_key: str, timeout_s: float, max_retries: int = 0):
    """An OpenAI client; for the teacher without the client's own retries (`send` retries and counts
    every cause)."""
    import openai

    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max_retries)


def call_teacher(client, body: dict) -> dict:
    started = time.monotonic()
    payload = dict(body)
    standard = {"model", "messages", "temperature", "max_tokens", "n", "seed"}
    extra = {key: payload.pop(key) for key in list(payload) if key not in standard}
    completion = client.chat.completions.create(**payload, extra_body=extra or None)
    return answer_from_completion(completion.model_dump(), time.monotonic() - started)


class MalformedAnswer(ValueError):
    pass


def answer_from_completion(completion: dict, latency_s: float | None = None) -> dict:
    """The fields we keep from one chat completion (a dict as the API returns it)."""
    try:
        choice = completion["choices"][0]
        content = choice["message"]["content"]
        usage = completion.get("usage") or {}
    except (KeyError, IndexError, TypeError) as error:
        raise MalformedAnswer(f"answer without choices[0].message.content ({error!r})") from None
    return {
        "response": content or "",
        "finish_reason": choice.get("finish_reason"),
        "usage": {"prompt_tokens": usage.get("prompt_tokens"), "completion_tokens": usage.get("completion_tokens")},
        "latency_s": round(latency_s, 3) if latency_s is not None else None,
        "model": completion.get("model"),
        "system_fingerprint": completion.get("system_fingerprint"),
    }


class FatalTeacherError(TeacherError):
    """An answer that retrying cannot fix for any request (a rejected key, an unknown model)."""


def classify(error: BaseException) -> tuple[str, bool, float | None]:
    """(cause, retry?, retry-after seconds) for an exception raised by one request."""
    import openai

    if isinstance(error, openai.RateLimitError):
        return "rate_limited", True, retry_after(error)
    if isinstance(error, openai.APITimeoutError):
        return "timeout", True, None
    if isinstance(error, openai.APIConnectionError):
        return "connection", True, None
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        if status >= 500 or status in (408, 409):
            return f"http_{status}", True, retry_after(error)
        return f"http_{status}", False, None
    if isinstance(error, (json.JSONDecodeError, MalformedAnswer, openai.APIResponseValidationError)):
        return "malformed_response", True, None
    return type(error).__name__, False, None


def retry_after(error) -> float | None:
    """Seconds the server asked us to wait: `retry-after-ms`, else `retry-after` in seconds or as an
    HTTP date (RFC 9110); None when it said nothing usable (we then back off on our own)."""
    headers = getattr(getattr(error, "response", None), "headers", None) or {}
    return parse_retry_after(headers.get("retry-after-ms"), headers.get("retry-after"))


def parse_retry_after(milliseconds: str | None, value: str | None, now: float | None = None) -> float | None:
    if milliseconds is not None:
        try:
            return max(0.0, float(milliseconds) / 1000.0)
        except ValueError:
            pass
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        import datetime

        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class Job:
    row: dict
    body: dict
    key: str
    tokens: int  # what a provider charges against the token budget: prompt + max_tokens


@dataclass
class Outcome:
    job: Job
    answer: dict | None = None
    cause: str | None = None
    message: str = ""
    attempts: int = 0
    retries: Counter = field(default_factory=Counter)


def send(client, job: Job, client_settings: dict, limiter: RateLimiter, rng: random.Random,
         stop: threading.Event | None = None) -> Outcome:  # fmt: skip
    """One request with retries: waits for the budget, backs off, honours retry-after. An answer that
    no request can get past (a rejected key, an unknown model) sets `stop`, and no thread sends again."""
    outcome = Outcome(job)
    max_retries = client_settings["max_retries"]
    stop = stop or threading.Event()
    for attempt in range(max_retries + 1):
        if not stop.is_set():
            limiter.acquire(job.tokens)
        if stop.is_set():
            outcome.cause, outcome.message = "stopped", "not sent: an earlier answer stopped the run"
            return outcome
        outcome.attempts += 1
        try:
            outcome.answer = call_teacher(client, job.body)
            return outcome
        except Exception as error:  # noqa: BLE001 - classified below
            cause, retriable, wait = classify(error)
            if cause in ("http_401", "http_403", "http_404"):
                stop.set()
            if cause in ("http_401", "http_403"):
                raise FatalTeacherError(f"the teacher rejected the API key ({cause}): {error}") from None
            if cause == "http_404":
                raise FatalTeacherError(
                    f"the teacher answered 404 for model {job.body['model']!r}: {str(error)[:300]}. Check "
                    "teacher.model (the model's name on that server) and teacher.base_url"
                ) from None
            if cause == "http_400" and job.body["messages"][0]["role"] == "system" and "role" in str(error).lower():
                stop.set()
                raise FatalTeacherError(
                    f"the teacher rejected the request ({cause}): {str(error)[:300]}. Its chat template may not "
                    "accept a system message: set teacher.system_role: merge (the system text then opens the user turn)"
                ) from None
            outcome.cause, outcome.message = cause, f"{type(error).__name__}: {str(error)[:300]}"
            if not retriable or attempt == max_retries:
                return outcome
            outcome.retries[cause] += 1
            if wait is None:
                backoff = client_settings["backoff_s"] * 2**attempt
                wait = min(client_settings["max_backoff_s"], backoff) * (0.5 + rng.random() / 2)
            if cause == "rate_limited":
                limiter.pause(wait)  # every thread holds back, not only this one
            else:
                time.sleep(wait)
    return outcome


def plan_requests(
    seeds: Sequence[dict], settings: dict, count_tokens: Callable[[str], int], model_fingerprint: str = ""
) -> tuple[list[Job], int]:
    """One request per seed with the paper's budget; seeds whose prompt leaves no room are skipped."""
    jobs, skipped = [], 0
    for row in seeds:
        prompt_tokens = count_tokens(user_prompt(row["seed"]))
        budget = max_tokens_for(prompt_tokens, settings["max_new_tokens"], settings["context_length"])
        if budget <= 0:
            skipped += 1
            continue
        body = request_body(row, settings, budget)
        # What a provider charges against the token budget: every message's tokens plus max_tokens.
        charged = count_tokens("".join(message["content"] for message in body["messages"])) + budget
        jobs.append(Job(row, body, request_hash(body, model_fingerprint), charged))
    return jobs, skipped


def cost_usd(prompt_tokens: int, completion_tokens: int, price: dict | None, discount: float = 1.0) -> float | None:
    """USD for the tokens at `price` ({prompt, completion} USD per million tokens); None without a price."""
    if not price:
        return None
    return round((prompt_tokens * price["prompt"] + completion_tokens * price["completion"]) / 1e6 * discount, 6)


def generate_responses(
    seeds: Sequence[dict],
    settings: dict,
    clients: Sequence,
    cache: ResponseCache,
    count_tokens: Callable[[str], int] = estimate_tokens,
    model_fingerprint: str = "",
    base_url: str = "",
    client_settings: dict | None = None,
    price: dict | None = None,
    mode: str = "online",
    batch_settings: dict | None = None,
) -> tuple[list[dict], dict]:
    """Answer every seed from the cache or the teacher; returns rows in seed order and a report.

    `clients` holds one entry per request that may be in flight (the same client repeated for a
    remote API, one client per server for a local server pool). Requests that still fail after
    their retries are listed in the report under `failed`; more than `max_failed_fraction` of them
    raises `TeacherError` (every answer received is already in the cache).
    """
    client_settings = {**section_defaults("teacher.client"), **(client_settings or {})}
    started = time.monotonic()
    jobs, skipped = plan_requests(seeds, settings, count_tokens, model_fingerprint)
    answers: dict[str, dict] = {}
    to_send: list[Job] = []
    for job in jobs:
        cached = cache.get(job.key)
        if cached is not None:
            answers[job.row["id"]] = cached
        else:
            to_send.append(job)
    cache_hits = len(jobs) - len(to_send)

    limiter = RateLimiter(client_settings["requests_per_minute"], client_settings["tokens_per_minute"])
    totals: Counter = Counter()
    retries: Counter = Counter()
    failed: list[dict] = []
    batch_stats: dict = {}
    discount = 1.0
    if mode == "batch":
        from .batch import run_batches

        batch_settings = {**section_defaults("teacher.batch"), **(batch_settings or {})}
        discount = batch_settings["discount"]
        batch_stats = run_batches(to_send, clients[0], cache, batch_settings)
        failed = batch_stats.pop("failures")
        for job in to_send:
            answer = cache.get(job.key)
            if answer is not None:
                answers[job.row["id"]] = answer
                totals["answered"] += 1
                totals["prompt_tokens"] += answer["usage"]["prompt_tokens"] or 0
                totals["completion_tokens"] += answer["usage"]["completion_tokens"] or 0
        totals["attempts"] = batch_stats.get("requests_submitted", 0)
    elif mode == "online":
        _send_online(to_send, clients, client_settings, limiter, price, settings["name"], cache, answers, totals,
                     retries, failed)  # fmt: skip
    else:
        raise TeacherError(f"config key 'teacher.mode': unknown value {mode!r} (online, batch)")

    keep = ("response", "finish_reason", "usage", "model", "system_fingerprint")
    rows = []
    for job in jobs:
        answer = answers.get(job.row["id"])
        if answer is not None:
            rows.append({**job.row, "teacher": settings["name"], "request_hash": job.key,
                         **{k: answer.get(k) for k in keep}})  # fmt: skip
    wall = time.monotonic() - started
    dataset_prompt = sum(row["usage"]["prompt_tokens"] or 0 for row in rows)
    dataset_completion = sum(row["usage"]["completion_tokens"] or 0 for row in rows)
    latencies = sorted(a["latency_s"] for a in answers.values() if a.get("latency_s") is not None)
    summary = {
        "teacher": settings["name"],
        "model": settings["model"],
        "base_url": base_url,
        "seeds": len(seeds),
        "responses": len(rows),
        "skipped_no_budget": skipped,
        "cache_hits": cache_hits,
        "requests": len(to_send),
        "answered": totals["answered"],
        "attempts": totals["attempts"],
        "retries_by_cause": dict(retries),
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
        "median_latency_s": latencies[len(latencies) // 2] if latencies else None,
        "rate_limit_wait_s": round(limiter.waited_s, 1),
        "concurrency": len(clients) if mode == "online" else None,
        "wall_s": round(wall, 2),
        "requests_per_s": round(totals["attempts"] / wall, 3) if wall > 0 else None,
    }
    allowed = client_settings["max_failed_fraction"] * len(jobs)
    if failed and len(failed) > allowed:
        first = failed[0]
        raise TeacherFailures(
            f"{len(failed)} of {len(to_send)} requests to the teacher at {base_url} failed after retries "
            f"({summary['failed_by_cause']}; teacher.client.max_failed_fraction allows "
            f"{client_settings['max_failed_fraction']}). Every answer received is cached: rerun to retry only "
            f"these. First: {first['id']}: {first['error']}",
            summary,
        )
    return rows, summary


def _send_online(to_send, clients, client_settings, limiter, price, name, cache, answers, totals, retries, failed):
    """Send every request, `len(clients)` at a time; answers go to the cache as they arrive. When one
    answer stops the run (a rejected key), no thread sends again, and the answers already on their
    way are still cached before the error is raised."""
    rng = random.Random(0)
    stop = threading.Event()
    progress = _progress_bar(len(to_send), name, client_settings["progress"])

    def record(outcome: Outcome) -> None:
        totals["attempts"] += outcome.attempts
        retries.update(outcome.retries)
        if outcome.answer is None:
            failed.append({"id": outcome.job.row["id"], "request_hash": outcome.job.key, "cause": outcome.cause,
                           "attempts": outcome.attempts, "error": outcome.message})  # fmt: skip
        else:
            cache.put(outcome.job.key, outcome.job.body, outcome.answer)
            answers[outcome.job.row["id"]] = outcome.answer
            totals["answered"] += 1
            totals["prompt_tokens"] += outcome.answer["usage"]["prompt_tokens"] or 0
            totals["completion_tokens"] += outcome.answer["usage"]["completion_tokens"] or 0

    with ThreadPoolExecutor(max_workers=max(1, len(clients))) as pool:
        futures = submit_with_clients(
            pool, clients, lambda c, job: send(c, job, client_settings, limiter, rng, stop), to_send
        )
        recorded = set()
        try:
            for future in as_completed(futures):
                recorded.add(future)
                record(future.result())
                if progress is not None:
                    progress.update(1)
                    spent = cost_usd(totals["prompt_tokens"], totals["completion_tokens"], price)
                    progress.set_postfix(cost=f"${spent:.2f}" if spent is not None else "n/a", failed=len(failed),
                                         refresh=False)  # fmt: skip
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
                        record(outcome)
            raise
        finally:
            if progress is not None:
                progress.close()


def _progress_bar(total: int, name: str, enabled: bool):
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=f"teacher {name}", unit="req", mininterval=1.0, smoothing=0.05, dynamic_ncols=True)
