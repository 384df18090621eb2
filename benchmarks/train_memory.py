"""The training memory estimate (train.memory) against the measured peak, for Llamas of a few sizes.

    .venv/bin/python benchmarks/train_memory.py                       # this CPU: three small Llamas, float32
    python benchmarks/train_memory.py --sizes 7b --batch 2 --length 1216 --bf16   # a GPU: the paper's 7B shape

Each size runs in a fresh process: a Llama built from a config (random weights: memory does not
depend on them), Adafactor as the paper's Trainer makes it (no relative step, no parameter scaling),
rows of `--length` tokens in batches of `--batch`, `--steps` optimizer steps of forward, backward and
update, gradients set to None after each step as the Trainer does. Measured: on a GPU
`torch.cuda.max_memory_allocated` (the tensors' high-water mark) and the peak reserved by the caching
allocator; on a CPU the process's peak resident set (`ru_maxrss`) minus its resident set just before
the model is built (Python, torch and transformers loaded). The estimate is `training_memory` for the
same shape and settings with one process (no DDP buckets), without its fixed allowance (the CUDA
context, or the process itself), which the measurement leaves out too. Prints both and their ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

SIZES = {  # name -> (hidden size, intermediate size, layers, heads, KV heads)
    "h256": (256, 688, 4, 4, 4),
    "h512": (512, 1376, 8, 8, 8),
    "h1024": (1024, 2752, 12, 16, 16),
    "7b": (4096, 11008, 32, 32, 32),  # Llama 2 / CodeLlama 7B
}


def measure(args) -> dict:
    """One size, in this process (the parent runs each in its own)."""
    import resource

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from transformers.optimization import Adafactor

    from ossinstruct.train.memory import FIXED_BYTES, shape_of, training_memory

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    torch.set_num_threads(args.threads)
    hidden, inter, layers, heads, kv = SIZES[args.size]
    config = LlamaConfig(
        vocab_size=args.vocab,
        hidden_size=hidden,
        intermediate_size=inter,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        max_position_embeddings=4096,
        tie_word_embeddings=False,
        attn_implementation="sdpa",
    )
    dtype = torch.bfloat16 if args.bf16 else torch.float32
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(config).to(dtype)
    model.train()
    optimizer = Adafactor(model.parameters(), lr=5e-5, scale_parameter=False, relative_step=False, warmup_init=False)
    batch = torch.randint(0, args.vocab, (args.batch, args.length), device=device)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    for _ in range(args.steps):
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    estimate = training_memory(
        shape_of(config),
        per_device_batch_size=args.batch,
        max_length=args.length,
        bf16=args.bf16,
        processes=1,
        device=device,
    )
    estimated = estimate["total"] - FIXED_BYTES[device]
    if cuda:
        measured = torch.cuda.max_memory_allocated()
        reserved = torch.cuda.max_memory_reserved()
        where = torch.cuda.get_device_name()
    else:
        measured = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
        reserved, where = None, "CPU (peak RSS growth)"
    return {
        "size": args.size,
        "params": shape_of(config)["params"],
        "where": where,
        "estimated": estimated,
        "measured": measured,
        "reserved": reserved,
        "parts": estimate,
        "loss": float(loss),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["h256", "h512", "h1024"], choices=list(SIZES))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", help=argparse.SUPPRESS)  # the child's one size
    args = parser.parse_args()
    if args.size:
        print(json.dumps(measure(args)))
        return
    gib = 1024**3
    print(
        f"batch {args.batch} x {args.length} tokens, vocabulary {args.vocab}, {'bf16' if args.bf16 else 'float32'}, "
        f"{args.steps} Adafactor steps, one process"
    )
    for size in args.sizes:
        child = [sys.executable, __file__, "--size", size, *sys.argv[1:]]
        out = subprocess.run(child, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        row = json.loads(out)
        parts = row["parts"]
        shown = ", ".join(
            f"{key} {parts[key] / gib:.2f}" for key in ("weights", "gradients", "optimizer", "activations", "logits")
        )
        reserved = f", {row['reserved'] / gib:.2f} GiB reserved" if row["reserved"] else ""
        print(
            f"{size} ({row['params'] / 1e6:.0f}M parameters) on {row['where']}: "
            f"estimated {row['estimated'] / gib:.2f} GiB ({shown}), "
            f"measured {row['measured'] / gib:.2f} GiB{reserved}; "
            f"measured / estimated {row['measured'] / row['estimated']:.2f}"
        )


if __name__ == "__main__":
    main()
