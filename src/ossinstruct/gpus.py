"""GPU slots on one machine: each GPU job claims its own device ids and runs with only those visible.

Snakemake's `--resources gpu=N` caps how many GPUs the running jobs ask for together, but gives a
local job no device ids (snakemake/snakemake issue 281), so two jobs would both run on GPU 0. Here a
job that asks for `gpu=N` claims N ids from the machine's pool: one lock file per device, held with
`flock` by the job's process, so the kernel releases it when that process ends in any way (SIGKILL
included). The ids go into `CUDA_VISIBLE_DEVICES` before anything touches CUDA, so the job's whole
process tree (accelerate's workers, a vLLM server) sees only them. Under SLURM the scheduler has
made CUDA_VISIBLE_DEVICES the job's own GPUs: they are the pool, and its locks are the SLURM job's
own (a node's other SLURM jobs number their GPUs from 0 too), so a job submitted with --gpus=N claims
exactly the scheduler's N ids, and local jobs inside one allocation (salloc) still share it fairly.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)

_HELD: list = []  # the open lock files of this process's devices (closed only when it exits)


class GpuError(RuntimeError):
    pass


def machine_devices(environ=os.environ) -> tuple[list[str], str]:
    """The pool when `gpus.devices` is null, and where it came from: the ids in CUDA_VISIBLE_DEVICES
    if it is set (by the user, or by SLURM for its job), else every GPU `nvidia-smi -L` lists."""
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d for d in visible.split(",") if d.strip()], "CUDA_VISIBLE_DEVICES"
    if shutil.which("nvidia-smi") is None:
        return [], "no nvidia-smi"
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=60)
    if listed.returncode != 0:
        return [], "nvidia-smi -L failed"
    return [str(i) for i, line in enumerate(listed.stdout.splitlines()) if line.startswith("GPU ")], "nvidia-smi -L"


def lock_folder(settings: dict, environ=os.environ) -> Path:
    """One folder of device locks per machine and user (every workflow on the machine shares it), or
    per SLURM job inside one."""
    slurm = f"-slurm{environ['SLURM_JOB_ID']}" if environ.get("SLURM_JOB_ID") else ""
    folder = Path(settings.get("lock_dir") or "/tmp") / f"ossinstruct-gpus-{os.getuid()}{slurm}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _try_claim(pool: list[str], count: int, folder: Path) -> list | None:
    held = []
    for device in pool:
        lock = open(folder / f"gpu-{device}.lock", "a+")  # noqa: SIM115 - held until the process exits
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        held.append((device, lock))
        if len(held) == count:
            return held
    for _, lock in held:  # not enough free: give back what was taken and wait
        lock.close()
    return None


def assign(*, count: int, key: str, settings: dict, environ=os.environ) -> list[str]:
    """Claim `count` GPUs for this job's process and make only them visible to it and its children.
    Returns the ids ([] for a CPU job, or on a machine with no GPU: the job then runs on its CPU).
    `key` names the setting that asked, for the error when the pool is too small."""
    if count <= 0:
        return []
    if environ.get("SLURM_JOB_ID") and environ.get("CUDA_VISIBLE_DEVICES") is not None:
        pool, source = machine_devices(environ)[0], f"SLURM job {environ['SLURM_JOB_ID']}"  # as it is
    elif settings.get("devices") is not None:
        pool, source = [str(d) for d in settings["devices"]], "config key 'gpus.devices'"
    else:
        pool, source = machine_devices(environ)
    if not pool:
        log.info("no GPU on this machine (%s): the job runs on its CPU", source)
        return []
    if count > len(pool):
        raise GpuError(
            f"config key '{key}': {count} GPUs asked for, but this machine's pool has {len(pool)} "
            f"({', '.join(pool)}, from {source})"
        )
    folder = lock_folder(settings, environ)
    waited, next_note = 0.0, 0.0
    started = time.monotonic()
    while (held := _try_claim(pool, count, folder)) is None:  # another job holds some: wait for them
        if waited >= next_note:
            log.info("waiting for %d of the GPUs %s to be free (locks in %s)", count, ",".join(pool), folder)
            next_note += 60
        time.sleep(random.uniform(0.2, 1.0))  # jittered, so two waiting jobs do not keep colliding
        waited = time.monotonic() - started
    _HELD.extend(lock for _, lock in held)
    ids = [device for device, _ in held]
    environ["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"  # the ids nvidia-smi shows, not CUDA's fastest-first order
    environ["CUDA_VISIBLE_DEVICES"] = ",".join(ids)
    log.info(
        "GPUs %s: claimed from the pool %s of %s (locks in %s, waited %.0f s)",
        ",".join(ids),
        ",".join(pool),
        source,
        folder,
        waited,
    )
    return ids
