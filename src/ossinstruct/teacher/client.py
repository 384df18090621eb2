"""One request to the teacher with retries: 429 (honouring retry-after, every thread holds back), 5xx,
timeouts, connection errors and malformed answers; a rejected key or an unknown model stops every thread.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ..server import ServerDied
from .errors import FatalTeacherError, MalformedAnswer, TeacherError
from .ratelimit import RateLimiter


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


def send(
    client,
    job: Job,
    client_settings: dict,
    limiter: RateLimiter,
    rng: random.Random,
    stop: threading.Event | None = None,
    check_server: Callable[[], None] | None = None,
    cap=None,
) -> Outcome:
    """One request with retries: waits for the budget, backs off, honours retry-after. An answer that
    no request can get past (a rejected key, an unknown model) sets `stop`, and no thread sends again;
    so does a failed request when `check_server` finds that the job's own server has died. `cap` (a
    `spending.SpendingCap`) holds each attempt's worst case before it is sent: one that does not fit
    is not sent (cause `over_cap`)."""
    outcome = Outcome(job)
    max_retries = client_settings["max_retries"]
    stop = stop or threading.Event()
    for attempt in range(max_retries + 1):
        held = cap.reserve(job) if cap is not None else 0.0
        if held is None:
            outcome.cause, outcome.message = "over_cap", "not sent: it could pass the spending cap"
            return outcome
        if not stop.is_set():
            limiter.acquire(job.tokens)
        if stop.is_set():
            if cap is not None:
                cap.settle(job, held, None)
            outcome.cause, outcome.message = "stopped", "not sent: an earlier answer stopped the run"
            return outcome
        outcome.attempts += 1
        try:
            outcome.answer = call_teacher(client, job.body)
            if cap is not None:
                cap.settle(job, held, outcome.answer)
            return outcome
        except Exception as error:  # noqa: BLE001 - classified below
            cause, retriable, wait = classify(error)
            if cap is not None:
                cap.settle(job, held, None, cause)
            if retriable and check_server is not None:
                try:
                    check_server()
                except ServerDied as died:  # the job's own server: raised as the teacher's error
                    stop.set()
                    raise FatalTeacherError(str(died)) from None
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
