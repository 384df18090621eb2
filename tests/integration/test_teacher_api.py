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

from ..conftest import snakemake_command
from ..openai_server import OpenAIServer

SECRET = "sk-canary-" + secrets.token_hex(16)  # made at run time: no file holds it before the run
TARGET = "results/generate/api-teacher/responses.jsonl"


def overlay(project: Path, base_url: str, **teacher) -> list[str]:
    (project / "corpus").mkdir(exist_ok=True)
    for i in range(4):
        (project / "corpus" / f"m{i}.py").write_text("".join(f"x{i}_{j} = {j}\n" for j in range(20)))
    config = {
        "cache_dir": str(project / "cache"),
        "seeds": {"corpus": "api-test", "languages": {
            "python": {"quota": 4, "source": "local", "roots": [str(project / "corpus")], "extensions": [".py"]},
            "cpp": {"quota": 0}, "shell": {"quota": 0}}},
        "teacher": {"name": "api-teacher", "model": "teacher-model", "server": "openai", "base_url": base_url,
                    "api_key_env": "OSSINSTRUCT_SECRET_TEST", "tokenizer": "estimate", "demonstration": "none",
                    "max_new_tokens": 100, **teacher},
    }  # fmt: skip
    (project / "api.yaml").write_text(yaml.safe_dump(config))
    return [TARGET, "--configfile", "api.yaml", "--cores", "2"]


def snakemake(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OSSINSTRUCT_SECRET_TEST": SECRET}
    return subprocess.run([*snakemake_command(), *args], cwd=project, capture_output=True, text=True, env=env,
                          timeout=600)  # fmt: skip


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
    leaks = [
        str(path) for path in project.rglob("*")
        if path.is_file() and SECRET.encode() in path.read_bytes()
    ]  # fmt: skip
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
        assert [shard["seeds"] for shard in report["by_shard"]] == [1, 1, 2]
        shard_files = sorted((project / "cache" / "teacher-responses.d").glob("api-teacher.shard-*-of-3.sqlite"))
        assert len(shard_files) == 3
