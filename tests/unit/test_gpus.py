"""GPU slots (ossinstruct.gpus) on this CPU machine, with virtual device ids: each job claims its own
devices, the kernel gives them back when the job dies, and the ids reach the job's children."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from ossinstruct.gpus import GpuError, _try_claim, assign, lock_folder

from ..conftest import snakemake_command

JOB = """
import json, os, subprocess, sys, time
from pathlib import Path
from ossinstruct import gpus
from ossinstruct.logs import setup_logging

setup_logging(snakemake.log[0])
ids = gpus.assign(count=snakemake.resources.gpu, key="x.gpus", settings=snakemake.config["gpus"])
child = subprocess.run(["sh", "-c", "echo $CUDA_VISIBLE_DEVICES"], capture_output=True, text=True).stdout.strip()
barrier = Path(snakemake.config["barrier"])
(barrier / snakemake.wildcards.n).touch()
deadline = time.monotonic() + snakemake.config["wait_s"]
while len(list(barrier.iterdir())) < snakemake.config["together"] and time.monotonic() < deadline:
    time.sleep(0.05)  # every job holds its devices until all of them hold theirs
started = time.time()
time.sleep(0.3)
Path(snakemake.output[0]).write_text(json.dumps({"ids": ids, "child": child, "start": started, "end": time.time()}))
"""


def workflow(tmp_path, jobs: int, gpus_each: int, devices: list, together: int):
    (tmp_path / "job.py").write_text(JOB)
    (tmp_path / "barrier").mkdir()
    (tmp_path / "Snakefile").write_text(
        textwrap.dedent(
            f"""
            rule all:
                input: expand("out/{{n}}.json", n=range({jobs}))
            rule job:
                output: "out/{{n}}.json"
                log: "logs/{{n}}.log"
                resources: gpu={gpus_each}
                script: "job.py"
            """
        )
    )
    config = [
        f"gpus={{'devices': {devices}, 'lock_dir': '{tmp_path / 'locks'}'}}",
        f"barrier={tmp_path / 'barrier'}",
        f"together={together}",
        "wait_s=60",
    ]
    # No --resources gpu: Snakemake starts every job at once; the device locks alone keep them apart.
    run = subprocess.run(
        [*snakemake_command(), "--cores", str(jobs), "--config", *config],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={key: value for key, value in os.environ.items() if key != "CUDA_VISIBLE_DEVICES"},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    import json

    return [json.loads((tmp_path / f"out/{n}.json").read_text()) for n in range(jobs)]


def test_four_concurrent_two_gpu_jobs_get_disjoint_devices_and_their_children_see_them(tmp_path):
    jobs = workflow(tmp_path, jobs=4, gpus_each=2, devices=list(range(8)), together=4)
    claimed = [job["ids"] for job in jobs]
    assert all(len(ids) == 2 for ids in claimed)
    assert sorted(d for ids in claimed for d in ids) == [str(d) for d in range(8)]  # disjoint, every GPU busy
    assert [job["child"] for job in jobs] == [",".join(ids) for ids in claimed]  # a child process's environment
    assert max(job["start"] for job in jobs) < min(job["end"] for job in jobs)  # the four ran at the same time
    log = (tmp_path / "logs/0.log").read_text()
    assert f"GPUs {','.join(claimed[0])}: claimed from the pool 0,1,2,3,4,5,6,7" in log


def test_jobs_that_do_not_fit_together_wait_for_the_devices(tmp_path):
    """Two 2-GPU jobs on a 2-GPU pool, started at once: the second waits until the first has ended."""
    jobs = workflow(tmp_path, jobs=2, gpus_each=2, devices=[0, 1], together=1)
    assert [sorted(job["ids"]) for job in jobs] == [["0", "1"], ["0", "1"]]
    first, second = sorted(jobs, key=lambda job: job["start"])
    assert second["start"] >= first["end"]


def test_a_job_killed_with_sigkill_gives_its_devices_back(tmp_path):
    settings = {"devices": [0, 1], "lock_dir": str(tmp_path)}
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from ossinstruct.gpus import assign\n"
            f"print(assign(count=2, key='x.gpus', settings={settings!r}, environ={{}}), flush=True)\n"
            "time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "['0', '1']"
        folder = lock_folder(settings, {})
        assert _try_claim(["0", "1"], 1, folder) is None  # both held
        assert (folder / "gpu-0.lock").read_text() == f"{holder.pid}\n"  # whose they are
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    finally:
        holder.kill()
    environ: dict = {}
    started = time.monotonic()
    assert assign(count=2, key="x.gpus", settings=settings, environ=environ) == ["0", "1"]
    assert time.monotonic() - started < 5 and environ["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert environ["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"


def within(seconds: float, claim):
    """What `claim()` returns or raises, in a thread; it fails the test if it still waits after `seconds`."""
    outcome = {}

    def run():
        try:
            outcome["value"] = claim()
        except Exception as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting for GPUs after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_more_gpus_than_the_pool_fails_naming_the_key(tmp_path):
    settings = {"devices": [0, 1], "lock_dir": str(tmp_path)}
    with pytest.raises(GpuError, match=r"config key 'train.gpus': 3 GPUs asked for, but this machine's pool has 2"):
        within(10, lambda: assign(count=3, key="train.gpus", settings=settings, environ={}))


def test_no_gpu_on_the_machine_runs_the_job_on_its_cpu_and_a_cpu_job_claims_nothing(tmp_path):
    environ = {"CUDA_VISIBLE_DEVICES": ""}  # the pool the workflow was started with: none
    assert assign(count=1, key="train.gpus", settings={"devices": None}, environ=environ) == []
    assert environ == {"CUDA_VISIBLE_DEVICES": ""}
    environ = {}
    assert (
        assign(count=0, key="evaluate.gpus", settings={"devices": [0], "lock_dir": str(tmp_path)}, environ=environ)
        == []
    )
    assert environ == {} and not list(tmp_path.iterdir())


def test_under_slurm_the_jobs_own_gpus_are_claimed_in_locks_of_its_own(tmp_path):
    """SLURM sets CUDA_VISIBLE_DEVICES to the job's GPUs (numbered from 0 on every job of a node): they
    are the pool, in a lock folder of that SLURM job, so two jobs on one node never wait for each other."""
    settings = {"devices": [5, 6, 7], "lock_dir": str(tmp_path)}  # the scheduler's assignment wins
    first = {"SLURM_JOB_ID": "101", "CUDA_VISIBLE_DEVICES": "0,1"}
    second = {"SLURM_JOB_ID": "102", "CUDA_VISIBLE_DEVICES": "0,1"}
    assert within(10, lambda: assign(count=2, key="train.gpus", settings=settings, environ=first)) == ["0", "1"]
    assert within(10, lambda: assign(count=2, key="train.gpus", settings=settings, environ=second)) == ["0", "1"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        f"ossinstruct-gpus-{os.getuid()}-slurm{job}" for job in (101, 102)
    ]
