"""vLLM for real (marker `vllm`, run by .ci/run after scripts/setup_vllm.sh): vLLM's CPU build serves
the packaged SmolLM2-135M-Instruct from a Hugging Face folder made from its GGUF file, through the
same server code (`gpu_server`, `serve_student`) and request code that the teacher and the
evaluation use. Each sampling setting is shown by what it does, not by the request we send."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ossinstruct.evaluate.backends import completion_function
from ossinstruct.teacher.client import make_client

from ..conftest import ROOT, SMOLLM2, require

pytestmark = pytest.mark.vllm

VLLM_PYTHON = Path(os.environ.get("OSSINSTRUCT_VLLM_PYTHON", ROOT / ".venv-vllm/bin/python"))
PROMPT = "def fibonacci(n):\n"


def vllm_settings(**extra) -> dict:
    """`evaluate.vllm` as the schema fills it, pointed at scripts/setup_vllm.sh's venv."""
    from ossinstruct.config import section_defaults

    # vLLM's CPU build otherwise reserves --gpu-memory-utilization (0.92) of the NUMA node's memory for
    # its KV cache, which fails on a machine already using a tenth of it; a share that fits one machine
    # (0.08 of 24 GiB) is too small on another (0.08 of 8 GiB: less than the model). 2 GB, explicitly,
    # holds 64 sequences of a 135M model anywhere.
    memory = ["--kv-cache-memory-bytes", "2G", "--enforce-eager"]  # eager: starts in a third of the time
    defaults = section_defaults("evaluate.vllm")
    return {**defaults, "python": str(VLLM_PYTHON), "startup_timeout_s": 600, "extra_args": memory, **extra}


@pytest.fixture(scope="session")  # shared with test_vllm_teacher.py
def hf_folder(tmp_path_factory) -> Path:
    require(None if VLLM_PYTHON.exists() else f"{VLLM_PYTHON} not found", "vLLM (bash scripts/setup_vllm.sh)")
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("smollm2-hf")
    cli = Path(sys.executable).with_name("ossinstruct")  # the README's command for a GGUF teacher or student
    subprocess.run([str(cli), "export-hf", "--input", SMOLLM2, "--output", str(folder)], check=True)
    return folder


@pytest.fixture(scope="module")
def vllm_server(hf_folder, tmp_path_factory):
    from ossinstruct.server import gpu_server

    log = tmp_path_factory.mktemp("vllm-log") / "server.log"
    serve = {**vllm_settings(), "model": str(hf_folder), "tensor_parallel_size": 1}
    with gpu_server("vllm", serve, "smollm2", log_path=log) as server:
        yield server


def complete(server, **fields) -> tuple[str, int]:
    client = make_client(server.base_url, "x", 300)
    extra = fields.pop("extra_body", None)
    response = client.completions.create(model="smollm2", prompt=PROMPT, extra_body=extra, **fields)
    return response.choices[0].text, response.usage.completion_tokens


def test_each_sampling_setting_reaches_vllm_under_its_name_and_takes_effect(vllm_server):
    greedy, tokens = complete(vllm_server, max_tokens=48, temperature=0.0)
    assert greedy.strip() and 0 < tokens <= 48
    # max_tokens bounds the completion
    short, short_tokens = complete(vllm_server, max_tokens=5, temperature=0.0)
    assert short_tokens <= 5 and greedy.startswith(short)
    # a stop string cuts it (before the string)
    stop = next(line for line in greedy.splitlines() if line.strip()).strip()[-3:]
    cut, _ = complete(vllm_server, max_tokens=48, temperature=0.0, stop=[stop])
    assert stop not in cut and greedy.startswith(cut) and len(cut) < len(greedy)
    # a seed repeats a sampled answer
    first, _ = complete(vllm_server, max_tokens=32, temperature=1.0, seed=7)
    again, _ = complete(vllm_server, max_tokens=32, temperature=1.0, seed=7)
    assert first == again
    # the repetition penalty under vLLM's name changes the greedy completion; llama.cpp's name is ignored
    settings = {"backend": "vllm", "max_new_tokens": 48, "repeat_penalty": 1.0}
    client = make_client(vllm_server.base_url, "x", 300)
    plain = completion_function("smollm2", settings, [])(client, PROMPT)
    penalised = completion_function("smollm2", {**settings, "repeat_penalty": 1.8}, [])(client, PROMPT)
    assert plain == greedy and penalised != plain
    ignored, _ = complete(vllm_server, max_tokens=48, temperature=0.0, extra_body={"repeat_penalty": 1.8})
    assert ignored == plain


