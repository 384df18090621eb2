"""The generate rule against an OpenAI-protocol API, through Snakemake: the API key stays secret,
and changing how requests are sent (concurrency, budgets) reruns nothing while changing what is
asked reruns generation."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import yaml

from ossinstruct.io import read_json, read_jsonl
from ossinstruct.shards import shard_names
from ossinstruct.streams import shard_lines

from ..conftest import snakemake_command
from ..openai_server import OpenAIServer

SECRET = "sk-canary-" + secrets.token_hex(16)  # made at run time: no file holds it before the run
TARGET = "results/generate/api-teacher/responses.jsonl"


def overlay(project: Path, base_url: str, target: str = TARGET, **teacher) -> list[str]:
    (project / "corpus").mkdir(exist_ok=True)
    for i in range(4):
        (project / "corpus" / f"m{i}.py").write_text("".join(f"x{i}_{j} = {j}\n" for j in range(20)))
    config = {
        "cache_dir": str(project / "cache"),
        "seeds": {
            "corpus": "api-test",
            "languages": {
                "python": {"quota": 4, "source": "local", "roots": [str(project / "corpus")], "extensions": [".py"]},
                "cpp": {"quota": 0},
                "shell": {"quota": 0},
            },
        },
        "teacher": {
            "name": "api-teacher",
            "model": "teacher-model",
            "server": "openai",
            "base_url": base_url,
            "api_key_env": "OSSINSTRUCT_SECRET_TEST",
            "tokenizer": "estimate",
            "demonstration": "none",
            "max_new_tokens": 100,
            **teacher,
        },
    }
    (project / "api.yaml").write_text(yaml.safe_dump(config))
    return [target, "--configfile", "api.yaml", "--cores", "2"]


def snakemake(project: Path, *args: str, key: str = SECRET) -> subprocess.CompletedProcess:
    env = {**os.environ, "OSSINSTRUCT_SECRET_TEST": key}
    return subprocess.run(
        [*snakemake_command(), *args], cwd=project, capture_output=True, text=True, env=env, timeout=600
    )


def test_api_teacher_through_snakemake_keeps_the_key_secret_and_reruns_only_on_request_changes(project):
    with OpenAIServer(api_key=SECRET) as server:
        client = {"concurrency": 4, "progress": False}
        result = snakemake(project, *overlay(project, server.base_url, client=client))
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"Bearer {SECRET}" in server.authorization_headers  # the key really was used
        assert len(read_jsonl(project / TARGET)) == 4
        report = read_json(project / "results/generate/api-teacher/report.json")
        assert report["answered"] == 4 and report["failed"] == 0

        # How requests are sent: no rerun.
        faster = {**client, "concurrency": 32, "requests_per_minute": 500, "max_retries": 1}
        result = snakemake(project, *overlay(project, server.base_url, client=faster, mode="batch"), "-n")
        assert "Nothing to be done" in result.stdout + result.stderr, result.stdout
        # What is asked: generation and only it (the seeds stay).
        result = snakemake(project, *overlay(project, server.base_url, client=client, temperature=0.2), "-n")
        assert "generate_responses" in result.stdout and "collect_seeds:" not in result.stdout

    # Everything the run wrote: results, logs, Snakemake's metadata, the cache.
    leaks = [str(path) for path in project.rglob("*") if path.is_file() and SECRET.encode() in path.read_bytes()]
    assert not leaks
    assert (project / ".snakemake").is_dir() and (project / "cache" / "teacher-responses.sqlite").is_file()


def test_sharded_generation_equals_unsharded_and_a_new_split_asks_nothing_again(project):
    """teacher.shards: one job per contiguous slice of the seeds, merged in seed order. The merged
    file is byte-identical to the unsharded one, and resharding reuses every cached answer."""
    with OpenAIServer(api_key=SECRET) as server:
        client = {"concurrency": 2, "progress": False}
        result = snakemake(project, *overlay(project, server.base_url, client=client))
        assert result.returncode == 0, result.stdout + result.stderr
        unsharded = (project / TARGET).read_bytes()
        asked = sum(server.attempts.values())

        result = snakemake(project, *overlay(project, server.base_url, client=client, shards=3))
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stderr.count("rule generate_responses:") == 3, result.stderr
        assert (project / TARGET).read_bytes() == unsharded
        assert sum(server.attempts.values()) == asked  # every answer came from the unsharded run's cache
        report = read_json(project / "results/generate/api-teacher/report.json")
        assert report["shards"] == 3 and report["seeds"] == 4 and report["cache_hits"] == 4
        # each shard answered the seeds of its byte range of the seeds file
        expected = [sum(1 for _ in shard_lines(project / SEEDS, name)) for name in shard_names(3)]
        assert [shard["seeds"] for shard in report["by_shard"]] == expected and sum(expected) == 4
        shard_files = sorted((project / "cache" / "teacher-responses.d").glob("api-teacher.shard-*-of-3.sqlite"))
        assert len(shard_files) == 3


LOG = "logs/generate/api-teacher/0-of-1.log"
SEEDS = "results/seeds/api-test.jsonl"


def test_a_rejected_key_fails_the_job_at_the_first_answer_and_keeps_the_seeds(project):
    with OpenAIServer(api_key=SECRET) as server:
        result = snakemake(project, *overlay(project, server.base_url, client={"concurrency": 1}), key="sk-wrong")
        assert result.returncode != 0
        assert len(server.received) == server.unauthorized == 1  # one answer, then nothing more was sent
    assert "the teacher rejected the API key (http_401)" in (project / LOG).read_text()
    assert (project / SEEDS).stat().st_size > 0 and not (project / TARGET).exists()


def test_an_unknown_model_fails_the_job_naming_the_setting(project):
    with OpenAIServer(api_key=SECRET, models=["gpt-3.5-turbo-1106"]) as server:
        result = snakemake(project, *overlay(project, server.base_url, client={"concurrency": 1}))
        assert result.returncode != 0 and len(server.received) == 1
    assert (
        "404 for model 'teacher-model'" in (project / LOG).read_text()
        and "teacher.model" in (project / LOG).read_text()
    )


def test_a_corrupt_answer_cache_fails_naming_the_file_and_is_left_as_it_is(project):
    cache = project / "cache" / "teacher-responses.sqlite"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"not a database, but perhaps paid answers " * 100)
    before = cache.read_bytes()
    with OpenAIServer(api_key=SECRET) as server:
        result = snakemake(project, *overlay(project, server.base_url))
        assert result.returncode != 0 and server.received == []
    assert f"{cache}: not a readable answer cache" in (project / LOG).read_text()
    assert cache.read_bytes() == before


def test_an_empty_training_set_fails_naming_the_file_and_keeps_the_curation(project):
    """What a user gets with a teacher whose answers never parse (a small model under the paper's
    `demonstration: none`): generation and curation finish, training stops with a message naming
    the empty file and where the rows went."""
    target = "results/models/magicoder-smollm2-135m/train_metrics.json"
    with OpenAIServer(api_key=SECRET, parseable=False) as server:
        result = snakemake(project, *overlay(project, server.base_url, target=target))
        assert result.returncode != 0
    log = (project / "logs/train/magicoder-smollm2-135m.log").read_text()
    assert "results/sft/api-teacher.jsonl: the training set is empty" in log and "report.json" in log
    parsed = read_json(project / "results/curate/api-teacher/parsed_report.json")
    assert parsed["rows_in"] == 4 and parsed["rows_out"] == 0
    assert len(read_jsonl(project / TARGET)) == 4  # the paid answers are kept
