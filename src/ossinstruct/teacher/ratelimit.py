"""Request and token budgets for a teacher API, shared by every request thread.

A hosted teacher allows so many requests and tokens per minute; the provider counts a request as
its prompt tokens plus its `max_tokens`. `RateLimiter` holds two token buckets refilled
continuously at the per-minute rates (providers enforce limits at a finer grain than a minute, so
the bucket holds at most `burst_s` seconds of budget) and a shared pause: when the server answers
429 with a retry-after, no thread sends anything until it has passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Bucket:
    """A token bucket: `rate` per second, at most `capacity` saved up; starts full."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.level = capacity
        self.updated = now

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` is available (a request larger than the bucket waits for a full one)."""
        amount = min(amount, self.capacity)
        return max(0.0, (amount - self.level) / self.rate)


class RateLimiter:
    def __init__(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        burst_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        for key, value in (("requests_per_minute", requests_per_minute), ("tokens_per_minute", tokens_per_minute)):
            if value is not None and value <= 0:
                raise ValueError(f"config key 'teacher.client.{key}': must be positive or null, got {value}")
        self.clock = clock
        self.sleep = sleep
        self.lock = threading.Lock()
        now = clock()
        self.requests = self._bucket(requests_per_minute, burst_s, now, minimum=1.0)
        self.tokens = self._bucket(tokens_per_minute, burst_s, now, minimum=1.0)
        self.paused_until = 0.0
        self.waited_s = 0.0

    @staticmethod
    def _bucket(per_minute: float | None, burst_s: float, now: float, minimum: float) -> Bucket | None:
        if per_minute is None:
            return None
        rate = per_minute / 60.0
        return Bucket(rate, max(minimum, rate * burst_s), now)

    def acquire(self, tokens: int) -> None:
        """Block until one request of `tokens` tokens fits both budgets and no pause is on; take it."""
        while True:
            with self.lock:
                now = self.clock()
                wait = self.paused_until - now
                if wait <= 0:
                    for bucket in (self.requests, self.tokens):
                        if bucket is not None:
                            bucket.refill(now)
                    wait = max(
                        self.requests.wait_for(1) if self.requests else 0.0,
                        self.tokens.wait_for(tokens) if self.tokens else 0.0,
                    )
                    if wait <= 0:
                        if self.requests is not None:
                            self.requests.level -= 1
                        if self.tokens is not None:
                            self.tokens.level -= min(tokens, self.tokens.capacity)
                        return
                self.waited_s += wait
            self.sleep(wait)

    def pause(self, seconds: float) -> None:
        """The server said 'too many requests, retry after `seconds`': hold every thread back."""
        with self.lock:
            self.paused_until = max(self.paused_until, self.clock() + seconds)
