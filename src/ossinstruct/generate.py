"""Stage 2, teacher generation (paper §2.1): one chat completion per seed, with the paper's prompts.

Reads `results/seeds/{corpus}.jsonl`; writes `results/generate/{teacher}/responses.jsonl`, one row
per seed with `teacher, request_hash, response, finish_reason, usage, latency_s,
system_fingerprint`. Every answer is stored in a SQLite cache keyed by the hash of the request
(model, messages, decoding settings) before the next one is sent; the cache lives outside the
rule's outputs, so a rerun or a crash never pays for the same request twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sqlite3
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

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


def user_prompt(seed: str) -> str:
    return USER_PROMPT.format(code=seed)


def build_messages(seed: str, demonstration: str = "none") -> list[dict]:
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    if demonstration == "one_shot":
        messages += [
            {"role": "user", "content": user_prompt(DEMONSTRATION_SEED)},
            {"role": "assistant", "content": DEMONSTRATION_ANSWER},
        ]
    elif demonstration != "none":
        raise ValueError(f"teacher.demonstration: unknown value {demonstration!r} (none, one_shot)")
    messages.append({"role": "user", "content": user_prompt(seed)})
    return messages


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
        "messages": build_messages(row["seed"], settings["demonstration"]),
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
        self.db = sqlite3.connect(str(path))
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS responses (request_hash TEXT PRIMARY KEY, request TEXT,"
            " response TEXT, created REAL)"
        )
        self.db.commit()

    def get(self, key: str) -> dict | None:
        found = self.db.execute("SELECT response FROM responses WHERE request_hash = ?", (key,)).fetchone()
        return json.loads(found[0]) if found else None

    def put(self, key: str, request: dict, response: dict) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
            (key, json.dumps(request), json.dumps(response), time.time()),
        )
        self.db.commit()

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        self.db.close()


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


def make_client(base_url: str, api_key: str, settings: dict):
    import openai

    return openai.OpenAI(
        base_url=base_url,
        api_key=api_key,
        timeout=settings["timeout_s"],
        max_retries=settings["max_retries"],
    )


def call_teacher(client, body: dict) -> dict:
    started = time.monotonic()
    payload = dict(body)
    standard = {"model", "messages", "temperature", "max_tokens", "n", "seed"}
    extra = {key: payload.pop(key) for key in list(payload) if key not in standard}
    completion = client.chat.completions.create(**payload, extra_body=extra or None)
    choice = completion.choices[0]
    usage = completion.usage
    return {
        "response": choice.message.content or "",
        "finish_reason": choice.finish_reason,
        "usage": {
            "prompt_tokens": usage.prompt_tokens if usage else None,
            "completion_tokens": usage.completion_tokens if usage else None,
        },
        "latency_s": round(time.monotonic() - started, 3),
        "model": completion.model,
        "system_fingerprint": getattr(completion, "system_fingerprint", None),
    }


def generate_responses(
    seeds: Sequence[dict],
    settings: dict,
    clients: Sequence,
    cache: ResponseCache,
    count_tokens: Callable[[str], int] = estimate_tokens,
    model_fingerprint: str = "",
    base_url: str = "",
) -> tuple[list[dict], dict]:
    """Answer every seed from the cache or the teacher; returns rows in seed order and a report.

    `clients` holds one entry per request that may be in flight (the same client repeated for a
    remote API, one client per server for a local server pool).
    """
    report = Counter()
    started = time.monotonic()
    planned: list[tuple[dict, dict, str]] = []
    rows_by_id: dict[str, dict] = {}
    for row in seeds:
        budget = max_tokens_for(
            count_tokens(user_prompt(row["seed"])), settings["max_new_tokens"], settings["context_length"]
        )
        if budget <= 0:
            report["skipped_no_budget"] += 1
            continue
        body = request_body(row, settings, budget)
        key = request_hash(body, model_fingerprint)
        cached = cache.get(key)
        if cached is not None:
            report["cache_hits"] += 1
            rows_by_id[row["id"]] = {**row, "teacher": settings["name"], "request_hash": key, **cached}
        else:
            planned.append((row, body, key))

    failures: list[str] = []
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        futures = submit_with_clients(pool, clients, lambda client, job: call_teacher(client, job[1]), planned)
        for done, future in enumerate(as_completed(futures), start=1):
            row, body, key = futures[future]
            try:
                answer = future.result()
            except Exception as error:  # noqa: BLE001 - recorded, then raised once all are done
                failures.append(f"{row['id']}: {type(error).__name__}: {error}")
                continue
            cache.put(key, body, answer)
            report["requests"] += 1
            report["prompt_tokens"] += answer["usage"]["prompt_tokens"] or 0
            report["completion_tokens"] += answer["usage"]["completion_tokens"] or 0
            rows_by_id[row["id"]] = {**row, "teacher": settings["name"], "request_hash": key, **answer}
            log.info(
                "teacher %d/%d answered %s in %.1fs (%s)",
                done,
                len(planned),
                row["id"],
                answer["latency_s"],
                answer["finish_reason"],
            )
    if failures:
        raise TeacherError(
            f"{len(failures)} of {len(planned)} requests to the teacher at {base_url} failed "
            f"(answers so far are cached; rerun to resume). First: {failures[0]}"
        )
    rows = [rows_by_id[row["id"]] for row in seeds if row["id"] in rows_by_id]
    wall = time.monotonic() - started
    summary = {
        "teacher": settings["name"],
        "model": settings["model"],
        "seeds": len(seeds),
        "responses": len(rows),
        "requests": report["requests"],
        "cache_hits": report["cache_hits"],
        "skipped_no_budget": report["skipped_no_budget"],
        "prompt_tokens": report["prompt_tokens"],
        "completion_tokens": report["completion_tokens"],
        "finish_reasons": dict(Counter(row["finish_reason"] for row in rows)),
        "wall_s": round(wall, 1),
        "requests_per_s": round(report["requests"] / wall, 3) if wall > 0 else None,
    }
    return rows, summary
