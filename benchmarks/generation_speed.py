"""Benchmark generation with the transformers backend (`evaluate.backend: transformers`): batched vs
one prompt at a time, on the same HumanEval+ prompts, in one run.

    .venv/bin/python benchmarks/generation_speed.py [--prompts 8] [--batch 8] [--max-new-tokens 128]
    python benchmarks/generation_speed.py --model llama-1.1b --tokenizer .gpu/tokenizer  # a GPU

`evaluate.transformers_completions` completes the paper's HumanEval prompts greedily, first with
`batch_size: 1`, then with `--batch` (left padding, prompts grouped by length), and with
`--continuous` also with transformers' continuous batching (`evaluate.continuous_completions`:
`generate_batch`, a paged KV cache). Prints prompts/s and generated tokens/s of each, the
speed-ups, and how many completions are identical. The model is
the real student (SmolLM2-135M-Instruct) or `packing_speed.py`'s 1.1B Llama built from config
(random weights: its completions run to the token limit, the slowest case).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from packing_speed import SMOLLM2, build_model

from ossinstruct.evaluate.backends import continuous_completions, transformers_completions
from ossinstruct.evaluate.prompts import build_prompt, load_tasks
from ossinstruct.train.student import load_student

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["smollm2", "llama-1.1b"], default="smollm2")
    parser.add_argument("--tokenizer", default=SMOLLM2)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--continuous", action="store_true", help="also transformers' continuous batching")
    args = parser.parse_args()
    gpu = torch.cuda.is_available()
    tasks = load_tasks(ROOT / "data/benchmarks/HumanEvalPlus-v0.1.10.jsonl.gz", args.prompts)
    prompts = [build_prompt("humaneval", task) for task in tasks]
    with tempfile.TemporaryDirectory() as work:
        spec = {"gguf": SMOLLM2} if args.model == "smollm2" else build_model(Path(work) / "m", args.tokenizer, gpu)
        model, tokenizer = load_student(spec, "bfloat16" if gpu else "float32")
        settings = {"max_new_tokens": args.max_new_tokens, "repeat_penalty": 1.0}
        transformers_completions("", prompts[:1], {**settings, "batch_size": 1}, args.threads, model, tokenizer)
        outputs, rates = {}, {}
        for size in (1, args.batch):
            started = time.monotonic()
            outputs[size] = transformers_completions(
                "", prompts, {**settings, "batch_size": size}, args.threads, model, tokenizer
            )
            wall = time.monotonic() - started
            tokens = sum(len(tokenizer.encode(text, add_special_tokens=False)) for text in outputs[size])
            rates[size] = tokens / wall
            print(
                f"batch {size}: {len(prompts) / wall:.2f} prompts/s, {rates[size]:.0f} generated tokens/s, "
                f"{wall:.1f} s on {'cuda' if gpu else 'cpu'}",
                flush=True,
            )
        if args.continuous:
            continuous_completions(model, tokenizer, prompts[:2], 8)  # warm-up
            started = time.monotonic()
            outputs["continuous"] = continuous_completions(model, tokenizer, prompts, args.max_new_tokens)
            wall = time.monotonic() - started
            tokens = sum(len(tokenizer.encode(text, add_special_tokens=False)) for text in outputs["continuous"])
            rates["continuous"] = tokens / wall
            print(f"continuous batching: {len(prompts) / wall:.2f} prompts/s, {rates['continuous']:.0f} tokens/s")
    same = sum(a == b for a, b in zip(outputs[1], outputs[args.batch], strict=True))
    print(
        f"speed-up of batch {args.batch}: {rates[args.batch] / rates[1]:.2f}x; identical completions: "
        f"{same}/{len(prompts)}"
    )
    if args.continuous:
        same = sum(a == b for a, b in zip(outputs[args.batch], outputs["continuous"], strict=True))
        print(
            f"continuous batching vs batch {args.batch}: {rates['continuous'] / rates[args.batch]:.2f}x; "
            f"identical completions: {same}/{len(prompts)}"
        )


if __name__ == "__main__":
    main()
