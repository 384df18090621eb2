"""Where the teacher runs: a local llama.cpp pool, a GPU server (vLLM or SGLang) started for the
job, or any OpenAI-compatible API (hosted, with its key from the environment).

`models.request_settings` splits the `teacher` config section: the keys that decide the answers go to
the rule's `params` (changing them reruns generation and everything after it); the keys that only say
how requests are sent (`config.HOW_KEYS["teacher"]`: concurrency, budgets, retries, batch mode, the
server's address and launch options) never rerun a job.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..server import LOCAL_KEY, gpu_server, llama_cpp_pool
from .client import check_reachable, make_client
from .errors import TeacherError
from .identity import endpoint_identity
from .tokens import token_counter


@dataclass
class Endpoint:
    clients: list  # one entry per request in flight
    count_tokens: Callable[[str], int]
    fingerprint: str  # part of every request's cache key: which weights answered
    base_url: str
    check: Callable[[], None] = lambda: None  # raises server.ServerDied when a server of the job has exited


@contextmanager
def open_teacher(teacher: dict, threads: int = 1, server_log: str | None = None) -> Iterator[Endpoint]:
    """Start (or reach) the teacher for one job and stop it afterwards."""
    client = teacher["client"]
    server = teacher["server"]
    if server == "llama_cpp":
        if not teacher["gguf"]:
            raise TeacherError("config key 'teacher.gguf': required when teacher.server is llama_cpp")
        # One single-threaded server per thread of the job (see server.llama_cpp_pool).
        with llama_cpp_pool(teacher["gguf"], teacher["model"], threads, teacher["context_length"], server_log) as pool:
            path = pool[0].model_path
            yield Endpoint(
                [make_client(s.base_url, LOCAL_KEY, client["timeout_s"]) for s in pool],
                token_counter(teacher["tokenizer"], pool[0]),
                f"gguf:{path.name}:{path.stat().st_size}",
                pool[0].base_url,
                lambda: [server.check() for server in pool],
            )
    elif server in ("vllm", "sglang"):
        serve = teacher["serve"]
        counter = token_counter(teacher["tokenizer"] if teacher["tokenizer"] != "auto" else f"hf:{serve.get('model')}")
        with gpu_server(server, serve, teacher["model"], teacher["seed"], server_log) as running:
            one = make_client(running.base_url, LOCAL_KEY, client["timeout_s"])
            fingerprint = f"{server}:{serve.get('exported_from') or serve['model']}"  # a GGUF: the file, not its folder
            yield Endpoint([one] * client["concurrency"], counter, fingerprint, running.base_url, running.check)
    elif server == "openai":
        base_url = teacher["base_url"]
        if not base_url:
            raise TeacherError("config key 'teacher.base_url': required when teacher.server is openai")
        # api_key_env: null for a server of one's own that checks no key (vLLM, Ollama, llama.cpp)
        api_key = os.environ.get(teacher["api_key_env"]) if teacher["api_key_env"] else LOCAL_KEY
        if not api_key:
            raise TeacherError(
                f"config key 'teacher.api_key_env': environment variable {teacher['api_key_env']} is not set "
                "(null: a server that checks no key)"
            )
        counter = token_counter(teacher["tokenizer"])
        if teacher["cache_identity"] == "name":  # trust the model's name alone
            check_reachable(base_url, api_key)
            fingerprint = ""
        else:  # the endpoint and what its /models says of the model (teacher.identity)
            fingerprint, _ = endpoint_identity(base_url, api_key, teacher["model"])
        one = make_client(base_url, api_key, client["timeout_s"])
        yield Endpoint([one] * client["concurrency"], counter, fingerprint, base_url)
    else:
        raise TeacherError(f"config key 'teacher.server': unknown value {server!r}")