def test_more_stop_strings_than_vllm_takes_still_cut_at_the_first(vllm_server):
    """vLLM refuses a fifth stop string (400), as OpenAI's API; the leaderboard's HumanEval list has
    10. The evaluation sends vLLM the first 4 and cuts at the first of all: here the only one that
    occurs is the fifth."""
    import openai

    from ossinstruct.evaluate.prompts import cut_at, stop_strings

    greedy, _ = complete(vllm_server, max_tokens=48, temperature=0.0)
    found = next(line for line in greedy.splitlines() if line.strip()).strip()[-3:]
    stops = ["@@never-1", "@@never-2", "@@never-3", "@@never-4", found]
    with pytest.raises(openai.BadRequestError, match="at most 4"):
        complete(vllm_server, max_tokens=48, temperature=0.0, stop=stops)
    client = make_client(vllm_server.base_url, "x", 300)
    settings = {"backend": "vllm", "max_new_tokens": 48, "repeat_penalty": 1.0}
    cut = completion_function("smollm2", settings, stops)(client, PROMPT)
    assert cut == cut_at(greedy, [found]) and len(cut) < len(greedy)
    leaderboard = stop_strings("completion", "humaneval", "leaderboard")
    assert len(leaderboard) == 10
    assert completion_function("smollm2", settings, leaderboard)(client, PROMPT) == cut_at(greedy, leaderboard)


def test_prompts_to_vllm_start_with_the_bos_token_as_in_training(vllm_server, hf_folder):
    """SmolLM2's tokenizer adds no BOS; training and the llama.cpp backends start every prompt with it.
    The BOS text that the vLLM backend puts first becomes the one BOS token on the server."""
    from transformers import AutoTokenizer

    from ossinstruct.evaluate.backends import hf_bos_text

    bos = hf_bos_text(str(hf_folder))
    tokenizer = AutoTokenizer.from_pretrained(hf_folder)
    assert bos == tokenizer.bos_token == "<|im_start|>"
    client = make_client(vllm_server.base_url, "x", 300)
    plain = client.completions.create(model="smollm2", prompt=PROMPT, max_tokens=1).usage.prompt_tokens
    with_bos = client.completions.create(model="smollm2", prompt=bos + PROMPT, max_tokens=1).usage.prompt_tokens
    assert plain == len(tokenizer(PROMPT).input_ids) and with_bos == plain + 1


def test_the_vllm_backend_generates_and_evalplus_scores_a_humaneval_and_mbpp_slice(hf_folder, tmp_path, monkeypatch):
    """`evaluate.backend: vllm` end to end on the first 4 tasks of each benchmark: the job starts its
    own vLLM server, every prompt reaches it with the BOS token first (its debug log shows the token
    ids), the completions come back in task order, and EvalPlus scores them."""
    from transformers import AutoTokenizer

    from ossinstruct.config import section_defaults
    from ossinstruct.evaluate import samples, scoring
    from ossinstruct.io import read_json, read_jsonl

    settings = {
        **section_defaults("evaluate"),
        "backend": "vllm",
        "limit": 4,
        "max_new_tokens": 128,
        "prompt_format": "magicoder",
        "vllm": vllm_settings(concurrency=4),
    }
    # vLLM's request log at DEBUG: each prompt's first token ids.
    monkeypatch.setenv("VLLM_LOGGING_LEVEL", "DEBUG")
    settings["vllm"]["extra_args"] = [*settings["vllm"]["extra_args"], "--enable-log-requests", "--max-log-len", "3"]
    bos = AutoTokenizer.from_pretrained(hf_folder).bos_token_id
    datasets = {"humaneval": "HumanEvalPlus-v0.1.10.jsonl.gz", "mbpp": "MbppPlus-v0.1.0.jsonl.gz"}
    for benchmark, file in datasets.items():
        folder = tmp_path / benchmark
        shard = folder / "shards/0-of-1.jsonl"
        dataset = str(ROOT / "data/benchmarks" / file)
        samples.run(
            benchmark=benchmark,
            dataset=dataset,
            model_file=str(hf_folder),
            model_name="smollm2",
            samples=str(shard),
            settings=settings,
            log_dir=str(folder),
        )
        rows = read_jsonl(shard)
        assert len(rows) == 4 and all(isinstance(row["completion"], str) for row in rows)
        first_ids = [
            line.split("prompt_token_ids: [")[1]
            for line in (folder / "server-0-of-1.log").open()
            if "prompt_token_ids: [" in line
        ]
        assert len(first_ids) == 4 and all(ids.startswith(f"{bos}, ") for ids in first_ids), first_ids
        scoring.run(
            benchmark=benchmark,
            dataset=dataset,
            shard_samples=[str(shard)],
            model_name="smollm2",
            samples=str(folder / "samples.jsonl"),
            scores=str(folder / "scores.json"),
            settings=settings,
            cache_dir=str(tmp_path / "cache"),
            log_dir=str(folder),
        )
        scores = read_json(folder / "scores.json")
        assert scores["n_tasks"] == 4 and scores["generation"]["backend"] == "vllm"
        assert set(scores["pass@1"]) == {"base", "plus"}
