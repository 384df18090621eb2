"""Completions from a model: a llama.cpp pool or a vLLM server started for the job (OpenAI protocol),
or transformers in the job's own process."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from ..paths import is_gguf
from ..server import LOCAL_KEY, gpu_server, llama_cpp_pool, submit_with_clients
from .prompts import FENCE, build_prompt, cut_at
from .solutions import to_samples

log = logging.getLogger(__name__)


def gguf_bos_text(model_path: str | os.PathLike) -> str:
    """The BOS token's text, to start every prompt with it as training did (BOS + prompt).

    llama.cpp adds BOS itself only when the file says `add_bos_token`; the server parses special
    tokens in prompt text, so writing the token out gives the same token ids as in training.
    """
    import gguf

    reader = gguf.GGUFReader(str(model_path))
    if "tokenizer.ggml.bos_token_id" not in reader.fields:
        return ""
    add_bos = reader.fields.get("tokenizer.ggml.add_bos_token")
    if add_bos is not None and add_bos.contents():
        return ""
    bos_id = reader.fields["tokenizer.ggml.bos_token_id"].contents()
    return reader.fields["tokenizer.ggml.tokens"].contents()[bos_id]


def hf_bos_text(model: str) -> str:
    """The BOS token's text for a Hugging Face model, when its tokenizer does not add BOS itself.

    vLLM tokenizes a prompt as the tokenizer's own call does; SmolLM2's adds no BOS, while training and
    the other backends start every prompt with it (BOS + prompt). The token's text in the prompt is
    parsed as the special token, so the served prompt gets the same token ids."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    bos = tokenizer.bos_token_id
    if bos is None or tokenizer("x").input_ids[:1] == [bos]:
        return ""
    return tokenizer.bos_token


@contextmanager
def serve_student(model_file: str, model_name: str, settings: dict, threads: int = 2, log_path=None) -> Iterator:
    """(clients, BOS text) for the model behind a server that this job starts and stops:
    `evaluate.backend` llama_cpp (one single-threaded server per thread; prompts start with the
    BOS token's text, see gguf_bos_text) or vllm (one server on the job's GPUs, many requests in
    flight; prompts start with the BOS token's text unless the tokenizer adds it, see hf_bos_text)."""
    from ..teacher.client import make_client

    backend = settings["backend"]
    if backend == "llama_cpp":
        with llama_cpp_pool(model_file, model_name, threads, 2048, log_path) as servers:
            clients = [make_client(server.base_url, LOCAL_KEY, 600, max_retries=2) for server in servers]
            yield clients, gguf_bos_text(servers[0].model_path)
    elif backend == "vllm":
        vllm = settings["vllm"]
        serve = {
            **vllm,
            "model": model_file,
            "gpus": settings["gpus"],
            "tensor_parallel_size": max(1, settings["gpus"]),
        }
        with gpu_server("vllm", serve, model_name, log_path=log_path) as server:
            client = make_client(server.base_url, LOCAL_KEY, 3600, max_retries=2)
            yield [client] * vllm["concurrency"], hf_bos_text(model_file)
    else:
        raise ValueError(f"config key 'evaluate.backend': {backend!r} starts no server (llama_cpp or vllm do)")


def complete_all(
    clients: Sequence, complete: Callable[[object, object], str], items: Sequence, progress: str | None = None
) -> list[str]:
    """`complete(client, item)` for every item, spread over `clients` (one request in flight each), in
    order; `progress`: the name to log progress (completions, rate, time left) under."""
    from ..progress import Progress

    tracker = Progress(len(items), progress, "completions") if progress else None

    def tracked(client, item):
        text = complete(client, item)
        if tracker:
            tracker.advance()
        return text

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        futures = submit_with_clients(pool, clients, tracked, items)
        completions = [future.result() for future in futures]
    if tracker:
        tracker.close()
    return completions


def generate_samples(
    benchmark: str,
    tasks: Sequence[dict],
    clients: Sequence,
    complete: Callable[[object, str], str],
    bos_text: str = "",
    prompt_format: str = "magicoder",
    sanitizer: str = "lines",
) -> list[dict]:
    """Greedy completions for every task from a server, spread over `clients` (one request in flight each)."""
    prompts = [build_prompt(benchmark, task, bos_text, prompt_format) for task in tasks]
    started = time.monotonic()
    completions = complete_all(clients, complete, prompts)
    log.info("%s: %d completions in %.0fs", benchmark, len(tasks), time.monotonic() - started)
    return to_samples(benchmark, tasks, completions, prompt_format, sanitizer)


def batched_completions(
    model_file: str,
    benchmark: str,
    tasks: Sequence[dict],
    settings: dict,
    threads: int,
    stop: Sequence[str],
    progress: str,
) -> list[str]:
    """Greedy completions from a GGUF model with llama.cpp's batch API in this process
    (`evaluate.llama_cpp_sequences` sequences at a time, see llama_batch.py), prompts starting with the
    BOS token's text as the servers' do."""
    from ..paths import resolve_model_file
    from ..progress import Progress
    from .llama_batch import BatchedLlama

    path = str(resolve_model_file(model_file))
    bos = gguf_bos_text(path)
    prompts = [build_prompt(benchmark, task, bos, settings["prompt_format"]) for task in tasks]
    sequences = settings["llama_cpp_sequences"]
    log.info("llama.cpp batch decoding of %s: %d sequences at a time, %d threads", path, sequences, threads)
    started = time.monotonic()
    with (
        Progress(len(prompts), progress, "completions") as tracker,
        BatchedLlama(path, parallel=sequences, context=2048, threads=threads) as llama,
    ):
        completions = llama.complete(
            prompts,
            max_tokens=settings["max_new_tokens"],
            stop=stop,
            repeat_penalty=settings["repeat_penalty"],
            on_done=lambda _: tracker.advance(),
        )
    log.info("%s: %d completions in %.0fs", benchmark, len(prompts), time.monotonic() - started)
    return completions


