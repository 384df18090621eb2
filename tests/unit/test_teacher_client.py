"""The generator against a real local server speaking the OpenAI protocol: faults, budgets, batches."""

import json

import pytest

from ossinstruct.teacher.answers import generate_responses
from ossinstruct.teacher.cache import ResponseCache
from ossinstruct.teacher.client import make_client
from ossinstruct.teacher.errors import FatalTeacherError, TeacherError, TeacherFailures
from ossinstruct.teacher.tokens import estimate_tokens

from ..openai_server import OpenAIServer, prompt_token_count
from ..teacher_session import session

SEEDS = [
    {"id": f"python-{i}", "lang": "python", "seed": f"def f{i}(x):\n    return x + {i}\n", "index": i} for i in range(8)
]
SETTINGS = {
    "name": "remote",
    "model": "teacher-model",
    "server": "openai",
    "demonstration": "none",
    "system_role": "system",
    "temperature": 0.0,
    "seed": 976,
    "max_new_tokens": 100,
    "context_length": 8192,
    "extra_body": {},
}
PRICE = {"prompt": 1.0, "completion": 2.0}
FAST = {"progress": False, "timeout_s": 1.0, "max_retries": 3, "backoff_s": 0.05, "max_backoff_s": 0.2}


def run(server, tmp_path, seeds=SEEDS, concurrency=4, cache_name="cache.sqlite", **client):
    cache = ResponseCache(tmp_path / cache_name)
    clients = [make_client(server.base_url, "sk-test", {**FAST, **client}["timeout_s"])] * concurrency
    try:
        return generate_responses(
            seeds,
            SETTINGS,
            session(clients, cache, base_url=server.base_url, client={**FAST, **client}, price=PRICE),
        )
    finally:
        cache.close()


def test_every_fault_is_retried_and_every_seed_answered_once(tmp_path):
    faults = {976: ["429"], 977: ["500", "500"], 978: ["hang"], 979: ["malformed"], 980: ["length"]}
    with OpenAIServer(faults=faults, hang_s=3.0) as server:
        rows, report = run(server, tmp_path)
    assert [row["id"] for row in rows] == [seed["id"] for seed in SEEDS]
    assert report["failed"] == 0 and report["answered"] == 8
    assert report["retries_by_cause"] == {"rate_limited": 1, "http_500": 2, "timeout": 1, "malformed_response": 1}
    assert report["attempts"] == 8 + 5
    assert report["finish_reasons"] == {"stop": 7, "length": 1}  # kept, and counted for the parser's report
    truncated = next(row for row in rows if row["finish_reason"] == "length")
    assert truncated["id"] == "python-4"
    assert report["prompt_tokens"] == sum(row["usage"]["prompt_tokens"] for row in rows)
    expected = (report["prompt_tokens"] * 1.0 + report["completion_tokens"] * 2.0) / 1e6
    assert report["cost_usd"] == pytest.approx(expected)


def test_requests_that_keep_failing_are_recorded_and_the_rest_is_kept(tmp_path):
    with OpenAIServer(faults={977: ["500"] * 10}) as server:
        with pytest.raises(TeacherFailures, match=r"1 of 8 requests .* failed after retries") as failure:
            run(server, tmp_path, max_retries=2)
        assert failure.value.report["failed_by_cause"] == {"http_500": 1}
        assert failure.value.report["failures"][0]["id"] == "python-1"
        assert failure.value.report["failures"][0]["attempts"] == 3
        # The seven answers are cached: a rerun that tolerates the failure sends only the failing request.
        before = sum(server.attempts.values())
        rows, report = run(server, tmp_path, max_retries=0, max_failed_fraction=0.2)
        assert sum(server.attempts.values()) - before == 1
    assert len(rows) == 7 and report["cache_hits"] == 7 and report["failed"] == 1


def test_a_rejected_key_stops_the_run_at_the_first_answer(tmp_path):
    """The 401 is the only request the server ever sees: with one request in flight, and with four
    threads of which three are still waiting for the request budget (one a second) when it comes."""
    with OpenAIServer(api_key="sk-the-right-one") as server:
        with pytest.raises(FatalTeacherError, match="rejected the API key"):
            run(server, tmp_path, concurrency=1)
        assert len(server.received) == server.unauthorized == 1
    with OpenAIServer(api_key="sk-the-right-one") as server:
        with pytest.raises(FatalTeacherError, match="rejected the API key"):
            run(server, tmp_path, concurrency=4, cache_name="four.sqlite", requests_per_minute=60)
        assert len(server.received) == server.unauthorized == 1


