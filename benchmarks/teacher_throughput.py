"""Requests per second of our generator vs a sequential client (the paper's generator), one run.

Both talk to the same local OpenAI-protocol server, which answers every chat completion after a
fixed delay (500 ms by default, a hosted API's typical latency). The sequential client sends one
request at a time with the `openai` package, as the paper's `generate_data.py` did; ours sends
`--concurrency` at a time through `generate_responses` (budgets, retries, cache writes and all).

    .venv/bin/python benchmarks/teacher_throughput.py [--delay 0.5] [--concurrency 64] [--requests 640]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ossinstruct.teacher.answers import generate_responses  # noqa: E402
from ossinstruct.teacher.cache import ResponseCache  # noqa: E402
from ossinstruct.teacher.client import make_client  # noqa: E402
from ossinstruct.teacher.prompts import build_messages  # noqa: E402
from tests.openai_server import OpenAIServer  # noqa: E402
from tests.teacher_session import session  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--requests", type=int, default=640)
    parser.add_argument("--sequential-requests", type=int, default=20)
    args = parser.parse_args()
    seeds = [
        {"id": f"python-{i}", "lang": "python", "seed": f"def f(x):\n    return x * {i}\n", "index": i}
        for i in range(args.requests)
    ]
    settings = {
        "name": "bench",
        "model": "teacher",
        "demonstration": "none",
        "system_role": "system",
        "temperature": 0.0,
        "seed": 976,
        "max_new_tokens": 2500,
        "context_length": 8192,
        "extra_body": {},
    }
    with OpenAIServer(delay_s=args.delay) as server, tempfile.TemporaryDirectory() as scratch:
        client = make_client(server.base_url, "sk-bench", 60)
        started = time.monotonic()
        for row in seeds[: args.sequential_requests]:
            client.chat.completions.create(
                model="teacher",
                messages=build_messages(row["seed"]),
                temperature=0.0,
                max_tokens=2500,
                seed=976 + row["index"],
            )
        sequential = args.sequential_requests / (time.monotonic() - started)

        cache = ResponseCache(Path(scratch) / "cache.sqlite")
        clients = [make_client(server.base_url, "sk-bench", 60)] * args.concurrency
        started = time.monotonic()
        rows, report = generate_responses(seeds, settings, session(clients, cache, client={"progress": False}))
        ours = len(rows) / (time.monotonic() - started)
        assert len(rows) == args.requests and report["failed"] == 0
    print(f"server delay {args.delay * 1000:.0f} ms per request")
    print(f"sequential client: {sequential:8.2f} requests/s ({args.sequential_requests} requests)")
    print(f"ossinstruct ({args.concurrency} in flight): {ours:8.2f} requests/s ({args.requests} requests)")
    print(f"speed-up: {ours / sequential:.1f}x (ideal {args.concurrency}x)")


if __name__ == "__main__":
    main()
