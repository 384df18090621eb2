"""The spending cap (`teacher.max_cost_usd`, `teacher.max_requests`) against a real local server that
speaks the OpenAI protocol and bills every answer's usage: a capped job stops before the cap and never
passes it, the answers it paid for stay cached, and a rerun with a higher cap pays only for the rest."""

import json

import pytest

from ossinstruct.io import read_json, read_jsonl, write_jsonl
from ossinstruct.teacher import generate
from ossinstruct.teacher.errors import SpendingCapReached, TeacherError
from ossinstruct.teacher.spending import ANSWER_TOKENS, SpendingCap

from ..openai_server import OpenAIServer, prompt_token_count
from ..teacher_session import teacher_job, validated_teacher

PRICE = {"prompt": 10.0, "completion": 30.0}  # USD per million tokens
SEEDS = [
    {"id": f"python-{i}", "lang": "python", "seed": f"def f{i}(x):\n    return x * {i} + 1\n", "index": i}
    for i in range(20)
]
TEACHER = {
    "name": "hosted",
    "model": "teacher-model",
    "server": "openai",
    "mode": "online",
    "api_key_env": None,
    "cache_identity": "endpoint",
    "tokenizer": "estimate",
    "demonstration": "none",
    "system_role": "system",
    "temperature": 0.0,
    "seed": 976,
    "max_new_tokens": 1000,
    "context_length": 8192,
    "extra_body": {},
    "client": {"concurrency": 4, "progress": False, "timeout_s": 5.0, "max_retries": 2, "backoff_s": 0.05},
    "batch": {"max_requests_per_file": 5, "poll_interval_s": 0.01, "max_wait_s": 30},
}


def billed_usd(server) -> float:
    return (
        server.billed["prompt_tokens"] * PRICE["prompt"] + server.billed["completion_tokens"] * PRICE["completion"]
    ) / 1e6


def expected_usd(seeds, max_tokens=1000) -> float:
    """The job's own check before sending: every prompt counted, and the estimate's completion length
    (ANSWER_TOKENS, 450) for each: a wordy teacher (900 tokens an answer) pays about twice that."""
    from ossinstruct.teacher.prompts import request_body

    prompt = sum(prompt_token_count(request_body(row, TEACHER, max_tokens)) for row in seeds)
    return (prompt * PRICE["prompt"] + len(seeds) * min(ANSWER_TOKENS, max_tokens) * PRICE["completion"]) / 1e6


def job(tmp_path, server, price=PRICE, shard="0-of-1", tag="run", **caps):
    seeds = tmp_path / "seeds.jsonl"
    if not seeds.exists():
        write_jsonl(seeds, SEEDS)
    teacher = {**TEACHER, "base_url": server.base_url, **caps}
    generate.run(
        seeds=str(seeds),
        responses=str(tmp_path / f"{tag}.jsonl"),
        report=str(tmp_path / f"{tag}.json"),
        **teacher_job(**teacher),
        cache_dir=str(tmp_path / "cache"),
        price=price,
        shard=shard,
    )
    return read_jsonl(tmp_path / f"{tag}.jsonl"), read_json(tmp_path / f"{tag}.json")