def test_an_unknown_model_stops_the_run_at_the_first_answer_naming_the_setting(tmp_path):
    with OpenAIServer(models=["gpt-3.5-turbo-1106"]) as server:
        with pytest.raises(FatalTeacherError, match=r"404 for model 'teacher-model'.*teacher\.model"):
            run(server, tmp_path, concurrency=1)
        assert len(server.received) == 1


def test_a_bad_request_fails_that_request_alone_with_the_servers_message(tmp_path):
    with OpenAIServer(faults={978: ["400"]}) as server:
        with pytest.raises(TeacherFailures, match=r"http_400.*maximum context length") as failure:
            run(server, tmp_path, max_retries=3)
        assert server.attempts[978] == 1  # a 400 is not retried
    report = failure.value.report
    assert report["failed_by_cause"] == {"http_400": 1} and report["failures"][0]["id"] == "python-2"
    assert report["answered"] == 7  # the others are answered and cached


def test_retry_after_is_read_in_seconds_milliseconds_and_as_an_http_date():
    from email.utils import formatdate

    from ossinstruct.teacher.client import parse_retry_after

    assert parse_retry_after(None, "7") == 7.0
    assert parse_retry_after("1500", "2") == 1.5  # retry-after-ms is the more precise, and wins
    assert parse_retry_after(None, formatdate(1_000_030.0, usegmt=True), now=1_000_000.0) == pytest.approx(30.0)
    assert parse_retry_after(None, formatdate(999_000.0, usegmt=True), now=1_000_000.0) == 0.0  # already past
    assert parse_retry_after(None, "soon") is None and parse_retry_after(None, None) is None


@pytest.mark.parametrize("form", ["seconds", "ms", "date"])
def test_a_429_holds_every_thread_back_for_the_servers_retry_after(tmp_path, form):
    """Seed 976's first answer is a 429 asking for 2 s. The other three threads are mid-request then;
    none of them sends anything until the 2 s have passed, and the limited request goes again after it."""
    with OpenAIServer(faults={976: ["429"]}, delay_s=0.5, retry_after_s=2.0, retry_after_form=form) as server:
        rows, report = run(server, tmp_path, concurrency=4, backoff_s=0.01, max_backoff_s=0.02)
        received = sorted(server.received)
    assert len(rows) == 8 and report["retries_by_cause"] == {"rate_limited": 1}
    limited_at = next(t for t, seed, status in received if status == "429")
    # An HTTP date has whole seconds: the wait it gives is between 1 and 2 s.
    hold = 1.0 if form == "date" else 2.0
    # The others finish their requests 0.5 s in and would send next; requests already on their way
    # when the 429 came may arrive a little after it (a busy machine): 0.25 s of grace.
    during = [(round(t - limited_at, 2), seed) for t, seed, _ in received if 0.25 < t - limited_at < hold - 0.05]
    assert during == []
    retried_at = next(t for t, seed, status in received if seed == 976 and status == "200")
    assert retried_at - limited_at >= hold - 0.05
    assert report["rate_limit_wait_s"] > 0


def test_a_rate_limited_api_loses_nothing_and_uses_most_of_its_budget(tmp_path):
    # The server allows 1200 requests and 300K tokens a minute (enforced per second, with 429 and
    # retry-after); each request counts ~390 prompt + 100 max tokens, so the token budget binds (~10/s).
    seeds = [{**SEEDS[0], "id": f"python-{i}", "index": i, "seed": f"x = {i}\n"} for i in range(120)]
    with OpenAIServer(delay_s=0.05, requests_per_minute=1200, tokens_per_minute=300_000) as server:
        rows, report = run(
            server,
            tmp_path,
            seeds=seeds,
            concurrency=16,
            max_retries=8,
            requests_per_minute=1200,
            tokens_per_minute=300_000,
        )
        span = server.accepted_times[-1] - server.accepted_times[0] + 1.0  # +1 s: the bucket's first second
        used = server.accepted_tokens / (300_000 / 60 * span)
    print(f"token budget used: {used:.1%}, 429s: {server.rejected}, span {span:.1f}s, wall {report['wall_s']}s")
    assert len(rows) == 120 and report["failed"] == 0
    assert used >= 0.85
    # The client counts each request as the server does (prompt + max_tokens), so it keeps within the
    # budget by itself: the server seldom has to refuse (measured: 2 of 120).
    assert server.rejected <= 12


