"""Training killed with SIGKILL resumes from its last checkpoint instead of starting over, and ends
where an uninterrupted run ends: the same weights, the same loss curve."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from ossinstruct.io import read_json, write_jsonl

pytestmark = [pytest.mark.slow, pytest.mark.extended]
ROOT = Path(__file__).resolve().parents[2]


def setup(folder: Path) -> list[str]:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["cache_dir"] = str(folder / "cache")
    config["train"].update(
        {"max_steps": 4, "per_device_batch_size": 1, "global_batch_size": 1, "save_steps": 1, "max_length": 96}
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    rows = [
        {"instruction": f"Write a solution to the following coding problem:\nReturn {i}.", "response": f"return {i}"}
        for i in range(8)
    ]
    write_jsonl(folder / "sft.jsonl", rows)
    return [
        str(Path(sys.executable).with_name("ossinstruct")),
        "train",
        "--input",
        str(folder / "sft.jsonl"),
        "--output",
        str(folder / "model"),
        "--config",
        str(folder / "config.yaml"),
    ]


def checkpoint_states(folder: Path) -> dict[int, int]:
    """step -> modification time (ns) of each checkpoint's trainer_state.json now on disk."""
    states = {}
    for path in (folder / "cache" / "checkpoints").glob("*/checkpoint-*/trainer_state.json"):
        try:
            states[int(path.parent.name.rsplit("-", 1)[1])] = path.stat().st_mtime_ns
        except FileNotFoundError:
            pass  # deleted meanwhile (the Trainer keeps two)
    return states


def test_a_killed_training_resumes_from_its_checkpoint_and_ends_as_an_uninterrupted_run(tmp_path):
    from safetensors.numpy import load_file

    reference = subprocess.run(setup(tmp_path / "reference"), cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert reference.returncode == 0, reference.stderr[-3000:]

    command = setup(tmp_path / "killed")
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and first.poll() is None and not checkpoint_states(tmp_path / "killed"):
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    before = checkpoint_states(tmp_path / "killed")
    assert before and max(before) < 4, before
    assert not (tmp_path / "killed" / "model" / "train_metrics.json").exists()
    resumed_at = max(before)

    # Watch the checkpoints while the rerun works: a resume writes only the steps after its checkpoint;
    # a restart would write checkpoint-1 again.
    seen: dict[int, set[int]] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for step, mtime in checkpoint_states(tmp_path / "killed").items():
                seen.setdefault(step, set()).add(mtime)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    finally:
        done.set()
        watcher.join()
    assert second.returncode == 0, second.stderr[-3000:]
    rewritten = {step for step in seen if step <= resumed_at and seen[step] - {before.get(step)}}
    assert not rewritten, f"checkpoints before the resume point were written again: {rewritten}"
    assert set(range(resumed_at + 1, 5)) <= set(seen), seen

    metrics = read_json(tmp_path / "killed" / "model" / "train_metrics.json")
    expected = read_json(tmp_path / "reference" / "model" / "train_metrics.json")
    assert metrics["resumed_from"].endswith(f"checkpoint-{resumed_at}")
    assert metrics["optimizer_steps"] == expected["optimizer_steps"] == 4
    assert [e["step"] for e in metrics["loss_curve"]] == [e["step"] for e in expected["loss_curve"]] == [1, 2, 3, 4]
    for got, want in zip(metrics["loss_curve"], expected["loss_curve"], strict=True):
        assert got["loss"] == pytest.approx(want["loss"], rel=1e-5) and got["learning_rate"] == want["learning_rate"]
    weights = load_file(tmp_path / "killed" / "model" / "model.safetensors")
    reference_weights = load_file(tmp_path / "reference" / "model" / "model.safetensors")
    assert weights.keys() == reference_weights.keys()
    for name, tensor in weights.items():
        assert abs(tensor - reference_weights[name]).max() <= 1e-6, name
