"""GPU-served teachers: the vLLM and SGLang command lines, and the managed server's life cycle."""

import shutil
import sys
from pathlib import Path

import pytest

from ossinstruct.models import request_settings
from ossinstruct.server import ManagedServer, ServerError, free_port, gpu_server, sglang_command, vllm_command

SERVE = {
    "model": "deepseek-ai/deepseek-coder-6.7b-instruct",
    "gpus": 2,
    "tensor_parallel_size": 2,
    "max_model_len": 8192,
    "dtype": "bfloat16",
    "port": None,
    "startup_timeout_s": 60,
    "extra_args": ["--enforce-eager"],
}


def test_vllm_command_is_built_from_config():
    command = vllm_command(SERVE, "teacher", 8011, seed=976)
    assert command[:3] == ["vllm", "serve", "deepseek-ai/deepseek-coder-6.7b-instruct"]
    pairs = dict(zip(command[3::2], command[4::2], strict=False))
    assert pairs["--tensor-parallel-size"] == "2" and pairs["--max-model-len"] == "8192"
    assert pairs["--port"] == "8011" and pairs["--host"] == "127.0.0.1" and pairs["--served-model-name"] == "teacher"
    assert pairs["--dtype"] == "bfloat16" and pairs["--seed"] == "976"
    assert command[-1] == "--enforce-eager"
    assert "--max-model-len" not in vllm_command({**SERVE, "max_model_len": None}, "t", 1)


def test_sglang_command_is_built_from_config():
    command = sglang_command(SERVE, "teacher", 8012)
    assert command[:3] == [sys.executable, "-m", "sglang.launch_server"]
    pairs = dict(zip(command[3::2], command[4::2], strict=False))
    assert pairs["--model-path"] == SERVE["model"] and pairs["--tp-size"] == "2"
    assert pairs["--context-length"] == "8192" and pairs["--port"] == "8012"


def test_a_missing_server_program_is_named(tmp_path):
    if shutil.which("vllm"):
        pytest.skip("vllm is installed here")
    with pytest.raises(ServerError, match="'vllm' is not installed"):
        with gpu_server("vllm", {**SERVE, "port": free_port()}, "teacher"):
            pass
    with pytest.raises(ServerError, match="teacher.serve.model"):
        gpu_server("vllm", {**SERVE, "model": None}, "teacher")


