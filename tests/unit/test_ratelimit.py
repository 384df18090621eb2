import threading
import time

import pytest

from ossinstruct.teacher.ratelimit import RateLimiter


class Clock:
    """Virtual time: sleeping advances it, so the limiter's arithmetic is checked exactly."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_request_budget_spaces_requests_at_the_configured_rate():
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=120, clock=clock, sleep=clock.sleep)  # 2 per second
    for _ in range(21):
        limiter.acquire(tokens=0)
    # A full bucket of 2 (one second of budget) goes at once, then one every 0.5 s.
    assert clock.now == pytest.approx(9.5)


def test_token_budget_counts_prompt_plus_max_tokens():
    clock = Clock()
    limiter = RateLimiter(tokens_per_minute=60_000, clock=clock, sleep=clock.sleep)  # 1000 tokens per second
    for _ in range(11):
        limiter.acquire(tokens=500)
    assert clock.now == pytest.approx(4.5)  # 1000 saved up, then 500 tokens every 0.5 s


def test_the_tighter_budget_wins_and_a_pause_holds_everyone():
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=6000, tokens_per_minute=6000, clock=clock, sleep=clock.sleep)
    limiter.acquire(tokens=100)  # the whole token bucket (100 per second)
    limiter.acquire(tokens=100)
    assert clock.now == pytest.approx(1.0)
    limiter.pause(5.0)
    limiter.acquire(tokens=1)
    assert clock.now == pytest.approx(6.0)


def test_a_request_larger_than_the_bucket_still_goes_when_the_bucket_is_full():
    clock = Clock()
    limiter = RateLimiter(tokens_per_minute=600, clock=clock, sleep=clock.sleep)  # 10 per second
    limiter.acquire(tokens=1_000)
    limiter.acquire(tokens=1_000)
    assert clock.now == pytest.approx(1.0)


def test_budgets_must_be_positive():
    with pytest.raises(ValueError, match="teacher.client.requests_per_minute"):
        RateLimiter(requests_per_minute=0)


def test_threads_share_one_budget_in_real_time():
    limiter = RateLimiter(requests_per_minute=1200)  # 20 per second, a bucket of 20
    started = time.monotonic()
    threads = [threading.Thread(target=lambda: [limiter.acquire(0) for _ in range(10)]) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 60 requests: 20 at once, then 40 more at 20 per second.
    assert time.monotonic() - started >= 1.9