def transformers_completions(
    model_spec: str,
    prompts: Sequence[str],
    settings: dict,
    threads: int = 1,
    model=None,
    tokenizer=None,
    stop: Sequence[str] = (FENCE,),
    sampling: dict | None = None,
    budgets: Sequence[int] | None = None,
) -> list[str]:
    """Completions with transformers: batches of `settings.batch_size`, left padding, BOS + prompt as
    in training, cut at the first `stop` string (the closing fence). Greedy, or sampled with
    `sampling` {temperature, top_p, seed} (MultiPL-E). Prompts are batched by length (less padding)
    and returned in their own order. `budgets`: new tokens per prompt (default: `max_new_tokens`
    each); a batch generates its largest budget and each row keeps only its own (later tokens never
    change earlier ones)."""
    import torch

    from ..train.student import load_student

    torch.set_num_threads(max(1, threads))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if model is None:
        spec = {"gguf": model_spec} if is_gguf(model_spec) else {"path": model_spec}
        model, tokenizer = load_student(spec, "bfloat16" if device == "cuda" else "float32")
    model.to(device).eval()
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    encoded = [bos + tokenizer.encode(prompt, add_special_tokens=False) for prompt in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    completions: list[str] = [""] * len(prompts)
    size = settings["batch_size"]
    sample = bool(sampling and sampling["temperature"] > 0)
    decoding = {"do_sample": False}
    if sample:
        torch.manual_seed(sampling["seed"])
        decoding = {"do_sample": True, "temperature": sampling["temperature"], "top_p": sampling["top_p"]}
    budgets = list(budgets) if budgets is not None else [settings["max_new_tokens"]] * len(prompts)
    for start in range(0, len(order), size):
        batch = [i for i in order[start : start + size] if budgets[i] > 0]
        if not batch:
            continue
        longest = max(len(encoded[i]) for i in batch)
        ids = [[tokenizer.pad_token_id] * (longest - len(encoded[i])) + encoded[i] for i in batch]
        mask = [[0] * (longest - len(encoded[i])) + [1] * len(encoded[i]) for i in batch]
        with torch.no_grad():
            output = model.generate(
                input_ids=torch.tensor(ids, device=device),
                attention_mask=torch.tensor(mask, device=device),
                max_new_tokens=max(budgets[i] for i in batch),
                **decoding,
                repetition_penalty=settings["repeat_penalty"],
                **({"stop_strings": list(stop), "tokenizer": tokenizer} if stop else {}),
                pad_token_id=tokenizer.pad_token_id,
            )
        for i, row in zip(batch, output[:, longest:], strict=True):
            completions[i] = cut_at(tokenizer.decode(row[: budgets[i]], skip_special_tokens=True), stop)
    return completions


def continuous_completions(model, tokenizer, prompts: Sequence[str], max_new_tokens: int, stop=(FENCE,)) -> list[str]:
    """Greedy completions with transformers' continuous batching (`generate_batch`: a paged KV cache,
    finished sequences replaced by waiting ones at every step), BOS + prompt as in training, cut at
    the first `stop` string; in the prompts' order."""
    from transformers import GenerationConfig

    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    inputs = [bos + tokenizer.encode(prompt, add_special_tokens=False) for prompt in prompts]
    config = GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    outputs = model.generate_batch(inputs=inputs, generation_config=config)
    by_prompt = {int(request.removeprefix("req_")): output for request, output in outputs.items()}
    return [
        cut_at(tokenizer.decode(by_prompt[i].generated_tokens, skip_special_tokens=True), stop)
        for i in range(len(prompts))
    ]


# The repetition penalty's request field per server: llama.cpp's server reads `repeat_penalty`, vLLM's
# OpenAI server `repetition_penalty` (its SamplingParams name; vLLM ignores a field it does not know,
# and releases before November 2024 refused one with 400).
PENALTY_FIELD = {"llama_cpp": "repeat_penalty", "vllm": "repetition_penalty"}


# vLLM's OpenAI server takes at most 4 stop strings, as OpenAI's API does (a fifth is refused with
# 400: "List should have at most 4 items"); the leaderboard's HumanEval list has 10, evalplus 0.3.1's 5.
SERVER_MAX_STOPS = {"llama_cpp": None, "vllm": 4}


def server_stop(backend: str, stop: Sequence[str]) -> list[str] | None:
    """The stop strings a request to `backend`'s server carries: all of them, or as many as it takes.
    The caller cuts the answer at the first of all of them (cut_at): the server stops at the first
    one it knows, and an earlier one it was not given is cut away, so the text is the same."""
    limit = SERVER_MAX_STOPS[backend]
    return list(stop)[:limit] or None


def completion_function(model: str, settings: dict, stop: Sequence[str] = (FENCE,)) -> Callable[[object, str], str]:
    """Greedy completions from the job's server (`evaluate.backend` llama_cpp or vllm), each field
    under the name that server reads, cut at the first stop string."""
    backend = settings["backend"]
    penalty = {PENALTY_FIELD[backend]: settings["repeat_penalty"]}

    def complete(client, prompt: str) -> str:
        response = client.completions.create(
            model=model,
            prompt=prompt,
            max_tokens=settings["max_new_tokens"],
            temperature=0.0,
            stop=server_stop(backend, stop),
            extra_body=penalty,
        )
        return cut_at(response.choices[0].text, stop)

    return complete
