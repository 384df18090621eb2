"""A teacher session: the teacher of one job, opened once, answering requests until the job ends.

`open_session` starts (or reaches) the teacher (`endpoint`), opens the job's answer cache, sets the
job's share of the spending cap, and records the failed requests beside the cache when too many
fail. `TeacherSession.answer` answers a list of rows with the paper's prompt or another step's
messages (`ask`: execution validation's tests). Generation and test generation both use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..io import write_json
from .answers import generate_responses
from .cache import ResponseCache
from .endpoint import Endpoint, open_teacher
from .errors import TeacherFailures
from .spending import ANSWER_TOKENS, SpendingCap


@dataclass
class TeacherSession:
    endpoint: Endpoint  # the clients, the token counter, which weights answer, the server's health
    cache: ResponseCache  # every answer is committed here the moment it arrives
    teacher: dict  # the job's teacher section: what decides the answers and how requests are sent
    price: dict | None = None  # USD per million tokens ({prompt, completion}); None: not priced
    cap: SpendingCap | None = None  # the job's share of teacher.max_cost_usd / max_requests

    def answer(
        self, rows: Sequence[dict], settings: dict, ask: Callable[[dict], list[dict]] | None = None
    ) -> tuple[list[dict], dict]:
        """Each row's answer in row order, and the report; `settings` decide the requests."""
        return generate_responses(rows, settings, self, ask)


@contextmanager
def failures_recorded(cache_dir: str, teacher: str, job: str) -> Iterator[None]:
    """A job whose requests failed writes no output, so the record of what failed goes beside the cache."""
    try:
        yield
    except TeacherFailures as error:
        failures = Path(cache_dir) / f"teacher-failures-{teacher}-{job}.json"
        write_json(failures, error.report)
        raise type(error)(f"{error} (every failure: {failures})", error.report) from None


@contextmanager
def open_session(
    teacher: dict,
    *,
    cache: str | Path,
    cache_dir: str,
    job: str,
    threads: int = 1,
    server_log: str | None = None,
    price: dict | None = None,
    share: int = 1,
    answer_tokens: float = ANSWER_TOKENS,
) -> Iterator[TeacherSession]:
    """The teacher of one job (`job` names it in the failure record): started or reached once, with
    its answer cache `cache` and its share (1 of `share` jobs) of the spending cap, whose estimate
    counts `answer_tokens` per answer; stopped when the job ends."""
    cap = SpendingCap.for_job(teacher, price, share=share, answer_tokens=answer_tokens)  # a config error first
    Path(cache).parent.mkdir(parents=True, exist_ok=True)
    responses = ResponseCache(cache)
    try:
        with failures_recorded(cache_dir, teacher["name"], job), open_teacher(teacher, threads, server_log) as endpoint:
            yield TeacherSession(endpoint, responses, teacher, price, cap)
    finally:
        responses.close()