def test_a_capped_run_stops_before_the_cap_and_its_rerun_pays_only_for_the_rest(tmp_path):
    cap = expected_usd(SEEDS) * 1.001  # the check before sending passes; wordy answers then use the budget
    with OpenAIServer(answer_tokens=900) as server:
        with pytest.raises(SpendingCapReached, match=r"stopped at the spending cap .* rerun with a higher") as stop:
            job(tmp_path, server, max_cost_usd=cap)
        paid_first = billed_usd(server)
        answered_first = sum(server.answered.values())
        assert 0 < answered_first < len(SEEDS)  # stopped part-way
        assert paid_first <= cap  # and never past the cap
        spending = stop.value.report["spending"]
        assert spending["spent_usd"] == pytest.approx(paid_first, rel=1e-9)  # the job's count is the bill
        assert spending["not_sent"] == len(SEEDS) - answered_first
        # How far it got is recorded beside the cache (the job wrote no output).
        record = json.loads((tmp_path / "cache" / "teacher-failures-hosted-0-of-1.json").read_text())
        assert record["answered"] == answered_first and record["spending"]["max_cost_usd"] == pytest.approx(cap)
        assert not (tmp_path / "run.jsonl").exists()

        rows, report = job(tmp_path, server, max_cost_usd=cap * 3)
    assert [row["id"] for row in rows] == [seed["id"] for seed in SEEDS]
    assert max(server.answered.values()) == 1  # nothing paid twice
    assert report["cache_hits"] == answered_first and report["requests"] == len(SEEDS) - answered_first
    assert report["spending"]["spent_usd"] == pytest.approx(billed_usd(server) - paid_first, rel=1e-9)


def test_a_job_expected_to_pass_the_cap_sends_nothing(tmp_path):
    with OpenAIServer() as server:
        with pytest.raises(TeacherError, match=r"'teacher.max_cost_usd': this job's 20 requests are expected to cost"):
            job(tmp_path, server, max_cost_usd=expected_usd(SEEDS) / 2)
        with pytest.raises(TeacherError, match=r"'teacher.max_requests': this job would send 20 requests, over .* 19"):
            job(tmp_path, server, price=None, max_requests=19)
        assert sum(server.attempts.values()) == 0
        rows, report = job(tmp_path, server, price=None, max_requests=20)  # an unpriced model: a request cap
    assert len(rows) == 20 and report["spending"]["requests"] == 20


def test_a_shared_cap_plans_the_next_requests_against_what_is_left():
    """Validation's tests and solutions requests share one cap: the second set is planned against what
    the first left of it."""
    from ossinstruct.teacher.client import Job

    jobs = [Job(row={}, body={"max_tokens": 100}, key=str(i), tokens=200) for i in range(10)]  # 100 prompt tokens each
    cap = SpendingCap(max_cost_usd=0.05, price=PRICE)  # 10 x (100 x $10 + 100 x $30) / 1e6 = $0.04 expected
    assert cap.check_plan(jobs)["expected_usd"] == pytest.approx(0.04)
    cap.spent_usd = 0.02  # what the first set paid
    with pytest.raises(TeacherError, match=r"over what is left of its cap of \$0.0500 \(\$0.0200 paid\)"):
        cap.check_plan(jobs)


def test_shards_split_the_cap_and_a_cost_cap_needs_a_price(tmp_path):
    assert SpendingCap.for_job(validated_teacher(max_cost_usd=3.0), PRICE, share=2).max_cost_usd == 1.5
    assert SpendingCap.for_job(validated_teacher(max_requests=7), None, share=2).max_requests == 4
    assert SpendingCap.for_job(validated_teacher(), PRICE) is None
    with OpenAIServer() as server:
        with pytest.raises(TeacherError, match=r"'teacher.max_cost_usd': no price for model 'teacher-model'.*prices"):
            job(tmp_path, server, price=None, max_cost_usd=1.0)
        assert sum(server.attempts.values()) == 0


def test_batch_mode_submits_only_the_files_whose_worst_case_fits(tmp_path):
    cap = expected_usd(SEEDS) * 0.5 * 1.001  # the Batch API's discount: half price; the check before sending passes
    with OpenAIServer(answer_tokens=900) as server:
        with pytest.raises(SpendingCapReached):
            job(tmp_path, server, mode="batch", max_cost_usd=cap)
        submitted = len(server.batches)
        assert 0 < submitted < 4  # files of 5 requests: those whose worst case fits
        assert billed_usd(server) * 0.5 <= cap
        rows, report = job(tmp_path, server, mode="batch", max_cost_usd=cap * 10)
    assert len(rows) == 20 and max(server.answered.values()) == 1
    assert report["batch"]["batches_submitted"] == 4 - submitted
