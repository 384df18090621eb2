"""Training killed with SIGKILL resumes from its last checkpoint instead of starting over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ossinstruct.io import read_json, write_jsonl

pytestmark = [pytest.mark.slow, pytest.mark.extended]
ROOT = Path(__file__).resolve().parents[2]


def test_a_killed_training_resumes_from_its_last_checkpoint(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["cache_dir"] = str(tmp_path / "cache")
    config["train"].update(
        {"max_steps": 4, "per_device_batch_size": 1, "global_batch_size": 1, "save_steps": 1, "max_length": 96}
    )
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    rows = [
        {"instruction": f"Write a solution to the following coding problem:\nReturn {i}.", "response": f"return {i}"}
        for i in range(8)
    ]
    write_jsonl(tmp_path / "sft.jsonl", rows)
    command = [
        str(Path(sys.executable).with_name("ossinstruct")), "train", "--input", str(tmp_path / "sft.jsonl"),
        "--output", str(tmp_path / "model"), "--config", str(tmp_path / "config.yaml"),
    ]  # fmt: skip

    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    checkpoints = []
    while time.monotonic() < deadline and first.poll() is None:
        checkpoints = sorted((tmp_path / "cache" / "checkpoints").glob("*/checkpoint-*/trainer_state.json"))
        if checkpoints:
            break
        time.sleep(0.2)
    assert checkpoints, "no checkpoint was written before the deadline"
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert not (tmp_path / "model" / "train_metrics.json").exists()

    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stderr[-3000:]
    metrics = read_json(tmp_path / "model" / "train_metrics.json")
    assert metrics["resumed_from"] is not None and "checkpoint-" in metrics["resumed_from"]
    assert metrics["optimizer_steps"] == 4
    assert metrics["tokens_per_s"] > 0 and metrics["epochs"] > 0
    resumed_at = int(metrics["resumed_from"].rsplit("-", 1)[1])
    assert resumed_at >= 1
    # Only the steps after the checkpoint were run again.
    assert [entry["step"] for entry in metrics["loss_curve"]][-1] == 4
