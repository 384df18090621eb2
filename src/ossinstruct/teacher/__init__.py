"""The teacher (paper §2.1): the paper's prompts, the answer cache, the client and its budgets.

- `prompts`: the paper's messages and each request's identity (`request_hash`);
- `tokens`: counting prompt tokens for the context budget;
- `cache`: the SQLite answer cache (and batch mode's record of submitted batches);
- `client`: one request with retries; `ratelimit`: the requests- and tokens-per-minute budget;
- `batch`: the OpenAI Batch API; `endpoint`: where the teacher runs (a server started for the job, or an API);
- `answers`: one job's requests planned, answered and tallied; `session`: the teacher of one job,
  opened once (`open_session`), answering requests (`TeacherSession.answer`);
- `generate`: the stage itself, `run(...)` over one shard of the seeds, and `merge(...)` of the shards.

The package's public face, for other stages (execution validation's tests): `open_session`,
`TeacherSession`, `job_teacher` and `VALIDATION_ANSWER_TOKENS`, imported on first use (the stages that
only need `teacher.errors` do not load the client).
"""

from __future__ import annotations

__all__ = ["TeacherSession", "VALIDATION_ANSWER_TOKENS", "job_teacher", "open_session"]


def __getattr__(name: str):
    if name in ("open_session", "TeacherSession"):
        from . import session

        return getattr(session, name)
    if name == "job_teacher":
        from . import generate

        return generate.job_teacher
    if name == "VALIDATION_ANSWER_TOKENS":
        from . import spending

        return spending.VALIDATION_ANSWER_TOKENS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
