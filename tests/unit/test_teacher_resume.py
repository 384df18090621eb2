"""Killing generation with SIGKILL mid-run loses no paid answer and repeats none."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from ossinstruct.io import read_jsonl, write_jsonl

from ..conftest import cached_answers
from ..openai_server import OpenAIServer

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [
    {"id": f"python-{i}", "lang": "python", "seed": f"print({i})\n", "index": i, "source": "t", "raw_index": i}
    for i in range(60)
]


def config_file(tmp_path: Path, base_url: str, cache: str) -> Path:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["cache_dir"] = str(tmp_path / cache)
    config["teacher"].update(
        name="remote",
        model="teacher-model",
        server="openai",
        base_url=base_url,
        api_key_env="OSSINSTRUCT_TEST_KEY",
        tokenizer="estimate",
        demonstration="none",
        max_new_tokens=100,
        client={"concurrency": 4, "progress": False, "timeout_s": 10, "max_retries": 2},
    )
    path = tmp_path / f"{cache}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def generate(config: Path, output: Path) -> subprocess.Popen:
    seeds = str(output.parent / "seeds.jsonl")
    command = [
        str(Path(sys.executable).with_name("ossinstruct")),
        "generate",
        "--input",
        seeds,
        "--output",
        str(output),
        "--config",
        str(config),
    ]
    env = {**os.environ, "OSSINSTRUCT_TEST_KEY": "sk-test"}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_sigkill_mid_run_then_rerun_answers_every_seed_once_and_matches_an_uninterrupted_run(tmp_path):
    write_jsonl(tmp_path / "seeds.jsonl", SEEDS)
    with OpenAIServer(delay_s=0.2) as server:
        # An uninterrupted run, for reference.
        reference = tmp_path / "reference.jsonl"
        assert generate(config_file(tmp_path, server.base_url, "cache-a"), reference).wait(timeout=120) == 0
        server.attempts.clear()

        config = config_file(tmp_path, server.base_url, "cache-b")
        output = tmp_path / "responses.jsonl"
        process = generate(config, output)
        deadline = time.monotonic() + 60
        while cached_answers(tmp_path / "cache-b") < 20:
            assert process.poll() is None and time.monotonic() < deadline, process.stdout.read().decode()
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert not output.exists()
        saved = cached_answers(tmp_path / "cache-b")
        sent_before = sum(server.attempts.values())
        assert 20 <= saved < 60

        rerun = generate(config, output)
        assert rerun.wait(timeout=120) == 0, rerun.stdout.read().decode()
        resent = sum(server.attempts.values()) - sent_before
    assert resent == 60 - saved  # nothing already answered is sent again
    rows = read_jsonl(output)
    assert sorted(row["id"] for row in rows) == sorted(seed["id"] for seed in SEEDS)
    assert output.read_bytes() == reference.read_bytes()