def test_batch_mode_gives_the_online_rows_at_half_price_in_files_within_limits(tmp_path):
    with OpenAIServer() as server:
        online, online_report = run(server, tmp_path, cache_name="online.sqlite")
        cache = ResponseCache(tmp_path / "batch.sqlite")
        client = make_client(server.base_url, "sk-test", 5.0)
        batch = {"max_requests_per_file": 3, "poll_interval_s": 0.01, "max_wait_s": 30}
        rows, report = generate_responses(
            SEEDS,
            SETTINGS,
            session([client], cache, base_url=server.base_url, client=FAST, price=PRICE, mode="batch", batch=batch),
        )
        assert len(server.batches) == 3  # 8 requests, at most 3 per file
        lines = [
            json.loads(line)
            for f in server.files.values()
            if f["purpose"] == "batch"
            for line in f["content"].decode().splitlines()
        ]
        assert {line["url"] for line in lines} == {"/v1/chat/completions"} and len(lines) == 8
    assert rows == online
    assert report["batch"]["batches_submitted"] == 3 and report["failed"] == 0
    assert report["cost_usd"] == pytest.approx(online_report["cost_usd"] / 2)


def test_a_rerun_resumes_running_batches_instead_of_resubmitting(tmp_path):
    cache_path = tmp_path / "batch.sqlite"
    with OpenAIServer(batch_polls=4) as server:
        client = make_client(server.base_url, "sk-test", 5.0)
        batch = {"max_requests_per_file": 5, "poll_interval_s": 0.01, "max_wait_s": 0.001}
        cache = ResponseCache(cache_path)
        with pytest.raises(TeacherError, match="2 batches still running .* rerun to resume"):
            generate_responses(SEEDS, SETTINGS, session([client], cache, client=FAST, mode="batch", batch=batch))
        cache.close()
        assert len(server.batches) == 2
        cache = ResponseCache(cache_path)
        more = {**batch, "max_wait_s": 30}
        rows, report = generate_responses(
            SEEDS, SETTINGS, session([client], cache, client=FAST, mode="batch", batch=more)
        )
        cache.close()
        assert len(server.batches) == 2  # nothing submitted twice
        assert report["batch"]["batches_resumed"] == 2 and report["batch"]["batches_submitted"] == 0
        assert len(rows) == 8 and sum(server.answered.values()) == 8


def test_failed_batch_requests_are_recorded_and_resubmitted_alone(tmp_path):
    with OpenAIServer(faults={979: ["500"]}) as server:
        client = make_client(server.base_url, "sk-test", 5.0)
        batch = {"poll_interval_s": 0.01, "max_wait_s": 30}
        cache = ResponseCache(tmp_path / "batch.sqlite")
        with pytest.raises(TeacherFailures) as failure:
            generate_responses(SEEDS, SETTINGS, session([client], cache, client=FAST, mode="batch", batch=batch))
        assert failure.value.report["failed_by_cause"] == {"batch_server_error": 1}
        assert failure.value.report["failures"][0]["id"] == "python-3"
        rows, report = generate_responses(
            SEEDS, SETTINGS, session([client], cache, client=FAST, mode="batch", batch=batch)
        )
        cache.close()
        assert report["cache_hits"] == 7 and report["batch"]["requests_submitted"] == 1 and len(rows) == 8


def test_the_server_counts_tokens_like_the_client():
    body = {"messages": [{"role": "user", "content": "é" * 10}]}
    assert prompt_token_count(body) == estimate_tokens("é" * 10)


def test_a_teacher_without_a_system_role_takes_the_system_text_in_the_user_turn(tmp_path):
    """Mixtral-8x7B-Instruct's chat template rejects a system message (vLLM answers 400): with the
    paper's messages the run stops at once and names `teacher.system_role`; with `merge` the system
    text opens the first user turn, separated by a blank line, and every seed is answered."""
    from ossinstruct.teacher.prompts import SYSTEM_PROMPT, build_messages, user_prompt

    with OpenAIServer(system_role=False) as server:
        with pytest.raises(FatalTeacherError, match=r"http_400.*set teacher.system_role: merge"):
            run(server, tmp_path, seeds=SEEDS[:2], concurrency=1)
        assert server.answered == {}
        merged = {**SETTINGS, "system_role": "merge"}
        cache = ResponseCache(tmp_path / "merged.sqlite")
        client = make_client(server.base_url, "sk-test", 1.0)
        try:
            rows, report = generate_responses(
                SEEDS[:2], merged, session([client], cache, base_url=server.base_url, client=FAST)
            )
        finally:
            cache.close()
    assert report["answered"] == 2 and all(row["response"].startswith("[Problem Description]") for row in rows)
    messages = build_messages("x = 1", "none", "merge")
    assert messages == [{"role": "user", "content": SYSTEM_PROMPT + "\n\n" + user_prompt("x = 1")}]
    one_shot = build_messages("x = 1", "one_shot", "merge")
    assert [m["role"] for m in one_shot] == ["user", "assistant", "user"] and one_shot[0]["content"].startswith(
        SYSTEM_PROMPT + "\n\n"
    )
    assert build_messages("x = 1", "none", "system")[0] == {"role": "system", "content": SYSTEM_PROMPT}
