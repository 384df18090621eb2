"""A spending cap for one teacher job (`teacher.max_cost_usd`, `teacher.max_requests`).

Before anything is sent, the job's expected cost (the prompts it will send, counted, and the
estimate's completion length) must fit the cap, or the job refuses. While it runs, every request
reserves its worst case before it is sent: its prompt with a margin for the chat template, and its
whole `max_tokens`. The reservation becomes the answer's real cost when the answer comes back, so
the cap can be passed only if a server charges more than `max_tokens` of completion. A request that
no longer fits is not sent, nor is any after it; every answer paid for is already in the cache, and
a rerun with a higher cap pays only for the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from .client import Job
from .errors import TeacherError

# The expected completion of a request, also `ossinstruct estimate`'s assumptions (its flags change them there)
ANSWER_TOKENS = 450.0  # a problem and a solution (the released set: ~75K rows of this size)
VALIDATION_ANSWER_TOKENS = 250.0  # a tests answer (or a sampled solution) of execution validation
TEMPLATE_TOKENS = 32  # what a chat template may add to the prompt we count (role markers; OpenAI: ~4/message)
CHARGED_ON_FAILURE = ("timeout", "connection")  # the server may have answered (and charged) what we never got


@dataclass
class SpendingCap:
    max_cost_usd: float | None = None
    max_requests: int | None = None
    price: dict | None = None  # USD per million tokens: {prompt, completion}
    discount: float = 1.0  # the Batch API's price factor
    answer_tokens: float = ANSWER_TOKENS  # the completion expected of a request, for the check before sending
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    requests: int = 0  # sent and answered or in flight
    prompt_ratio: float = 1.0  # the server's prompt tokens over ours, the largest seen
    not_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def for_job(
        cls, teacher: dict, price: dict | None, share: int = 1, answer_tokens: float = ANSWER_TOKENS
    ) -> SpendingCap | None:
        """The cap of one of `share` jobs that split the teacher's caps evenly; None without a cap."""
        cost, requests = teacher["max_cost_usd"], teacher["max_requests"]
        if cost is None and requests is None:
            return None
        if cost is not None and not price:
            raise TeacherError(
                f"config key 'teacher.max_cost_usd': no price for model {teacher['model']!r} in prices, so the cost "
                f"cannot be counted. Add prices.{teacher['model']}: {{prompt: ..., completion: ...}} (USD per "
                "million tokens), or cap the requests with teacher.max_requests"
            )
        return cls(
            max_cost_usd=cost / share if cost is not None else None,
            max_requests=-(-requests // share) if requests is not None else None,
            price=price,
            discount=batch_discount(teacher),
            answer_tokens=answer_tokens,
        )

    def usd(self, prompt_tokens: float, completion_tokens: float) -> float:
        if not self.price:
            return 0.0
        per_million = prompt_tokens * self.price["prompt"] + completion_tokens * self.price["completion"]
        return per_million / 1e6 * self.discount

    def worst_usd(self, job: Job) -> float:
        budget = job.body.get("max_tokens") or 0
        return self.usd((job.tokens - budget) * self.prompt_ratio + TEMPLATE_TOKENS, budget)

    def check_plan(self, jobs: Sequence[Job]) -> dict:
        """Refuse before sending when `jobs` are expected to pass the cap; returns what was expected."""
        prompt = sum(job.tokens - (job.body.get("max_tokens") or 0) for job in jobs)
        completion = sum(min(self.answer_tokens, job.body.get("max_tokens") or 0) for job in jobs)
        expected = self.usd(prompt, completion)
        # What is left of the caps: a cap shared by two sets of requests (validation's tests, then its
        # solutions) has paid for the first set when the second is planned
        if self.max_requests is not None and len(jobs) > self.max_requests - self.requests:
            raise TeacherError(
                f"config key 'teacher.max_requests': this job would send {len(jobs)} requests, over what is left "
                f"of its cap of {self.max_requests} ({self.requests} sent). Nothing more was sent; raise the cap to "
                "go on (cached answers are not asked again)"
            )
        if self.max_cost_usd is not None and expected > self.max_cost_usd - self.spent_usd:
            raise TeacherError(
                f"config key 'teacher.max_cost_usd': this job's {len(jobs)} requests are expected to cost "
                f"${expected:.4f} ({prompt:,} prompt tokens, about {completion:,.0f} completion tokens), over what "
                f"is left of its cap of ${self.max_cost_usd:.4f} (${self.spent_usd:.4f} paid). Nothing more was "
                "sent; raise the cap or send fewer seeds"
            )
        return {"expected_usd": round(expected, 6), "requests": len(jobs)}

    def reserve(self, job: Job) -> float | None:
        """Hold `job`'s worst case if it fits under the cap and return it; None (and nothing more is
        sent) if it does not."""
        worst = self.worst_usd(job)
        with self.lock:
            over_requests = self.max_requests is not None and self.requests + 1 > self.max_requests
            over_cost = self.max_cost_usd is not None and self.spent_usd + self.reserved_usd + worst > self.max_cost_usd
            if self.not_sent or over_requests or over_cost:
                self.not_sent += 1
                return None
            self.reserved_usd += worst
            self.requests += 1
            return worst

    def settle(self, job: Job, held: float, answer: dict | None, cause: str | None = None) -> None:
        """Replace the `held` reservation with what the request cost: the answer's usage, or nothing for
        a request the server refused (all that was held when it may have answered unseen: a timeout)."""
        with self.lock:
            self.reserved_usd = max(0.0, self.reserved_usd - held)
            if answer is not None:
                usage = answer.get("usage") or {}
                prompt = usage.get("prompt_tokens")
                counted = job.tokens - (job.body.get("max_tokens") or 0)
                if prompt and counted > 0:
                    self.prompt_ratio = max(self.prompt_ratio, prompt / counted)
                self.spent_usd += self.usd(prompt or 0, usage.get("completion_tokens") or 0)
            elif cause in CHARGED_ON_FAILURE:
                self.spent_usd += held
            else:
                self.requests -= 1

    def report(self) -> dict:
        return {
            "max_cost_usd": self.max_cost_usd,
            "max_requests": self.max_requests,
            "spent_usd": round(self.spent_usd, 6),
            "requests": self.requests,
            "not_sent": self.not_sent,
        }


def batch_discount(teacher: dict) -> float:
    """The price factor of the teacher's mode: the Batch API's discount, or 1."""
    return teacher["batch"]["discount"] if teacher["mode"] == "batch" else 1.0
