"""The shipped overlays for one's own teacher and code, each run through Snakemake as the README says
to run it, against a real local server speaking the protocol: `configs/openai.yaml` against the
local OpenAI-protocol server (billing each answer), `configs/local-server.yaml` against llama.cpp's
server (here; vLLM's in tests/integration/test_vllm_teacher.py), `configs/own-code.yaml` on a folder
of code. Only what cannot be had offline is overlaid: the server's URL, and tiktoken's encoding."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from ossinstruct.io import read_json, read_jsonl

from ..conftest import SMOLLM2, copy_project, snakemake_command
from ..openai_server import OpenAIServer
from ..unit.test_own_code import AWS_KEY, repository

pytestmark = pytest.mark.extended  # Snakemake runs with real servers: about 2 minutes


def snakemake(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*snakemake_command(), *args, "--cores", "2"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {})},
    )


def here(project: Path, name: str, settings: dict) -> str:
    (project / name).write_text(yaml.safe_dump(settings))
    return name


def test_the_hosted_api_overlay_asks_with_the_papers_prompt_and_budget_within_its_cap(tmp_path):
    project = copy_project(tmp_path)
    shipped = yaml.safe_load((project / "configs/openai.yaml").read_text())
    teacher = shipped["teacher"]["name"]
    with OpenAIServer(api_key="sk-local-test") as server:
        local = here(
            project,
            "local.yaml",
            {"teacher": {"base_url": server.base_url, "tokenizer": "estimate"}},  # tiktoken's file is not here
        )
        target = f"results/sft/{teacher}.jsonl"
        run = snakemake(
            project, target, "--configfile", "configs/openai.yaml", local, env={"OPENAI_API_KEY": "sk-local-test"}
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        bodies = list(server.bodies)
    report = read_json(project / f"results/generate/{teacher}/report.json")
    assert report["answered"] == 64 and report["failed"] == 0  # the embedded default's seeds
    assert {body["model"] for body in bodies} == {shipped["teacher"]["model"]}
    assert all(body["max_tokens"] == 2500 for body in bodies)  # the paper's budget, not the demo's 512
    assert all([message["role"] for message in body["messages"]] == ["system", "user"] for body in bodies)
    spending = report["spending"]
    assert spending["max_cost_usd"] == shipped["teacher"]["max_cost_usd"] and spending["not_sent"] == 0
    assert 0 < spending["spent_usd"] == pytest.approx(report["cost_usd"], rel=1e-6)
    assert len(read_jsonl(project / target)) > 0
    assert not (project / f"results/validate/{teacher}").exists()  # validation stated off


def test_the_local_server_overlay_needs_no_key_and_a_rerun_asks_nothing(tmp_path):
    """llama.cpp's OpenAI-compatible server (llama-cpp-python's, on the packaged model), started as a
    user starts theirs; the overlay as shipped, given its port. No key variable is set."""
    from ossinstruct.server import LlamaCppServer

    project = copy_project(tmp_path)
    shipped = yaml.safe_load((project / "configs/local-server.yaml").read_text())["teacher"]
    with LlamaCppServer(SMOLLM2, shipped["model"], n_ctx=2048, threads=2) as server:
        base_url = f"http://127.0.0.1:{server.port}/v1"
        local = here(
            project,
            "local.yaml",
            {
                "seeds": {"languages": {"python": {"quota": 3}, "cpp": {"quota": 0}, "shell": {"quota": 0}}},
                "teacher": {"base_url": base_url, "max_new_tokens": 48, "context_length": 2048},
            },
        )
        target = f"results/generate/{shipped['name']}/responses.jsonl"
        env = {key: value for key, value in os.environ.items() if key != "OPENAI_API_KEY"}
        args = [target, "--configfile", "configs/local-server.yaml", local]
        run = subprocess.run(
            [*snakemake_command(), *args, "--cores", "2"], cwd=project, capture_output=True, text=True, env=env
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        first = read_json(project / f"results/generate/{shipped['name']}/report.json")
        again = snakemake(project, *args, "--forcerun", "generate_responses")
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        second = read_json(project / f"results/generate/{shipped['name']}/report.json")
    assert first["answered"] == 3 and first["requests"] == 3
    assert first["answered_by_model"] == {shipped["model"]: 3}
    # The cache key holds the server's /models entry: the same server, read again, is the same teacher.
    assert second["cache_hits"] == 3 and second["requests"] == 0


def test_the_own_code_overlay_draws_seeds_from_a_folder_without_its_secrets(tmp_path):
    project = copy_project(tmp_path)
    repo = repository(tmp_path / "code")
    local = here(project, "local.yaml", {"seeds": {"languages": {"python": {"roots": [str(repo)], "quota": 20}}}})
    run = snakemake(project, "results/seeds/own-code.jsonl", "--configfile", "configs/own-code.yaml", local)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    rows = read_jsonl(project / "results/seeds/own-code.jsonl")
    report = read_json(project / "results/seeds/own-code_report.json")
    assert len(rows) == 20 and report["secrets"]["flagged"] > 0
    written = (project / "results/seeds/own-code.jsonl").read_text()
    written += (project / "results/seeds/own-code_documents.jsonl").read_text()
    assert AWS_KEY not in written and "PRIVATE KEY" not in written and str(tmp_path) not in written
    assert {row["source"].split("/")[0] for row in rows} == {"my-repo"}
    assert json.dumps(report).count(AWS_KEY) == 0