# A server that starts a worker (as vLLM starts its GPU workers) which ignores SIGTERM; `stubborn`
# makes the server ignore SIGTERM too. Each notes the SIGTERM it got in a file.
SERVER = """
import http.server, pathlib, signal, subprocess, sys, functools
port, folder, stubborn = int(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3] == "stubborn"
worker = subprocess.Popen([sys.executable, "-c", "import pathlib, signal, sys, time; "
    "signal.signal(signal.SIGTERM, lambda *a: pathlib.Path(sys.argv[1]).write_text('term')); time.sleep(600)",
    str(folder / "worker-term")])
(folder / "worker.pid").write_text(str(worker.pid))
def on_term(*args):
    (folder / "server-term").write_text("term")
    if not stubborn:
        raise SystemExit(0)
signal.signal(signal.SIGTERM, on_term)
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.parametrize("stubborn", [False, True])
def test_stopping_a_server_stops_its_whole_process_group_sigterm_first_then_sigkill(tmp_path, stubborn):
    """SIGTERM goes to the server and the worker it started; what still runs after the stop timeout
    (here 1 s; 60 s by default) gets SIGKILL: a server that ignores SIGTERM, a worker that ignores it."""
    import inspect
    import time

    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "models").write_text('{"data": []}')
    (tmp_path / "server.py").write_text(SERVER)
    port = free_port()
    command = [sys.executable, str(tmp_path / "server.py"), str(port), str(tmp_path), "stubborn" if stubborn else "-"]
    with ManagedServer(command, port, tmp_path / "server.log", startup_timeout_s=30, stop_timeout_s=1) as server:
        assert server.base_url == f"http://127.0.0.1:{port}/v1"
        worker = int((tmp_path / "worker.pid").read_text())
        assert alive(server.process.pid) and alive(worker)
        started = time.monotonic()
    took = time.monotonic() - started
    assert not alive(server.process.pid) and not alive(worker)
    assert (tmp_path / "server-term").read_text() == "term" and (tmp_path / "worker-term").read_text() == "term"
    assert 1.0 <= took < 10  # the worker outlived SIGTERM for the 1 s allowed, then was killed
    assert inspect.signature(ManagedServer).parameters["stop_timeout_s"].default == 60.0


def test_a_server_goes_when_the_job_that_started_it_is_killed(tmp_path):
    """SIGKILL of the job (the process that started the server) leaves no server behind."""
    import os
    import signal
    import subprocess
    import time

    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "models").write_text('{"data": []}')
    port = free_port()
    job = (
        "import sys, time\nfrom ossinstruct.server import ManagedServer\n"
        f"command = [sys.executable, '-m', 'http.server', '{port}', '--bind', '127.0.0.1',\n"
        f"           '--directory', '{tmp_path}']\n"
        f"with ManagedServer(command, {port}, startup_timeout_s=30) as server:\n"
        f"    open('{tmp_path}/server.pid', 'w').write(str(server.process.pid))\n    time.sleep(600)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", job])
    pid_file = tmp_path / "server.pid"
    for _ in range(300):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.1)
    server = int(pid_file.read_text())
    assert alive(server)
    process.send_signal(signal.SIGKILL)
    process.wait()
    for _ in range(100):
        if not alive(server):
            break
        time.sleep(0.1)
    survived = alive(server)
    if survived:
        os.kill(server, signal.SIGKILL)  # leave nothing behind, even when the test fails
    assert not survived


def test_server_that_dies_fails_the_start_early(tmp_path):
    with pytest.raises(ServerError, match="exited with code 3"):
        with ManagedServer([sys.executable, "-c", "raise SystemExit(3)"], free_port(), startup_timeout_s=30):
            pass


def test_only_answer_deciding_keys_reach_the_rules_params():
    teacher = {
        "name": "t",
        "model": "m",
        "server": "vllm",
        "temperature": 0.0,
        "serve": SERVE,
        "client": {"concurrency": 64},
        "batch": {},
        "mode": "batch",
        "base_url": "x",
        "api_key_env": "K",
        "cache_identity": "name",
        "max_cost_usd": 5.0,
        "max_requests": 100,
    }
    settings = request_settings(teacher)
    assert settings == {"name": "t", "model": "m", "server": "vllm", "temperature": 0.0, "serve_model": SERVE["model"]}


def test_a_server_python_starts_vllm_or_sglang_as_its_module():
    """`serve.python` (scripts/setup_vllm.sh's .venv-vllm): vLLM's CPU build has no working `vllm`
    script, so the server starts as a module of that interpreter, the weights given as --model."""
    command = vllm_command({**SERVE, "python": "/opt/v/bin/python"}, "teacher", 8011)
    assert command[:5] == [
        "/opt/v/bin/python", "-m", "vllm.entrypoints.openai.api_server", "--model", SERVE["model"],
    ]  # fmt: skip
    assert sglang_command({**SERVE, "python": "/opt/s/bin/python"}, "t", 1)[:4] == [
        "/opt/s/bin/python", "-m", "sglang.launch_server", "--model-path",
    ]  # fmt: skip


def test_vllm_on_the_cpu_gets_its_openmp_threads_on_the_jobs_cores_unless_the_user_chose():
    """vLLM's CPU build binds to all cores but one by default; Snakemake's OMP_NUM_THREADS for a
    2-thread job then oversubscribes one core (1.4 against 27.6 tokens/s, see server.vllm_cpu_env)."""
    import os

    from ossinstruct.server import vllm_cpu_env

    cores = sorted(os.sched_getaffinity(0))
    assert vllm_cpu_env({}) == {
        "VLLM_CPU_OMP_THREADS_BIND": ",".join(map(str, cores)),
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
        "OMP_NUM_THREADS": str(len(cores)),
    }
    assert vllm_cpu_env({"VLLM_CPU_OMP_THREADS_BIND": "0"}) == {}
    assert gpu_server("vllm", {**SERVE, "gpus": 0}, "t").env == vllm_cpu_env({})
    assert gpu_server("vllm", SERVE, "t").env is None  # the CUDA build: its GPUs, not these variables
    assert gpu_server("sglang", {**SERVE, "gpus": 0}, "t").env is None


def directory_server(tmp_path):
    """A real HTTP server answering GET /v1/models, as a managed server with a log."""
    (tmp_path / "v1").mkdir(exist_ok=True)
    (tmp_path / "v1" / "models").write_text('{"data": []}')
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    return ManagedServer(command, port, tmp_path / "server.log", startup_timeout_s=30)


def test_a_server_that_dies_in_the_middle_stops_the_teacher_at_once_naming_its_log(tmp_path):
    """A request that fails because the job's own server has exited is not retried: the run stops
    with the server's exit code and log (not after max_retries back-offs, with a connection error)."""
    import os
    import random
    import signal
    import threading
    import time

    from ossinstruct.teacher.client import Job, make_client, send
    from ossinstruct.teacher.errors import FatalTeacherError
    from ossinstruct.teacher.ratelimit import RateLimiter

    job = Job({"id": "x"}, {"model": "m", "messages": [{"role": "user", "content": "hi"}]}, "key", 10)
    settings = {"max_retries": 4, "backoff_s": 2.0, "max_backoff_s": 2.0}
    with directory_server(tmp_path) as server:
        client = make_client(server.base_url, "k", 5)
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        stop = threading.Event()
        started = time.monotonic()
        with pytest.raises(
            FatalTeacherError, match=f"exited with code -9 in the middle of the job; its log: {tmp_path}"
        ):
            send(client, job, settings, RateLimiter(None, None), random.Random(0), stop, server.check)
        assert time.monotonic() - started < 2 and stop.is_set()  # no back-off, and no other thread sends


def test_a_job_that_fails_because_its_server_died_names_the_servers_log(tmp_path):
    """Whatever the job was doing when its server died (an evaluation's request), it fails with ServerDied."""
    import os
    import signal

    from ossinstruct.server import ServerDied

    with pytest.raises(
        ServerDied, match=f"exited with code -9 in the middle of the job; its log: {tmp_path}"
    ) as caught:
        with directory_server(tmp_path) as server:
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait()
            raise ConnectionError("the request failed")
    assert isinstance(caught.value.__context__, ConnectionError)
    with pytest.raises(ConnectionError):  # a job that failed while its server ran keeps its own error
        with directory_server(tmp_path):
            raise ConnectionError("the request failed")
