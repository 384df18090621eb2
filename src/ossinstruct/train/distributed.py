"""Data-parallel training: `train_student` in several processes through `accelerate launch` (DDP).
Each process runs `python -m ossinstruct.train.distributed JOB.json`."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from ..io import write_json
from ..server import free_port
from .examples import example_counts
from .trainer import train_student, world_size

log = logging.getLogger(__name__)


def training_processes(gpus: int) -> int:
    """How many processes train: one per GPU asked for (`gpus` > 1 runs under accelerate launch).
    Without any CUDA device, that many CPU processes (gloo), which tests the same code path."""
    import torch

    if gpus <= 1:
        return 1
    visible = torch.cuda.device_count()
    if visible == 0:
        log.warning("train.gpus is %d but no CUDA device is visible: %d CPU processes instead", gpus, gpus)
    elif visible < gpus:
        raise ValueError(
            f"config key 'train.gpus' asks for {gpus} GPUs but this job sees {visible} (CUDA_VISIBLE_DEVICES)"
        )
    return gpus


def launch_training(
    examples: str, settings: dict, output_dir: str, checkpoint_dir: str, threads: int, processes: int
) -> dict:
    """`train_student` in `processes` data-parallel processes through `accelerate launch` (DDP), each
    memory-mapping the one examples file tokenized before the launch; the gradient accumulation is
    derived from the world size, so the global batch stays the same. Every line the processes print
    goes to this stage's log. Returns the main process's summary."""
    folder = Path(checkpoint_dir)
    folder.mkdir(parents=True, exist_ok=True)
    job = {
        "examples": str(Path(examples).resolve()),
        "settings": settings,
        "output_dir": str(Path(output_dir).resolve()),
        "checkpoint_dir": str(folder.resolve()),
        "threads": max(1, threads // processes),
        "summary": str((folder / "summary.json").resolve()),
    }
    (folder / "launch.json").write_text(json.dumps(job, indent=1))
    Path(job["summary"]).unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        str(processes),
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(free_port()),
        "-m",
        "ossinstruct.train.distributed",
        str(folder / "launch.json"),
    ]
    log.info("launching: %s", " ".join(command))
    tail: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as child:
        for line in child.stdout:
            log.info("%s", line.rstrip())
            tail = (tail + [line])[-40:]
    if child.returncode != 0:
        raise RuntimeError(
            f"distributed training ({processes} processes) exited with {child.returncode}:\n" + "".join(tail)
        )
    return json.loads(Path(job["summary"]).read_text())


def main(argv: list[str]) -> None:
    """One process of `launch_training`: python -m ossinstruct.train.distributed JOB.json."""
    logging.basicConfig(level=logging.INFO, format=f"rank {os.environ.get('RANK', '0')} %(levelname)s %(message)s")
    job = json.loads(Path(argv[0]).read_text())
    rows = example_counts(job["examples"])["rows"]
    log.info("process %s of %d: %d rows, %d threads", os.environ.get("RANK", "0"), world_size(), rows, job["threads"])
    summary = train_student(job["examples"], job["settings"], job["output_dir"], job["checkpoint_dir"], job["threads"])
    if int(os.environ.get("RANK", "0")) == 0:
        write_json(job["summary"], summary)


if __name__ == "__main__":
    main(sys.argv[1:])
